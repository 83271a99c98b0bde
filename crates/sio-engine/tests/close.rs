//! How sessions end: what a server-side close delivers first, the reasons of the
//! client-side closes, and `idle_timeout` with `Session::set_idle`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Got, SEP, TestServer, config, ws_next, ws_send};
use sio_engine::{CloseReason, Frame, SendError};
use tokio::time::Instant;

fn queue_three(server: &TestServer, sid: &str) {
    let session = server.session(sid);
    for m in ["one", "two", "three"] {
        session.send(Frame::message(m)).unwrap();
    }
}

#[tokio::test]
async fn server_close_of_a_polling_session_delivers_what_was_queued_first() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    queue_three(&server, &sid);
    let session = server.session(&sid);
    session.close(CloseReason::ForcedClose);
    assert_eq!(
        session.send(Frame::message("after")),
        Err(SendError::Closed)
    );
    // The next poll carries the three messages, then the CLOSE packet.
    let res = server.get(&sid).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), format!("4one{SEP}4two{SEP}4three{SEP}1"));
    assert_eq!(server.closed(&sid).await.0, CloseReason::ForcedClose);
    server.assert_gone(&sid).await;
}

#[tokio::test]
async fn server_close_of_a_websocket_session_delivers_what_was_queued_first() {
    let server = TestServer::start(config()).await;
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    queue_three(&server, &sid);
    server.session(&sid).close(CloseReason::ForcedClose);
    for m in ["4one", "4two", "4three"] {
        assert_eq!(ws_next(&mut ws).await, Got::Text(m.into()));
    }
    // Then the close (an engine.io CLOSE packet before the close frame is allowed).
    let mut next = ws_next(&mut ws).await;
    if next == Got::Text("1".into()) {
        next = ws_next(&mut ws).await;
    }
    assert_eq!(next, Got::Closed);
    assert_eq!(server.closed(&sid).await.0, CloseReason::ForcedClose);
    assert_eq!(server.engine.session_count(), 0);
}

/// engine.io's "forcefully closes the session": a POST of `1` while a GET waits ends that
/// GET with a NOOP (`6`), and the session closes as `transport close`.
#[tokio::test]
async fn client_close_over_polling_ends_the_waiting_get_with_a_noop() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    let (poll, ()) = tokio::join!(server.get(&sid), async {
        // Sent after the GET (engine.io answers `6` to a GET that arrives within a short
        // grace after the POST too, so the exact order does not matter).
        tokio::task::yield_now().await;
        server.push(&sid, "1").await;
    });
    assert_eq!((poll.status, poll.text().as_str()), (200, "6"));
    assert_eq!(server.closed(&sid).await.0, CloseReason::TransportClose);
    server.assert_gone(&sid).await;
}

#[tokio::test]
async fn client_close_over_websocket_with_a_close_packet_is_transport_close() {
    let server = TestServer::start(config()).await;
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    ws_send(&mut ws, "1").await;
    assert_eq!(ws_next(&mut ws).await, Got::Closed);
    assert_eq!(server.closed(&sid).await.0, CloseReason::TransportClose);
}

