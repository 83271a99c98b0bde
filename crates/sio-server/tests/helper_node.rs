//! The server helper driven by the official socket.io-client 4.8 (Node): the scripts in
//! `tests/interop/helper/` walk the seed's whole server flow on each transport set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sio_server::helper::{SendMessage, ServerHelper};
use sio_server::{SocketId, Value};

/// A guard against hanging forever, not a speed requirement.
const PATIENCE: Duration = Duration::from_secs(90);

async fn start(connected: Arc<AtomicUsize>) -> ServerHelper {
    let helper = ServerHelper::builder()
        .identifier("node-interop")
        .listen("127.0.0.1:0".parse().unwrap())
        .ping_interval(Duration::from_millis(300))
        .authenticate_timeout(Duration::from_millis(1500))
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .validate_room(|_socket, rooms| async move {
            Ok(rooms
                .into_iter()
                .filter(|r| !r.starts_with("private-"))
                .collect())
        })
        .client_connected(move |_socket| {
            let c = connected.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    helper
        .on("echo", |socket, args, ack| async move {
            let _ = socket.emit_args("echo-back", args.0.clone());
            if let Some(ack) = ack {
                let _ = ack.send_args(args.into_vec());
            }
        })
        .unwrap();
    // The script's window into the server: registry entries, send, disconnect.
    let h = helper.clone();
    helper
        .on("ctl", move |_socket, args, ack| {
            let h = h.clone();
            async move {
                let req = args.get(0).cloned().unwrap_or_default();
                let op = req.get("op").and_then(Value::as_str).unwrap_or_default();
                let id: Option<SocketId> = req
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok());
                let answer = match op {
                    "client" => id
                        .and_then(|id| h.client(id))
                        .map(|c| sio_server::sio_types::value::to_value(&c).unwrap())
                        .unwrap_or_default(),
                    "send" => {
                        let data = req.get("data").cloned().unwrap_or_default();
                        let mut msg = SendMessage::new("news", data);
                        if let Some(d) = req.get("destination").and_then(Value::as_str) {
                            msg = msg.to(d);
                        }
                        Value::Bool(h.send(msg).await.unwrap())
                    }
                    "disconnect" => {
                        let socket = id.and_then(|id| h.socket(id));
                        if let Some(ack) = ack {
                            let _ = ack.send(&socket.is_some());
                        }
                        if let Some(s) = socket {
                            // Let the ack leave before the connection closes.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            h.disconnect(&s);
                        }
                        return;
                    }
                    _ => Value::Null,
                };
                if let Some(ack) = ack {
                    let _ = ack.send(&answer);
                }
            }
        })
        .unwrap();
    helper
}

async fn node(script: &str, args: &[&str]) -> String {
    sio_tests::node::script(&format!("helper/{script}"), args).await
}

async fn run(transports: &str) {
    let connected = Arc::new(AtomicUsize::new(0));
    let helper = start(connected.clone()).await;
    let url = format!("http://{}", helper.local_addr().unwrap());
    let out = node("flow.js", &[&url, transports]).await;
    eprintln!("{out}");
    // One client authenticated (the bad token and the silent one never did).
    assert_eq!(connected.load(Ordering::SeqCst), 1);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !helper.clients().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registry not emptied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    helper.shutdown().await;
    assert_eq!(helper.live_timers(), 0);
    assert_eq!(helper.live_tasks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_with_socket_io_client_websocket() {
    run("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_with_socket_io_client_polling_then_upgrade() {
    run("polling,websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_flow_with_socket_io_client_polling_only() {
    run("polling").await;
}

/// `shutdown()` with official clients connected: both are disconnected by the server, and
/// nothing of the helper is left.
async fn shutdown_with(transports: &str) {
    use tokio::io::AsyncBufReadExt;
    let helper = start(Arc::default()).await;
    let url = format!("http://{}", helper.local_addr().unwrap());
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/helper/shutdown.js");
    let mut child = tokio::process::Command::new("node")
        .arg(&path)
        .args([url.as_str(), transports])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node is on PATH");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("READY in time")
        .unwrap();
    assert_eq!(ready.as_deref(), Some("READY"));
    assert_eq!(helper.clients().len(), 2);
    assert_eq!(
        helper.client_count(sio_server::sio_types::ClientState::Authenticated),
        2
    );
    assert_eq!(
        helper.client_count(sio_server::sio_types::ClientState::Unauthorized),
        0
    );
    helper.shutdown().await;
    assert!(helper.clients().is_empty());
    assert_eq!(helper.live_timers(), 0);
    assert_eq!(helper.live_tasks(), 0);
    let ok = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("OK in time")
        .unwrap()
        .unwrap_or_default();
    assert!(ok.starts_with("OK "), "{ok}");
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    helper.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_disconnects_socket_io_clients_websocket() {
    shutdown_with("websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_disconnects_socket_io_clients_polling() {
    shutdown_with("polling").await;
}
