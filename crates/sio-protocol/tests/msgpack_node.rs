//! Byte-exact agreement with the real npm packages, live: random values and packets are
//! encoded here, decoded and re-encoded by notepack.io 3.0.1 and socket.io-msgpack-parser
//! 3.0.2 under Node (tests/interop/node_modules), and the bytes must come back unchanged.
//! Needs `node` on PATH and `npm ci` run in tests/interop.
#![cfg(feature = "msgpack")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::{hex, node_lines};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sio_protocol::Limits;
use sio_protocol::msgpack::{decode, decode_packet, encode, encode_packet};
use sio_types::{ConnectError, Packet, Value};

/// For each input line `v <hex>` or `p <hex>`, prints the hex Node re-encodes it to.
const SCRIPT: &str = r#"
const notepack = require('notepack.io');
const parser = require('socket.io-msgpack-parser');
const out = [];
for (const line of require('fs').readFileSync(0, 'utf8').trim().split('\n')) {
  const [kind, hex] = line.split(' ');
  const buf = Buffer.from(hex || '', 'hex');
  if (kind === 'v') {
    out.push(notepack.encode(notepack.decode(buf)).toString('hex'));
  } else {
    const d = new parser.Decoder();
    let got;
    d.on('decoded', (p) => { got = p; });
    d.add(buf);
    out.push(Buffer.from(new parser.Encoder().encode(got)[0]).toString('hex'));
  }
}
process.stdout.write(out.join('\n') + '\n');
"#;

fn run_node(lines: &[String]) -> Vec<String> {
    node_lines(SCRIPT, "notepack.io", lines)
}

/// Values JavaScript holds exactly: integers within ±2^53, object keys that are not
/// integer-like (a JS object moves those to the front) and not `__proto__`.
fn js_value() -> BoxedStrategy<Value> {
    const SAFE: i64 = (1 << 53) - 1;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-SAFE..=SAFE).prop_map(Value::Int),
        prop_oneof![-300i64..300, -70_000i64..70_000].prop_map(Value::Int),
        any::<f64>()
            .prop_filter("integral floats are ints", |f| f.fract() != 0.0)
            .prop_map(Value::Float),
        ".{0,40}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Binary(Bytes::from(b))),
    ];
    leaf.prop_recursive(5, 120, 18, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..18).prop_map(Value::Array),
            prop::collection::vec(("[a-z_$][a-zA-Z0-9_é]{0,8}", inner), 0..18).prop_map(|kv| {
                kv.into_iter()
                    .filter(|(k, _)| k != "__proto__")
                    .collect::<Value>()
            }),
        ]
    })
    .boxed()
}

fn js_packet() -> BoxedStrategy<Packet> {
    let nsp = prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"];
    let args = prop::collection::vec(js_value(), 0..4);
    let id = 0u64..(1 << 53);
    prop_oneof![
        (
            nsp.clone(),
            prop::option::of(prop::collection::vec(("[a-z]{1,6}", js_value()), 0..4))
        )
            .prop_map(|(n, auth)| Packet::connect(n, auth.map(|kv| kv.into_iter().collect()))),
        nsp.clone().prop_map(Packet::disconnect),
        (
            nsp.clone(),
            "[a-z]{1,10}",
            args.clone(),
            prop::option::of(id.clone())
        )
            .prop_map(|(n, e, a, id)| {
                let p = Packet::event(n, e, a);
                match id {
                    Some(id) => p.with_ack(id),
                    None => p,
                }
            }),
        (nsp.clone(), id, args).prop_map(|(n, id, a)| Packet::ack(n, id, a)),
        (
            nsp,
            ".{0,20}",
            prop::option::of(js_value().prop_filter("null is none", |v| !v.is_null()))
        )
            .prop_map(|(n, message, data)| Packet::connect_error(
                n,
                ConnectError { message, data }
            )),
    ]
    .boxed()
}

#[test]
fn node_reencodes_our_bytes_identically() {
    let mut runner = TestRunner::deterministic();
    let roomy = Limits {
        max_packet_size: 16 << 20,
        ..Limits::default()
    };
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..300 {
        let v = js_value().new_tree(&mut runner).unwrap().current();
        let bytes = encode(&v);
        assert_eq!(decode(&bytes, &roomy).unwrap(), v);
        lines.push(format!("v {}", hex(&bytes)));
        expected.push(hex(&bytes));
    }
    for _ in 0..300 {
        let p = js_packet().new_tree(&mut runner).unwrap().current();
        let bytes = encode_packet(&p);
        assert_eq!(decode_packet(&bytes, &roomy).unwrap(), p);
        lines.push(format!("p {}", hex(&bytes)));
        expected.push(hex(&bytes));
    }
    let got = run_node(&lines);
    assert_eq!(got.len(), expected.len());
    for ((line, want), got) in lines.iter().zip(&expected).zip(&got) {
        assert_eq!(got, want, "node re-encoded {line} differently");
    }
}
