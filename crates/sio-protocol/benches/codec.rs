//! Encode and decode cost of the socket.io default parser for the two shapes that matter:
//! a small JSON chat event, and an event carrying a 64 KiB binary attachment.
//!
//! Run with `cargo bench -p sio-protocol --bench codec`; results are in `docs/benchmarks.md`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sio_protocol::Limits;
use sio_protocol::engineio;
use sio_protocol::socketio::{Frame, Parser};
use sio_types::{Packet, Value};

fn small_event() -> Packet {
    Packet::event(
        "/chat",
        "message",
        vec![Value::from_iter([
            ("user", Value::from("ada")),
            ("text", Value::from("hello, world")),
            ("ts", Value::from(1_700_000_000_000i64)),
            ("tags", Value::Array(vec!["a".into(), "b".into()])),
        ])],
    )
    .with_ack(42)
}

fn binary_event() -> Packet {
    let blob = Bytes::from((0..64 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    Packet::event(
        "/",
        "upload",
        vec![Value::from_iter([
            ("name", Value::from("file.bin")),
            ("data", Value::Binary(blob)),
        ])],
    )
}

fn decode(frames: &[Frame]) -> Packet {
    let mut d = Parser::Default.decoder(Limits::default());
    let mut out = None;
    for f in frames {
        out = match f {
            Frame::Text(t) => d.decode_text(t).unwrap(),
            Frame::Binary(b) => d.decode_binary(b.clone()).unwrap(),
        };
    }
    out.unwrap()
}

fn bench(c: &mut Criterion) {
    for (name, packet) in [
        ("small_json_event", small_event()),
        ("binary_64k_event", binary_event()),
    ] {
        let frames = Parser::Default.encode(&packet).unwrap();
        assert_eq!(decode(&frames), packet);
        c.bench_function(&format!("socketio/encode/{name}"), |b| {
            b.iter(|| Parser::Default.encode(black_box(&packet)).unwrap())
        });
        c.bench_function(&format!("socketio/decode/{name}"), |b| {
            b.iter(|| decode(black_box(&frames)))
        });
    }

    // The same 64 KiB attachment over HTTP long-polling, where engine.io v4 base64-encodes it.
    let bin = engineio::Packet::Binary(Bytes::from(vec![7u8; 64 * 1024]));
    let body = engineio::encode_payload(std::slice::from_ref(&bin));
    c.bench_function("engineio/encode_payload/binary_64k", |b| {
        b.iter(|| engineio::encode_payload(std::slice::from_ref(black_box(&bin))))
    });
    c.bench_function("engineio/decode_payload/binary_64k", |b| {
        b.iter(|| engineio::decode_payload(black_box(body.as_bytes()), &Limits::default()).unwrap())
    });
}

criterion_group! {
    name = benches;
    // Short runs: the machine is shared; the numbers are for orders of magnitude.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
