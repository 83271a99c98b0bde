//! The HTTP-level options: `allow_request`, `cookie`, `cors`, `http_compression`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    Got, SEP, TestServer, assert_engine_error, assert_ws_echo, config, refused_status, ws_next,
    ws_send,
};
use http::StatusCode;
use sio_engine::config::{Cors, CorsOrigin};
use sio_engine::{Cookie, EngineConfigBuilder, Frame, Refusal};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// An engine whose `allow_request` wants an `x-token` header, and how often it was asked.
async fn token_server() -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = TestServer::start(config().allow_request(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        let ok = req.headers.contains_key("x-token");
        async move {
            if ok {
                Ok(())
            } else {
                Err(Refusal {
                    status: StatusCode::UNAUTHORIZED,
                    message: "no token".into(),
                })
            }
        }
    }))
    .await;
    (server, calls)
}

#[tokio::test]
async fn allow_request_refuses_handshakes_and_does_not_check_open_sessions() {
    let (server, calls) = token_server().await;
    // Refused over polling: the refusal's status and engine.io's body with code 4.
    let res = server.get_query("EIO=4&transport=polling").await;
    assert_engine_error(&res, 401, 4, "no token");
    // And over WebSocket.
    assert_eq!(
        refused_status(server.try_ws("EIO=4&transport=websocket").await),
        401
    );
    assert_eq!(server.engine.session_count(), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // With the header, both handshakes succeed.
    let (sid, _, _) = server.handshake_with(&[("x-token", "t")]).await;
    let mut req = server
        .ws_url("EIO=4&transport=websocket")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("x-token", "t".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let open = common::open_packet(&common::ws_text(&mut ws).await);
    assert!(open["sid"].is_string());
    assert_ws_echo(&mut ws, "ws").await;
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    // Requests of the open session carry no header and are not checked: POST, GET and
    // the WebSocket of its upgrade.
    server.assert_polling_echo(&sid, "no header needed").await;
    let mut up = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut up, "2probe").await;
    assert_eq!(ws_next(&mut up).await, Got::Text("3probe".into()));
    ws_send(&mut up, "5").await;
    assert_ws_echo(&mut up, "upgraded").await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "a request with a sid was checked"
    );
}

#[tokio::test]
async fn cookie_is_set_on_handshakes_with_the_sid() {
    let server = TestServer::start(config().cookie(Cookie::default())).await;
    let (sid, _, res) = server.handshake().await;
    assert_eq!(
        res.header_all("set-cookie"),
        [format!("io={sid}; Path=/; HttpOnly; SameSite=Lax")]
    );
    // Only on the handshake.
    server.push(&sid, "4x").await;
    let res = server.get(&sid).await;
    assert_eq!(res.text(), "4x");
    assert!(res.header("set-cookie").is_none());
    // The WebSocket's 101 carries it too, with its own sid.
    let (mut ws, res) = server.try_ws("EIO=4&transport=websocket").await.unwrap();
    let ws_sid = common::sid_of(&common::open_packet(&common::ws_text(&mut ws).await));
    let cookies: Vec<_> = res.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies,
        [format!("io={ws_sid}; Path=/; HttpOnly; SameSite=Lax").as_str()]
    );
}

#[tokio::test]
async fn cookie_is_not_set_without_the_option() {
    let server = TestServer::start(config()).await;
    let (_, _, res) = server.handshake().await;
    assert!(res.header("set-cookie").is_none(), "{:?}", res.headers);
    let (_, res) = server.try_ws("EIO=4&transport=websocket").await.unwrap();
    assert!(res.headers().get("set-cookie").is_none());
}

const ORIGIN: &str = "http://app.example";

async fn preflight(server: &TestServer, origin: &str) -> common::Resp {
    server
        .request(
            "OPTIONS",
            "EIO=4&transport=polling",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            None,
        )
        .await
}

#[tokio::test]
async fn cors_any_origin_on_preflights_and_requests() {
    let server = TestServer::start(config().cors(Cors::default())).await;
    let res = preflight(&server, ORIGIN).await;
    assert!(
        (200..300).contains(&res.status),
        "preflight answered {}",
        res.status
    );
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let methods = res.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "allow-methods {methods:?}");
    // No session was opened by the preflight.
    assert_eq!(server.engine.session_count(), 0);
    let (sid, _, res) = server.handshake_with(&[("Origin", ORIGIN)]).await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    // And on the requests of the session: a POST, and the GET that brings its echo.
    let res = server
        .request(
            "POST",
            &common::poll_query(&sid),
            &[("Origin", ORIGIN)],
            Some(b"4x"),
        )
        .await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let res = server.get_with(&sid, &[("Origin", ORIGIN)]).await;
    assert_eq!(res.text(), "4x");
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn cors_origin_list_allows_only_its_origins() {
    let cors = Cors {
        origin: CorsOrigin::List(vec![ORIGIN.into()]),
        ..Cors::default()
    };
    let server = TestServer::start(config().cors(cors)).await;
    let res = preflight(&server, ORIGIN).await;
    assert!((200..300).contains(&res.status));
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    let (_, _, res) = server.handshake_with(&[("Origin", ORIGIN)]).await;
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));

    let evil = "http://evil.example";
    let res = preflight(&server, evil).await;
    assert!(res.header("access-control-allow-origin").is_none());
    let (_, _, res) = server.handshake_with(&[("Origin", evil)]).await;
    assert!(
        res.header("access-control-allow-origin").is_none(),
        "{:?}",
        res.headers
    );
}

