//! `https://` / `wss://` against socket.io 4.8 over HTTPS (`tests/interop/client/tls-server.js`),
//! with the test CA of `tests/fixtures/`. Runs with `--features tls`.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{NodeServer, eventually};
use sio_client::{ClientConfig, ClientConfigBuilder, Error, TransportKind, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

async fn server() -> NodeServer {
    let dir = fixtures();
    NodeServer::start(
        "client/tls-server.js",
        &[("TLS_DIR", dir.to_str().unwrap())],
    )
    .await
}

fn config(server: &NodeServer) -> ClientConfigBuilder {
    let ca = std::fs::read(fixtures().join("ca.crt")).unwrap();
    ClientConfig::builder(format!("https://localhost:{}", server.port))
        .reconnection(false)
        .add_root_certificates_pem(&ca)
        .unwrap()
}

async fn transport_of(socket: &sio_client::Socket) -> String {
    let r = socket.emit_with_ack("transport", vec![]).await.unwrap();
    r[0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_transport_over_tls() {
    let server = server().await;
    for (transports, expected) in [
        (vec![TransportKind::Websocket], "websocket"),
        (vec![TransportKind::Polling], "polling"),
    ] {
        let socket = config(&server)
            .transports(transports)
            .build()
            .connect()
            .await
            .unwrap();
        assert_eq!(transport_of(&socket).await, expected);
        let args = vec![Value::from("tls"), Value::from(vec![1u8, 2, 3])];
        assert_eq!(
            socket
                .emit_with_ack("echo-ack", args.clone())
                .await
                .unwrap(),
            args
        );
    }
    let upgraded = config(&server).build().connect().await.unwrap();
    eventually("upgrade to wss", 10, || {
        let s = upgraded.clone();
        async move { (transport_of(&s).await == "websocket").then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn an_unknown_certificate_authority_is_refused() {
    let server = server().await;
    for transports in [vec![TransportKind::Websocket], vec![TransportKind::Polling]] {
        let err = ClientConfig::builder(format!("https://localhost:{}", server.port))
            .reconnection(false)
            .transports(transports)
            .build()
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Transport(m) if m.to_lowercase().contains("certificate")),
            "{err}"
        );
    }
    assert!(matches!(
        ClientConfig::builder("https://x").add_root_certificates_pem(b"not pem"),
        Err(Error::Config(_))
    ));
}
