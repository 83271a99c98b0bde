//! Live agreement with engine.io-parser 5.2 (tests/interop/node_modules): polling bodies
//! encoded here are decoded and re-encoded by the real JavaScript parser and must come back
//! byte for byte, text and base64 binary alike. Needs `node` and `npm ci` in tests/interop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{hex, node_lines};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sio_protocol::Limits;
use sio_protocol::engineio::{Packet, decode_payload, encode_payload};

/// One hex-encoded polling body per line in; the body engine.io-parser re-encodes, out.
const SCRIPT: &str = r#"
const { decodePayload, encodePayload } = require('engine.io-parser');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
const out = new Array(lines.length);
let pending = lines.length;
lines.forEach((line, i) => {
  const packets = decodePayload(Buffer.from(line, 'hex').toString('utf8'), 'nodebuffer');
  if (packets.some((p) => p.type === 'error')) throw new Error('engine.io-parser refused ' + line);
  encodePayload(packets, (body) => {
    out[i] = Buffer.from(body, 'utf8').toString('hex');
    if (--pending === 0) process.stdout.write(out.join('\n') + '\n');
  });
});
"#;

fn packet() -> impl Strategy<Value = Packet> {
    let text = "[^\u{1e}]{0,24}";
    prop_oneof![
        Just(Packet::Close),
        text.prop_map(Packet::Ping),
        text.prop_map(Packet::Pong),
        text.prop_map(Packet::Message),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Packet::Binary(Bytes::from(b))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

#[test]
fn engine_io_parser_reencodes_our_polling_bodies_byte_for_byte() {
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec(packet(), 1..6);
    let bodies: Vec<String> = (0..300)
        .map(|_| encode_payload(&strategy.new_tree(&mut runner).unwrap().current()))
        .collect();
    let lines: Vec<String> = bodies.iter().map(|b| hex(b.as_bytes())).collect();
    let back = node_lines(SCRIPT, "engine.io-parser", &lines);
    assert_eq!(back.len(), bodies.len());
    assert!(
        bodies
            .iter()
            .any(|b| b.contains('\u{1e}') && b.contains("\u{1e}b"))
    );
    for (ours, theirs) in bodies.iter().zip(back) {
        assert_eq!(hex(ours.as_bytes()), theirs, "body {ours:?}");
        assert!(decode_payload(ours.as_bytes(), &Limits::default()).is_ok());
    }
}
