//! The load generator of `cargo xtask bench`: raw engine.io v4 / socket.io v5 text frames
//! over WebSocket, the same for every server. It answers engine.io pings, stamps its send
//! time (microseconds since it started) at the front of every payload, and prints one JSON
//! object with the scenario's figures, its own CPU time and the servers' CPU time over the
//! measured phase.
//!
//! It runs on one core (`taskset`), so it uses a current-thread runtime and its own minimal
//! WebSocket code ([`sio_bench::ws`]): it must stay well above every server it measures.
//!
//! Usage: `sio-bench-loadgen SCENARIO key=value...` with SCENARIO one of `connect` (S1),
//! `fanout` (S2, S4), `idle` (S3), `ack` (S5); keys: `ports=P[,P2]`, `pids=PID[,PID2]`,
//! `sockets`, `inflight`, `burst`, `size`, `acks`, `event` (`bcast` or `send`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use std::fmt::Write as _;

use serde_json::{Value, json};
use sio_bench::ws::Conn as Ws;
use sio_bench::{cpu_time, quantile, rss_bytes};
use tokio::sync::watch;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ROOM: &str = "bench-room";
/// A receiver that hears nothing for this long stops waiting: delivery is then short.
const IDLE: Duration = Duration::from_secs(10);

static START: OnceLock<Instant> = OnceLock::new();

fn now_us() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

struct Opts(HashMap<String, String>);

impl Opts {
    fn num(&self, k: &str, default: usize) -> usize {
        self.0
            .get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    fn list(&self, k: &str) -> Vec<u32> {
        self.0
            .get(k)
            .map(|v| v.split(',').filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }
    fn str(&self, k: &str, default: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| default.to_owned())
    }
}

/// TCP connect, WebSocket handshake, engine.io open, socket.io CONNECT with `auth.token`,
/// `authenticate` until `authenticated`.
async fn open(port: u16) -> Res<Ws> {
    let mut ws = Ws::connect(port, "/socket.io/?EIO=4&transport=websocket").await?;
    let t = ws.next_text().await?;
    if !t.starts_with('0') {
        return Err(format!("expected engine.io open, got {t:.60}").into());
    }
    ws.send_text(r#"40{"token":"bench"}"#).await?;
    let t = ws.next_text().await?;
    if !t.starts_with("40") {
        return Err(format!("expected CONNECT, got {t:.60}").into());
    }
    ws.send_text(r#"42["authenticate"]"#).await?;
    loop {
        let t = ws.next_text().await?;
        if t.starts_with(r#"42["authenticated""#) {
            return Ok(ws);
        }
        if t.starts_with(r#"42["unauthenticated""#) {
            return Err("unauthenticated".into());
        }
    }
}

/// Whether `t` is the ack `43<id>[...]`.
fn is_ack(t: &str, id: u64) -> bool {
    let Some(rest) = t.strip_prefix("43") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse() == Ok(id) && rest[digits..].starts_with('[')
}

/// Sends `frame`, an event with ack id `id` (`42<id>[...]`), and waits for `43<id>`.
async fn call(ws: &mut Ws, frame: &str, id: u64) -> Res<()> {
    ws.send_text(frame).await?;
    loop {
        if is_ack(ws.next_text().await?, id) {
            return Ok(());
        }
    }
}

/// Keeps an idle socket alive (answers pings) until `stop` changes.
fn keep(mut ws: Ws, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                r = ws.next_text() => if r.is_err() { break },
            }
        }
        ws.close().await;
    })
}

/// Opens `n` authenticated sockets, `inflight` at a time, spread over `ports`; returns the
/// sockets, each one's connect-to-authenticated latency in µs, and the failures.
async fn open_many(ports: &[u16], n: usize, inflight: usize) -> (Vec<Ws>, Vec<u64>, Vec<String>) {
    let ports: Arc<[u16]> = ports.into();
    // Socket i goes to port i % len, in order: callers split by port.
    let all = sio_bench::in_flight(0..n, inflight, move |i| {
        let ports = ports.clone();
        async move {
            let t0 = now_us();
            let r = open(ports[i % ports.len()]).await;
            (r.map_err(|e| e.to_string()), now_us() - t0)
        }
    })
    .await;
    sio_bench::split_opened(all)
}

/// CPU seconds of `pids` and of this process, read together.
fn cpu_snapshot(pids: &[u32]) -> (Vec<f64>, f64) {
    let servers = pids
        .iter()
        .map(|p| cpu_time(Some(*p)).map_or(f64::NAN, |d| d.as_secs_f64()))
        .collect();
    let me = cpu_time(None).map_or(f64::NAN, |d| d.as_secs_f64());
    (servers, me)
}

