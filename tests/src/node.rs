//! Node scripts of `tests/interop/` that drive a server with the official npm
//! packages: run to completion (they print `OK <summary>` and exit 0 when every check
//! passed), kept running as a peer server ([`Peer`]: env `PORT` in, `PORT <n>` out), or
//! driven over a pipe ([`Piped`]: JSON commands in, JSON lines out).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::ChildStdin;
use tokio::sync::Notify;

/// A guard against hanging forever, not a speed requirement.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// `tests/interop/<rel>`.
pub fn interop(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(rel)
}

fn command(rel: &str, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("node");
    c.arg(interop(rel))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs `tests/interop/<rel>` with `args` and returns its stdout; panics with both
/// outputs unless it exits 0 having printed `OK `.
pub async fn script(rel: &str, args: &[&str]) -> String {
    let child = command(rel, args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is on PATH");
    let out = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{rel} did not finish within {PATIENCE:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && stdout.contains("OK "),
        "{rel} {args:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

/// A Node server started from `tests/interop/<rel>` on a free port (or a given one),
/// killed when dropped. The script reads env `PORT` (0: any) and prints `PORT <n>` on
/// its first stdout line once it listens; its stderr is relayed, prefixed `[node]`.
#[derive(Debug)]
pub struct Peer {
    child: tokio::process::Child,
    /// The port it listens on.
    pub port: u16,
    rel: String,
    env: Vec<(String, String)>,
}

impl Peer {
    /// Starts `tests/interop/<rel>` with `env`, on a free port.
    pub async fn start(rel: &str, env: &[(&str, &str)]) -> Peer {
        Self::start_on(rel, 0, env).await
    }

    /// Starts `tests/interop/<rel>` with `env` on `port` (0: any free one).
    pub async fn start_on(rel: &str, port: u16, env: &[(&str, &str)]) -> Peer {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut last_err = String::new();
        // A port just freed by a killed server can take a moment to be reusable.
        for _ in 0..50 {
            let mut child = command(rel, &[])
                .env("PORT", port.to_string())
                .envs(env.iter().cloned())
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("node is on PATH");
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line()).await;
            if let Ok(Ok(Some(line))) = line {
                if let Some(p) = line.strip_prefix("PORT ") {
                    let port: u16 = p.trim().parse().unwrap();
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    if let Some(stderr) = child.stderr.take() {
                        tokio::spawn(async move {
                            let mut l = BufReader::new(stderr).lines();
                            while let Ok(Some(line)) = l.next_line().await {
                                eprintln!("[node] {line}");
                            }
                        });
                    }
                    return Peer {
                        child,
                        port,
                        rel: rel.to_owned(),
                        env,
                    };
                }
                last_err = line;
            } else if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let mut s = String::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), e.read_to_string(&mut s)).await;
                last_err = s;
            }
            let _ = child.kill().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {rel} did not start: {last_err}");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process and waits until it is gone.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Starts the same script again, with the same environment, on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let fresh = Peer::start_on(&self.rel, self.port, &env).await;
        *self = fresh;
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// A Node script driven over its stdin and stdout, killed when dropped: the contract of
/// `tests/interop/redis/pipe.js`. Every stdout line is a JSON object (an event the
/// script reports, `{"type": …}`); the test sends commands `{id, op, …}` as JSON lines,
/// each answered `{"type": "reply", id, result | error}`. The script prints
/// `{"type": "ready", …}` once it can take commands (`{"type": "fatal", …}` if it
/// cannot) and exits when its stdin closes. Lines that are not JSON are relayed to
/// stderr, prefixed `[node]`, as its stderr is.
#[derive(Debug)]
pub struct Piped {
    child: tokio::process::Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    events: Arc<Mutex<Vec<Json>>>,
    changed: Arc<Notify>,
    next_id: AtomicU64,
}

impl Piped {
    /// Starts `tests/interop/<rel>` with `args`, waits for its `ready` event and
    /// returns it with the script.
    pub async fn start(rel: &str, args: &[&str]) -> (Piped, Json) {
        let mut child = command(rel, args)
            .stdin(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is on PATH");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new(Notify::new());
        let (ev, ch) = (events.clone(), changed.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Json>(&line) {
                    Ok(j) => ev.lock().unwrap().push(j),
                    Err(_) => eprintln!("[node] {line}"),
                }
                ch.notify_waiters();
            }
        });
        let me = Piped {
            child,
            stdin: tokio::sync::Mutex::new(stdin),
            events,
            changed,
            next_id: AtomicU64::new(1),
        };
        let ready = me
            .wait_event(&format!("{rel} ready"), |e| {
                e["type"] == "ready" || e["type"] == "fatal"
            })
            .await;
        assert_eq!(ready["type"], "ready", "{rel} failed: {ready}");
        (me, ready)
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Json> {
        self.events.lock().unwrap().clone()
    }

    /// Forgets the events so far (replies excepted, which [`cmd`](Self::cmd) may
    /// still be waiting for).
    pub fn clear(&self) {
        self.events.lock().unwrap().retain(|e| e["type"] == "reply");
    }

    /// The first event that matches `pred`, once there is one; the test fails, naming
    /// `what` and showing the events, after [`PATIENCE`].
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&Json) -> bool) -> Json {
        crate::wait::notified(
            what,
            PATIENCE.as_secs(),
            &self.changed,
            || {
                self.events
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|e| pred(e))
                    .cloned()
            },
            || self.events(),
        )
        .await
    }

    /// Sends command `c` (an object with its `op`) and returns its reply's `result`, or
    /// its `error` message.
    pub async fn cmd(&self, mut c: Json) -> Result<Json, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        c["id"] = json!(id);
        let mut line = serde_json::to_vec(&c).unwrap();
        line.push(b'\n');
        {
            let mut stdin = self.stdin.lock().await;
            stdin.write_all(&line).await.unwrap();
            stdin.flush().await.unwrap();
        }
        let reply = self
            .wait_event(&format!("the reply to {c}"), |e| {
                e["type"] == "reply" && e["id"] == id
            })
            .await;
        match reply.get("error") {
            Some(e) => Err(e.as_str().unwrap_or_default().to_owned()),
            None => Ok(reply["result"].clone()),
        }
    }

    /// Closes its stdin, so that the script ends on its own, and waits a moment for it
    /// before killing it.
    pub async fn stop(self) {
        let Piped {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let _ = tokio::time::timeout(Duration::from_secs(3), child.wait()).await;
        let _ = child.kill().await;
    }

    /// Kills it at once: no goodbye to anyone it is connected to.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
