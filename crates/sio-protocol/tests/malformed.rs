//! Malformed input: every decoder error variant, reached from bytes a peer could send.

use bytes::Bytes;
use sio_protocol::Limits;
use sio_protocol::engineio::{self, DecodeError as EioError};
use sio_protocol::socketio::{DecodeError, EncodeError, Parser};
use sio_types::{ConnectError, Packet, PacketType, Value};

fn eio_text(s: &str) -> Result<engineio::Packet, EioError> {
    engineio::Packet::decode_ws_text(s, &Limits::default())
}

fn sio(s: &str) -> Result<Option<Packet>, DecodeError> {
    Parser::Default.decoder(Limits::default()).decode_text(s)
}

fn small() -> Limits {
    Limits {
        max_packet_size: 8,
        max_attachments: 2,
        max_depth: 3,
    }
}

#[test]
fn eio_empty() {
    assert_eq!(eio_text(""), Err(EioError::Empty));
    let limits = Limits::default();
    assert_eq!(engineio::decode_payload(b"", &limits), Err(EioError::Empty));
    assert_eq!(
        engineio::decode_payload(b"4a\x1e\x1e4b", &limits),
        Err(EioError::Empty)
    );
    assert_eq!(
        engineio::decode_payload(b"4a\x1e", &limits),
        Err(EioError::Empty)
    );
}

#[test]
fn eio_unknown_type() {
    assert_eq!(eio_text("7"), Err(EioError::UnknownType('7')));
    assert_eq!(eio_text("€4"), Err(EioError::UnknownType('€')));
    // `b` is only a prefix inside polling bodies; v4 WebSocket binary is raw.
    assert_eq!(eio_text("bAQID"), Err(EioError::UnknownType('b')));
    assert_eq!(
        engineio::decode_payload(b"4a\x1ex", &Limits::default()),
        Err(EioError::UnknownType('x'))
    );
}

#[test]
fn eio_too_large() {
    let too_large = EioError::TooLarge { size: 9, max: 8 };
    assert_eq!(
        engineio::Packet::decode_ws_text("4abcdefgh", &small()),
        Err(too_large.clone())
    );
    assert_eq!(
        engineio::Packet::decode_ws_binary(Bytes::from_static(&[0; 9]), &small()),
        Err(too_large.clone())
    );
    assert_eq!(
        engineio::decode_payload(b"4a\x1e4bcdef", &small()),
        Err(too_large.clone())
    );
    // At the limit is fine.
    assert!(engineio::Packet::decode_ws_text("4abcdefg", &small()).is_ok());
}

#[test]
fn eio_invalid_base64() {
    for body in [&b"b!!!!"[..], b"bA", b"bAQ=x"] {
        assert!(
            matches!(
                engineio::decode_payload(body, &Limits::default()),
                Err(EioError::InvalidBase64(_))
            ),
            "{body:?}"
        );
    }
}

#[test]
fn eio_invalid_utf8() {
    assert_eq!(
        engineio::decode_payload(b"4ab\xff", &Limits::default()),
        Err(EioError::InvalidUtf8(3))
    );
}

#[test]
fn eio_invalid_open() {
    for s in [
        "0",
        "0{}",
        "0{\"sid\":1}",
        "0[]",
        "0{\"sid\":\"a\",\"upgrades\":[],\"pingInterval\":-1,\"pingTimeout\":1,\"maxPayload\":1}",
    ] {
        assert!(matches!(eio_text(s), Err(EioError::InvalidOpen(_))), "{s}");
    }
}

