//! sio-client and socket.io-client 4.8 in the same scenarios against the same kind of
//! server (`tests/interop/client/server.js`, one process each): the events each reports —
//! the manager's (`open`, `close` with its reason, `error`, `reconnect_attempt`,
//! `reconnect`, `reconnect_error`, `reconnect_failed`, `upgrade`) and the socket's
//! (`connect`, `disconnect` with its reason, `connect_error`) — must be the same, in the same
//! order. `tests/interop/client/client-events.js` is the Node side; the two sequences are
//! compared separately, as the order between a manager's and a socket's events depends on
//! the network in some scenarios.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NodeServer, interop_dir};
use serde::Deserialize;
use sio_client::{ClientConfig, Manager, ManagerEvent, TransportKind, Value};
use tokio::sync::Notify;

/// What one client saw.
#[derive(Debug, Default, Deserialize, PartialEq)]
struct Seen {
    manager: Vec<String>,
    socket: Vec<String>,
}

/// socket.io-client in `scenario`, against its own server.
async fn node_client(scenario: &str, transports: &str) -> Seen {
    let server = NodeServer::start("client/server.js", server_env(scenario)).await;
    let out = tokio::process::Command::new("node")
        .args([
            "client/client-events.js",
            &server.url(),
            scenario,
            transports,
        ])
        .current_dir(interop_dir())
        .kill_on_drop(true)
        .output()
        .await
        .expect("node must be on PATH");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "socket.io-client printed {text:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        v.get("timeout").is_none(),
        "socket.io-client did not finish {scenario}: {v}"
    );
    serde_json::from_value(v).unwrap()
}

/// The server's options for `scenario`.
fn server_env(scenario: &str) -> &'static [(&'static str, &'static str)] {
    if scenario == "upgrade-refused" {
        &[("NO_UPGRADE", "1")]
    } else {
        &[]
    }
}

/// Whether reconnection is over: it gave up and every attempt has its outcome.
fn settled(manager: &[String]) -> bool {
    let count = |p: &str| manager.iter().filter(|e| e.starts_with(p)).count();
    manager.iter().any(|e| e == "reconnect_failed")
        && count("reconnect_attempt") == count("reconnect_error")
}

/// Whether `scenario` is over, with the same rules as client-events.js.
fn finished(scenario: &str, seen: &Seen) -> bool {
    let connects = seen.socket.iter().filter(|e| *e == "connect").count();
    match scenario {
        "kick" => seen.socket.iter().any(|e| e.starts_with("disconnect:")),
        "drop" | "freeze" => connects == 2,
        "die" => settled(&seen.manager),
        "upgrade" => connects > 0 && seen.manager.iter().any(|e| e.starts_with("upgrade:")),
        "upgrade-refused" => connects > 0 && seen.manager.iter().any(|e| e == "upgradeError"),
        other => panic!("unknown scenario {other}"),
    }
}

/// sio-client in `scenario`, against its own server, with client-events.js's options.
async fn sio_client(
    scenario: &'static str,
    transports: &[TransportKind],
) -> (Seen, Option<TransportKind>) {
    let server = NodeServer::start("client/server.js", server_env(scenario)).await;
    let manager = Manager::new(
        ClientConfig::builder(server.url())
            .transports(transports.iter().copied())
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_delay_max(Duration::from_millis(100))
            .randomization_factor(0.0)
            .reconnection_attempts(2)
            .auto_connect(false)
            .build(),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let changed = Arc::new(Notify::new());
    let (s, n) = (seen.clone(), changed.clone());
    manager.on_event(move |ev| {
        let name = match ev {
            ManagerEvent::Close(reason) => format!("close:{reason}"),
            ManagerEvent::ReconnectAttempt(a) => format!("reconnect_attempt:{a}"),
            ManagerEvent::Reconnect(a) => format!("reconnect:{a}"),
            ManagerEvent::Upgrade(t) => format!("upgrade:{}", t.as_str()),
            other => other.name().to_owned(),
        };
        s.lock().unwrap().manager.push(name);
        n.notify_one();
    });
    let socket = manager.socket("/");
    let (s, n, sock) = (seen.clone(), changed.clone(), socket.clone());
    socket.on_connect(move || {
        let first = {
            let mut seen = s.lock().unwrap();
            seen.socket.push("connect".into());
            seen.socket.len() == 1
        };
        if first {
            let sent = match scenario {
                "kick" | "drop" | "die" => sock.emit(scenario, vec![]),
                "freeze" => sock.emit("freeze", vec![Value::from(6000)]),
                _ => Ok(()),
            };
            sent.unwrap();
        }
        n.notify_one();
    });
    let (s, n) = (seen.clone(), changed.clone());
    socket.on_disconnect(move |reason| {
        s.lock()
            .unwrap()
            .socket
            .push(format!("disconnect:{reason}"));
        n.notify_one();
    });
    // The socket's error handlers also hear the error behind a lost connection; while not
    // connected, they hear socket.io-client's `connect_error`.
    let (s, n, sock) = (seen.clone(), changed.clone(), socket.clone());
    socket.on_error(move |_| {
        if !sock.connected() {
            s.lock().unwrap().socket.push("connect_error".into());
            n.notify_one();
        }
    });
    socket.connect();
    // A hang guard only: every scenario ends on an event long before.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !finished(scenario, &seen.lock().unwrap()) {
        let wait = tokio::time::timeout_at(deadline, changed.notified()).await;
        assert!(
            wait.is_ok(),
            "sio-client did not finish {scenario}: {:?}",
            seen.lock().unwrap()
        );
    }
    let transport = manager.transport();
    drop(server);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    (seen, transport)
}