#[tokio::test]
async fn websocket_dropped_without_a_close_frame_is_transport_close() {
    let server = TestServer::start(config()).await;
    let (ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    // Drops the TCP connection: no WebSocket close frame, no engine.io CLOSE packet.
    drop(ws);
    assert_eq!(server.closed(&sid).await.0, CloseReason::TransportClose);
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn websocket_text_that_is_not_a_packet_is_a_parse_error() {
    let server = TestServer::start(config()).await;
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    ws_send(&mut ws, "abc").await;
    assert_eq!(ws_next(&mut ws).await, Got::Closed);
    assert_eq!(server.closed(&sid).await.0, CloseReason::ParseError);
}

const IDLE: Duration = Duration::from_millis(200);

/// The idle close is a close the server decides (`forced close`): a client's waiting poll
/// is what learns of it, with a CLOSE packet.
#[tokio::test]
async fn idle_timeout_closes_a_session_nobody_marks_busy() {
    let server = TestServer::start(config().idle_timeout(Some(IDLE))).await;
    let started = Instant::now();
    let (sid, _, _) = server.handshake().await;
    let res = server.get(&sid).await;
    assert_eq!((res.status, res.text().as_str()), (200, "1"));
    let (reason, at) = server.closed(&sid).await;
    assert_eq!(reason, CloseReason::ForcedClose);
    let after = at - started;
    assert!(
        after >= IDLE.mul_f64(0.9),
        "closed {after:?} after the handshake, before idle_timeout"
    );
    server.assert_gone(&sid).await;
}

/// Same over WebSocket, where the close needs no poll.
#[tokio::test]
async fn idle_timeout_closes_a_websocket_session_nobody_marks_busy() {
    let server = TestServer::start(config().idle_timeout(Some(IDLE))).await;
    let started = Instant::now();
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    let mut next = ws_next(&mut ws).await;
    if next == Got::Text("1".into()) {
        next = ws_next(&mut ws).await;
    }
    assert_eq!(next, Got::Closed);
    let (reason, at) = server.closed(&sid).await;
    assert_eq!(reason, CloseReason::ForcedClose);
    assert!(at - started >= IDLE.mul_f64(0.9));
}

#[tokio::test]
async fn set_idle_false_keeps_a_session_open_and_set_idle_true_arms_the_timeout_again() {
    let server = TestServer::start_with(
        config().idle_timeout(Some(IDLE)),
        Some(Arc::new(|s| s.set_idle(false))),
    )
    .await;
    let (sid, _, _) = server.handshake().await;
    // Several idle timeouts pass: this sleep is the assertion (nothing may happen).
    tokio::time::sleep(IDLE * 3).await;
    assert_eq!(server.close_of(&sid), None);
    assert!(!server.session(&sid).is_closed());
    server.assert_polling_echo(&sid, "busy").await;
    // Idle again: the timeout runs from now, and the waiting poll gets the CLOSE.
    let idle_since = Instant::now();
    let session = server.session(&sid);
    let (res, ()) = tokio::join!(server.get(&sid), async { session.set_idle(true) });
    assert_eq!((res.status, res.text().as_str()), (200, "1"));
    let (reason, at) = server.closed(&sid).await;
    assert_eq!(reason, CloseReason::ForcedClose);
    let after = at - idle_since;
    assert!(
        after >= IDLE.mul_f64(0.9),
        "closed {after:?} after set_idle(true)"
    );
    server.assert_gone(&sid).await;
}

/// `Engine::close_all`: every session closes as `server shutting down`, a polling one
/// with a CLOSE packet on its poll, a WebSocket one after what was queued on it.
#[tokio::test]
async fn close_all_closes_every_session_after_what_they_had_queued() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    let (mut ws, open) = server.ws_handshake().await;
    let ws_sid = common::sid_of(&open);
    server
        .session(&ws_sid)
        .send(Frame::message("last"))
        .unwrap();
    let (res, ()) = tokio::join!(server.get(&sid), async {
        tokio::task::yield_now().await;
        server.engine.close_all();
    });
    assert_eq!((res.status, res.text().as_str()), (200, "1"));
    assert_eq!(ws_next(&mut ws).await, Got::Text("4last".into()));
    let mut next = ws_next(&mut ws).await;
    if next == Got::Text("1".into()) {
        next = ws_next(&mut ws).await;
    }
    assert_eq!(next, Got::Closed);
    assert_eq!(server.closed(&sid).await.0, CloseReason::ServerShuttingDown);
    assert_eq!(
        server.closed(&ws_sid).await.0,
        CloseReason::ServerShuttingDown
    );
    assert_eq!(server.engine.session_count(), 0);
}
