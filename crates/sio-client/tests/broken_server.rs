//! Bad input from a deliberately broken server (`tests/interop/client/broken-server.js`)
//! becomes a clear error through the error callback; nothing panics and the client
//! reconnects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::NodeServer;
use sio_client::{ClientConfig, ClientHelper, Error, Manager, TransportKind, Value};
use tokio::sync::mpsc;

#[tokio::test]
async fn bad_input_is_reported_not_panicked() {
    let server = NodeServer::start("client/broken-server.js", &[]).await;
    let config = ClientConfig::builder(server.url())
        .transports([TransportKind::Websocket])
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let errors = tx.clone();
    let helper = ClientHelper::builder(config)
        .on_error(move |_, e| {
            let _ = errors.send(e.clone());
        })
        .build()
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.push(e);
    }
    let text: Vec<String> = got.iter().map(ToString::to_string).collect();
    eprintln!("errors reported: {text:#?}");
    // 1: a socket.io packet of unknown type.
    assert!(
        matches!(&got[0], Error::Protocol(m) if m.contains("socket.io")),
        "{text:?}"
    );
    // 2: a binary frame no BINARY_EVENT announced.
    assert!(
        matches!(&got[1], Error::Protocol(m) if m.contains("socket.io")),
        "{text:?}"
    );
    // 3: a 3 MB frame, over the 1 MB limit.
    assert!(
        matches!(
            &got[2],
            Error::PayloadTooLarge {
                limit: 1_000_000,
                ..
            }
        ),
        "{text:?}"
    );
    // 4: an engine.io packet of unknown type.
    assert!(
        matches!(&got[3], Error::Protocol(m) if m.contains("engine.io")),
        "{text:?}"
    );

    // The fifth connection behaves: the client is still usable.
    let (hello_tx, mut hello_rx) = mpsc::unbounded_channel();
    helper.socket().on("hello-back", move |ev| {
        let _ = hello_tx.send(ev.args);
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let args = loop {
        if helper.is_connected() {
            let _ = helper.emit("hello", vec![Value::Null]);
        }
        if let Ok(Some(a)) = tokio::time::timeout(Duration::from_millis(200), hello_rx.recv()).await
        {
            break a;
        }
        assert!(tokio::time::Instant::now() < deadline, "no hello-back");
    };
    assert_eq!(args, vec![Value::from(5)]);
    drop(tx);
}

#[tokio::test]
async fn unreachable_server_reports_a_connection_error() {
    // A port nothing listens on: bind then drop a listener to get one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = ClientConfig::builder(format!("http://127.0.0.1:{port}"))
        .reconnection(false)
        .build()
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(Manager::new(ClientConfig::builder("gopher://x").build()).is_err());
}

#[tokio::test]
async fn bad_polling_input_is_reported_not_panicked() {
    let server = NodeServer::start("client/broken-server.js", &[("MODE", "polling")]).await;
    let config = ClientConfig::builder(server.url())
        .transports([TransportKind::Polling])
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let helper = ClientHelper::builder(config)
        .on_error(move |_, e| {
            let _ = tx.send(e.clone());
        })
        .build()
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let text: Vec<String> = got.iter().map(ToString::to_string).collect();
    eprintln!("errors reported: {text:#?}");
    // 1: a 3 MB polling body, over the 1 MB limit.
    assert!(
        matches!(
            &got[0],
            Error::PayloadTooLarge {
                limit: 1_000_000,
                ..
            }
        ),
        "{text:?}"
    );
    // 2: a body that is not an engine.io payload.
    assert!(
        matches!(&got[1], Error::Protocol(m) if m.contains("polling payload")),
        "{text:?}"
    );
    // 3: binary with invalid base64.
    assert!(
        matches!(&got[2], Error::Protocol(m) if m.contains("polling payload")),
        "{text:?}"
    );

    // The fourth session behaves.
    let (hello_tx, mut hello_rx) = mpsc::unbounded_channel();
    helper.socket().on("hello-back", move |ev| {
        let _ = hello_tx.send(ev.args);
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let args = loop {
        if helper.is_connected() {
            let _ = helper.emit("hello", vec![Value::Null]);
        }
        if let Ok(Some(a)) = tokio::time::timeout(Duration::from_millis(200), hello_rx.recv()).await
        {
            break a;
        }
        assert!(tokio::time::Instant::now() < deadline, "no hello-back");
    };
    assert_eq!(args[0], Value::from(4));
}
