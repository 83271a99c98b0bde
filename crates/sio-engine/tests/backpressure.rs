//! The handler's back-pressure (`Handler::poll_ready`): while the handler is not ready, a
//! transport reads nothing more from the session, what the server sends keeps flowing,
//! and a close is never held up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Got, SEP, TestServer, config, ws_next, ws_send};
use sio_engine::{CloseReason, Frame};

/// Long enough for a message the server would take to come back: the check that nothing
/// came back cannot pass by being slow, only by the transport not reading.
const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn websocket_reads_nothing_while_the_handler_is_not_ready_and_writes_go_on() {
    let server = TestServer::start(config()).await;
    let (mut ws, open) = server.ws_handshake().await;
    let sid = common::sid_of(&open);
    server.engine.handler().gate.shut();
    ws_send(&mut ws, "4a").await;
    ws_send(&mut ws, "4b").await;
    // The server still sends while it does not read.
    server.session(&sid).send(Frame::message("push")).unwrap();
    assert_eq!(ws_next(&mut ws).await, Got::Text("4push".into()));
    assert!(
        tokio::time::timeout(QUIET, ws_next(&mut ws)).await.is_err(),
        "a message was read while the handler was not ready"
    );
    server.engine.handler().gate.open();
    assert_eq!(ws_next(&mut ws).await, Got::Text("4a".into()));
    assert_eq!(ws_next(&mut ws).await, Got::Text("4b".into()));
}

#[tokio::test]
async fn a_post_waits_while_the_handler_is_not_ready() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    server.engine.handler().gate.shut();
    let body = format!("4a{SEP}4b");
    let post = server.post(&sid, body.as_bytes());
    tokio::pin!(post);
    assert!(
        tokio::time::timeout(QUIET, &mut post).await.is_err(),
        "the POST was answered while the handler was not ready"
    );
    server.engine.handler().gate.open();
    let res = post.await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    assert_eq!(server.get(&sid).await.text(), format!("4a{SEP}4b"));
}

#[tokio::test]
async fn a_close_ends_a_post_that_waits_for_the_handler() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    server.engine.handler().gate.shut();
    let body = format!("4a{SEP}4b");
    let (res, ()) = tokio::join!(server.post(&sid, body.as_bytes()), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.session(&sid).close(CloseReason::ForcedClose);
    });
    // Answered rather than held until the handler is ready (or the heartbeat gives up).
    assert_eq!(res.status, 200);
    // The next poll carries the CLOSE and ends the session.
    assert_eq!(server.get(&sid).await.text(), "1");
    assert_eq!(server.closed(&sid).await.0, CloseReason::ForcedClose);
}
