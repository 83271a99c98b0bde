//! The official socket.io-client 4.8 (Node) against sio-server: each test starts its own
//! server on a free port and runs one script of `tests/interop/server/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{node, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only() {
    let (_io, _h, url) = start(false).await;
    node("transports.js", &[&url, "polling"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_only() {
    let (_io, _h, url) = start(false).await;
    node("transports.js", &[&url, "websocket"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_upgrades_to_websocket() {
    let (_io, _h, url) = start(false).await;
    node("transports.js", &[&url, "polling,websocket"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_parser_polling_upgrade() {
    let (_io, _h, url) = common::start_with(false, sio_server::Parser::Msgpack).await;
    node("transports.js", &[&url, "polling,websocket", "msgpack"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_and_middleware_refusal() {
    let (_io, _h, url) = start(false).await;
    node("namespaces.js", &[&url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_to_except_local() {
    let (_io, _h, url) = start(false).await;
    node("rooms.js", &[&url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_flag() {
    let (_io, _h, url) = start(false).await;
    node("compress.js", &[&url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_state_recovery_after_forced_close() {
    let (_io, _h, url) = start(true).await;
    node("recovery.js", &[&url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_clients_each_receive_one_room_broadcast_once() {
    let (io, _h, url) = start(false).await;
    node("many.js", &[&url, "1000"]).await;
    // Every client disconnected at the end: nothing may be left in the namespace.
    let ns = io.of("/").unwrap();
    for _ in 0..200 {
        if ns.local_len() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        ns.local_len(),
        0,
        "sockets left after every client disconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_layer_serves_socketio_and_passes_other_routes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let io = common::build(false);
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "plain route" }))
        .layer(io.layer())
        .layer(tower_http::cors::CorsLayer::permissive());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let url = format!("http://127.0.0.1:{port}");
    node("transports.js", &[&url, "polling,websocket"]).await;

    // A route of the app still answers under the layer, with CORS headers added outside.
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.write_all(
        b"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://example.com\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut res = String::new();
    tcp.read_to_string(&mut res).await.unwrap();
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.ends_with("plain route"), "{res}");
    assert!(
        res.to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{res}"
    );
    server.abort();
}