fn cpu_delta(before: &(Vec<f64>, f64), after: &(Vec<f64>, f64)) -> (f64, f64) {
    let server: f64 = after.0.iter().zip(&before.0).map(|(a, b)| a - b).sum();
    (server, after.1 - before.1)
}

fn lat_ms(sorted: &[u64], q: f64) -> f64 {
    quantile(sorted, q) as f64 / 1000.0
}

async fn connect(o: &Opts, ports: &[u16], pids: &[u32]) -> Res<Value> {
    let n = o.num("sockets", 2000);
    let before = cpu_snapshot(pids);
    let t0 = Instant::now();
    let (socks, mut lats, errs) = open_many(ports, n, o.num("inflight", 200)).await;
    let wall = t0.elapsed().as_secs_f64();
    let (server_cpu, me_cpu) = cpu_delta(&before, &cpu_snapshot(pids));
    let (tx, rx) = watch::channel(false);
    let keepers: Vec<_> = socks.into_iter().map(|ws| keep(ws, rx.clone())).collect();
    let _ = tx.send(true);
    for k in keepers {
        let _ = k.await;
    }
    lats.sort_unstable();
    Ok(json!({
        "sockets": n, "authenticated": lats.len(), "errors": errs.len(),
        "first_error": errs.first(),
        "sockets_per_s": lats.len() as f64 / wall, "p50_ms": lat_ms(&lats, 0.5),
        "p99_ms": lat_ms(&lats, 0.99), "wall_s": wall,
        "server_cpu_s": server_cpu, "loadgen_cpu_s": me_cpu,
        "loadgen_core_pct": me_cpu / wall * 100.0,
    }))
}

async fn idle(o: &Opts, ports: &[u16], pids: &[u32]) -> Res<Value> {
    let n = o.num("sockets", 10_000);
    let pid = *pids.first().ok_or("idle needs pids=")?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = rss_bytes(pid).ok_or("cannot read the server's RSS")?;
    let (socks, lats, errs) = open_many(ports, n, o.num("inflight", 200)).await;
    let (tx, rx) = watch::channel(false);
    let keepers: Vec<_> = socks.into_iter().map(|ws| keep(ws, rx.clone())).collect();
    // Let the server settle (timers armed, buffers shrunk, a GC cycle for Node).
    tokio::time::sleep(Duration::from_secs(o.num("settle_s", 3) as u64)).await;
    let after = rss_bytes(pid).ok_or("cannot read the server's RSS")?;
    let me_cpu = cpu_time(None).map_or(f64::NAN, |d| d.as_secs_f64());
    let _ = tx.send(true);
    for k in keepers {
        let _ = k.await;
    }
    let per = after.saturating_sub(base) as f64 / lats.len().max(1) as f64;
    Ok(json!({
        "sockets": n, "authenticated": lats.len(), "errors": errs.len(),
        "first_error": errs.first(),
        "rss_base_mib": base as f64 / 1048576.0, "rss_mib": after as f64 / 1048576.0,
        "kib_per_socket": per / 1024.0, "loadgen_cpu_s": me_cpu,
    }))
}

/// One receiver: counts `msg` events until `want` arrived or it heard nothing for [`IDLE`];
/// returns the latencies and the time of the last arrival.
async fn receive(mut ws: Ws, want: usize) -> (Vec<u64>, u64) {
    let mut lats = Vec::with_capacity(want);
    let mut last = 0;
    while lats.len() < want {
        let t = match tokio::time::timeout(IDLE, ws.next_text()).await {
            Ok(Ok(t)) => t,
            _ => break,
        };
        if let Some(rest) = t.strip_prefix(r#"42["msg",""#) {
            let now = now_us();
            let stamp: u64 = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(now);
            lats.push(now.saturating_sub(stamp));
            last = now;
        }
    }
    ws.close().await;
    (lats, last)
}

