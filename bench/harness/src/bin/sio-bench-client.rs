//! The client-side load of `cargo xtask bench` (scenario C1): sio-client itself is the
//! load, beside `bench/node/client-load.js` (socket.io-client 4.8 under Node) against the
//! same server. Both run the same two phases and print one JSON object each:
//!
//! 1. connect + authenticate: `sockets` clients (one engine.io connection each, WebSocket
//!    only), `inflight` at a time, each CONNECTs with `auth.token`, emits `authenticate` and
//!    waits for `authenticated`;
//! 2. acked round trips: every socket emits `acks` sequential `echo` events with an ack and
//!    waits for each answer.
//!
//! Figures: sockets/s and round trips/s (wall clock), the client's CPU seconds per phase and
//! its CPU microseconds per round trip, the server's CPU seconds, ack latency.
//!
//! Usage: `sio-bench-client ports=P pids=PID sockets=N inflight=N acks=N`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sio_bench::{cpu_time, quantile};
use sio_client::{ClientConfig, Manager, Socket, TransportKind, Value as SioValue};
use tokio::sync::oneshot;

type Res<T> = Result<T, String>;

/// The longest a client may take to authenticate, or an ack to come: a hang guard.
const PATIENCE: Duration = Duration::from_secs(30);

/// Connects one client and authenticates it.
async fn open(port: u16) -> Res<(Manager, Socket)> {
    let manager = Manager::new(
        ClientConfig::builder(format!("http://127.0.0.1:{port}"))
            .transports([TransportKind::Websocket])
            .auth(SioValue::from_iter([("token", "bench")]))
            .reconnection(false)
            .auto_connect(false)
            .ack_timeout(PATIENCE)
            .build(),
    )
    .map_err(|e| e.to_string())?;
    let socket = manager.socket("/");
    let (tx, rx) = oneshot::channel::<Res<()>>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let answer = move |r: Res<()>| {
        if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(r);
        }
    };
    let (a, b, c) = (answer.clone(), answer.clone(), answer);
    socket.on("authenticated", move |_| a(Ok(())));
    socket.on("unauthenticated", move |_| b(Err("unauthenticated".into())));
    socket.on_error(move |e| c(Err(e.to_string())));
    let s = socket.clone();
    socket.on_connect(move || {
        let _ = s.emit("authenticate", vec![]);
    });
    socket.connect();
    match tokio::time::timeout(PATIENCE, rx).await {
        Ok(Ok(Ok(()))) => Ok((manager, socket)),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(_)) => Err("client gone".into()),
        Err(_) => Err("not authenticated in time".into()),
    }
}

/// CPU seconds of `pids` (summed) and of this process.
fn cpu(pids: &[u32]) -> (f64, f64) {
    let secs = |p| cpu_time(p).map_or(f64::NAN, |d| d.as_secs_f64());
    (pids.iter().map(|p| secs(Some(*p))).sum(), secs(None))
}

async fn run(o: &HashMap<String, String>) -> Res<Value> {
    let num = |k: &str, d: usize| o.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let port: u16 = o
        .get("ports")
        .and_then(|p| p.split(',').next())
        .and_then(|p| p.parse().ok())
        .ok_or("ports= is required")?;
    let pids: Vec<u32> = o
        .get("pids")
        .map(|v| v.split(',').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    let (n, inflight, per) = (num("sockets", 200), num("inflight", 50), num("acks", 100));

    // Phase 1: connect + authenticate, `inflight` at a time.
    let (server0, me0) = cpu(&pids);
    let t0 = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..inflight.max(1) {
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < n {
                out.push(open(port).await);
            }
            out
        }));
    }
    let (mut clients, mut errors) = (Vec::new(), Vec::new());
    for w in workers {
        for r in w.await.map_err(|e| e.to_string())? {
            match r {
                Ok(c) => clients.push(c),
                Err(e) => errors.push(e),
            }
        }
    }
    let connect_wall = t0.elapsed().as_secs_f64();
    let (_, me1) = cpu(&pids);

    // Phase 2: acked round trips, sequential per socket, all sockets at once.
    let t1 = Instant::now();
    let tasks: Vec<_> = clients
        .iter()
        .map(|(_, socket)| {
            let socket = socket.clone();
            tokio::spawn(async move {
                let mut lats = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    let args = vec![SioValue::from(format!("{i}:ack"))];
                    if socket.emit_with_ack("echo", args).await.is_err() {
                        break;
                    }
                    lats.push(t.elapsed().as_micros() as u64);
                }
                lats
            })
        })
        .collect();
    let mut lats = Vec::new();
    for t in tasks {
        lats.extend(t.await.map_err(|e| e.to_string())?);
    }
    let acks_wall = t1.elapsed().as_secs_f64();
    let (server2, me2) = cpu(&pids);
    for (manager, _) in &clients {
        manager.close().await;
    }
    lats.sort_unstable();
    let ms = |q| quantile(&lats, q) as f64 / 1000.0;
    let rts = lats.len();
    Ok(json!({
        "sockets": n, "authenticated": clients.len(), "errors": errors.len(),
        "first_error": errors.first(),
        "sockets_per_s": clients.len() as f64 / connect_wall,
        "round_trips": rts, "expected": clients.len() * per,
        "round_trips_per_s": rts as f64 / acks_wall,
        "client_cpu_us_per_rt": if rts > 0 { (me2 - me1) / rts as f64 * 1e6 } else { 0.0 },
        "client_cpu_ms_per_socket": if clients.is_empty() { 0.0 } else { (me1 - me0) / clients.len() as f64 * 1e3 },
        "client_cpu_s": me2 - me0, "server_cpu_s": server2 - server0,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99),
    }))
}

// Pinned to one core, as the load generator: a current-thread runtime.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    match run(&o).await {
        Ok(v) => println!("{v}"),
        Err(e) => {
            println!("{}", json!({ "error": e }));
            std::process::exit(1);
        }
    }
}
