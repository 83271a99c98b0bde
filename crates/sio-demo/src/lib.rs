//! The sio demo: a ready-to-run server with a browser page.
//!
//! | path | what answers |
//! |---|---|
//! | `/` | the browser page (plain HTML/JS, the official `socket.io-client` bundle) |
//! | `/socket.io/` | socket.io (the server helper's flow: token login, rooms, pings) |
//! | `/api/clients`, `/api/send` | the admin HTTP API (`Authorization: Bearer <ADMIN_TOKEN>`) |
//! | `/healthz` | liveness, no token |
//!
//! Run it with `cargo xtask demo` (or `cargo run --release -p sio-demo -- --help`).
#![deny(missing_docs)]

pub mod api;
pub mod config;
pub mod realtime;
pub mod rooms;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

pub use config::Config;
pub use realtime::{ClientView, Realtime};

/// How long the HTTP server may take to finish its requests after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(5);

/// Builds the whole app: page, API, health check, socket.io.
pub fn router(config: &Config, realtime: Arc<Realtime>) -> Result<Router, String> {
    let assets = web::Assets::load(&config.web_dir);
    let socketio = realtime.layer()?;
    let mut app = Router::new()
        .merge(web::routes(assets))
        .route("/healthz", get(api::healthz))
        .nest("/api", api::routes(config.admin_token(), realtime));
    if config.admin_ui {
        app = app.nest_service("/admin-ui", web::admin_ui(&config.web_dir));
    }
    // socket.io answers under /socket.io/, everything else reaches the router. The peer
    // address axum knows reaches the handshake (`handshake.address`, the admin page's IP
    // column) as the engine's RemoteAddr.
    Ok(app
        .layer(socketio)
        .layer(axum::middleware::map_request(peer_address)))
}

async fn peer_address(mut req: axum::extract::Request) -> axum::extract::Request {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if let Some(addr) = peer {
        req.extensions_mut()
            .insert(sio_server::handshake::RemoteAddr(addr));
    }
    req
}

/// Starts the demo on `config.addr()`, calls `ready` with the bound address, and serves
/// until `shutdown` completes; then disconnects every client (the helper's shutdown) and
/// lets running HTTP requests finish.
pub async fn run<S, R>(config: Config, ready: R, shutdown: S) -> Result<(), String>
where
    S: Future<Output = ()> + Send + 'static,
    R: FnOnce(SocketAddr),
{
    let realtime = Arc::new(Realtime::start(&config).await?);
    let app = router(&config, realtime.clone())?;
    let listener = tokio::net::TcpListener::bind(config.addr())
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    ready(addr);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let rt = realtime.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: disconnecting clients");
        rt.shutdown().await;
        let _ = stop_tx.send(());
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    // Upgraded WebSocket connections are no longer the HTTP server's, but a slow polling
    // request could hold the drain forever: bound it.
    let drained = async move {
        let _ = stop_rx.await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        r = server => r.map_err(|e| format!("http server: {e}"))?,
        () = drained => tracing::warn!("requests still open after {DRAIN:?}; leaving them"),
    }
    tracing::info!("stopped");
    Ok(())
}