/// Runs both clients at once and compares what they saw.
async fn same_as_socket_io_client(scenario: &'static str, transports: &[TransportKind]) -> Seen {
    let names: Vec<&str> = transports.iter().map(|t| t.as_str()).collect();
    let list = names.join(",");
    let (node, (ours, _)) = tokio::join!(
        node_client(scenario, &list),
        sio_client(scenario, transports)
    );
    assert_eq!(
        ours.manager, node.manager,
        "manager events in {scenario} over {names:?}"
    );
    assert_eq!(
        ours.socket, node.socket,
        "socket events in {scenario} over {names:?}"
    );
    ours
}

const WS: &[TransportKind] = &[TransportKind::Websocket];
const POLLING: &[TransportKind] = &[TransportKind::Polling];

#[tokio::test]
async fn server_disconnect_over_websocket() {
    let seen = same_as_socket_io_client("kick", WS).await;
    assert_eq!(seen.socket, ["connect", "disconnect:io server disconnect"]);
}

#[tokio::test]
async fn server_disconnect_over_polling() {
    same_as_socket_io_client("kick", POLLING).await;
}

#[tokio::test]
async fn server_closes_the_connection_over_websocket() {
    let seen = same_as_socket_io_client("drop", WS).await;
    assert!(seen.manager.contains(&"reconnect:1".to_owned()), "{seen:?}");
}

#[tokio::test]
async fn server_closes_the_connection_over_polling() {
    same_as_socket_io_client("drop", POLLING).await;
}

/// The server process dies: `transport close` over WebSocket, as Node's ws reports the
/// end of the TCP connection, then two failed reconnection attempts.
#[tokio::test]
async fn server_killed_over_websocket() {
    let seen = same_as_socket_io_client("die", WS).await;
    assert_eq!(seen.socket[1], "disconnect:transport close");
}

/// Over polling the pending request fails: `transport error`.
#[tokio::test]
async fn server_killed_over_polling() {
    let seen = same_as_socket_io_client("die", POLLING).await;
    assert_eq!(seen.socket[1], "disconnect:transport error");
}

/// The server stops answering (a busy loop for 6 s): `ping timeout`, then the reconnection
/// attempt succeeds once it answers again. Over WebSocket only: socket.io-client over
/// polling does not end this scenario (its poll request hangs with the server).
#[tokio::test]
async fn server_frozen_over_websocket() {
    let seen = same_as_socket_io_client("freeze", WS).await;
    assert_eq!(seen.socket[1], "disconnect:ping timeout");
}

#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let both = [TransportKind::Polling, TransportKind::Websocket];
    let names = "polling,websocket";
    let (node, (ours, transport)) =
        tokio::join!(node_client("upgrade", names), sio_client("upgrade", &both));
    assert_eq!(ours.manager, node.manager);
    assert_eq!(ours.socket, node.socket);
    assert_eq!(ours.manager, ["open", "upgrade:websocket"]);
    assert_eq!(transport, Some(TransportKind::Websocket));
}

/// The server refuses the WebSocket of the upgrade: `upgradeError`, and the session stays
/// on polling.
#[tokio::test]
async fn refused_upgrade_stays_on_polling() {
    let both = [TransportKind::Polling, TransportKind::Websocket];
    let names = "polling,websocket";
    let (node, (ours, transport)) = tokio::join!(
        node_client("upgrade-refused", names),
        sio_client("upgrade-refused", &both)
    );
    assert_eq!(ours.manager, node.manager);
    assert_eq!(ours.socket, node.socket);
    assert_eq!(ours.manager, ["open", "upgradeError"]);
    assert_eq!(transport, Some(TransportKind::Polling));
}
