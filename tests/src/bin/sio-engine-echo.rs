//! A raw sio-engine echo server, as the official engine.io-protocol test suite expects:
//! every message comes back as it was sent (`4hello` as `4hello`, binary as binary).
//!
//! Contract (the one of `sio-conformance-server`, without socket.io): the process contract
//! of `sio_tests::server_process` (env `PORT`, `LISTENING <port>` on stdout once ready,
//! exits when stdin closes), path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms,
//! maxPayload 1,000,000, CORS (any origin). Served by the engine's own listener
//! (`sio_engine::listen`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sio_engine::config::Cors;
use sio_engine::{Echo, Engine, EngineConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = sio_tests::server_process::init();

    let config = EngineConfig::builder()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::default())
        .build();
    let engine = Engine::new(Echo, config);

    let server = sio_engine::listen::listen(engine.service(), addr).await?;
    sio_tests::server_process::listening(server.local_addr().port());

    std::future::pending::<()>().await;
    Ok(())
}
