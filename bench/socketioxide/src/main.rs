//! The socketioxide 0.18 peer of `cargo xtask bench`: the seed semantics, same protocol as
//! `bench/harness/src/bin/sio-bench-ours.rs` and `bench/node/server.js`.
//!
//! Three deliberate settings, all reported in `docs/benchmarks.md`:
//! - handlers are registered in a connect *middleware*: registered in the connect handler,
//!   an `authenticate` emitted right after the CONNECT answer can arrive before them and be
//!   lost;
//! - `max_buffer_size` is raised from 128 to 65,536 packets so bursts are not dropped;
//! - it listens with a backlog of 1,024 like ours (Node: 511), not tokio's 128: S1 opens 200
//!   connections at once, and each one past the backlog waits 1 s for a SYN retransmit.
//!
//! Usage: `sio-bench-socketioxide PORT [REDIS_URL KEY_PREFIX]`; env `BENCH_PING_MS`.
//! No emitter exists for socketioxide-redis (its cluster format is its own), so `send` goes
//! through the server's adapter in every mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use engineioxide::service::NotFoundService;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::service::SocketIoService;
use socketioxide_redis::{RedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

const TOKEN: &str = "bench";
const DEFAULT_ROOMS: [&str; 2] = ["io-default", "io-notification"];
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BUFFER: usize = 65_536;

fn now_iso() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

fn rooms_of(v: &Value) -> Vec<String> {
    v.get("rooms")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn ping_every() -> Duration {
    Duration::from_millis(
        std::env::var("BENCH_PING_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30_000),
    )
}

#[derive(Debug)]
struct Never;
impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

/// Registers every handler before the CONNECT answer leaves (see the module docs).
async fn register<A: Adapter>(s: SocketRef<A>) -> Result<(), Never> {
    let authed = Arc::new(AtomicBool::new(false));
    let (s2, a2) = (s.clone(), authed.clone());
    tokio::spawn(async move {
        tokio::time::sleep(AUTH_TIMEOUT).await;
        if !a2.load(Ordering::Relaxed) && s2.connected() {
            let _ = s2.disconnect();
        }
    });
    s.on("authenticate", async move |s: SocketRef<A>| {
        let ok = s
            .extensions
            .get::<AuthToken>()
            .is_some_and(|t| t.0 == TOKEN);
        if !ok {
            let _ = s.emit(
                "unauthenticated",
                &serde_json::json!({ "message": "bad token" }),
            );
            let _ = s.disconnect();
            return;
        }
        authed.store(true, Ordering::Relaxed);
        let _ = s.emit("ping", &serde_json::json!({ "time": now_iso() }));
        s.join(DEFAULT_ROOMS);
        s.on(
            "join",
            async |s: SocketRef<A>, Data(v): Data<Value>, ack: AckSender<A>| {
                s.join(rooms_of(&v));
                let _ = ack.send(&());
            },
        );
        s.on(
            "leave",
            async |s: SocketRef<A>, Data(v): Data<Value>, ack: AckSender<A>| {
                s.leave(rooms_of(&v));
                let _ = ack.send(&());
            },
        );
        let s2 = s.clone();
        tokio::spawn(async move {
            let every = ping_every();
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                if !s2.connected() {
                    break;
                }
                let _ = s2.emit("ping", &serde_json::json!({ "time": now_iso() }));
            }
        });
        let _ = s.emit(
            "authenticated",
            &serde_json::json!({ "id": s.id.to_string(), "time": now_iso() }),
        );
    });
    s.on("echo", async |Data(v): Data<Value>, ack: AckSender<A>| {
        let _ = ack.send(&v);
    });
    s.on(
        "bcast",
        async |s: SocketRef<A>, Data((room, data)): Data<(String, Value)>| {
            let _ = s.broadcast().within(room).emit("msg", &data).await;
        },
    );
    s.on(
        "send",
        async |s: SocketRef<A>, Data((room, data)): Data<(String, Value)>| {
            let _ = s.broadcast().within(room).emit("msg", &data).await;
        },
    );
    Ok(())
}

#[derive(Clone)]
struct AuthToken(String);

/// Keeps `auth.token` of the handshake for the `authenticate` handler.
async fn keep_token<A: Adapter>(s: SocketRef<A>, Data(auth): Data<Value>) -> Result<(), Never> {
    if let Some(t) = auth.get("token").and_then(Value::as_str) {
        s.extensions.insert(AuthToken(t.to_owned()));
    }
    Ok(())
}

async fn on_connect<A: Adapter>(_s: SocketRef<A>) {}

async fn serve<A: Adapter>(
    port: u16,
    svc: SocketIoService<NotFoundService, A>,
) -> Result<(), Box<dyn std::error::Error>> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(1024)?;
    println!("listening {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args
        .first()
        .ok_or("usage: PORT [REDIS_URL PREFIX]")?
        .parse()?;
    let builder = SocketIo::builder()
        .max_buffer_size(MAX_BUFFER)
        .ping_interval(Duration::from_secs(25));
    if let (Some(url), Some(prefix)) = (args.get(1), args.get(2)) {
        let client = redis::Client::open(format!("{url}?protocol=resp3"))?;
        let ctr = RedisAdapterCtr::new_with_redis_config(
            &client,
            RedisAdapterConfig::new().with_prefix(prefix.clone()),
        )
        .await?;
        let (svc, io) = builder.with_adapter::<RedisAdapter<_>>(ctr).build_svc();
        io.ns("/", on_connect.with(register).with(keep_token))
            .await?;
        serve(port, svc).await
    } else {
        let (svc, io) = builder.build_svc();
        io.ns("/", on_connect.with(register).with(keep_token));
        serve(port, svc).await
    }
}
