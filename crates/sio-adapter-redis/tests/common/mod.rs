//! What this crate's tests share beyond the workspace's test support (`sio_tests`: Node
//! scripts, waits): a recording `LocalNamespace` with fake sockets (every adapter test uses
//! it), Rust cluster members on it, Node members (`node`), and the proxy and redis-servers
//! around them (`servers`).
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_adapter_redis::{
    Mode, RedisAdapter, RedisAdapterFactory, RedisConfig, RedisConfigBuilder, StreamsOptions,
    SubscriptionMode,
};
use sio_types::{
    AckStream, Adapter, BroadcastOptions, Handshake, LocalAcks, LocalNamespace, Packet, Room,
    ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::sync::Notify;

pub use sio_tests::node::Piped;
pub use sio_tests::wait::{eventually, until};

pub const REDIS: &str = "redis://127.0.0.1:6379";
/// How long a test waits for what should happen: a bound, not a speed requirement.
pub const WAIT_SECS: u64 = 8;
pub const WAIT: Duration = Duration::from_secs(WAIT_SECS);

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
        sio_tests::wait::notified(
            what,
            WAIT_SECS,
            &self.notify,
            || self.calls.lock().unwrap().iter().find(|c| pred(c)).cloned(),
            || self.calls(),
        )
        .await
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
    builder(prefix, mode).build()
}

/// [`config`] before it is built, for a test that sets more.
pub fn builder(prefix: &str, mode: Mode) -> RedisConfigBuilder {
    configure(RedisConfig::builder(REDIS), prefix, mode)
}

/// [`config`] for the Redis at `url`.
pub fn config_at(url: &str, prefix: &str, mode: Mode) -> RedisConfig {
    configure(RedisConfig::builder(url), prefix, mode).build()
}

/// [`config`] from a given Redis (a cluster's, say).
pub fn configure(base: RedisConfigBuilder, prefix: &str, mode: Mode) -> RedisConfigBuilder {
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

mod node;
mod servers;

pub use node::*;
pub use servers::*;
