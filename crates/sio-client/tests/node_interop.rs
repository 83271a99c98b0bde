//! sio-client against the official socket.io 4.8 Node server (`tests/interop/client/server.js`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{NodeServer, eventually, wait_until};
use sio_client::{
    ClientConfig, ClientConfigBuilder, DisconnectReason, Error, Manager, Socket, TransportKind,
    Value,
};
use tokio::sync::mpsc;

fn cfg(server: &NodeServer) -> ClientConfigBuilder {
    ClientConfig::builder(server.url())
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
        .ack_timeout(Duration::from_secs(5))
}

/// A socket connected over WebSocket only, with [`cfg`]'s options.
async fn connect_ws(server: &NodeServer) -> Socket {
    cfg(server)
        .transports([TransportKind::Websocket])
        .build()
        .connect()
        .await
        .unwrap()
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::from_iter(pairs.iter().map(|(k, v)| (*k, v.clone())))
}

async fn transport_of(socket: &sio_client::Socket) -> String {
    let r = socket.emit_with_ack("transport", vec![]).await.unwrap();
    r[0].as_str().unwrap().to_owned()
}

/// The query parameter and the extra header reach the server on every transport.
async fn check_handshake(socket: &sio_client::Socket) {
    let r = socket.emit_with_ack("handshake", vec![]).await.unwrap();
    assert_eq!(
        r[0],
        obj(&[("q", Value::from("a b&c")), ("header", Value::from("yes"))])
    );
}

async fn json_round_trip(socket: &sio_client::Socket) {
    let payload = vec![
        Value::from("text é ✓"),
        Value::from(42),
        Value::from(1.5),
        Value::Null,
        obj(&[("a", Value::Array(vec![Value::from(true), Value::from("x")]))]),
    ];
    let back = socket
        .emit_with_ack("echo-ack", payload.clone())
        .await
        .unwrap();
    assert_eq!(back, payload);
}

async fn binary_round_trip(socket: &sio_client::Socket) {
    let bin = Value::from(vec![0u8, 1, 2, 255]);
    let r = socket
        .emit_with_ack("is-buffer", vec![bin.clone()])
        .await
        .unwrap();
    assert_eq!(r, vec![Value::Bool(true), Value::from(4)]);
    let nested = obj(&[
        ("file", bin.clone()),
        ("list", Value::Array(vec![bin.clone(), Value::from("s")])),
    ]);
    let back = socket
        .emit_with_ack("echo-ack", vec![nested.clone(), bin.clone()])
        .await
        .unwrap();
    assert_eq!(back, vec![nested, bin]);

    // Server → client binary, as an event.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = socket.on("binary", move |ev| {
        let _ = tx.send(ev.args);
    });
    socket
        .emit_with_ack("send-binary", vec![Value::from(300)])
        .await
        .unwrap();
    let args = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let expected: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
    assert_eq!(args[0], Value::Binary(Bytes::from(expected)));
    assert_eq!(args[1], obj(&[("nested", Value::from(b"hi".to_vec()))]));
    socket.off(id);
}

#[tokio::test]
async fn websocket_only() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server)
        .transports([TransportKind::Websocket])
        .query("q", "a b&c")
        .extra_header("x-sio-test", "yes")
        .build()
        .connect()
        .await
        .unwrap();
    check_handshake(&socket).await;
    assert!(socket.id().is_some());
    assert_eq!(transport_of(&socket).await, "websocket");
    json_round_trip(&socket).await;
    binary_round_trip(&socket).await;
}

#[tokio::test]
async fn polling_only() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server)
        .transports([TransportKind::Polling])
        .query("q", "a b&c")
        .extra_header("x-sio-test", "yes")
        .build()
        .connect()
        .await
        .unwrap();
    check_handshake(&socket).await;
    assert_eq!(transport_of(&socket).await, "polling");
    json_round_trip(&socket).await;
    binary_round_trip(&socket).await;
    // Still polling: no upgrade without websocket in the list.
    assert_eq!(transport_of(&socket).await, "polling");
}

#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server).build().connect().await.unwrap();
    let t = eventually("upgrade to websocket", 10, || {
        let s = socket.clone();
        async move {
            let t = transport_of(&s).await;
            (t == "websocket").then_some(t)
        }
    })
    .await;
    assert_eq!(t, "websocket");
    json_round_trip(&socket).await;
    binary_round_trip(&socket).await;
}

