//! Latency the client adds on the wire, measured by the official socket.io 4.8 server
//! (`tests/interop/client/server.js`), which timestamps arrivals with `process.hrtime`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::NodeServer;
use sio_client::{ClientConfig, TransportKind};

/// Two emits written back to back reach the server together. With Nagle's algorithm on,
/// the second small frame waits for the server's delayed ACK of the first (40 ms and more
/// on Linux), which is what this catches; `TCP_NODELAY` makes the gap a few hundred µs.
///
/// Eleven pairs, the median gap counts: Linux acknowledges the first segments of a
/// connection at once (quick-ACK mode), so with Nagle on the first pair or two still arrive
/// together and every later one waits ~43 ms; a busy machine can delay a few pairs with
/// Nagle off, not most of them.
#[tokio::test]
async fn back_to_back_emits_arrive_together_over_websocket() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = ClientConfig::builder(server.url())
        .transports([TransportKind::Websocket])
        .ack_timeout(Duration::from_secs(10))
        .build()
        .connect()
        .await
        .unwrap();
    let mut gaps = Vec::new();
    for _ in 0..11 {
        socket.emit("gap:a", vec![]).unwrap();
        socket.emit("gap:b", vec![]).unwrap();
        let r = socket.emit_with_ack("gap:get", vec![]).await.unwrap();
        let gap_us = r[0].as_i64().expect("the server saw both emits");
        assert!(gap_us >= 0, "the server saw both emits: {r:?}");
        gaps.push(gap_us);
    }
    let mut sorted = gaps.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    assert!(
        median < 10_000,
        "the second of two back-to-back emits waited for the first's ACK: gaps {gaps:?} µs"
    );
}
