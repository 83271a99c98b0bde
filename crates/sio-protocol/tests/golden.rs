//! Golden vectors: every encoding example of the protocol specifications, byte for byte.
//!
//! Sources (socketio/socket.io repository):
//! - `docs/socket.io-protocol/v5-current.md`, section "Packet encoding" → "Examples"
//!   (connection, sending data, acknowledgement, disconnection) and the WebSocket frames of
//!   "Sample session".
//! - `docs/engine.io-protocol/v4-current.md`, sections "Protocol" → "Handshake" (open packet
//!   example), "Upgrade" (`2probe` / `3probe` / `5`), and "Packet encoding" → "HTTP
//!   long-polling" and "WebSocket" examples.

#![allow(clippy::unwrap_used)] // helpers outside #[test]: the unwrap is the assertion

use bytes::Bytes;
use sio_protocol::Limits;
use sio_protocol::engineio::{self, OpenPacket, WsFrame};
use sio_protocol::socketio::{Frame, Parser};
use sio_types::{ConnectError, Packet, Value};

fn obj<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::from_iter(entries)
}

/// Encodes `packet`, checks the frames, then decodes the frames and checks the packet.
fn golden(packet: Packet, text: &str, attachments: &[&[u8]]) {
    let frames = Parser::Default.encode(&packet).unwrap();
    let mut expected = vec![Frame::Text(text.to_owned())];
    expected.extend(
        attachments
            .iter()
            .map(|a| Frame::Binary(Bytes::copy_from_slice(a))),
    );
    assert_eq!(frames, expected, "encoding {packet:?}");

    let mut decoder = Parser::Default.decoder(Limits::default());
    let mut out = decoder.decode_text(text).unwrap();
    for a in attachments {
        assert_eq!(out, None, "packet complete before its attachments");
        out = decoder.decode_binary(Bytes::copy_from_slice(a)).unwrap();
    }
    assert_eq!(out, Some(packet), "decoding {text}");
}

// socket.io v5, "Packet encoding" → "Examples" → "Connection to a namespace".
#[test]
fn sio_connect_main_namespace() {
    golden(Packet::connect("/", None), "0", &[]);
}

#[test]
fn sio_connect_custom_namespace() {
    golden(
        Packet::connect(
            "/admin",
            Some(obj([("sid", "oSO0OpakMV_3jnilAAAA".into())])),
        ),
        r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
        &[],
    );
}

#[test]
fn sio_connect_refused() {
    golden(
        Packet::connect_error(
            "/",
            ConnectError {
                message: "Not authorized".into(),
                data: None,
            },
        ),
        r#"4{"message":"Not authorized"}"#,
        &[],
    );
}

