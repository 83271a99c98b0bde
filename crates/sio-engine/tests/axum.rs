//! The engine as a tower layer under axum: its path is the engine's, the rest the router's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::routing::get;
use common::{Got, TestServer, assert_ws_echo, config, http, ws_next, ws_send};
use sio_engine::{Engine, TransportKind};

async fn serve_under_axum() -> TestServer {
    let engine = Engine::new(common::Recorder::new(None), config().build());
    let app = axum::Router::new()
        .route("/other", get(|| async { "other" }))
        .layer(engine.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestServer::external(engine, addr)
}

#[tokio::test]
async fn under_axum_the_engine_path_works_and_the_router_keeps_the_rest() {
    let server = serve_under_axum().await;

    // Polling: handshake and an echo round trip.
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    server.assert_polling_echo(&sid, "over polling").await;

    // WebSocket: a session of its own, and the upgrade of the polling one.
    let (mut ws, _) = server.ws_handshake().await;
    assert_ws_echo(&mut ws, "over websocket").await;
    let mut up = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut up, "2probe").await;
    assert_eq!(ws_next(&mut up).await, Got::Text("3probe".into()));
    ws_send(&mut up, "5").await;
    assert_ws_echo(&mut up, "upgraded").await;
    assert_eq!(server.session(&sid).transport(), TransportKind::WebSocket);
    assert_eq!(server.engine.session_count(), 2);

    // The router's own route, and its 404 for the rest.
    let res = http(server.addr, "GET", "/other", &[], None).await;
    assert_eq!((res.status, res.text().as_str()), (200, "other"));
    let res = http(server.addr, "GET", "/missing", &[], None).await;
    assert_eq!(res.status, 404);
    // A path that merely starts like the engine's is not the engine's.
    let res = http(
        server.addr,
        "GET",
        "/engine.iox/?EIO=4&transport=polling",
        &[],
        None,
    )
    .await;
    assert_eq!(res.status, 404);
}
