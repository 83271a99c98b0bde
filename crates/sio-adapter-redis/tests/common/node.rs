//! A Node member, or any Node script of tests/interop/redis/, driven over a pipe; values
//! between the two as JSON (binary as `{"$bin": hex}`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use sio_adapter_redis::Mode;
use sio_types::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::Notify;

use super::{REDIS, WAIT, mode_arg};

// ------------------------------------------------------------------ value <-> JSON pipe

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Binary(b) => {
            json!({ "$bin": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Object(m) if m.len() == 1 && m.get("$bin").is_some_and(Json::is_string) => {
            let hex = m["$bin"].as_str().unwrap();
            Value::from(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect::<Vec<u8>>(),
            )
        }
        Json::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
        Json::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        other => Value::from(other.clone()),
    }
}

// ------------------------------------------------------------------ Node member

/// A Node script driven over a pipe: JSON commands in, JSON lines out (see the scripts in
/// tests/interop/redis/).
pub struct NodeScript {
    child: Child,
    stdin: ChildStdin,
    events: Arc<Mutex<Vec<Json>>>,
    notify: Arc<Notify>,
    next: AtomicU64,
}

pub fn script_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/interop/redis")
        .join(name)
}

impl NodeScript {
    /// Starts `node <script> <args>` and waits for its `ready` line, which it returns.
    pub async fn spawn(script: &str, args: &[&str]) -> (Self, Json) {
        let mut child = Command::new("node")
            .arg(script_path(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node on PATH");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let (ev, nt) = (events.clone(), notify.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Json>(&line) {
                    Ok(j) => ev.lock().unwrap().push(j),
                    Err(_) => eprintln!("node: {line}"),
                }
                nt.notify_waiters();
            }
        });
        let me = NodeScript {
            child,
            stdin,
            events,
            notify,
            next: AtomicU64::new(1),
        };
        let ready = me
            .wait_event("node ready", |e| {
                e["type"] == "ready" || e["type"] == "fatal"
            })
            .await;
        assert_eq!(ready["type"], "ready", "node failed: {ready}");
        (me, ready)
    }

    pub fn events(&self) -> Vec<Json> {
        self.events.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.events.lock().unwrap().retain(|e| e["type"] == "reply");
    }

    pub async fn wait_event(&self, what: &str, pred: impl Fn(&Json) -> bool) -> Json {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let n = self.notify.notified();
            if let Some(e) = self.events().into_iter().find(|e| pred(e)) {
                return e;
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                panic!("{what}: no matching event; events: {:#?}", self.events());
            }
        }
    }

    /// Runs a command; Ok(result) or Err(error message).
    pub async fn cmd(&mut self, mut c: Json) -> Result<Json, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        c["id"] = json!(id);
        let mut line = serde_json::to_vec(&c).unwrap();
        line.push(b'\n');
        self.stdin.write_all(&line).await.unwrap();
        self.stdin.flush().await.unwrap();
        let r = self
            .wait_event(&format!("reply to {c}"), |e| {
                e["type"] == "reply" && e["id"] == id
            })
            .await;
        match r.get("error") {
            Some(e) => Err(e.as_str().unwrap_or_default().to_owned()),
            None => Ok(r["result"].clone()),
        }
    }

    /// Closes its stdin (the scripts exit then) and waits for it.
    pub async fn stop(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await;
        let _ = self.child.kill().await;
    }

    /// Kills it at once: no goodbye to Redis or its clients.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A Node cluster member (tests/interop/redis/node-cluster-node.js).
pub struct NodeMember {
    script: NodeScript,
    /// Client name -> socket id.
    pub ids: std::collections::HashMap<String, String>,
}

impl std::ops::Deref for NodeMember {
    type Target = NodeScript;
    fn deref(&self) -> &NodeScript {
        &self.script
    }
}

impl std::ops::DerefMut for NodeMember {
    fn deref_mut(&mut self) -> &mut NodeScript {
        &mut self.script
    }
}

impl NodeMember {
    pub async fn start(prefix: &str, mode: Mode, clients: &[&str]) -> Self {
        Self::start_with_url(REDIS, prefix, mode, clients).await
    }

    pub async fn start_with_url(url: &str, prefix: &str, mode: Mode, clients: &[&str]) -> Self {
        let mut args = vec![url, prefix, mode_arg(mode)];
        args.extend(clients);
        let (script, ready) = NodeScript::spawn("node-cluster-node.js", &args).await;
        let ids = ready["ids"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        NodeMember { script, ids }
    }

    pub fn id(&self, client: &str) -> String {
        self.ids[client].clone()
    }

    /// Events a client received: (event, args).
    pub fn received(&self, client: &str, event: &str) -> Vec<Vec<Value>> {
        self.events()
            .iter()
            .filter(|e| e["type"] == "recv" && e["client"] == client && e["event"] == event)
            .map(|e| {
                e["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(from_json)
                    .collect()
            })
            .collect()
    }

    pub async fn stop(self) {
        self.script.stop().await;
    }

    pub async fn kill(self) {
        self.script.kill().await;
    }
}
