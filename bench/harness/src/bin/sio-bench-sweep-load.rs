//! A load-generator worker of `cargo xtask bench --sweep`: holds idle authenticated sockets
//! and does what the driver (`bench/harness/src/sweep.rs`) asks, one command a line on
//! stdin, one JSON line back on stdout, so that several workers (each one process under
//! this machine's 20,000 open files) can hold 100,000 sockets between them in step.
//!
//! Every socket answers engine.io PINGs (WebSocket: [`sio_bench::ws`]; long-polling:
//! [`sio_bench::poll`]) and counts them, the seed helper's `ping` events, the broadcast's
//! `msg` events and disconnects, so that a point can prove "every heartbeat answered, no
//! disconnect, 100 % delivered". Connections come from several loopback source addresses
//! past [`sio_bench::PER_SOURCE`]; the worker raises its own open-files limit. Pinned to
//! core 1 with the other workers, a current-thread runtime each.
//!
//! Usage: `sio-bench-sweep-load ports=P1,P2 total=N transport=websocket|polling`; socket
//! `i` (of `total`, the run's largest size) goes to port `i % ports`. Commands:
//! - `open FROM COUNT INFLIGHT`: opens sockets `FROM..FROM+COUNT`, `INFLIGHT` at a time,
//!   and keeps them; answers `opened`, `errors`, `first_error`, `lats` (µs, each socket's
//!   connect to `authenticated`);
//! - `sender`: opens the broadcaster (a WebSocket to the first port, not counted);
//! - `mark`, then `since`: what every socket answered in between (`pings_min` is the
//!   fewest PINGs any one socket answered), and the disconnects so far;
//! - `arm`, `send STAMP`, `wait TIMEOUT_MS`: one broadcast round: `send` makes the
//!   broadcaster emit `bcast` stamped with the wall clock in µs, `wait` answers when every
//!   socket of this worker got the `msg` since `arm` (or the timeout passed) with `got` and
//!   `last_us` (wall clock, comparable across workers);
//! - `quit`.

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sio_bench::ws::Conn as Ws;
use sio_bench::{poll, source_for};
use tokio::sync::{mpsc, watch};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The room every authenticated socket joins on all three servers (seed default).
const ROOM: &str = "io-default";
/// A socket that has not authenticated after this long counts as failed.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Wall-clock µs: several workers stamp and time one broadcast.
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// What one socket has seen; read by the driver between phases.
#[derive(Default)]
struct SockStats {
    pings: AtomicU64,
    events: AtomicU64,
    msgs: AtomicU64,
}

/// What all sockets have seen.
#[derive(Default)]
struct Shared {
    delivered: AtomicU64,
    last_us: AtomicU64,
    disconnects: AtomicUsize,
    first_disconnect: Mutex<Option<String>>,
    stopping: AtomicBool,
}

impl Shared {
    fn disconnected(&self, why: String) {
        if self.stopping.load(Relaxed) {
            return;
        }
        self.disconnects.fetch_add(1, Relaxed);
        if let Ok(mut f) = self.first_disconnect.lock() {
            f.get_or_insert(why);
        }
    }
}

/// Counts one socket.io packet; `false` when it closes the socket.
fn classify(t: &str, st: &SockStats, sh: &Shared) -> bool {
    if t.starts_with(r#"42["msg""#) {
        st.msgs.fetch_add(1, Relaxed);
        sh.delivered.fetch_add(1, Relaxed);
        sh.last_us.fetch_max(now_us(), Relaxed);
    } else if t.starts_with(r#"42["ping""#) {
        st.events.fetch_add(1, Relaxed);
    } else if t == "1" || t.starts_with("41") {
        return false;
    }
    true
}

/// The packets that authenticate (`40` with `auth.token`, then `authenticate`) and whether
/// `t` answers them.
const CONNECT: &str = r#"40{"token":"bench"}"#;
const AUTHENTICATE: &str = r#"42["authenticate"]"#;

fn auth_answer(t: &str) -> Option<Result<(), String>> {
    if t.starts_with(r#"42["authenticated""#) {
        Some(Ok(()))
    } else if t.starts_with(r#"42["unauthenticated""#) || t.starts_with("44") {
        Some(Err(format!("refused: {t:.80}")))
    } else {
        None
    }
}

async fn open_ws(from: Option<SocketAddrV4>, port: u16) -> Res<Ws> {
    let mut ws = Ws::connect_from(from, port, "/socket.io/?EIO=4&transport=websocket").await?;
    let t = ws.next_text().await?;
    if !t.starts_with('0') {
        return Err(format!("expected engine.io open, got {t:.60}").into());
    }
    ws.send_text(CONNECT).await?;
    let t = ws.next_text().await?;
    if !t.starts_with("40") {
        return Err(format!("expected CONNECT, got {t:.60}").into());
    }
    ws.send_text(AUTHENTICATE).await?;
    loop {
        if let Some(r) = auth_answer(ws.next_text().await?) {
            return r.map(|()| ws).map_err(Into::into);
        }
    }
}

