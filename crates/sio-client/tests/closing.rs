//! What a disconnect, a manager close or a helper shutdown has written once it resolves:
//! every packet queued before it and the DISCONNECT. Each client runs on a runtime of its
//! own that is dropped as soon as the call resolves, which aborts the connection's tasks:
//! anything not written by then never reaches the server
//! (`tests/interop/client/server.js`, which counts the `note`s of each tag).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{NodeServer, eventually};
use sio_client::{ClientConfig, ClientHelper, Manager, TransportKind, Value};

const NOTES: i64 = 300;

#[derive(Clone, Copy, Debug)]
enum How {
    SocketDisconnect,
    ManagerClose,
    HelperShutdown,
}

/// Connects with `auth.tag = tag`, emits the notes, ends as `how` says, awaits it, and
/// drops the runtime at once.
fn run_client(url: String, tag: &'static str, transport: TransportKind, how: How) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let config = ClientConfig::builder(url)
                .transports([transport])
                .auth(Value::from_iter([("tag", tag)]))
                .build();
            let manager = Manager::new(config.clone()).unwrap();
            let socket = manager.socket("/");
            assert!(socket.wait_connected(Duration::from_secs(10)).await);
            let emit_all = |emit: &dyn Fn() -> bool| {
                for _ in 0..NOTES {
                    assert!(emit());
                }
            };
            match how {
                How::SocketDisconnect => {
                    emit_all(&|| socket.emit("note", vec![Value::from(tag)]).is_ok());
                    socket.disconnect().await;
                }
                How::ManagerClose => {
                    emit_all(&|| socket.emit("note", vec![Value::from(tag)]).is_ok());
                    manager.close().await;
                }
                How::HelperShutdown => {
                    drop((socket, manager));
                    let helper = ClientHelper::builder(config).build().unwrap();
                    assert!(
                        helper
                            .socket()
                            .wait_connected(Duration::from_secs(10))
                            .await
                    );
                    emit_all(&|| helper.emit("note", vec![Value::from(tag)]).is_ok());
                    helper.shutdown().await;
                }
            }
        });
        drop(rt);
    })
    .join()
    .unwrap();
}

async fn check(transport: TransportKind, how: How, tag: &'static str) {
    let server = NodeServer::start("client/server.js", &[]).await;
    let url = server.url();
    tokio::task::spawn_blocking(move || run_client(url, tag, transport, how))
        .await
        .unwrap();
    let probe = ClientConfig::builder(server.url())
        .transports([TransportKind::Websocket])
        .build()
        .connect()
        .await
        .unwrap();
    // The count settles as soon as the server has read what is on the wire.
    let (count, reason) = eventually("the server read the notes and the DISCONNECT", 10, || {
        let probe = probe.clone();
        async move {
            let r = probe
                .emit_with_ack("notes", vec![Value::from(tag)])
                .await
                .unwrap();
            let count = r[0].as_i64().unwrap();
            let reason = r[1].as_str().map(str::to_owned);
            reason.map(|reason| (count, reason))
        }
    })
    .await;
    assert_eq!(count, NOTES, "{how:?} over {transport:?}");
    assert_eq!(
        reason, "client namespace disconnect",
        "{how:?} over {transport:?}"
    );
}

#[tokio::test]
async fn socket_disconnect_over_websocket() {
    check(
        TransportKind::Websocket,
        How::SocketDisconnect,
        "disconnect-ws",
    )
    .await;
}

#[tokio::test]
async fn socket_disconnect_over_polling() {
    check(
        TransportKind::Polling,
        How::SocketDisconnect,
        "disconnect-polling",
    )
    .await;
}

#[tokio::test]
async fn manager_close_over_polling() {
    check(TransportKind::Polling, How::ManagerClose, "close-polling").await;
}

#[tokio::test]
async fn manager_close_over_websocket() {
    check(TransportKind::Websocket, How::ManagerClose, "close-ws").await;
}

#[tokio::test]
async fn helper_shutdown_over_polling() {
    check(
        TransportKind::Polling,
        How::HelperShutdown,
        "shutdown-polling",
    )
    .await;
}
