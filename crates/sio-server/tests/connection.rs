//! The engine.io connection under the sockets: when it closes, and the reason sockets get.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Got, Raw};
use sio_server::{DisconnectReason, SocketIo};
use tokio::sync::mpsc;
use tokio::time::Instant;

async fn listen(io: &SocketIo) -> (sio_server::ListenHandle, u16) {
    let h = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = h.local_addr().port();
    (h, port)
}

/// A server whose `/` sockets report their disconnect reason and leave on `leave`.
fn server(
    io: sio_server::SocketIoBuilder,
) -> (SocketIo, mpsc::UnboundedReceiver<DisconnectReason>) {
    let io = io.build();
    let (tx, reasons) = mpsc::unbounded_channel();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |_s, reason| {
                let _ = tx.send(reason);
            });
            socket.on("leave", |socket, _args, _ack| async move {
                socket.disconnect(false);
            });
        }
    });
    io.ns("/other", |_socket| async move {});
    (io, reasons)
}

#[tokio::test]
async fn a_connection_left_without_a_namespace_gets_the_connect_timeout_again() {
    let timeout = Duration::from_millis(400);
    let (io, mut reasons) = server(
        SocketIo::builder()
            .connect_timeout(timeout)
            .ping_interval(Duration::from_millis(100)),
    );
    let (_h, port) = listen(&io).await;

    // Left by the server, the client keeps answering PINGs: the connection still closes.
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    raw.send(r#"2["leave"]"#).await;
    assert_eq!(raw.recv_text().await, "1", "the namespace DISCONNECT");
    let left = Instant::now();
    assert_eq!(
        reasons.recv().await.unwrap(),
        DisconnectReason::ServerNamespaceDisconnect
    );
    raw.expect_closed("no namespace joined after leaving").await;
    assert!(
        left.elapsed() >= timeout.mul_f32(0.9),
        "closed after {:?}, before the connect timeout",
        left.elapsed()
    );
    assert_eq!(io.connection_count(), 0);

    // Joining another namespace in time keeps the connection.
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    raw.send(r#"2["leave"]"#).await;
    assert_eq!(raw.recv_text().await, "1");
    raw.join("/other").await;
    tokio::time::sleep(timeout * 2).await;
    raw.send_raw("40/other,").await;
    // Still open: a CONNECT to a namespace it is in is ignored, an unknown one refused.
    raw.send_raw("40/nope,").await;
    match raw.recv().await {
        Got::Text(t) => assert!(t.starts_with("4/nope,"), "got {t}"),
        other => panic!("expected the CONNECT_ERROR, got {}", describe(&other)),
    }
    assert_eq!(io.connection_count(), 1);
}

fn describe(g: &Got) -> &'static str {
    match g {
        Got::Text(_) => "text",
        Got::Binary(_) => "binary",
        Got::Closed => "the close",
    }
}

#[tokio::test]
async fn a_websocket_dropped_without_its_close_frame_is_transport_close() {
    let (io, mut reasons) = server(SocketIo::builder());
    let (_h, port) = listen(&io).await;
    let (raw, _) = Raw::connect_ns(port, "").await;
    drop(raw);
    assert_eq!(
        reasons.recv().await.unwrap(),
        DisconnectReason::TransportClose
    );
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_ping_timeout() {
    let (io, mut reasons) = server(
        SocketIo::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100)),
    );
    let (_h, port) = listen(&io).await;
    // Connected, then never read again: the PING goes unanswered.
    let (_raw, _) = Raw::connect_ns(port, "").await;
    assert_eq!(reasons.recv().await.unwrap(), DisconnectReason::PingTimeout);
}

#[tokio::test]
async fn closing_the_server_is_server_shutting_down_for_every_connection() {
    let (io, mut reasons) = server(SocketIo::builder());
    let (_h, port) = listen(&io).await;
    let (mut a, _) = Raw::connect_ns(port, "").await;
    // A connection without a namespace is closed too.
    let mut b = Raw::connect(port, "").await;
    io.close().await;
    assert_eq!(
        reasons.recv().await.unwrap(),
        DisconnectReason::ServerShuttingDown
    );
    a.expect_closed("server closed").await;
    b.expect_closed("server closed").await;
    assert_eq!(io.connection_count(), 0);
}

/// A helper on its own listener: auth timeout `auth`, connect timeout `connect`, CORS for
/// one origin (set through `server_options`, the own-listener mode has no tower stack).
async fn helper(auth: Duration, connect: Duration) -> sio_server::ServerHelper {
    use sio_server::config::{Cors, CorsOrigin};
    let helper = sio_server::ServerHelper::builder()
        .identifier("connection-test")
        .listen("127.0.0.1:0".parse().unwrap())
        .authenticate_timeout(auth)
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .server_options(move |b| {
            b.connect_timeout(connect)
                .ping_interval(Duration::from_millis(100))
                .cors(Cors {
                    origin: CorsOrigin::List(vec!["https://app.example".into()]),
                    ..Cors::default()
                })
        })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    helper
}

#[tokio::test]
async fn a_client_that_never_authenticates_loses_its_connection_not_only_its_socket() {
    let (auth, connect) = (Duration::from_millis(200), Duration::from_millis(300));
    let helper = helper(auth, connect).await;
    let port = helper.local_addr().unwrap().port();
    // Joins `/` without a token and answers every PING, as a hostile client would.
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        match raw.recv().await {
            Got::Text(t) => seen.push(t),
            Got::Closed => break,
            Got::Binary(_) => panic!("unexpected binary"),
        }
    }
    // The auth timeout: the namespace DISCONNECT, then the connection's own timeout.
    assert_eq!(seen, ["1"]);
    assert!(
        start.elapsed() >= (auth + connect).mul_f32(0.9),
        "closed after {:?}",
        start.elapsed()
    );
    assert_eq!(helper.io().unwrap().connection_count(), 0);
    helper.shutdown().await;
}

#[tokio::test]
async fn the_helper_own_listener_answers_cors_preflights() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let helper = helper(Duration::from_secs(5), Duration::from_secs(5)).await;
    let addr = helper.local_addr().unwrap();
    let preflight = |origin: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\n\
             Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
             Connection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut res = String::new();
        s.read_to_string(&mut res).await.unwrap();
        res.to_ascii_lowercase()
    };
    let ok = preflight("https://app.example").await;
    assert!(ok.starts_with("http/1.1 2"), "{ok}");
    assert!(
        ok.contains("access-control-allow-origin: https://app.example"),
        "{ok}"
    );
    let other = preflight("https://evil.example").await;
    assert!(!other.contains("access-control-allow-origin"), "{other}");
    helper.shutdown().await;
}