async fn open_poll(from: Option<SocketAddrV4>, port: u16) -> Res<poll::Client> {
    let mut c = poll::Client::open(from, port).await?;
    c.send(&[CONNECT]).await?;
    'connect: loop {
        for p in c.poll().await? {
            if p.starts_with("40") {
                break 'connect;
            }
            if p.starts_with("44") {
                return Err(format!("CONNECT refused: {p:.80}").into());
            }
        }
    }
    c.send(&[AUTHENTICATE]).await?;
    loop {
        for p in c.poll().await? {
            if let Some(r) = auth_answer(&p) {
                return r.map(|()| c).map_err(Into::into);
            }
        }
    }
}

/// An open socket of either transport.
enum Sock {
    Ws(Ws),
    Poll(poll::Client),
}

async fn open(polling: bool, from: Option<SocketAddrV4>, port: u16) -> Res<Sock> {
    let r = if polling {
        tokio::time::timeout(OPEN_TIMEOUT, async {
            open_poll(from, port).await.map(Sock::Poll)
        })
        .await
    } else {
        tokio::time::timeout(OPEN_TIMEOUT, async {
            open_ws(from, port).await.map(Sock::Ws)
        })
        .await
    };
    r.map_err(|_| format!("not authenticated after {OPEN_TIMEOUT:?}"))?
}

