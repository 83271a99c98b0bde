//! Socket.IO v5 conformance: every case of the "Socket.IO protocol" half of the official
//! socket.io-protocol test suite (connect, disconnect, messages, invalid packets), against
//! the server chosen by `SIO_CONFORMANCE_SERVER` (see `sio_tests::conformance`). The
//! suite's "Engine.IO protocol" half is in `conformance_engineio.rs`.
//! docs/compatibility.md maps each upstream case to the test here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sio_tests::conformance::{Frame, assert_connect_reply, placeholder};
use sio_tests::conformance_server;

// ---- connect -------------------------------------------------------------------------

/// Opens a WebSocket session, sends `connect` and checks the CONNECT reply and the
/// `auth` event that follows it.
async fn connect_case(connect: &str, nsp_prefix: &str, auth_event: &str) {
    let server = conformance_server!().await;
    let (mut ws, _) = server.ws_handshake().await;
    ws.send_text(connect).await;
    let reply = ws.recv_text().await;
    assert_connect_reply(&reply, nsp_prefix);
    ws.expect_text(auth_event).await;
    ws.close().await;
}

#[tokio::test]
async fn connect_to_the_main_namespace() {
    connect_case("40", "", r#"42["auth",{}]"#).await;
}

#[tokio::test]
async fn connect_to_the_main_namespace_with_a_payload() {
    connect_case(r#"40{"token":"123"}"#, "", r#"42["auth",{"token":"123"}]"#).await;
}

#[tokio::test]
async fn connect_to_a_custom_namespace() {
    connect_case("40/custom,", "/custom,", r#"42/custom,["auth",{}]"#).await;
}

#[tokio::test]
async fn connect_to_a_custom_namespace_with_a_payload() {
    connect_case(
        r#"40/custom,{"token":"abc"}"#,
        "/custom,",
        r#"42/custom,["auth",{"token":"abc"}]"#,
    )
    .await;
}

#[tokio::test]
async fn connect_to_an_unknown_namespace_is_refused() {
    let server = conformance_server!().await;
    let (mut ws, _) = server.ws_handshake().await;
    ws.send_text("40/random").await;
    ws.expect_text(r#"44/random,{"message":"Invalid namespace"}"#)
        .await;
    ws.close().await;
}

#[tokio::test]
async fn connect_with_an_invalid_handshake_closes_the_connection() {
    let server = conformance_server!().await;
    let (mut ws, _) = server.ws_handshake().await;
    ws.send_text("4abc").await;
    ws.expect_close().await;
}

#[tokio::test]
async fn connect_timeout_closes_a_session_that_never_connects() {
    let server = conformance_server!().await;
    let (mut ws, _) = server.ws_handshake().await;
    // Answering every PING rules out a ping timeout: only the connect timeout is left.
    let pings = ws.expect_close_answering_pings().await;
    // socket.io: first PING one pingInterval after the handshake, each next one a
    // pingInterval after the previous PONG: 300, ~600, ~900 ms, then the close at 1000 ms.
    // Two if our PONGs were slow enough to push the third past 1000 ms. A server that
    // pinged at once (engineioxide) would send four.
    assert!(
        (2..=3).contains(&pings),
        "{pings} PINGs before the 1 s connect timeout"
    );
}

// ---- disconnect ----------------------------------------------------------------------

#[tokio::test]
async fn disconnect_from_the_main_namespace() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text("41").await;
    // The engine.io session outlives the namespace: the next packet is the heartbeat.
    ws.expect_ping().await;
    // ... and it can connect again.
    ws.send_text("40").await;
    let reply = ws.recv_text().await;
    assert_connect_reply(&reply, "");
    ws.expect_text(r#"42["auth",{}]"#).await;
    ws.close().await;
}

#[tokio::test]
async fn connect_then_disconnect_from_a_custom_namespace() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text("40/custom").await;
    let reply = ws.recv_text().await;
    assert_connect_reply(&reply, "/custom,");
    ws.expect_text(r#"42/custom,["auth",{}]"#).await;
    ws.send_text("41/custom").await;
    ws.send_text(r#"42["message","message to main namespace",1,2]"#)
        .await;
    ws.expect_text(r#"42["message-back","message to main namespace",1,2]"#)
        .await;
    ws.close().await;
}

// ---- message -------------------------------------------------------------------------

#[tokio::test]
async fn message_plain_text() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text(r#"42["message",1,"2",{"3":[true]}]"#).await;
    ws.expect_text(r#"42["message-back",1,"2",{"3":[true]}]"#)
        .await;
    ws.close().await;
}

#[tokio::test]
async fn message_with_binary_attachments() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    let (p0, p1) = (placeholder(0), placeholder(1));
    ws.send_text(&format!(r#"452-["message",{p0},{p1}]"#)).await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.recv_app().await,
        Frame::Text(format!(r#"452-["message-back",{p0},{p1}]"#))
    );
    assert_eq!(ws.recv_app().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv_app().await, Frame::Binary(vec![4, 5, 6]));
    ws.close().await;
}

#[tokio::test]
async fn message_plain_text_with_an_ack() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    ws.expect_text(r#"43456[1,"2",{"3":[false]}]"#).await;
    ws.close().await;
}

#[tokio::test]
async fn message_with_binary_attachments_and_an_ack() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    let (p0, p1) = (placeholder(0), placeholder(1));
    ws.send_text(&format!(r#"452-789["message-with-ack",{p0},{p1}]"#))
        .await;
    ws.send_binary(&[1, 2, 3]).await;
    ws.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        ws.recv_app().await,
        Frame::Text(format!(r#"462-789[{p0},{p1}]"#))
    );
    assert_eq!(ws.recv_app().await, Frame::Binary(vec![1, 2, 3]));
    assert_eq!(ws.recv_app().await, Frame::Binary(vec![4, 5, 6]));
    ws.close().await;
}

#[tokio::test]
async fn message_with_an_unknown_packet_type_closes_the_connection() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text("4abc").await;
    ws.expect_close().await;
}

#[tokio::test]
async fn message_with_an_invalid_payload_closes_the_connection() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text("42{}").await;
    ws.expect_close().await;
}

#[tokio::test]
async fn message_with_an_invalid_ack_id_closes_the_connection() {
    let server = conformance_server!().await;
    let mut ws = server.sio_connect().await;
    ws.send_text(r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    ws.expect_close().await;
}