// "Examples" → "Sending and receiving data".
#[test]
fn sio_event_main_namespace() {
    golden(Packet::event("/", "foo", vec![]), r#"2["foo"]"#, &[]);
}

#[test]
fn sio_event_custom_namespace() {
    golden(
        Packet::event("/admin", "bar", vec![]),
        r#"2/admin,["bar"]"#,
        &[],
    );
}

#[test]
fn sio_binary_event() {
    golden(
        Packet::event("/", "baz", vec![Value::from(vec![1u8, 2, 3, 4])]),
        r#"51-["baz",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    );
}

#[test]
fn sio_binary_event_multiple_attachments() {
    golden(
        Packet::event(
            "/admin",
            "baz",
            vec![Value::from(vec![1u8, 2]), Value::from(vec![3u8, 4])],
        ),
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        &[&[1, 2], &[3, 4]],
    );
}

// "Examples" → "Acknowledgement".
#[test]
fn sio_event_with_ack_id() {
    golden(
        Packet::event("/", "foo", vec![]).with_ack(12),
        r#"212["foo"]"#,
        &[],
    );
}

#[test]
fn sio_ack_custom_namespace() {
    golden(
        Packet::ack("/admin", 13, vec!["bar".into()]),
        r#"3/admin,13["bar"]"#,
        &[],
    );
}

#[test]
fn sio_binary_ack() {
    golden(
        Packet::ack("/", 15, vec!["bar".into(), Value::from(vec![1u8, 2, 3, 4])]),
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    );
}

// "Examples" → "Disconnection from a namespace".
#[test]
fn sio_disconnect_main_namespace() {
    golden(Packet::disconnect("/"), "1", &[]);
}

#[test]
fn sio_disconnect_custom_namespace() {
    golden(Packet::disconnect("/admin"), "1/admin,", &[]);
}

// "Sample session": the socket.io packets inside the engine.io messages (after the `4`).
#[test]
fn sio_sample_session() {
    golden(
        Packet::connect("/", Some(obj([("sid", "wZX3oN0bSVIhsaknAAAI".into())]))),
        r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
        &[],
    );
    golden(
        Packet::event("/", "hey", vec!["Jude".into()]),
        r#"2["hey","Jude"]"#,
        &[],
    );
    golden(Packet::event("/", "hello", vec![]), r#"2["hello"]"#, &[]);
    golden(Packet::connect("/admin", None), "0/admin,", &[]);
    golden(
        Packet::connect(
            "/admin",
            Some(obj([("sid", "-G5j-67EZFp-q59rADQM".into())])),
        ),
        r#"0/admin,{"sid":"-G5j-67EZFp-q59rADQM"}"#,
        &[],
    );
    golden(
        Packet::event("/admin", "tellme", vec![]).with_ack(1),
        r#"2/admin,1["tellme"]"#,
        &[],
    );
    golden(
        Packet::ack("/admin", 1, vec![Value::from(vec![9u8, 8])]),
        r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
        &[&[9, 8]],
    );
}

// The sample session's polling body: two engine.io messages each carrying an EVENT.
#[test]
fn sio_sample_session_polling_body() {
    let body = "42[\"hello\"]\x1e42[\"world\"]";
    let packets = engineio::decode_payload(body.as_bytes(), &Limits::default()).unwrap();
    let mut d = Parser::Default.decoder(Limits::default());
    let events: Vec<Packet> = packets
        .into_iter()
        .map(|p| match p {
            engineio::Packet::Message(t) => d.decode_text(&t).unwrap().unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        events,
        vec![
            Packet::event("/", "hello", vec![]),
            Packet::event("/", "world", vec![])
        ]
    );
}

fn eio_ws(packet: engineio::Packet, text: &str) {
    assert_eq!(packet.encode_ws(), WsFrame::Text(text.to_owned()));
    assert_eq!(
        engineio::Packet::decode_ws_text(text, &Limits::default()),
        Ok(packet)
    );
}

// engine.io v4, "Protocol" → "Handshake": the open packet example (and the one of the
// socket.io sample session, with pingTimeout 5000).
#[test]
fn eio_open_packet() {
    let open = |ping_timeout| {
        engineio::Packet::Open(OpenPacket {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25000,
            ping_timeout,
            max_payload: 1_000_000,
        })
    };
    eio_ws(
        open(20000),
        r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    );
    eio_ws(
        open(5000),
        r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#,
    );
    // The spec prints it pretty; any JSON layout must decode.
    let pretty = "0{\n  \"sid\": \"lv_VI97HAXpY6yYWAAAC\",\n  \"upgrades\": [\"websocket\"],\n  \"pingInterval\": 25000,\n  \"pingTimeout\": 20000,\n  \"maxPayload\": 1000000\n}";
    assert_eq!(
        engineio::Packet::decode_ws_text(pretty, &Limits::default()),
        Ok(open(20000))
    );
}

// "Heartbeat" and "Upgrade": `2`, `3`, `2probe`, `3probe`, `5`; "Sample session": `1`.
#[test]
fn eio_heartbeat_and_upgrade() {
    eio_ws(engineio::Packet::Ping(String::new()), "2");
    eio_ws(engineio::Packet::Pong(String::new()), "3");
    eio_ws(engineio::Packet::Ping("probe".into()), "2probe");
    eio_ws(engineio::Packet::Pong("probe".into()), "3probe");
    eio_ws(engineio::Packet::Upgrade, "5");
    eio_ws(engineio::Packet::Close, "1");
    eio_ws(engineio::Packet::Noop, "6");
}

// "Packet encoding" → "HTTP long-polling", first example.
#[test]
fn eio_polling_text_payload() {
    let packets = vec![
        engineio::Packet::Message("hello".into()),
        engineio::Packet::Ping(String::new()),
        engineio::Packet::Message("world".into()),
    ];
    let body = "4hello\x1e2\x1e4world";
    assert_eq!(engineio::encode_payload(&packets), body);
    assert_eq!(
        engineio::decode_payload(body.as_bytes(), &Limits::default()),
        Ok(packets)
    );
}

// "Packet encoding" → "HTTP long-polling", binary example.
#[test]
fn eio_polling_binary_payload() {
    let packets = vec![
        engineio::Packet::Message("hello".into()),
        engineio::Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
    ];
    let body = "4hello\x1ebAQIDBA==";
    assert_eq!(engineio::encode_payload(&packets), body);
    assert_eq!(
        engineio::decode_payload(body.as_bytes(), &Limits::default()),
        Ok(packets)
    );
}

// "Packet encoding" → "WebSocket": text as `4hello`, binary "sent as is".
#[test]
fn eio_websocket_frames() {
    eio_ws(engineio::Packet::Message("hello".into()), "4hello");
    let bin = engineio::Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]));
    assert_eq!(
        bin.encode_ws(),
        WsFrame::Binary(Bytes::from_static(&[1, 2, 3, 4]))
    );
    assert_eq!(
        engineio::Packet::decode_ws_binary(Bytes::from_static(&[1, 2, 3, 4]), &Limits::default()),
        Ok(bin)
    );
}

// "History" → "From v3 to v4": `€` is 3 bytes in UTF-8, no character counting in v4.
#[test]
fn eio_multibyte_message_in_payload() {
    let body = "4€\x1e4€";
    let packets = engineio::decode_payload(body.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(packets, vec![engineio::Packet::Message("€".into()); 2]);
    assert_eq!(engineio::encode_payload(&packets), body);
}