#[tokio::test]
async fn answers_the_servers_emit_with_ack() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = connect_ws(&server).await;
    socket.on("question", |mut ev| {
        let n: i64 = ev.arg(0).unwrap();
        let (n2, bin): (i64, Bytes) = ev.decode().unwrap();
        assert_eq!((n2, bin.as_ref()), (41, &[9u8, 8][..]));
        let b = ev.args[1].clone();
        assert!(ev.wants_ack());
        // emitWithAck resolves with the first ack argument only.
        ev.ack(vec![Value::Array(vec![Value::from(n + 1), b])]);
    });
    let r = socket
        .emit_with_ack(
            "ask-client",
            vec![Value::from(41), Value::from(vec![9u8, 8])],
        )
        .await
        .unwrap();
    assert_eq!(
        r[0],
        obj(&[
            ("ok", Value::Bool(true)),
            (
                "reply",
                Value::Array(vec![Value::from(42), Value::from(vec![9u8, 8])])
            ),
        ])
    );
}

#[tokio::test]
async fn ack_timeout_and_reserved_events() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = connect_ws(&server).await;
    // `echo` does not acknowledge: the ack times out.
    let err = socket
        .emit_with_ack_timeout("echo", vec![], Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Ack(sio_types::AckError::Timeout)),
        "{err:?}"
    );
    assert!(matches!(
        socket.emit("disconnect", vec![]),
        Err(Error::ReservedEvent(_))
    ));
}

#[tokio::test]
async fn two_namespaces_over_one_connection() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let manager =
        Manager::new(cfg(&server).transports([TransportKind::Websocket]).build()).unwrap();
    let main = manager.socket("/");
    let admin = manager.socket("/admin");
    admin.set_auth(Some(obj(&[("role", Value::from("admin"))])));
    let welcomes = Arc::new(Mutex::new(Vec::new()));
    for s in [&main, &admin] {
        let w = welcomes.clone();
        s.on("welcome", move |ev| {
            w.lock().unwrap().push(ev.args[0].clone())
        });
        s.connect();
    }
    wait_until("both namespaces connected", 10, || {
        main.connected() && admin.connected()
    })
    .await;
    wait_until("both welcomes", 10, || welcomes.lock().unwrap().len() == 2).await;
    let w = welcomes.lock().unwrap().clone();
    let nsps: Vec<&str> = w
        .iter()
        .map(|v| v.get("nsp").and_then(Value::as_str).unwrap())
        .collect();
    assert!(nsps.contains(&"/") && nsps.contains(&"/admin"), "{nsps:?}");
    let a = admin
        .emit_with_ack("echo-ack", vec![Value::from("a")])
        .await
        .unwrap();
    let m = main
        .emit_with_ack("echo-ack", vec![Value::from("m")])
        .await
        .unwrap();
    assert_eq!((a, m), (vec![Value::from("a")], vec![Value::from("m")]));
    // One engine.io session: both sockets share the transport and its upgrade state.
    assert_eq!(transport_of(&main).await, "websocket");

    // Leaving one namespace keeps the other connected.
    admin.disconnect();
    wait_until("admin disconnected", 5, || !admin.connected()).await;
    json_round_trip(&main).await;

    // A namespace refused by middleware reports the server's message.
    let refused = manager.socket("/admin");
    refused.set_auth(None);
    let (tx, mut rx) = mpsc::unbounded_channel();
    refused.on_error(move |e| {
        let _ = tx.send(e.clone());
    });
    refused.connect();
    let err = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        err,
        Error::ConnectRefused {
            nsp: "/admin".into(),
            message: "admins only".into()
        }
    );
    assert!(main.connected());
}

#[cfg(feature = "msgpack")]
#[tokio::test]
async fn msgpack_parser() {
    let server = NodeServer::start("client/server.js", &[("PARSER", "msgpack")]).await;
    for transports in [vec![TransportKind::Websocket], vec![TransportKind::Polling]] {
        let socket = cfg(&server)
            .transports(transports)
            .parser(sio_client::Parser::Msgpack)
            .build()
            .connect()
            .await
            .unwrap();
        json_round_trip(&socket).await;
        binary_round_trip(&socket).await;
    }
}

