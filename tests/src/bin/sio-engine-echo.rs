//! A raw sio-engine echo server, as the official engine.io-protocol test suite expects:
//! every message comes back as it was sent (`4hello` as `4hello`, binary as binary).
//!
//! Contract (the one of `sio-conformance-server`, without socket.io): the process contract
//! of `sio_tests::server_process` (env `PORT`, `LISTENING <port>` on stdout once ready,
//! exits when stdin closes), path `/engine.io/`, pingInterval 300 ms, pingTimeout 200 ms,
//! maxPayload 1,000,000, CORS (any origin). Served by the engine's own listener
//! (`sio_engine::listen`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sio_engine::config::Cors;
use sio_engine::{CloseReason, Engine, EngineConfig, Frame, Handler, Message, Session};

struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_open(&self, _session: &Arc<Session<Self>>) {}

    fn on_message(&self, session: &Arc<Session<Self>>, msg: Message<'_>) {
        let frame = match msg {
            Message::Text(t) => Frame::message(t),
            Message::Binary(b) => Frame::binary(b),
        };
        let _ = session.send(frame);
    }

    fn on_close(&self, _session: &Arc<Session<Self>>, _reason: CloseReason) {}
}

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