#[test]
fn sio_empty_unknown_and_too_large() {
    assert_eq!(sio(""), Err(DecodeError::Empty));
    assert_eq!(sio("7[]"), Err(DecodeError::UnknownType('7')));
    assert_eq!(sio("a"), Err(DecodeError::UnknownType('a')));
    assert_eq!(sio("é"), Err(DecodeError::UnknownType('é')));
    let mut d = Parser::Default.decoder(small());
    assert_eq!(
        d.decode_text(r#"2["abcdefgh"]"#),
        Err(DecodeError::TooLarge { size: 13, max: 8 })
    );
    assert_eq!(
        d.decode_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        Err(DecodeError::TooLarge { size: 38, max: 8 })
    );
    let mut d = Parser::Default.decoder(Limits {
        max_packet_size: 100,
        ..small()
    });
    assert_eq!(
        d.decode_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        Ok(None)
    );
    assert_eq!(
        d.decode_binary(Bytes::from(vec![0; 101])),
        Err(DecodeError::TooLarge {
            size: 101,
            max: 100
        })
    );
    // The error dropped the half-received packet.
    assert!(!d.is_reassembling());
}

#[test]
fn sio_invalid_attachment_count() {
    for s in [
        r#"5["a"]"#,
        r#"5-["a"]"#,
        r#"50-["a"]"#,
        r#"5x-["a"]"#,
        r#"51x-["a"]"#,
        r#"6-1-1[]"#,
        "599999999999999999999999-[\"a\"]",
    ] {
        assert!(
            matches!(sio(s), Err(DecodeError::InvalidAttachmentCount(_))),
            "{s}: {:?}",
            sio(s)
        );
    }
}

#[test]
fn sio_too_many_attachments() {
    let mut d = Parser::Default.decoder(Limits {
        max_packet_size: 1000,
        ..small()
    });
    assert_eq!(
        d.decode_text(r#"53-["a",{"_placeholder":true,"num":0}]"#),
        Err(DecodeError::TooManyAttachments { count: 3, max: 2 })
    );
    assert_eq!(
        sio("518446744073709551615-[\"a\"]"),
        Err(DecodeError::TooManyAttachments {
            count: u64::MAX,
            max: Limits::default().max_attachments
        })
    );
}

#[test]
fn sio_ack_id_overflow_and_missing() {
    assert_eq!(
        sio(r#"218446744073709551616["a"]"#),
        Err(DecodeError::AckIdOverflow("18446744073709551616".into()))
    );
    assert_eq!(
        sio(r#"218446744073709551615["a"]"#),
        Ok(Some(Packet::event("/", "a", vec![]).with_ack(u64::MAX)))
    );
    assert_eq!(sio("3[]"), Err(DecodeError::MissingAckId));
    assert_eq!(sio("3/a,[1]"), Err(DecodeError::MissingAckId));
}

#[test]
fn sio_invalid_json() {
    for s in [
        "2[\"a\"",
        "2[\"a\"]x",
        "2{",
        "2/admin,[\"a\",]",
        "0/admin,{\"a\":1",
        "2[\"a\\ud800\"]",
    ] {
        assert!(
            matches!(sio(s), Err(DecodeError::InvalidJson(_))),
            "{s}: {:?}",
            sio(s)
        );
    }
}

#[test]
fn sio_invalid_payload_per_type() {
    let cases: &[(&str, PacketType)] = &[
        ("0[]", PacketType::Connect),
        ("0\"x\"", PacketType::Connect),
        ("0null", PacketType::Connect),
        ("1{}", PacketType::Disconnect),
        ("1/a,[]", PacketType::Disconnect),
        ("2", PacketType::Event),
        ("2{}", PacketType::Event),
        ("2[]", PacketType::Event),
        ("2[null]", PacketType::Event),
        ("2[1.5]", PacketType::Event),
        ("2[{}]", PacketType::Event),
        ("3", PacketType::Ack),
        ("31", PacketType::Ack),
        ("31{}", PacketType::Ack),
        ("4", PacketType::ConnectError),
        ("4[]", PacketType::ConnectError),
        ("4{}", PacketType::ConnectError),
        ("4{\"message\":1}", PacketType::ConnectError),
        (
            r#"51-[{"_placeholder":true,"num":0}]"#,
            PacketType::BinaryEvent,
        ),
        (r#"61-1{}"#, PacketType::BinaryAck),
    ];
    for (s, ty) in cases {
        match sio(s) {
            Err(DecodeError::InvalidPayload { packet_type, .. }) => {
                assert_eq!(packet_type, *ty, "{s}")
            }
            other => panic!("{s}: {other:?}"),
        }
    }
}

#[test]
fn sio_numeric_event_names_become_strings() {
    assert_eq!(
        sio("2[1,2]"),
        Ok(Some(Packet::event("/", "1", vec![2.into()])))
    );
    assert_eq!(sio("2[-3.0]"), Ok(Some(Packet::event("/", "-3", vec![]))));
}

#[test]
fn sio_reserved_event() {
    for name in sio_protocol::socketio::RESERVED_EVENTS {
        let s = format!("2[\"{name}\"]");
        assert_eq!(sio(&s), Err(DecodeError::ReservedEvent(name.into())));
        assert_eq!(
            Parser::Default.encode(&Packet::event("/", name, vec![])),
            Err(EncodeError::ReservedEvent(name.into()))
        );
    }
}

#[test]
fn sio_too_deep() {
    let mut d = Parser::Default.decoder(Limits {
        max_packet_size: 1000,
        ..small()
    });
    assert!(d.decode_text(r#"2["a",[[1]]]"#).is_ok());
    assert_eq!(
        d.decode_text(r#"2["a",[[[1]]]]"#),
        Err(DecodeError::TooDeep { depth: 4, max: 3 })
    );
    // Far past serde_json's own recursion limit: still an error, never a stack overflow.
    let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert!(sio(&deep).is_err());
}

#[test]
fn sio_unexpected_binary_and_text() {
    let mut d = Parser::Default.decoder(Limits::default());
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"x")),
        Err(DecodeError::UnexpectedBinary)
    );
    let head = r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(head), Ok(None));
    assert_eq!(d.decode_binary(Bytes::from_static(b"x")), Ok(None));
    assert_eq!(
        d.decode_text(r#"2["b"]"#),
        Err(DecodeError::UnexpectedText(1))
    );
    // After the error the decoder starts over.
    assert_eq!(
        d.decode_text(r#"2["b"]"#),
        Ok(Some(Packet::event("/", "b", vec![])))
    );
}

#[test]
fn sio_invalid_placeholder() {
    for s in [
        r#"51-["a",{"_placeholder":true}]"#,
        r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
        r#"51-["a",{"_placeholder":true,"num":-1}]"#,
        r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
        r#"51-["a",{"_placeholder":true,"num":null}]"#,
    ] {
        assert!(
            matches!(sio(s), Err(DecodeError::InvalidPlaceholder(_))),
            "{s}: {:?}",
            sio(s)
        );
    }
}

#[test]
fn sio_duplicate_placeholder() {
    assert_eq!(
        sio(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#),
        Err(DecodeError::DuplicatePlaceholder(0))
    );
}

#[test]
fn sio_placeholder_out_of_range() {
    assert_eq!(
        sio(r#"51-["a",{"_placeholder":true,"num":1}]"#),
        Err(DecodeError::PlaceholderOutOfRange {
            num: 1,
            attachments: 1
        })
    );
    assert_eq!(
        sio(r#"51-["a",{"_placeholder":true,"num":18446744073709551615}]"#),
        Err(DecodeError::PlaceholderOutOfRange {
            num: u64::MAX,
            attachments: 1
        })
    );
}

#[test]
fn sio_unused_attachments() {
    assert_eq!(
        sio(r#"52-["a",{"_placeholder":true,"num":1}]"#),
        Err(DecodeError::UnusedAttachments {
            announced: 2,
            used: 1
        })
    );
    // A placeholder inside a plain EVENT is just an object, as in socket.io-parser.
    let plain = sio(r#"2["a",{"_placeholder":true,"num":0}]"#)
        .unwrap()
        .unwrap();
    assert_eq!(plain.packet_type(), PacketType::Event);
}

#[cfg(feature = "msgpack")]
#[test]
fn sio_text_with_msgpack() {
    let mut d = Parser::Msgpack.decoder(Limits::default());
    assert_eq!(d.decode_text("2[\"a\"]"), Err(DecodeError::TextWithMsgpack));
}

#[cfg(feature = "msgpack")]
#[test]
fn sio_msgpack_errors_are_wrapped() {
    let mut d = Parser::Msgpack.decoder(Limits::default());
    // 0xc1 is the one byte msgpack never uses.
    assert!(matches!(
        d.decode_binary(Bytes::from_static(&[0xc1])),
        Err(DecodeError::Msgpack(_))
    ));
}

#[test]
fn encode_errors() {
    for nsp in ["", "admin", "/a,b"] {
        assert_eq!(
            Parser::Default.encode(&Packet::disconnect(nsp)),
            Err(EncodeError::InvalidNamespace(nsp.into()))
        );
    }
    assert_eq!(
        Parser::Default.encode(&Packet::connect("/", Some(Value::Array(vec![])))),
        Err(EncodeError::ConnectPayloadNotObject("array"))
    );
    let bin = Value::from_iter([("b", Value::from(vec![1u8]))]);
    assert_eq!(
        Parser::Default.encode(&Packet::connect("/", Some(bin.clone()))),
        Err(EncodeError::BinaryNotAllowed(PacketType::Connect))
    );
    let err = ConnectError {
        message: "m".into(),
        data: Some(bin),
    };
    assert_eq!(
        Parser::Default.encode(&Packet::connect_error("/", err)),
        Err(EncodeError::BinaryNotAllowed(PacketType::ConnectError))
    );
    let mut deep = Value::Null;
    for _ in 0..600 {
        deep = Value::Array(vec![deep]);
    }
    assert!(matches!(
        Parser::Default.encode(&Packet::event("/", "a", vec![deep])),
        Err(EncodeError::TooDeep(_))
    ));
}

/// Node's `JSON.parse` reads a number beyond `f64` as `Infinity` and socket.io keeps the
/// client; so does this decoder (it used to refuse the packet and close the connection).
#[test]
fn sio_numbers_beyond_f64_are_infinity_not_an_error() {
    let p = sio(r#"2["n",1e999999,-1e999999]"#).unwrap().unwrap();
    match p.data {
        sio_types::PacketData::Event { event, args, .. } => {
            assert_eq!(event, "n");
            assert_eq!(
                args,
                [
                    sio_types::Value::Float(f64::INFINITY),
                    sio_types::Value::Float(f64::NEG_INFINITY)
                ]
            );
        }
        other => panic!("not an event: {other:?}"),
    }
}