#[tokio::test]
async fn retries_deliver_at_least_once_across_a_dropped_connection() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server)
        .transports([TransportKind::Websocket])
        .retries(3)
        .ack_timeout(Duration::from_secs(2))
        .build()
        .connect()
        .await
        .unwrap();
    let disconnects = Arc::new(Mutex::new(Vec::new()));
    let d = disconnects.clone();
    socket.on_disconnect(move |r| d.lock().unwrap().push(r.clone()));
    let id = format!("msg-{}", std::process::id());
    // The server drops the connection on the first arrival and acks the second.
    let r = socket
        .emit_with_ack("store", vec![obj(&[("id", Value::from(id.as_str()))])])
        .await
        .unwrap();
    assert_eq!(r, vec![Value::from("stored")]);
    let seen = socket
        .emit_with_ack("seen", vec![Value::from(id.as_str())])
        .await
        .unwrap();
    assert_eq!(seen, vec![Value::from(2)]);
    assert_eq!(
        disconnects.lock().unwrap()[0],
        DisconnectReason::TransportClose
    );

    // Fire-and-forget emits are queued and retried the same way.
    let id2 = format!("{id}-b");
    socket
        .emit("store", vec![obj(&[("id", Value::from(id2.as_str()))])])
        .unwrap();
    eventually("second message stored", 15, || {
        let s = socket.clone();
        let id2 = id2.clone();
        async move {
            let n = s
                .emit_with_ack("seen", vec![Value::from(id2.as_str())])
                .await
                .ok()?;
            (n == vec![Value::from(2)]).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn without_retries_a_dropped_packet_is_lost() {
    // The control for the test above: the same flow with retries off fails.
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = connect_ws(&server).await;
    let r = socket
        .emit_with_ack("store", vec![obj(&[("id", Value::from("lost"))])])
        .await;
    assert!(
        matches!(r, Err(Error::Ack(sio_types::AckError::Disconnected))),
        "{r:?}"
    );
}

#[tokio::test]
async fn emits_while_disconnected_are_buffered() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let manager = Manager::new(
        cfg(&server)
            .transports([TransportKind::Websocket])
            .max_buffered(2)
            .build(),
    )
    .unwrap();
    let socket = manager.socket("/");
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.on("echo-back", move |ev| {
        let _ = tx.send(ev.args);
    });
    socket.emit("echo", vec![Value::from(1)]).unwrap();
    socket.emit("echo", vec![Value::from(2)]).unwrap();
    assert!(matches!(
        socket.emit("echo", vec![Value::from(3)]),
        Err(Error::BufferFull(2))
    ));
    socket.connect();
    for n in [1, 2] {
        let args = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(args, vec![Value::from(n)]);
    }
}

#[tokio::test]
async fn server_disconnect_is_final_and_transport_loss_reconnects() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = connect_ws(&server).await;
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r = reasons.clone();
    socket.on_disconnect(move |reason| r.lock().unwrap().push(reason.clone()));
    let first_id = socket.id().unwrap();
    socket.emit("drop", vec![]).unwrap();
    wait_until("reconnected", 10, || {
        socket.connected() && socket.id().as_deref() != Some(first_id.as_str())
    })
    .await;
    socket.emit("kick", vec![]).unwrap();
    wait_until("kicked", 5, || !socket.connected()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!socket.connected() && !socket.active());
    assert_eq!(
        *reasons.lock().unwrap(),
        vec![
            DisconnectReason::TransportClose,
            DisconnectReason::IoServerDisconnect
        ]
    );
}

#[tokio::test]
async fn connection_state_recovery() {
    let server = NodeServer::start("client/server.js", &[("RECOVERY", "1")]).await;
    let recovered = Arc::new(Mutex::new(Vec::new()));
    let manager =
        Manager::new(cfg(&server).transports([TransportKind::Websocket]).build()).unwrap();
    let socket = manager.socket("/");
    let r = recovered.clone();
    socket.on("recovered", move |ev| {
        r.lock().unwrap().push(ev.args[0].clone())
    });
    socket.connect();
    wait_until("connected", 10, || socket.connected()).await;
    assert!(!socket.recovered());
    let first_id = socket.id().unwrap();
    // An event carrying an offset, so the server has something to recover from.
    socket
        .emit("broadcast-offset", vec![Value::from("x")])
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    socket.emit("drop", vec![]).unwrap();
    wait_until("recovered", 10, || socket.connected() && socket.recovered()).await;
    assert_eq!(
        socket.id().unwrap(),
        first_id,
        "recovery keeps the socket id"
    );
    json_round_trip(&socket).await;
}

#[tokio::test]
async fn dead_server_is_detected_by_ping_timeout() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server)
        .transports([TransportKind::Websocket])
        .reconnection(false)
        .build()
        .connect()
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.on_disconnect(move |r| {
        let _ = tx.send(r.clone());
    });
    // Freeze the server: the TCP connection stays open but no ping comes any more.
    let pid = server.pid().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await;
    std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    assert_eq!(reason.unwrap().unwrap(), DisconnectReason::PingTimeout);
}

