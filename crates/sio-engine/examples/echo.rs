//! A raw engine.io echo server at `/engine.io/`: every message comes back as it was sent.
//! It is the server contract of the official engine.io protocol test suite
//! (pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, any origin).
//!
//! ```sh
//! cargo run -p sio-engine --example echo -- 127.0.0.1:3000
//! ```

use std::time::Duration;

use sio_engine::config::Cors;
use sio_engine::{Echo, Engine, EngineConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let addr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let config = EngineConfig::builder()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .cors(Cors::default())
        .build();
    let engine = Engine::new(Echo, config);
    let server = sio_engine::listen::listen(engine.service(), addr).await?;
    println!("listening on http://{}/engine.io/", server.local_addr());
    std::future::pending::<()>().await;
    Ok(())
}
