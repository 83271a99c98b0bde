//! Test parts: a recording `LocalNamespace` with fake sockets, and a Node cluster member
//! (socket.io 4.8 + @socket.io/redis-adapter 8.3 + socket.io-client) driven over a pipe.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use sio_adapter_redis::{
    Mode, RedisAdapter, RedisAdapterFactory, RedisConfig, StreamsOptions, SubscriptionMode,
};
use sio_types::{
    AckStream, Adapter, BroadcastOptions, Handshake, LocalAcks, LocalNamespace, Packet, Room,
    ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::Notify;

pub const REDIS: &str = "redis://127.0.0.1:6379";
pub const WAIT: Duration = Duration::from_secs(8);

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "sio-test-{name}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        SocketId::random().as_str().replace(['-', '_'], "x")
    )
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sio_adapter_redis=warn".into()),
        )
        .with_test_writer()
        .try_init();
}

// ------------------------------------------------------------------ fake namespace

#[derive(Clone, Debug)]
pub struct FakeSocket {
    pub id: SocketId,
    pub rooms: Vec<Room>,
    pub data: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Broadcast(Packet, BroadcastOptions),
    BroadcastWithAck(Packet, BroadcastOptions),
    AddSockets(BroadcastOptions, Vec<Room>),
    DelSockets(BroadcastOptions, Vec<Room>),
    Disconnect(BroadcastOptions, bool),
    ServerSideEmit(Vec<Value>, bool),
}

/// A namespace with a few fake sockets that records every call its adapter makes.
pub struct FakeNs {
    pub path: String,
    pub sockets: Mutex<Vec<FakeSocket>>,
    pub calls: Mutex<Vec<Call>>,
    /// When set, server-side emits are recorded but never acknowledged (a slow or
    /// broken peer).
    pub silent: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl FakeNs {
    /// Sockets named `name[:room,room]`; each is also in its own id's room.
    pub fn new(path: &str, specs: &[&str]) -> Arc<Self> {
        let sockets = specs
            .iter()
            .map(|spec| {
                let (name, rooms) = spec.split_once(':').unwrap_or((spec, ""));
                let id = SocketId::random();
                let mut r: Vec<Room> = vec![Room::from(id.as_str().to_owned())];
                r.extend(
                    rooms
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| Room::from(s.to_owned())),
                );
                FakeSocket {
                    id,
                    rooms: r,
                    data: Value::from_iter([("name", Value::from(name))]),
                }
            })
            .collect();
        Arc::new(FakeNs {
            path: path.into(),
            sockets: Mutex::new(sockets),
            calls: Mutex::default(),
            silent: std::sync::atomic::AtomicBool::new(false),
            notify: Notify::new(),
        })
    }

    pub fn id_of(&self, name: &str) -> SocketId {
        self.sockets
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.data.get("name").and_then(Value::as_str) == Some(name))
            .map(|s| s.id)
            .unwrap()
    }

    pub fn rooms_of(&self, name: &str) -> Vec<Room> {
        let id = self.id_of(name);
        self.socket_rooms(id).unwrap_or_default()
    }

    fn record(&self, c: Call) {
        self.calls.lock().unwrap().push(c);
        self.notify.notify_waiters();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// Waits until a recorded call matches.
    pub async fn wait_call(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let n = self.notify.notified();
            if let Some(c) = self.calls().into_iter().find(|c| pred(c)) {
                return c;
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                panic!("{what}: no matching call; calls: {:#?}", self.calls());
            }
        }
    }

    fn selected(&self, opts: &BroadcastOptions) -> Vec<FakeSocket> {
        self.sockets
            .lock()
            .unwrap()
            .iter()
            .filter(|s| opts.rooms.is_empty() || s.rooms.iter().any(|r| opts.rooms.contains(r)))
            .filter(|s| !s.rooms.iter().any(|r| opts.except.contains(r)))
            .cloned()
            .collect()
    }
}