#[tokio::test]
async fn reconnection_gives_up_after_the_configured_attempts() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let manager = Manager::new(
        ClientConfig::builder(format!("http://127.0.0.1:{port}"))
            .reconnection_attempts(2)
            .reconnection_delay(Duration::from_millis(20))
            .reconnection_delay_max(Duration::from_millis(40))
            .build(),
    )
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    manager.on_event(move |e| ev.lock().unwrap().push(e.name()));
    let socket = manager.socket("/");
    let errors = Arc::new(Mutex::new(Vec::new()));
    let e = errors.clone();
    socket.on_error(move |err| e.lock().unwrap().push(err.to_string()));
    socket.connect();
    wait_until("gave up", 10, || !socket.active()).await;
    // The first try and two reconnection attempts each fail the socket's connection; the
    // manager tells that it gave up, before the last attempt's error (socket.io-client's
    // order).
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(
        *events.lock().unwrap(),
        [
            "error",
            "reconnect_attempt",
            "error",
            "reconnect_error",
            "reconnect_attempt",
            "error",
            "reconnect_failed",
            "reconnect_error"
        ]
    );
}

#[tokio::test]
async fn retries_give_up_after_retries_plus_one_tries() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server)
        .transports([TransportKind::Websocket])
        .retries(2)
        .ack_timeout(Duration::from_millis(300))
        .build()
        .connect()
        .await
        .unwrap();
    let arrivals = Arc::new(Mutex::new(0));
    let a = arrivals.clone();
    socket.on("echo-back", move |_| *a.lock().unwrap() += 1);
    // `echo` never acknowledges: every try times out.
    let err = socket
        .emit_with_ack("echo", vec![Value::from(1)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Ack(sio_types::AckError::Timeout)),
        "{err:?}"
    );
    wait_until("three arrivals", 5, || *arrivals.lock().unwrap() == 3).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        *arrivals.lock().unwrap(),
        3,
        "one try plus two retries, no more"
    );
}

#[tokio::test]
async fn custom_path_on_every_transport() {
    let server = NodeServer::start("client/server.js", &[("SIO_PATH", "/custom-io/")]).await;
    for transports in [vec![TransportKind::Websocket], vec![TransportKind::Polling]] {
        // The default path is not served: the handshake fails.
        let err = cfg(&server)
            .transports(transports.clone())
            .reconnection(false)
            // Node leaves an unknown path's polling request unanswered.
            .connect_timeout(Duration::from_secs(2))
            .build()
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        let socket = cfg(&server)
            .transports(transports)
            .path("/custom-io/")
            .build()
            .connect()
            .await
            .unwrap();
        json_round_trip(&socket).await;
    }
}

#[tokio::test]
async fn a_closed_manager_refuses_emits() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let manager =
        Manager::new(cfg(&server).transports([TransportKind::Websocket]).build()).unwrap();
    let socket = manager.socket("/");
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r = reasons.clone();
    socket.on_disconnect(move |reason| r.lock().unwrap().push(reason.clone()));
    socket.connect();
    wait_until("connected", 10, || socket.connected()).await;
    manager.close().await;
    assert!(matches!(socket.emit("echo", vec![]), Err(Error::Closed)));
    assert!(!socket.connected());
    assert_eq!(
        *reasons.lock().unwrap(),
        vec![DisconnectReason::ForcedClose]
    );
}

/// Messages far larger than one read of the WebSocket (8 KiB), within the default 1 MB
/// packet limit, arrive whole, text and binary, in both directions.
#[tokio::test]
async fn large_messages_over_websocket() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = connect_ws(&server).await;
    let text = Value::from("é".repeat(300_000));
    let bin = Value::from(
        (0..600_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let back = socket
        .emit_with_ack("echo-ack", vec![text.clone(), bin.clone()])
        .await
        .unwrap();
    assert_eq!(back, vec![text, bin]);
}
