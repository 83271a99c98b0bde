//! Heartbeats: `ping_interval`, `ping_timeout`, and a WebSocket peer that stops reading.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Got, TestServer, config, ws_next, ws_send};
use sio_engine::{CloseReason, Frame, SendError};
use tokio::time::Instant;

/// The lower bound a timer may be observed at: 0.9x of its delay (timer granularity).
fn at_least(d: Duration) -> Duration {
    d.mul_f64(0.9)
}

/// How late past its deadline a close may come on a loaded machine.
const MARGIN: Duration = Duration::from_secs(3);

#[tokio::test]
async fn ping_interval_first_websocket_ping_comes_one_interval_after_the_handshake() {
    let interval = Duration::from_millis(300);
    let server = TestServer::start(config().ping_interval(interval)).await;
    let started = Instant::now();
    let (mut ws, open) = server.ws_handshake().await;
    assert_eq!(open["pingInterval"], 300);
    // The very first frame after OPEN is the PING, and not before one interval.
    assert_eq!(ws_next(&mut ws).await, Got::Text("2".into()));
    let first = started.elapsed();
    assert!(
        first >= at_least(interval),
        "first PING after {first:?}, before the {interval:?} interval"
    );
    // Answered, the next one is again one interval after the PONG.
    let ponged = Instant::now();
    ws_send(&mut ws, "3").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("2".into()));
    let second = ponged.elapsed();
    assert!(
        second >= at_least(interval),
        "second PING {second:?} after the PONG"
    );
    assert!(
        server
            .events()
            .iter()
            .all(|e| matches!(e, common::Event::Open(..)))
    );
}

#[tokio::test]
async fn ping_interval_first_poll_waits_for_the_ping() {
    let interval = Duration::from_millis(300);
    let server = TestServer::start(config().ping_interval(interval)).await;
    let started = Instant::now();
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["pingInterval"], 300);
    let res = server.get(&sid).await;
    let elapsed = started.elapsed();
    assert_eq!((res.status, res.text().as_str()), (200, "2"));
    assert!(
        elapsed >= at_least(interval),
        "the first poll was answered after {elapsed:?}, before the {interval:?} interval"
    );
}

#[tokio::test]
async fn ping_timeout_closes_a_polling_session_that_does_not_answer() {
    let (interval, timeout) = (Duration::from_millis(200), Duration::from_millis(200));
    let server = TestServer::start(config().ping_interval(interval).ping_timeout(timeout)).await;
    let started = Instant::now();
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["pingTimeout"], 200);
    // Nobody polls: the PING is queued, never read, never answered.
    let (reason, at) = server.closed(&sid).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    let after = at - started;
    assert!(
        after >= at_least(interval + timeout) && after <= interval + timeout + MARGIN,
        "closed {after:?} after the handshake"
    );
    assert_eq!(server.engine.session_count(), 0);
    server.assert_gone(&sid).await;
}

#[tokio::test]
async fn ping_timeout_closes_a_websocket_session_that_does_not_answer() {
    let (interval, timeout) = (Duration::from_millis(200), Duration::from_millis(200));
    let server = TestServer::start(config().ping_interval(interval).ping_timeout(timeout)).await;
    let started = Instant::now();
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    assert_eq!(ws_next(&mut ws).await, Got::Text("2".into()));
    // Not answered: the server closes the connection, and nothing else comes first.
    assert_eq!(ws_next(&mut ws).await, Got::Closed);
    let (reason, at) = server.closed(&sid).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    let after = at - started;
    assert!(
        after >= at_least(interval + timeout) && after <= interval + timeout + MARGIN,
        "closed {after:?} after the handshake"
    );
}

/// A WebSocket client that stops reading while the server keeps queueing: its PING sits
/// behind megabytes the socket cannot take, so no PONG can come, and the session must
/// still close (`ping timeout`) rather than wait on the stalled write forever.
#[tokio::test]
async fn slow_reader_is_closed_by_ping_timeout_though_its_ping_was_never_written() {
    let (interval, timeout) = (Duration::from_millis(200), Duration::from_millis(300));
    let server = TestServer::start(
        config()
            .ping_interval(interval)
            .ping_timeout(timeout)
            // Far above what is queued here: the bound must not be what acts.
            .max_buffered_bytes(512 << 20),
    )
    .await;
    let started = Instant::now();
    // The client never reads a single frame (not even the OPEN packet).
    let ws = server.ws("EIO=4&transport=websocket").await;
    let sid = server.opened(1).await;
    let session = server.engine.session(&sid).unwrap();
    // 64 MiB of 1 MiB messages (one shared buffer): much more than the kernel buffers
    // of a loopback connection that is not read hold.
    let big = Frame::message(&"x".repeat(1 << 20));
    for i in 0..64 {
        session
            .send(big.clone())
            .unwrap_or_else(|e| panic!("send #{i} refused: {e}"));
    }
    assert!(session.queued_bytes() > 0);
    let (reason, at) = server.closed(sid.as_str()).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    let after = at - started;
    assert!(
        after >= at_least(interval + timeout) && after <= interval + timeout + MARGIN,
        "closed {after:?} after the handshake"
    );
    assert_eq!(server.engine.session_count(), 0);
    assert!(server.engine.session(&sid).is_none());
    assert!(session.is_closed());
    assert_eq!(session.send(Frame::message("late")), Err(SendError::Closed));
    drop(ws);
}