impl LocalNamespace for FakeNs {
    fn path(&self) -> &str {
        &self.path
    }
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.record(Call::Broadcast(packet.clone(), opts.clone()));
    }
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        _timeout: Duration,
    ) -> LocalAcks {
        let sel = self.selected(opts);
        self.record(Call::BroadcastWithAck(packet, opts.clone()));
        let answers: Vec<_> = sel
            .iter()
            .map(|s| {
                let name = s.data.get("name").and_then(Value::as_str).unwrap_or("?");
                Ok(vec![Value::from(format!("{name}-ack"))])
            })
            .collect();
        let stream: AckStream = Box::pin(futures_util::stream::iter(answers));
        LocalAcks {
            expected: sel.len(),
            stream,
        }
    }
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let ids: Vec<SocketId> = self.selected(opts).iter().map(|s| s.id).collect();
        for s in self.sockets.lock().unwrap().iter_mut() {
            if ids.contains(&s.id) {
                for r in rooms {
                    if !s.rooms.contains(r) {
                        s.rooms.push(r.clone());
                    }
                }
            }
        }
        self.record(Call::AddSockets(opts.clone(), rooms.to_vec()));
    }
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let ids: Vec<SocketId> = self.selected(opts).iter().map(|s| s.id).collect();
        for s in self.sockets.lock().unwrap().iter_mut() {
            if ids.contains(&s.id) {
                s.rooms.retain(|r| !rooms.contains(r));
            }
        }
        self.record(Call::DelSockets(opts.clone(), rooms.to_vec()));
    }
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        let ids: Vec<SocketId> = self.selected(opts).iter().map(|s| s.id).collect();
        self.sockets
            .lock()
            .unwrap()
            .retain(|s| !ids.contains(&s.id));
        self.record(Call::Disconnect(opts.clone(), close));
    }
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.selected(opts)
            .into_iter()
            .map(|s| SocketInfo {
                id: s.id,
                handshake: Handshake {
                    address: "127.0.0.1".into(),
                    auth: Value::from_iter([("token", Value::from("t"))]),
                    ..Default::default()
                },
                rooms: s.rooms,
                data: s.data,
            })
            .collect()
    }
    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.sockets
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.rooms.clone())
    }
    fn rooms(&self) -> Vec<Room> {
        let mut out: Vec<Room> = Vec::new();
        for s in self.sockets.lock().unwrap().iter() {
            for r in &s.rooms {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
        out
    }
    fn has_room(&self, room: &str) -> bool {
        self.sockets
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.rooms.iter().any(|r| r == room))
    }
    fn server_side_emit(&self, args: Vec<Value>, reply: Option<ServerSideReply>) {
        self.record(Call::ServerSideEmit(args, reply.is_some()));
        if let Some(reply) = reply
            && !self.silent.load(std::sync::atomic::Ordering::SeqCst)
        {
            reply(vec![Value::from("rust-answer")]);
        }
    }
}

/// The test's own key prefix, which also names its stream (streams mode) and its
/// sessions' keys, as the Node member's script does.
pub fn config(prefix: &str, mode: Mode) -> RedisConfig {
    config_at(REDIS, prefix, mode)
}

/// [`config`] for the Redis at `url`.
pub fn config_at(url: &str, prefix: &str, mode: Mode) -> RedisConfig {
    configure(RedisConfig::new(url), prefix, mode)
}

/// [`config`] from a given Redis (a cluster's, say).
pub fn configure(base: RedisConfig, prefix: &str, mode: Mode) -> RedisConfig {
    base.key_prefix(prefix)
        .mode(mode)
        .requests_timeout(Duration::from_secs(3))
        .streams(StreamsOptions {
            stream_name: prefix.to_owned(),
            session_key_prefix: format!("{prefix}:session:"),
            block_time: Duration::from_secs(1),
            ..StreamsOptions::default()
        })
}

pub fn mode_arg(mode: Mode) -> &'static str {
    match mode {
        Mode::Classic => "classic",
        Mode::Sharded {
            subscription_mode: SubscriptionMode::Static,
        } => "sharded-static",
        Mode::Sharded {
            subscription_mode: SubscriptionMode::Dynamic,
        } => "sharded-dynamic",
        Mode::Sharded {
            subscription_mode: SubscriptionMode::DynamicPrivate,
        } => "sharded-dynamic-private",
        Mode::Streams {
            sharded_pubsub: false,
        } => "streams",
        Mode::Streams {
            sharded_pubsub: true,
        } => "streams-sharded",
    }
}

/// A Rust cluster member: a factory, a fake namespace `/` and its initialised adapter.
pub struct RustNode {
    pub factory: RedisAdapterFactory,
    pub ns: Arc<FakeNs>,
    pub adapter: RedisAdapter,
}

impl RustNode {
    pub async fn start(cfg: RedisConfig, specs: &[&str]) -> Self {
        let factory = RedisAdapterFactory::connect(cfg).await.unwrap();
        let ns = FakeNs::new("/", specs);
        let weak: std::sync::Weak<dyn LocalNamespace> =
            Arc::downgrade(&(ns.clone() as Arc<dyn LocalNamespace>));
        let adapter = factory.create_adapter("/", weak);
        adapter.init().await.unwrap();
        RustNode {
            factory,
            ns,
            adapter,
        }
    }
}

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

/// A TCP proxy the test steers: what a load balancer is to a cluster. It can move its
/// clients to another backend (cutting their connections), or turn new ones away.
pub struct Proxy {
    pub port: u16,
    target: Arc<Mutex<std::net::SocketAddr>>,
    refuse: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Proxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(Mutex::new(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            target_port,
        ))));
        let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (t, r, c) = (target.clone(), refuse.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    continue;
                }
                let to = *t.lock().unwrap();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            target,
            refuse,
            conns,
            accept,
        }
    }

    /// Closes every connection through it now.
    pub fn cut(&self) {
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// New connections go to `port`; the current ones are cut.
    pub fn move_to(&self, port: u16) {
        *self.target.lock().unwrap() = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        self.cut();
    }

    /// Turns new connections away (closed at once) until called with `false`.
    pub fn refuse(&self, on: bool) {
        self.refuse.store(on, Ordering::SeqCst);
    }
}

