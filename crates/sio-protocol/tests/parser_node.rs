//! Live agreement with socket.io-parser 4.2 (tests/interop/node_modules): packets encoded
//! here are decoded by the real JavaScript decoder, re-encoded by its encoder, and the text
//! and attachments must come back byte for byte. Covers every packet type, namespaces,
//! ack ids and nested binary attachments. Needs `node` on PATH and `npm ci` in tests/interop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{hex, node_lines};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sio_protocol::Limits;
use sio_protocol::socketio::{Frame, Parser};
use sio_types::{ConnectError, Packet, Value};

/// Reads one packet per line: hex-encoded frames separated by spaces, the first one text.
/// Writes the frames socket.io-parser produces after decoding them, in the same format.
const SCRIPT: &str = r#"
const { Decoder, Encoder } = require('socket.io-parser');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const frames = line.split(' ').map((h) => Buffer.from(h, 'hex'));
  const decoder = new Decoder({ maxAttachments: 1000 });
  let packet = null;
  decoder.on('decoded', (p) => { packet = p; });
  decoder.add(frames[0].toString('utf8'));
  for (const b of frames.slice(1)) decoder.add(b);
  if (packet === null) throw new Error('incomplete packet: ' + line);
  const encoded = new Encoder().encode(packet).map((f) =>
    typeof f === 'string' ? Buffer.from(f, 'utf8').toString('hex') : Buffer.from(f).toString('hex'));
  out.push(encoded.join(' '));
}
process.stdout.write(out.join('\n') + '\n');
"#;

fn frames_line(frames: &[Frame]) -> String {
    frames
        .iter()
        .map(|f| match f {
            Frame::Text(t) => hex(t.as_bytes()),
            Frame::Binary(b) => hex(b),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn node(lines: &[String]) -> Vec<String> {
    node_lines(SCRIPT, "socket.io-parser", lines)
}

/// Values JavaScript round-trips to the same bytes: integers JavaScript holds exactly, no
/// floats (JS prints `1.0` as `1` and `1e21` as `1e+21`), object keys that are not
/// integer-like (JS moves those to the front).
fn js_value() -> BoxedStrategy<Value> {
    const SAFE: i64 = (1 << 53) - 1;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-SAFE..=SAFE).prop_map(Value::Int),
        any::<String>().prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Value::Binary(Bytes::from(b))),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[a-zA-Z_ é€\"\\\\\n]{0,8}", inner), 0..6)
                .prop_map(|kv| kv.into_iter().collect::<Value>()),
        ]
    })
    .boxed()
}

fn no_binary(v: Value) -> Value {
    match v {
        Value::Binary(_) => Value::Null,
        Value::Array(a) => Value::Array(a.into_iter().map(no_binary).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, no_binary(v))).collect()),
        other => other,
    }
}

fn js_packet() -> BoxedStrategy<Packet> {
    let nsp = prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_/-]{1,10}"];
    let id = 0u64..(1 << 53);
    let args = proptest::collection::vec(js_value(), 0..4);
    prop_oneof![
        (
            nsp.clone(),
            proptest::option::of(proptest::collection::vec(("[a-z]{1,6}", js_value()), 0..4))
        )
            .prop_map(|(n, auth)| {
                let auth = auth.map(|kv| no_binary(kv.into_iter().collect::<Value>()));
                Packet::connect(n, auth)
            }),
        nsp.clone().prop_map(Packet::disconnect),
        (
            nsp.clone(),
            "[a-z:.]{1,12}",
            args.clone(),
            proptest::option::of(id.clone())
        )
            .prop_map(|(n, e, a, ack)| {
                let p = Packet::event(n, e, a);
                ack.map_or(p.clone(), |id| p.with_ack(id))
            }),
        (nsp.clone(), id, args).prop_map(|(n, id, a)| Packet::ack(n, id, a)),
        (nsp, any::<String>(), proptest::option::of(js_value())).prop_map(|(n, message, d)| {
            Packet::connect_error(
                n,
                ConnectError {
                    message,
                    data: d.map(no_binary),
                },
            )
        }),
    ]
    .boxed()
}