async fn fanout(o: &Opts, ports: &[u16], pids: &[u32]) -> Res<Value> {
    let n = o.num("sockets", 1000);
    let burst = o.num("burst", 2000);
    let size = o.num("size", 100);
    let event = o.str("event", "bcast");
    let (socks, _, errs) = open_many(ports, n, o.num("inflight", 200)).await;
    let mut joined = Vec::with_capacity(socks.len());
    let mut frame = String::new();
    for (i, mut ws) in socks.into_iter().enumerate() {
        // The seed's `join` has no ack: an acked `echo` right after it is handled after
        // it (events of one socket run in order), so its answer means "joined".
        ws.queue_text(&format!(r#"42["join",{{"rooms":["{ROOM}"]}}]"#));
        frame.clear();
        let _ = write!(frame, r#"42{i}["echo","joined"]"#);
        call(&mut ws, &frame, i as u64).await?;
        joined.push(ws);
    }
    let receivers = joined.len();
    let mut sender = open(ports[0]).await?;
    let handles: Vec<_> = joined
        .into_iter()
        .map(|ws| tokio::spawn(receive(ws, burst)))
        .collect();
    let before = cpu_snapshot(pids);
    let t0 = now_us();
    let mut frame = String::new();
    for _ in 0..burst {
        // The payload is one string of `size` bytes: the stamp, ':', then padding.
        frame.clear();
        let _ = write!(frame, r#"42["{event}","{ROOM}",""#);
        let data_at = frame.len();
        let _ = write!(frame, "{}:", now_us());
        while frame.len() - data_at < size {
            frame.push('x');
        }
        frame.push_str("\"]");
        sender.queue_text(&frame);
        // Write as it goes rather than the whole burst at the end.
        if sender.pending() >= 64 * 1024 {
            sender.flush().await?;
        }
    }
    sender.flush().await?;
    let (stop_tx, stop) = watch::channel(false);
    let keeper = keep(sender, stop);
    let mut all = Vec::with_capacity(receivers * burst);
    let mut last = t0;
    for h in handles {
        if let Ok((l, t)) = h.await {
            all.extend(l);
            last = last.max(t);
        }
    }
    let (server_cpu, me_cpu) = cpu_delta(&before, &cpu_snapshot(pids));
    let _ = stop_tx.send(true);
    let _ = keeper.await;
    all.sort_unstable();
    let delivered = all.len();
    let expected = receivers * burst;
    let secs = (last.saturating_sub(t0)) as f64 / 1e6;
    Ok(json!({
        "sockets": n, "receivers": receivers, "errors": errs.len(), "first_error": errs.first(),
        "burst": burst, "size": size, "event": event,
        "delivered": delivered, "expected": expected,
        "delivery": delivered as f64 / expected.max(1) as f64,
        "msgs_per_s": if secs > 0.0 { delivered as f64 / secs } else { 0.0 },
        "p50_ms": lat_ms(&all, 0.5), "p99_ms": lat_ms(&all, 0.99), "wall_s": secs,
        "server_cpu_s": server_cpu,
        "cpu_s_per_million": server_cpu / delivered.max(1) as f64 * 1e6,
        "loadgen_cpu_s": me_cpu,
        "loadgen_core_pct": if secs > 0.0 { me_cpu / secs * 100.0 } else { 0.0 },
    }))
}

async fn acks(o: &Opts, ports: &[u16], pids: &[u32]) -> Res<Value> {
    let n = o.num("sockets", 100);
    let per = o.num("acks", 100);
    let (socks, _, errs) = open_many(ports, n, o.num("inflight", 100)).await;
    let before = cpu_snapshot(pids);
    let t0 = Instant::now();
    let handles: Vec<_> = socks
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut lats = Vec::with_capacity(per);
                let mut frame = String::new();
                for id in 0..per as u64 {
                    let t = now_us();
                    frame.clear();
                    let _ = write!(frame, r#"42{id}["echo","{t}:ack"]"#);
                    if call(&mut ws, &frame, id).await.is_err() {
                        break;
                    }
                    lats.push(now_us() - t);
                }
                ws.close().await;
                lats
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        if let Ok(l) = h.await {
            all.extend(l);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let (server_cpu, me_cpu) = cpu_delta(&before, &cpu_snapshot(pids));
    all.sort_unstable();
    Ok(json!({
        "sockets": n, "errors": errs.len(), "first_error": errs.first(),
        "round_trips": all.len(), "expected": n * per,
        "round_trips_per_s": all.len() as f64 / wall,
        "p50_ms": lat_ms(&all, 0.5), "p99_ms": lat_ms(&all, 0.99), "wall_s": wall,
        "server_cpu_s": server_cpu, "loadgen_cpu_s": me_cpu,
        "loadgen_core_pct": me_cpu / wall * 100.0,
    }))
}

// Pinned to one core: a current-thread runtime has no cross-thread wake-ups or work
// stealing to pay for.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    START.get_or_init(Instant::now);
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let o = Opts(
        args.filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect(),
    );
    let ports: Vec<u16> = o
        .list("ports")
        .into_iter()
        .filter_map(|p| u16::try_from(p).ok())
        .collect();
    let pids = o.list("pids");
    let result = if ports.is_empty() {
        Err("ports= is required".into())
    } else {
        match scenario.as_str() {
            "connect" => connect(&o, &ports, &pids).await,
            "idle" => idle(&o, &ports, &pids).await,
            "fanout" => fanout(&o, &ports, &pids).await,
            "ack" => acks(&o, &ports, &pids).await,
            other => Err(format!("unknown scenario `{other}`").into()),
        }
    };
    match result {
        Ok(v) => println!("{v}"),
        Err(e) => {
            println!("{}", json!({ "error": e.to_string() }));
            std::process::exit(1);
        }
    }
}
