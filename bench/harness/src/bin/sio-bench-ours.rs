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
//! Usage: `sio-bench-ours PORT [REDIS_URL KEY_PREFIX]`; env `BENCH_PING_MS` (default 30000).

use std::time::Duration;

use sio_adapter_redis::RedisConfig;
use sio_server::Value;
use sio_server::helper::{SendMessage, ServerHelper};

const TOKEN: &str = "bench";

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args
        .first()
        .ok_or("usage: PORT [REDIS_URL PREFIX]")?
        .parse()?;
    let ping = Duration::from_millis(
        std::env::var("BENCH_PING_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30_000),
    );
    let mut b = ServerHelper::builder()
        .identifier("bench")
        .listen(([127, 0, 0, 1], port).into())
        .ping_interval(ping)
        .authenticate(|hs| async move { hs.auth_str("token") == Some(TOKEN) })
        // Like the peers: every room asked for is granted.
        .validate_room(|_socket, rooms| async move { Ok(rooms) });
    if let (Some(url), Some(prefix)) = (args.get(1), args.get(2)) {
        b = b.redis(RedisConfig::new(url.clone()).key_prefix(prefix.clone()));
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
    let addr = helper.local_addr().ok_or("the helper is not listening")?;
    // The driver reads the port from this line (the server may be started on port 0).
    println!("listening {addr}");
    std::future::pending::<()>().await;
    Ok(())
}
