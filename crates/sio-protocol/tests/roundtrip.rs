//! Property-based round trips: whatever the encoders write, the decoders read back unchanged.

use bytes::Bytes;
use proptest::prelude::*;
use sio_protocol::Limits;
use sio_protocol::engineio::{self, OpenPacket, WsFrame};
use sio_protocol::socketio::{Frame, Parser, RESERVED_EVENTS};
use sio_types::value::Map;
use sio_types::{ConnectError, Packet, PacketData, Value};

/// Any value; `binary` says whether binary leaves may appear.
fn value(binary: bool) -> impl Strategy<Value = Value> {
    let json_leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
    ];
    let leaf = if binary {
        prop_oneof![
            6 => json_leaf,
            1 => proptest::collection::vec(any::<u8>(), 0..48)
                .prop_map(|b| Value::Binary(Bytes::from(b))),
        ]
        .boxed()
    } else {
        json_leaf.boxed()
    };
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>())),
        ]
    })
}

/// Object keys; `_placeholder` is left out because socket.io-parser itself reads such an
/// object inside a binary packet as an attachment reference.
fn key() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not a placeholder key", |k| k != "_placeholder")
}

fn object(binary: bool) -> impl Strategy<Value = Value> {
    proptest::collection::vec((key(), value(binary)), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>()))
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[^,]{0,16}"]
}

fn event_name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not reserved", |e| !RESERVED_EVENTS.contains(&e.as_str()))
}

fn args() -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::vec(value(true), 0..5)
}

fn packet() -> impl Strategy<Value = Packet> {
    let data = prop_oneof![
        proptest::option::of(object(false)).prop_map(PacketData::Connect),
        Just(PacketData::Disconnect),
        (event_name(), args(), proptest::option::of(any::<u64>()))
            .prop_map(|(event, args, ack)| PacketData::Event { event, args, ack }),
        (any::<u64>(), args()).prop_map(|(id, args)| PacketData::Ack { id, args }),
        (any::<String>(), proptest::option::of(value(false))).prop_map(|(message, data)| {
            PacketData::ConnectError(ConnectError { message, data })
        }),
    ];
    (namespace(), data).prop_map(|(nsp, data)| Packet { nsp, data })
}

fn roomy() -> Limits {
    Limits {
        max_packet_size: usize::MAX,
        max_attachments: usize::MAX,
        max_depth: 64,
    }
}

fn text_without_separator() -> impl Strategy<Value = String> {
    "[^\u{1e}]{0,32}"
}

fn eio_packet(polling: bool) -> impl Strategy<Value = engineio::Packet> {
    let text = move || {
        if polling {
            text_without_separator().boxed()
        } else {
            any::<String>().boxed()
        }
    };
    prop_oneof![
        (
            any::<String>(),
            proptest::collection::vec(any::<String>(), 0..3),
            any::<u64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_filter("the open JSON may not hold the separator", move |o| {
                !polling || (!o.0.contains('\u{1e}') && o.1.iter().all(|u| !u.contains('\u{1e}')))
            })
            .prop_map(
                |(sid, upgrades, ping_interval, ping_timeout, max_payload)| {
                    engineio::Packet::Open(OpenPacket {
                        sid,
                        upgrades,
                        ping_interval,
                        ping_timeout,
                        max_payload,
                    })
                }
            ),
        Just(engineio::Packet::Close),
        text().prop_map(engineio::Packet::Ping),
        text().prop_map(engineio::Packet::Pong),
        text().prop_map(engineio::Packet::Message),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| engineio::Packet::Binary(Bytes::from(b))),
        Just(engineio::Packet::Upgrade),
        Just(engineio::Packet::Noop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failures print their minimal input; no regression files land in the crate.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn socketio_default_parser_round_trips(p in packet()) {
        let frames = Parser::Default.encode(&p).unwrap();
        let mut d = Parser::Default.decoder(roomy());
        let mut frames = frames.into_iter();
        let Some(Frame::Text(text)) = frames.next() else {
            panic!("the first frame must be text");
        };
        // The JSON escapes control characters, so the text is safe inside a polling body.
        const RS: char = '\u{1e}';
        prop_assert!(!text.contains(RS) || p.nsp.contains(RS), "separator in {:?}", text);
        let mut out = d.decode_text(&text).unwrap();
        let mut attachments = 0;
        for f in frames {
            prop_assert_eq!(&out, &None);
            let Frame::Binary(b) = f else { panic!("attachments are binary") };
            out = d.decode_binary(b).unwrap();
            attachments += 1;
        }
        prop_assert_eq!(attachments, match &p.data {
            PacketData::Event { args, .. } | PacketData::Ack { args, .. } => {
                args.iter().map(count_binary).sum::<usize>()
            }
            _ => 0,
        });
        prop_assert_eq!(out, Some(p));
        prop_assert!(!d.is_reassembling());
    }

    #[test]
    fn engineio_websocket_round_trips(p in eio_packet(false)) {
        let limits = roomy();
        let back = match p.encode_ws() {
            WsFrame::Text(t) => engineio::Packet::decode_ws_text(&t, &limits),
            WsFrame::Binary(b) => engineio::Packet::decode_ws_binary(b, &limits),
        };
        prop_assert_eq!(back, Ok(p));
    }

    #[test]
    fn engineio_polling_round_trips(ps in proptest::collection::vec(eio_packet(true), 1..8)) {
        let body = engineio::encode_payload(&ps);
        prop_assert_eq!(engineio::decode_payload(body.as_bytes(), &roomy()), Ok(ps));
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_text(s in any::<String>()) {
        let _ = Parser::Default.decoder(Limits::default()).decode_text(&s);
        let _ = engineio::Packet::decode_ws_text(&s, &Limits::default());
        let _ = engineio::decode_payload(s.as_bytes(), &Limits::default());
    }
}

fn count_binary(v: &Value) -> usize {
    match v {
        Value::Binary(_) => 1,
        Value::Array(a) => a.iter().map(count_binary).sum(),
        Value::Object(m) => m.values().map(count_binary).sum(),
        _ => 0,
    }
}