/// Keeps a socket: answers pings, counts what arrives, sends what `out` gives (the
/// broadcaster), until `stop`.
async fn keep(
    sock: Sock,
    st: Arc<SockStats>,
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut out: Option<mpsc::UnboundedReceiver<String>>,
) {
    match sock {
        Sock::Ws(mut ws) => {
            let why = loop {
                // What is buffered first: the handshake may have read past `authenticated`
                // (engineioxide sends its first PING at once), and a PING left there would
                // wait for the next read, maybe past the server's ping timeout.
                let mut closed = None;
                loop {
                    match ws.try_text() {
                        Ok(Some(t)) if !classify(t, &st, &sh) => {
                            closed = Some(format!("server closed: {t:.40}"))
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => {
                            closed = Some(e.to_string());
                            break;
                        }
                    }
                }
                st.pings.store(ws.pings_answered(), Relaxed);
                if closed.is_some() {
                    break closed;
                }
                if let Err(e) = ws.flush().await {
                    break Some(e.to_string());
                }
                let frame = async {
                    match &mut out {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = stop.changed() => break None,
                    Some(f) = frame => ws.queue_text(&f),
                    r = ws.fill() => if let Err(e) = r { break Some(e.to_string()) },
                }
            };
            if let Some(w) = why {
                sh.disconnected(w);
            }
        }
        Sock::Poll(mut c) => {
            let why = loop {
                tokio::select! {
                    _ = stop.changed() => break None,
                    r = c.poll() => match r {
                        Err(e) => break Some(e.to_string()),
                        Ok(ps) => {
                            st.pings.store(c.pings_answered(), Relaxed);
                            if let Some(p) = ps.iter().find(|p| !classify(p, &st, &sh)) {
                                break Some(format!("server closed: {p:.40}"));
                            }
                        }
                    },
                }
            };
            if let Some(w) = why {
                sh.disconnected(w);
            }
        }
    }
}

/// Opens sockets `from..to` (of `total`, which decides the source addresses), `inflight` at
/// a time; returns them in order with their latencies (µs) and the failures.
async fn open_range(
    polling: bool,
    ports: Arc<[u16]>,
    range: std::ops::Range<usize>,
    total: usize,
    inflight: usize,
) -> (Vec<Sock>, Vec<u64>, Vec<String>) {
    let all = sio_bench::in_flight(range, inflight, move |i| {
        let ports = ports.clone();
        async move {
            let t0 = now_us();
            let r = open(polling, source_for(i, total), ports[i % ports.len()]).await;
            (r.map_err(|e| e.to_string()), now_us() - t0)
        }
    })
    .await;
    sio_bench::split_opened(all)
}

/// The worker's sockets and counters.
struct Worker {
    ports: Arc<[u16]>,
    polling: bool,
    total: usize,
    stats: Vec<Arc<SockStats>>,
    sh: Arc<Shared>,
    stop: watch::Receiver<bool>,
    sender: Option<mpsc::UnboundedSender<String>>,
    marks: (Vec<u64>, Vec<u64>),
    armed: u64,
}

impl Worker {
    fn counts(&self) -> (Vec<u64>, Vec<u64>) {
        (
            self.stats.iter().map(|s| s.pings.load(Relaxed)).collect(),
            self.stats.iter().map(|s| s.events.load(Relaxed)).collect(),
        )
    }

    async fn command(&mut self, line: &str) -> Res<Value> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Res<usize> {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .ok_or_else(|| format!("`{line}`: argument {i} missing or not a number").into())
        };
        match words.first().copied().unwrap_or_default() {
            "open" => {
                let (from, count, inflight) = (num(1)?, num(2)?, num(3)?);
                let range = from..from + count;
                let (socks, lats, errs) = open_range(
                    self.polling,
                    self.ports.clone(),
                    range,
                    self.total,
                    inflight,
                )
                .await;
                let opened = socks.len();
                for s in socks {
                    let st = Arc::new(SockStats::default());
                    self.stats.push(st.clone());
                    tokio::spawn(keep(s, st, self.sh.clone(), self.stop.clone(), None));
                }
                Ok(json!({
                    "opened": opened, "errors": errs.len(), "first_error": errs.first(),
                    "lats": lats,
                }))
            }
            "sender" => {
                let port = *self.ports.first().ok_or("no port")?;
                let Sock::Ws(ws) = open(false, None, port).await? else {
                    return Err("the broadcaster is a WebSocket".into());
                };
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(keep(
                    Sock::Ws(ws),
                    Arc::default(),
                    Arc::new(Shared::default()),
                    self.stop.clone(),
                    Some(rx),
                ));
                self.sender = Some(tx);
                Ok(json!({ "ok": true }))
            }
            "mark" => {
                self.marks = self.counts();
                Ok(json!({ "ok": true }))
            }
            "since" => {
                let now = self.counts();
                let d = |a: &[u64], b: &[u64]| -> Vec<u64> {
                    a.iter().zip(b).map(|(x, y)| x.saturating_sub(*y)).collect()
                };
                let (p, e) = (d(&now.0, &self.marks.0), d(&now.1, &self.marks.1));
                Ok(json!({
                    "sockets": self.stats.len(),
                    "pings_sum": p.iter().sum::<u64>(), "pings_min": p.iter().min(),
                    "events_sum": e.iter().sum::<u64>(), "events_min": e.iter().min(),
                    "disconnects": self.sh.disconnects.load(Relaxed),
                    "first_disconnect": self.sh.first_disconnect.lock().ok().and_then(|f| f.clone()),
                }))
            }
            "arm" => {
                self.armed = self.sh.delivered.load(Relaxed);
                Ok(json!({ "ok": true }))
            }
            "send" => {
                let stamp = num(1)?;
                let tx = self
                    .sender
                    .as_ref()
                    .ok_or("no broadcaster: `sender` first")?;
                tx.send(format!(r#"42["bcast","{ROOM}","{stamp}:sweep"]"#))
                    .map_err(|_| "the broadcaster is gone")?;
                Ok(json!({ "ok": true }))
            }
            "wait" => {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(num(1)? as u64);
                let want = self.stats.len() as u64;
                while self.sh.delivered.load(Relaxed) - self.armed < want
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(json!({
                    "got": self.sh.delivered.load(Relaxed) - self.armed,
                    "want": want,
                    "last_us": self.sh.last_us.load(Relaxed),
                }))
            }
            other => Err(format!("unknown command `{other}`").into()),
        }
    }
}

// Pinned to one core: a current-thread runtime has no cross-thread wake-ups to pay for.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o: std::collections::HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let ports: Vec<u16> = o
        .get("ports")
        .map(|v| v.split(',').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    let total: usize = o.get("total").and_then(|v| v.parse().ok()).unwrap_or(0);
    let polling = o.get("transport").is_some_and(|t| t == "polling");
    let (stop_tx, stop) = watch::channel(false);
    let mut w = Worker {
        ports: ports.into(),
        polling,
        total,
        stats: Vec::new(),
        sh: Arc::default(),
        stop,
        sender: None,
        marks: (Vec::new(), Vec::new()),
        armed: 0,
    };
    // Commands come from a plain thread (stdin blocks) into the runtime.
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The worker's share is at most `total`; a polling client holds two descriptors.
    let nofile = sio_bench::raise_nofile(total as u64 * if polling { 2 } else { 1 } + 1024);
    println!("{}", json!({ "ready": true, "nofile": nofile }));
    while let Some(line) = rx.recv().await {
        if line.trim() == "quit" {
            break;
        }
        let reply = match w.command(&line).await {
            Ok(v) => v,
            Err(e) => json!({ "error": e.to_string() }),
        };
        println!("{reply}");
    }
    w.sh.stopping.store(true, Relaxed);
    let _ = stop_tx.send(true);
    // Every socket closes with the process: faster than 100,000 close handshakes.
    std::process::exit(0);
}