/// Polls `f` until it is true or `WAIT` passes.
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: never happened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every entry of stream `key`, as field maps.
pub async fn stream_entries(key: &str) -> Vec<std::collections::HashMap<String, String>> {
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let reply: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    reply
        .into_iter()
        .map(|(_, kv)| kv.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect())
        .collect()
}

// ------------------------------------------------------------------ own redis-servers

/// A redis-server of the test's own (no persistence), on `port`, killed when dropped.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_redis(port: u16) -> Child {
    start_redis_with(port, &[]).await
}

pub async fn start_redis_with(port: u16, extra: &[&str]) -> Child {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server on PATH");
    assert!(
        serving(&mut child, port, WAIT).await,
        "redis-server did not start on {port}"
    );
    child
}

/// Whether `child` serves `port` within `wait`: the server answering there is this one, not
/// another test's that took the port first.
async fn serving(child: &mut Child, port: u16, wait: Duration) -> bool {
    let ours = format!("process_id:{}", child.id().unwrap_or_default());
    let deadline = std::time::Instant::now() + wait;
    loop {
        match query(port, &["INFO", "server"]).await {
            Ok(v) if text(&v).contains(&ours) => return true,
            // A password-protected server refuses INFO; no other test sets a password.
            Err(e) if e.to_string().contains("NOAUTH") => return true,
            _ => {}
        }
        if std::time::Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Redis Cluster of the test's own: `masters` masters with one replica each, on free
/// ports, in a directory of its own; killed when dropped.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    nodes: Vec<Option<Child>>,
    dir: PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in self.nodes.iter_mut().flatten() {
            let _ = n.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p < 55_000 && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

async fn query(port: u16, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await
}

fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::VerbatimString { text, .. } => text.clone(),
        other => format!("{other:?}"),
    }
}

/// A cluster-enabled redis-server on `port`, once it answers; `None` if it did not start.
async fn spawn_cluster_node(dir: &std::path::Path, port: u16) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &format!("nodes-{port}.conf"),
            "--cluster-node-timeout",
            "1000",
            // Replicas sync at once (Redis 7 waits 5 s by default), so they can be promoted
            // as soon as the test kills a master.
            "--repl-diskless-sync-delay",
            "0",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server on PATH");
    if serving(&mut child, port, Duration::from_secs(3)).await {
        return Some(child);
    }
    let _ = child.kill().await;
    None
}

impl RedisCluster {
    pub async fn start(masters: usize) -> Self {
        let dir = std::env::temp_dir().join(unique_prefix("redis-cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ports = Vec::new();
        let mut nodes = Vec::new();
        while ports.len() < masters * 2 {
            // Another test may take the port between the probe and the spawn: then another.
            let p = free_cluster_port();
            if let Some(child) = spawn_cluster_node(&dir, p).await {
                ports.push(p);
                nodes.push(Some(child));
            }
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli on PATH");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let me = RedisCluster { ports, nodes, dir };
        me.wait_ok().await;
        me
    }

    /// Seed URLs (every node).
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .zip(&self.nodes)
            .filter(|(_, n)| n.is_some())
            .map(|(p, _)| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// Until every live node says `cluster_state:ok` and every replica is in sync.
    pub async fn wait_ok(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut ok = true;
            for (p, n) in self.ports.iter().zip(&self.nodes) {
                if n.is_none() {
                    continue;
                }
                let info = query(*p, &["CLUSTER", "INFO"]).await.map(|v| text(&v));
                ok &= info.is_ok_and(|i| i.contains("cluster_state:ok"));
                let repl = query(*p, &["INFO", "replication"]).await.map(|v| text(&v));
                ok &= repl.is_ok_and(|r| {
                    r.contains("role:master") || r.contains("master_link_status:up")
                });
            }
            if ok {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "cluster never became ok"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The port of the master serving `key`'s slot (a channel's, for sharded pub/sub), if
    /// one is up (none while a failover is under way).
    pub async fn master_of(&self, key: &str) -> Option<u16> {
        let live = self
            .ports
            .iter()
            .zip(&self.nodes)
            .find(|(_, n)| n.is_some())
            .map(|(p, _)| *p)
            .unwrap();
        let slot = match query(live, &["CLUSTER", "KEYSLOT", key]).await.unwrap() {
            redis::Value::Int(s) => s,
            other => panic!("KEYSLOT: {other:?}"),
        };
        let nodes = text(&query(live, &["CLUSTER", "NODES"]).await.unwrap());
        for line in nodes.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            for range in &f[8..] {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(lo), Ok(hi)) = (lo.parse::<i64>(), hi.parse::<i64>())
                    && (lo..=hi).contains(&slot)
                {
                    let port = f[1].split(['@', ':']).nth(1).unwrap();
                    return Some(port.parse().unwrap());
                }
            }
        }
        None
    }

    /// Kills (-9) the node on `port`.
    pub async fn kill(&mut self, port: u16) {
        let i = self.ports.iter().position(|p| *p == port).unwrap();
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill().await;
        }
    }
}
