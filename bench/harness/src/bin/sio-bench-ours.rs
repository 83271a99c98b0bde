//! "ours" for `cargo xtask bench`: the seed semantics through sio-server's helper
//! ([`ServerHelper`]).
//!
//! Same protocol as `bench/node/server.js` and `bench/socketioxide`: handshake `auth.token`,
//! `authenticate` -> `authenticated {id, time}` (or `unauthenticated` + disconnect), default
//! rooms, `join`/`leave` (the helper does not ack them: the load generator follows a join
//! with an acked `echo`, handled after it), a `ping` event every ping interval, an auth
//! timeout, `echo` (ack echo), `bcast [room, data]` (broadcast through the socket.io server)
//! and `send [room, data]` (the helper's `send`: through the Redis emitter in cluster mode).
//!
//! Two ways to serve it, the same helper and handlers in both:
//! - `--mount own` (default): the helper's own listener (`listen`), sio's hyper server;
//! - `--mount axum`: the helper's `layer()` in an `axum::Router` served by `axum::serve`,
//!   the way most applications mount it, so that S3 also shows what a socket costs under
//!   axum's connection handling. Only the listen backlog differs from a plain
//!   `TcpListener::bind`: 1,024 like the other servers (tokio's 128 would make the load
//!   generator's 200 simultaneous connects wait on SYN retransmits, not use more memory).
//!   `handshake.address` stays empty there (nothing here reads it): axum does not put the
//!   peer address where sio's own listener does.
//!
//! Usage: `sio-bench-ours [--mount own|axum] PORT [REDIS_URL KEY_PREFIX]`; env
//! `BENCH_PING_MS` (default 30000).

use std::net::SocketAddr;
use std::time::Duration;

use sio_adapter_redis::RedisConfig;
use sio_server::Value;
use sio_server::helper::{Attachment, SendMessage, ServerHelper};

const TOKEN: &str = "bench";
const USAGE: &str = "usage: [--mount own|axum] PORT [REDIS_URL PREFIX]";

/// How the socket.io endpoint is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mount {
    /// The helper's own listener.
    Own,
    /// `helper.layer()` inside an `axum::Router`, served by `axum::serve`.
    Axum,
}

/// Splits `--mount X` off the arguments; the rest are positional.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(Mount, Vec<String>), String> {
    let mut mount = Mount::Own;
    let mut rest = Vec::new();
    while let Some(a) = args.next() {
        if a == "--mount" {
            mount = match args.next().as_deref() {
                Some("own") => Mount::Own,
                Some("axum") => Mount::Axum,
                other => return Err(format!("--mount own|axum, not {other:?}")),
            };
        } else {
            rest.push(a);
        }
    }
    Ok((mount, rest))
}

/// Serves `app` on `addr` with a backlog of 1,024 (see the module docs); returns the bound
/// address and the server's future.
async fn serve_axum(
    addr: SocketAddr,
    app: axum::Router,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>>)> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    let bound = listener.local_addr()?;
    Ok((bound, axum::serve(listener, app).into_future()))
}

fn room_and_data(args: sio_server::Args) -> Option<(String, Value)> {
    let mut a = args.into_vec().into_iter();
    match (a.next(), a.next()) {
        (Some(Value::String(room)), Some(data)) => Some((room.to_string(), data)),
        _ => None,
    }
}

// Under `taskset` one core is visible, so the runtime gets one worker, as do the peers.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let (mount, args) = parse_args(std::env::args().skip(1))?;
    let port: u16 = args.first().ok_or(USAGE)?.parse()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let ping = Duration::from_millis(
        std::env::var("BENCH_PING_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30_000),
    );
    let mut b = ServerHelper::builder()
        .identifier("bench")
        .attachment(match mount {
            Mount::Own => Attachment::Listen(addr),
            Mount::Axum => Attachment::Layer,
        })
        .ping_interval(ping)
        .authenticate(|hs| async move { hs.auth_str("token") == Some(TOKEN) })
        // Like the peers: every room asked for is granted.
        .validate_room(|_socket, rooms| async move { Ok(rooms) });
    if let (Some(url), Some(prefix)) = (args.get(1), args.get(2)) {
        // `?adapter=streams` in the URL picks the streams adapter (S4's `streams` rows).
        b = b.redis(
            RedisConfig::builder(url.clone())
                .key_prefix(prefix.clone())
                .build(),
        );
    }
    let helper = b.build()?;
    helper.configure().await?;
    helper.on("echo", |_s, args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send_args(args.into_vec());
        }
    })?;
    let io = helper.io()?;
    helper.on("bcast", move |_s, args, _ack| {
        let io = io.clone();
        async move {
            if let Some((room, data)) = room_and_data(args) {
                let _ = io.to(room).emit("msg", &data).await;
            }
        }
    })?;
    let h = helper.clone();
    helper.on("send", move |_s, args, _ack| {
        let h = h.clone();
        async move {
            if let Some((room, data)) = room_and_data(args) {
                let _ = h.send(SendMessage::new("msg", data).to(room)).await;
            }
        }
    })?;
    match mount {
        Mount::Own => {
            let addr = helper.local_addr().ok_or("the helper is not listening")?;
            // The driver reads the port from this line (the server may be started on port 0).
            println!("listening {addr}");
            std::future::pending::<()>().await;
        }
        Mount::Axum => {
            // An application route beside socket.io, as in the apps that mount it: the
            // layer answers under /socket.io/, everything else reaches the router.
            let app = axum::Router::new()
                .route("/healthz", axum::routing::get(|| async { "ok" }))
                .layer(helper.layer()?);
            let (bound, server) = serve_axum(addr, app).await?;
            println!("listening {bound}");
            server.await?;
        }
    }
    Ok(())
}