#[tokio::test]
async fn cors_off_sends_no_cors_headers() {
    let server = TestServer::start(config()).await;
    let (_, _, res) = server.handshake_with(&[("Origin", ORIGIN)]).await;
    assert!(res.header("access-control-allow-origin").is_none());
    let res = preflight(&server, ORIGIN).await;
    assert!(res.header("access-control-allow-origin").is_none());
    assert!(
        !(200..300).contains(&res.status),
        "without cors a preflight is an ordinary (refused) request: {}",
        res.status
    );
}

/// Opens a polling session and queues `messages` on it; returns the sid and the exact
/// polling body the next GET must carry.
async fn queued(server: &TestServer, messages: &[String]) -> (String, String) {
    let (sid, _, _) = server.handshake().await;
    let session = server.session(&sid);
    for m in messages {
        session.send(Frame::message(m)).unwrap();
    }
    let body = messages
        .iter()
        .map(|m| format!("4{m}"))
        .collect::<Vec<_>>()
        .join(&SEP.to_string());
    (sid, body)
}

/// Four messages of 300 characters: a polling body of 1,207 bytes, over 1 KiB.
fn big_messages() -> Vec<String> {
    (0..4).map(|i| format!("{i}").repeat(300)).collect()
}

fn gunzip(data: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(data)
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn inflate(data: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(data)
        .read_to_string(&mut out)
        .unwrap();
    out
}

async fn compression_server(threshold: Option<usize>) -> TestServer {
    let cfg: EngineConfigBuilder = config().http_compression(threshold);
    TestServer::start(cfg).await
}

#[tokio::test]
async fn http_compression_gzips_large_polling_responses() {
    let server = compression_server(Some(1024)).await;
    let (sid, expected) = queued(&server, &big_messages()).await;
    assert!(expected.len() >= 1024);
    let res = server
        .get_with(&sid, &[("Accept-Encoding", "gzip, deflate, br")])
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.body.len() < expected.len());
    assert_eq!(gunzip(&res.body), expected);
}

#[tokio::test]
async fn http_compression_uses_deflate_when_only_deflate_is_accepted() {
    let server = compression_server(Some(1024)).await;
    let (sid, expected) = queued(&server, &big_messages()).await;
    let res = server
        .get_with(&sid, &[("Accept-Encoding", "deflate")])
        .await;
    assert_eq!(res.header("content-encoding"), Some("deflate"));
    assert_eq!(inflate(&res.body), expected);
}

#[tokio::test]
async fn http_compression_leaves_small_bodies_and_unaccepting_clients_plain() {
    let server = compression_server(Some(1024)).await;
    // Below the threshold.
    let (sid, expected) = queued(&server, &["small".to_owned()]).await;
    let res = server.get_with(&sid, &[("Accept-Encoding", "gzip")]).await;
    assert!(res.header("content-encoding").is_none());
    assert_eq!(res.text(), expected);
    // The threshold is inclusive: 1,023 bytes stay plain, 1,024 are compressed.
    let (sid, expected) = queued(&server, &["a".repeat(1022)]).await;
    assert_eq!(expected.len(), 1023);
    let res = server.get_with(&sid, &[("Accept-Encoding", "gzip")]).await;
    assert!(res.header("content-encoding").is_none());
    assert_eq!(res.text(), expected);
    let (sid, expected) = queued(&server, &["a".repeat(1023)]).await;
    let res = server.get_with(&sid, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&res.body), expected);
    // Large, but the client accepts no compression it knows.
    let (sid, expected) = queued(&server, &big_messages()).await;
    let res = server.get_with(&sid, &[("Accept-Encoding", "br")]).await;
    assert!(res.header("content-encoding").is_none());
    assert_eq!(res.text(), expected);
}

#[tokio::test]
async fn http_compression_none_turns_it_off() {
    let server = compression_server(None).await;
    let (sid, expected) = queued(&server, &big_messages()).await;
    let res = server.get_with(&sid, &[("Accept-Encoding", "gzip")]).await;
    assert!(res.header("content-encoding").is_none());
    assert_eq!(res.text(), expected);
}