#[test]
fn socket_io_parser_reencodes_our_frames_byte_for_byte() {
    let mut runner = TestRunner::deterministic();
    let strategy = js_packet();
    let packets: Vec<Packet> = (0..400)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let lines: Vec<String> = packets
        .iter()
        .map(|p| frames_line(&Parser::Default.encode(p).unwrap()))
        .collect();
    assert!(
        packets
            .iter()
            .filter(|p| p.packet_type().is_binary())
            .count()
            > 50,
        "the sample must exercise attachments"
    );
    let back = node(&lines);
    assert_eq!(back.len(), lines.len());
    for ((ours, theirs), p) in lines.iter().zip(&back).zip(&packets) {
        assert_eq!(
            ours, theirs,
            "socket.io-parser re-encoded {p:?} differently"
        );
    }
    // And the frames decode back to the packets here, completing the loop.
    for (line, p) in back.iter().zip(&packets) {
        let mut d = Parser::Default.decoder(Limits::default());
        let mut out = None;
        for (i, h) in line.split(' ').enumerate() {
            let bytes: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&h[j..j + 2], 16).unwrap())
                .collect();
            out = if i == 0 {
                d.decode_text(&String::from_utf8(bytes).unwrap()).unwrap()
            } else {
                d.decode_binary(Bytes::from(bytes)).unwrap()
            };
        }
        assert_eq!(out.as_ref(), Some(p));
    }
}

/// socket.io-parser's own encodings decode here to the packet JavaScript meant.
#[test]
fn we_decode_what_socket_io_parser_writes() {
    let script = r#"
const { Encoder, PacketType } = require('socket.io-parser');
const e = new Encoder();
const packets = [
  { type: PacketType.CONNECT, nsp: '/', data: { token: 'abc' } },
  { type: PacketType.EVENT, nsp: '/chat', id: 9007199254740991, data: ['msg', { a: [1, 'x', null, true] }] },
  { type: PacketType.EVENT, nsp: '/', data: ['up', Buffer.from([1, 2]), { nested: [Buffer.from([3])] }] },
  { type: PacketType.ACK, nsp: '/', id: 0, data: [] },
  { type: PacketType.CONNECT_ERROR, nsp: '/x', data: { message: 'nope', data: { code: 7 } } },
  { type: PacketType.DISCONNECT, nsp: '/x' },
];
const out = packets.map((p) => e.encode(p).map((f) =>
  typeof f === 'string' ? Buffer.from(f).toString('hex') : Buffer.from(f).toString('hex')).join(' '));
process.stdout.write(out.join('\n') + '\n');
"#;
    let lines = node_lines(script, "socket.io-parser", &[]);
    let expected = [
        Packet::connect("/", Some(Value::from_iter([("token", "abc")]))),
        Packet::event(
            "/chat",
            "msg",
            vec![Value::from_iter([(
                "a",
                Value::Array(vec![1.into(), "x".into(), Value::Null, true.into()]),
            )])],
        )
        .with_ack(9_007_199_254_740_991),
        Packet::event(
            "/",
            "up",
            vec![
                Value::from(vec![1u8, 2]),
                Value::from_iter([("nested", Value::Array(vec![Value::from(vec![3u8])]))]),
            ],
        ),
        Packet::ack("/", 0, vec![]),
        Packet::connect_error(
            "/x",
            ConnectError {
                message: "nope".into(),
                data: Some(Value::from_iter([("code", 7)])),
            },
        ),
        Packet::disconnect("/x"),
    ];
    assert_eq!(lines.len(), expected.len());
    for (line, p) in lines.iter().zip(expected) {
        let mut d = Parser::Default.decoder(Limits::default());
        let mut got = None;
        for (i, h) in line.split(' ').enumerate() {
            let bytes: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&h[j..j + 2], 16).unwrap())
                .collect();
            got = if i == 0 {
                d.decode_text(&String::from_utf8(bytes).unwrap()).unwrap()
            } else {
                d.decode_binary(Bytes::from(bytes)).unwrap()
            };
        }
        assert_eq!(got, Some(p));
    }
}
