//! The Redis adapter: one per namespace, all sharing a factory's pub and sub connections.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_core::future::BoxFuture;
use futures_util::StreamExt;
use redis::PushKind;
use redis::aio::ConnectionManager;
use sio_protocol::Limits;
use sio_types::{
    AckError, AckStream, Adapter, AdapterError, AdapterFactory, BroadcastOptions, LocalNamespace,
    Packet, Room, ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Mode, RedisConfig, SubscriptionMode};
use crate::conn::{ConnectError, ConnectionStats, Counters, Managed, connect};
use crate::publisher::{self, Publisher};
use crate::wire::{self, obj, req};

/// Cluster message types (`MessageType` in socket.io-adapter's cluster-adapter.ts).
mod msg {
    pub(super) const INITIAL_HEARTBEAT: i64 = 1;
    pub(super) const HEARTBEAT: i64 = 2;
    pub(super) const BROADCAST: i64 = 3;
    pub(super) const SOCKETS_JOIN: i64 = 4;
    pub(super) const SOCKETS_LEAVE: i64 = 5;
    pub(super) const DISCONNECT_SOCKETS: i64 = 6;
    pub(super) const FETCH_SOCKETS: i64 = 7;
    pub(super) const FETCH_SOCKETS_RESPONSE: i64 = 8;
    pub(super) const SERVER_SIDE_EMIT: i64 = 9;
    pub(super) const SERVER_SIDE_EMIT_RESPONSE: i64 = 10;
    pub(super) const BROADCAST_CLIENT_COUNT: i64 = 11;
    pub(super) const BROADCAST_ACK: i64 = 12;
    pub(super) const ADAPTER_CLOSE: i64 = 13;
}

type Route = Weak<Inner>;

#[derive(Default)]
struct Routes {
    exact: Mutex<HashMap<String, Route>>,
    patterns: Mutex<HashMap<String, Route>>,
}

fn lookup(map: &Mutex<HashMap<String, Route>>, key: &str) -> Option<Arc<Inner>> {
    let map = map.lock().ok()?;
    map.get(key).and_then(Weak::upgrade)
}

fn set_route(map: &Mutex<HashMap<String, Route>>, key: String, inner: &Arc<Inner>) {
    if let Ok(mut m) = map.lock() {
        m.insert(key, Arc::downgrade(inner));
    }
}

fn remove_route(map: &Mutex<HashMap<String, Route>>, key: &str) {
    if let Ok(mut m) = map.lock() {
        m.remove(key);
    }
}

struct Shared {
    config: RedisConfig,
    limits: Limits,
    /// The `pub` connection, for the commands that are not publishes (NUMSUB, PUBSUB).
    pub_conn: ConnectionManager,
    /// Every PUBLISH/SPUBLISH of every namespace, in call order, on the `pub` connection.
    publisher: Publisher,
    subscriber: ConnectionManager,
    routes: Arc<Routes>,
    counters: Arc<Counters>,
    sub_cmds: mpsc::UnboundedSender<redis::Cmd>,
    _pub: Managed,
    _sub: Managed,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Creates a [`RedisAdapter`] for each namespace; owns the `pub` and `sub` connections they
/// share (as Node's `createAdapter(pubClient, subClient)` does).
///
/// ```no_run
/// # async fn run() -> Result<(), sio_adapter_redis::ConnectError> {
/// use sio_adapter_redis::{RedisAdapterFactory, RedisConfig};
///
/// let factory = RedisAdapterFactory::connect(RedisConfig::new("redis://127.0.0.1:6379")).await?;
/// // hand `factory` to the server as its `AdapterFactory`
/// println!("{:?}", factory.stats());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapterFactory {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapterFactory")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisAdapterFactory {
    /// Opens the `pub` and `sub` connections, each ready within the configured connect
    /// timeout. Must run inside a tokio runtime.
    pub async fn connect(config: RedisConfig) -> Result<Self, ConnectError> {
        let counters = Arc::new(Counters::default());
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let url = config.url.clone();
        let t = config.connect_timeout;
        let (p, s) = tokio::join!(
            connect(&url, "pub", t, counters.clone(), None),
            connect(&url, "sub", t, counters.clone(), Some(push_tx)),
        );
        let (p, s) = (p?, s?);
        let routes = Arc::new(Routes::default());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let limits = config.limits();
        let tasks = vec![
            tokio::spawn(dispatch(push_rx, routes.clone(), counters.clone())),
            tokio::spawn(subscribe_cmds(cmd_rx, s.conn.clone())),
        ];
        Ok(RedisAdapterFactory {
            shared: Arc::new(Shared {
                pub_conn: p.conn.clone(),
                publisher: Publisher::start(p.conn.clone(), counters.clone()),
                subscriber: s.conn.clone(),
                config,
                limits,
                routes,
                counters,
                sub_cmds: cmd_tx,
                _pub: p,
                _sub: s,
                tasks,
            }),
        })
    }

    /// Outage and decode-failure counters of the factory's connections.
    pub fn stats(&self) -> ConnectionStats {
        self.shared.counters.snapshot()
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// The adapter of namespace `path`, typed (the trait method returns it boxed).
    pub fn create_adapter(&self, path: &str, ns: Weak<dyn LocalNamespace>) -> RedisAdapter {
        let cfg = &self.shared.config;
        let prefix = &cfg.key_prefix;
        let (uid, channels) = match cfg.mode {
            Mode::Classic => {
                let uid = wire::uid2(6);
                let response = format!("{prefix}-response#{path}#");
                let ch = Channels {
                    broadcast: format!("{prefix}#{path}#"),
                    request: format!("{prefix}-request#{path}#"),
                    specific_response: format!("{response}{uid}#"),
                    response,
                };
                (uid, ch)
            }
            Mode::Sharded { .. } => {
                let uid = wire::hex_id();
                let main = format!("{prefix}#{path}#");
                let ch = Channels {
                    specific_response: format!("{main}{uid}#"),
                    response: String::new(),
                    request: String::new(),
                    broadcast: main,
                };
                (uid, ch)
            }
        };
        RedisAdapter {
            inner: Arc::new(Inner {
                shared: self.shared.clone(),
                nsp: path.to_owned(),
                uid,
                ns,
                ch: channels,
                requests: Mutex::default(),
                ack_requests: Mutex::default(),
                dynamic: Mutex::default(),
                closed: AtomicBool::new(false),
            }),
        }
    }
}

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, path: &str, ns: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        Arc::new(self.create_adapter(path, ns))
    }
}

struct Channels {
    /// Classic: `<prefix>#<nsp>#`, the prefix of broadcast channels. Sharded: the main channel.
    broadcast: String,
    request: String,
    response: String,
    /// Classic: `<prefix>-response#<nsp>#<uid>#`. Sharded: `<prefix>#<nsp>#<uid>#`.
    specific_response: String,
}

/// A pending request: its answers go to `tx`.
type Pending = Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>;

struct Inner {
    shared: Arc<Shared>,
    nsp: String,
    uid: String,
    ns: Weak<dyn LocalNamespace>,
    ch: Channels,
    requests: Pending,
    ack_requests: Pending,
    /// Sharded dynamic mode: the room channels subscribed.
    dynamic: Mutex<HashSet<String>>,
    closed: AtomicBool,
}

/// The adapter of one namespace, wire-compatible with `@socket.io/redis-adapter` 8.x.
///
/// Created by [`RedisAdapterFactory`]. In classic mode it speaks `createAdapter`'s protocol
/// (and hears `@socket.io/redis-emitter`), in sharded mode `createShardedAdapter`'s.
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.inner.nsp)
            .field("uid", &self.inner.uid)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    /// This node's uid on the wire (6 alphanumerics in classic mode, 16 hex digits sharded).
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// Outage and decode-failure counters of the shared connections.
    pub fn stats(&self) -> ConnectionStats {
        self.inner.shared.counters.snapshot()
    }
}

/// Removes a pending request when its waiter ends, however it ends.
struct PendingGuard<'a> {
    map: &'a Pending,
    id: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&self.id);
        }
    }
}

fn transport(e: redis::RedisError) -> AdapterError {
    AdapterError::Transport(e.to_string())
}

fn type_of(v: &Value) -> Option<i64> {
    v.get("type").and_then(Value::as_i64)
}

fn opt_string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn sharded(mode: Mode) -> Option<SubscriptionMode> {
    match mode {
        Mode::Sharded { subscription_mode } => Some(subscription_mode),
        Mode::Classic => None,
    }
}

impl Inner {
    fn ns(&self) -> Result<Arc<dyn LocalNamespace>, AdapterError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(AdapterError::Closed);
        }
        self.ns.upgrade().ok_or(AdapterError::Closed)
    }

    fn mode(&self) -> Mode {
        self.shared.config.mode
    }

    fn dropped(&self, channel: &str, why: &dyn std::fmt::Display) {
        self.shared
            .counters
            .dropped_messages
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(nsp = %self.nsp, channel, "dropping malformed message: {why}");
    }

    /// Larger messages than configured are dropped unread.
    fn too_big(&self, channel: &str, payload: &[u8]) -> bool {
        let big = payload.len() > self.shared.limits.max_packet_size;
        if big {
            self.dropped(
                channel,
                &format_args!("message of {} bytes is too large", payload.len()),
            );
        }
        big
    }

    fn publish_kind(&self) -> publisher::Kind {
        match self.mode() {
            Mode::Classic => publisher::Kind::Publish,
            Mode::Sharded { .. } => publisher::Kind::SPublish,
        }
    }

    /// Publishes and waits for Redis's answer (requests, which wait for answers anyway).
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.shared
            .publisher
            .publish(self.publish_kind(), channel.to_owned(), payload)
            .await
            .map_err(AdapterError::Transport)
    }

    /// Publishes a broadcast without waiting for Redis while it takes messages (see
    /// [`Publisher::publish_soon`]).
    async fn publish_soon(&self, channel: String, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.shared
            .publisher
            .publish_soon(self.publish_kind(), channel, payload)
            .await
            .map_err(AdapterError::Transport)
    }

    async fn server_count(&self) -> Result<usize, AdapterError> {
        let mut conn = self.shared.pub_conn.clone();
        let (kind, channel) = match self.mode() {
            Mode::Classic => ("NUMSUB", &self.ch.request),
            Mode::Sharded { .. } => ("SHARDNUMSUB", &self.ch.broadcast),
        };
        let reply: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg(kind)
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(transport)?;
        let count = match reply.get(1) {
            Some(redis::Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        // We are subscribed ourselves, but a reply that misses us (a race with a reconnect)
        // must not make the count zero.
        Ok(count.max(1))
    }

    fn register(&self, map: &Pending, id: &str) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut m) = map.lock() {
            m.insert(id.to_owned(), tx);
        }
        rx
    }

    fn is_pending(map: &Pending, id: &str) -> bool {
        map.lock().map(|m| m.contains_key(id)).unwrap_or(false)
    }

    fn forward(map: &Pending, id: &str, v: Value) {
        // Cloned out so that no lock is held while sending.
        let tx = map.lock().ok().and_then(|m| m.get(id).cloned());
        if let Some(tx) = tx {
            // A closed receiver is a waiter that just gave up.
            let _ = tx.send(v);
        }
    }

    /// Waits for `expected` answers to request `id`.
    async fn collect(
        &self,
        rx: &mut mpsc::UnboundedReceiver<Value>,
        expected: usize,
        request: &'static str,
    ) -> Result<Vec<Value>, AdapterError> {
        let timeout = self.shared.config.requests_timeout;
        let (out, complete) = Self::gather(rx, expected, timeout).await?;
        if !complete {
            return Err(AdapterError::Timeout {
                request,
                received: out.len(),
                expected,
                waited: timeout,
            });
        }
        Ok(out)
    }

    /// Waits up to `wait` for `expected` answers; returns what arrived and whether it was
    /// all of them, so that a caller can keep partial answers as Node does.
    async fn gather(
        rx: &mut mpsc::UnboundedReceiver<Value>,
        expected: usize,
        wait: Duration,
    ) -> Result<(Vec<Value>, bool), AdapterError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::with_capacity(expected);
        while out.len() < expected {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(v)) => out.push(v),
                Ok(None) => return Err(AdapterError::Closed),
                Err(_) => return Ok((out, false)),
            }
        }
        Ok((out, true))
    }

    fn new_request_id(&self) -> String {
        match self.mode() {
            Mode::Classic => wire::uid2(6),
            Mode::Sharded { .. } => wire::hex_id(),
        }
    }

    // ---------------------------------------------------------------- sending side

    /// A sharded cluster message: `{type, data, uid, nsp}` (the key order Node produces).
    fn cluster_message(&self, ty: i64, data: Value) -> Value {
        obj([
            ("type", Value::Int(ty)),
            ("data", data),
            ("uid", Value::from(self.uid.as_str())),
            ("nsp", Value::from(self.nsp.as_str())),
        ])
    }

    async fn publish_cluster(
        &self,
        channel: &str,
        ty: i64,
        data: Value,
    ) -> Result<(), AdapterError> {
        let m = self.cluster_message(ty, data);
        self.publish(channel, wire::encode_auto(&m)?).await
    }

    /// The channel of a sharded broadcast (`computeChannel` in sharded-adapter.ts).
    /// Broadcasts with acks always go to the main channel (see `broadcast_with_ack`).
    fn sharded_channel(&self, opts: &BroadcastOptions) -> String {
        let mode = sharded(self.mode()).unwrap_or_default();
        if opts.rooms.len() == 1 {
            let room = &opts.rooms[0];
            let dynamic = match mode {
                SubscriptionMode::Dynamic => room.len() != 20,
                SubscriptionMode::DynamicPrivate => true,
                SubscriptionMode::Static => false,
            };
            if dynamic {
                return format!("{}{room}#", self.ch.broadcast);
            }
        }
        self.ch.broadcast.clone()
    }

    async fn broadcast(
        &self,
        mut packet: Packet,
        opts: BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let ns = self.ns()?;
        packet.nsp.clone_from(&self.nsp);
        ns.broadcast(&packet, &opts);
        if opts.flags.local {
            return Ok(());
        }
        let pv = wire::packet_to_value(&packet);
        match self.mode() {
            Mode::Classic => {
                let m = Value::Array(vec![
                    Value::from(self.uid.as_str()),
                    pv,
                    wire::opts_to_value(&opts),
                ]);
                let mut channel = self.ch.broadcast.clone();
                if opts.rooms.len() == 1 {
                    channel.push_str(&opts.rooms[0]);
                    channel.push('#');
                }
                self.publish_soon(channel, wire::encode_msgpack(&m)?).await
            }
            Mode::Sharded { .. } => {
                let channel = self.sharded_channel(&opts);
                let data = obj([("packet", pv), ("opts", wire::opts_to_value(&opts))]);
                let m = self.cluster_message(msg::BROADCAST, data);
                self.publish_soon(channel, wire::encode_auto(&m)?).await
            }
        }
    }

    async fn broadcast_with_ack(
        self: Arc<Self>,
        mut packet: Packet,
        mut opts: BroadcastOptions,
        timeout: Duration,
    ) -> Result<AckStream, AdapterError> {
        let ns = self.ns()?;
        packet.nsp.clone_from(&self.nsp);
        opts.flags.timeout = Some(timeout);
        let mut remote = None;
        if !opts.flags.local {
            let servers = self.server_count().await?;
            let id = self.new_request_id();
            let rx = self.register(&self.ack_requests, &id);
            let pv = wire::packet_to_value(&packet);
            let sent = match self.mode() {
                Mode::Classic => {
                    let m = obj([
                        ("uid", Value::from(self.uid.as_str())),
                        ("requestId", Value::from(id.as_str())),
                        ("type", Value::Int(req::BROADCAST)),
                        ("packet", pv),
                        ("opts", wire::opts_to_value(&opts)),
                    ]);
                    let bytes = wire::encode_msgpack(&m)?;
                    self.publish(&self.ch.request, bytes).await
                }
                Mode::Sharded { .. } => {
                    let data = obj([
                        ("packet", pv),
                        ("requestId", Value::from(id.as_str())),
                        ("opts", wire::opts_to_value(&opts)),
                    ]);
                    self.publish_cluster(&self.ch.broadcast, msg::BROADCAST, data)
                        .await
                }
            };
            if let Err(e) = sent {
                if let Ok(mut m) = self.ack_requests.lock() {
                    m.remove(&id);
                }
                return Err(e);
            }
            remote = Some((id, rx, servers.saturating_sub(1)));
        }
        let local = ns.broadcast_with_ack(packet, &opts, timeout);
        let (tx, mut out_rx) = mpsc::unbounded_channel();
        let me = self.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            let mut local_stream = Some(local.stream);
            let (id, mut rx, servers) = match remote {
                Some((id, rx, servers)) => (Some(id), Some(rx), servers),
                None => (None, None, 0),
            };
            let _guard = id.map(|id| PendingGuard {
                map: &me.ack_requests,
                id,
            });
            let (mut reported, mut expected, mut received) = (0usize, 0usize, 0usize);
            loop {
                let remote_done = reported >= servers && received >= expected;
                if local_stream.is_none() && remote_done {
                    break;
                }
                tokio::select! {
                    item = async { local_stream.as_mut()?.next().await }, if local_stream.is_some() => {
                        match item {
                            Some(r) => if tx.send(r).is_err() { return },
                            None => local_stream = None,
                        }
                    }
                    v = async { rx.as_mut()?.recv().await }, if rx.is_some() && !remote_done => {
                        let Some(v) = v else { rx = None; reported = servers; continue };
                        let (ty, body) = match me.mode() {
                            Mode::Classic => (type_of(&v), Some(&v)),
                            Mode::Sharded { .. } => (type_of(&v), v.get("data")),
                        };
                        let Some(body) = body else { continue };
                        match ty {
                            Some(req::BROADCAST_CLIENT_COUNT | msg::BROADCAST_CLIENT_COUNT) => {
                                reported += 1;
                                let n = body.get("clientCount").and_then(Value::as_i64).unwrap_or(0);
                                expected += usize::try_from(n).unwrap_or(0);
                            }
                            Some(req::BROADCAST_ACK | msg::BROADCAST_ACK) => {
                                received += 1;
                                let arg = body.get("packet").cloned().unwrap_or_default();
                                if tx.send(Ok(vec![arg])).is_err() { return }
                            }
                            _ => {}
                        }
                    }
                    _ = &mut deadline => {
                        for _ in received..expected {
                            if tx.send(Err(AckError::Timeout)).is_err() { return }
                        }
                        break;
                    }
                }
            }
        });
        let stream = futures_util::stream::poll_fn(move |cx| out_rx.poll_recv(cx));
        Ok(Box::pin(stream))
    }

    /// `socketsJoin` (`join`) or `socketsLeave`: applied here, then sent to the others
    /// unless `local`.
    async fn rooms_op(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
        join: bool,
    ) -> Result<(), AdapterError> {
        let ns = self.ns()?;
        if join {
            ns.add_sockets(&opts, &rooms);
        } else {
            ns.del_sockets(&opts, &rooms);
        }
        if opts.flags.local {
            return Ok(());
        }
        let extra = ("rooms", wire::str_array(&rooms));
        let (classic, cluster) = if join {
            (req::REMOTE_JOIN, msg::SOCKETS_JOIN)
        } else {
            (req::REMOTE_LEAVE, msg::SOCKETS_LEAVE)
        };
        self.sockets_op(classic, cluster, &opts, extra).await
    }

    async fn sockets_op(
        &self,
        classic: i64,
        cluster: i64,
        opts: &BroadcastOptions,
        extra: (&'static str, Value),
    ) -> Result<(), AdapterError> {
        match self.mode() {
            Mode::Classic => {
                // Node's shape: `{uid, type, opts: {rooms, except}, rooms | close}`.
                let m = obj([
                    ("uid", Value::from(self.uid.as_str())),
                    ("type", Value::Int(classic)),
                    ("opts", wire::targets_to_value(opts)),
                    extra,
                ]);
                self.publish(&self.ch.request, wire::encode_json(&m)).await
            }
            Mode::Sharded { .. } => {
                let data = obj([("opts", wire::opts_to_value(opts)), extra]);
                self.publish_cluster(&self.ch.broadcast, cluster, data)
                    .await
            }
        }
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        let mut sockets = self.ns()?.fetch_sockets(&opts);
        if opts.flags.local {
            return Ok(sockets);
        }
        let servers = self.server_count().await?;
        if servers <= 1 {
            return Ok(sockets);
        }
        let id = self.new_request_id();
        let mut rx = self.register(&self.requests, &id);
        let _guard = PendingGuard {
            map: &self.requests,
            id: id.clone(),
        };
        match self.mode() {
            Mode::Classic => {
                let m = obj([
                    ("uid", Value::from(self.uid.as_str())),
                    ("requestId", Value::from(id.as_str())),
                    ("type", Value::Int(req::REMOTE_FETCH)),
                    ("opts", wire::targets_to_value(&opts)),
                ]);
                self.publish(&self.ch.request, wire::encode_json(&m))
                    .await?;
            }
            Mode::Sharded { .. } => {
                let data = obj([
                    ("opts", wire::opts_to_value(&opts)),
                    ("requestId", Value::from(id.as_str())),
                ]);
                self.publish_cluster(&self.ch.broadcast, msg::FETCH_SOCKETS, data)
                    .await?;
            }
        }
        let answers = self.collect(&mut rx, servers - 1, "fetchSockets").await?;
        for a in answers {
            let list = match self.mode() {
                Mode::Classic => a.get("sockets"),
                Mode::Sharded { .. } => a.get("data").and_then(|d| d.get("sockets")),
            };
            for s in list.and_then(Value::as_array).unwrap_or(&[]) {
                match wire::socket_from_value(s) {
                    Ok(info) => sockets.push(info),
                    Err(e) => tracing::warn!(nsp = %self.nsp, "skipping remote socket: {e}"),
                }
            }
        }
        Ok(sockets)
    }

    async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let mut rooms = self.ns()?.rooms();
        // The sharded adapter has no message for it: Node answers with local rooms too.
        if sharded(self.mode()).is_some() {
            return Ok(rooms);
        }
        let servers = self.server_count().await?;
        if servers <= 1 {
            return Ok(rooms);
        }
        let id = self.new_request_id();
        let mut rx = self.register(&self.requests, &id);
        let _guard = PendingGuard {
            map: &self.requests,
            id: id.clone(),
        };
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(id.as_str())),
            ("type", Value::Int(req::ALL_ROOMS)),
        ]);
        self.publish(&self.ch.request, wire::encode_json(&m))
            .await?;
        let answers = self.collect(&mut rx, servers - 1, "allRooms").await?;
        let mut seen: HashSet<Room> = rooms.iter().cloned().collect();
        for a in answers {
            for r in wire::rooms_of(a.get("rooms")) {
                if seen.insert(r.clone()) {
                    rooms.push(r);
                }
            }
        }
        Ok(rooms)
    }

    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        match self.mode() {
            Mode::Classic => {
                let m = obj([
                    ("uid", Value::from(self.uid.as_str())),
                    ("type", Value::Int(req::SERVER_SIDE_EMIT)),
                    ("data", Value::Array(args)),
                ]);
                self.publish(&self.ch.request, wire::encode_auto(&m)?).await
            }
            Mode::Sharded { .. } => {
                let data = obj([("packet", Value::Array(args))]);
                self.publish_cluster(&self.ch.broadcast, msg::SERVER_SIDE_EMIT, data)
                    .await
            }
        }
    }

    async fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Vec<Value>>, AdapterError> {
        self.ns()?;
        let others = self.server_count().await?.saturating_sub(1);
        if others == 0 {
            return Ok(Vec::new());
        }
        let id = self.new_request_id();
        let mut rx = self.register(&self.requests, &id);
        let _guard = PendingGuard {
            map: &self.requests,
            id: id.clone(),
        };
        match self.mode() {
            Mode::Classic => {
                let m = obj([
                    ("uid", Value::from(self.uid.as_str())),
                    ("requestId", Value::from(id.as_str())),
                    ("type", Value::Int(req::SERVER_SIDE_EMIT)),
                    ("data", Value::Array(args)),
                ]);
                self.publish(&self.ch.request, wire::encode_auto(&m)?)
                    .await?;
            }
            Mode::Sharded { .. } => {
                let data = obj([
                    ("requestId", Value::from(id.as_str())),
                    ("packet", Value::Array(args)),
                ]);
                self.publish_cluster(&self.ch.broadcast, msg::SERVER_SIDE_EMIT, data)
                    .await?;
            }
        }
        let started = Instant::now();
        // Bounded by the adapter's own `requests_timeout` too, as before.
        let wait = timeout.min(self.shared.config.requests_timeout);
        let (collected, complete) = Self::gather(&mut rx, others, wait).await?;
        let answers: Vec<Vec<Value>> = collected
            .into_iter()
            .map(|a| {
                let arg = match self.mode() {
                    Mode::Classic => a.get("data").cloned(),
                    Mode::Sharded { .. } => a.get("data").and_then(|d| d.get("packet")).cloned(),
                };
                vec![arg.unwrap_or_default()]
            })
            .collect();
        if !complete {
            return Err(AdapterError::PartialTimeout {
                request: "serverSideEmit",
                received: answers,
                expected: others,
                waited: started.elapsed(),
            });
        }
        Ok(answers)
    }

    // -------------------------------------------------------------- receiving side

    /// A message on the classic broadcast pattern (`onmessage` in lib/index.ts).
    fn on_broadcast_message(&self, channel: &str, payload: &[u8]) {
        let Some(rest) = channel.strip_prefix(self.ch.broadcast.as_str()) else {
            return;
        };
        let room = rest.strip_suffix('#').unwrap_or(rest);
        let Ok(ns) = self.ns() else { return };
        if !room.is_empty() && !ns.has_room(room) {
            // The cheap path: a message for a room we have no member of is never decoded.
            return;
        }
        if self.too_big(channel, payload) {
            return;
        }
        let v = match wire::decode_msgpack(payload, &self.shared.limits) {
            Ok(v) => v,
            Err(e) => return self.dropped(channel, &e),
        };
        let Some([uid, packet, opts]) = v.as_array().and_then(|a| <&[Value; 3]>::try_from(a).ok())
        else {
            return self.dropped(channel, &"not a [uid, packet, opts] array");
        };
        if uid.as_str() == Some(self.uid.as_str()) {
            return;
        }
        let packet = match wire::packet_from_value(packet) {
            Ok(p) => p,
            Err(e) => return self.dropped(channel, &e),
        };
        if packet.nsp != self.nsp {
            return;
        }
        ns.broadcast(&packet, &wire::opts_from_value(Some(opts)));
    }

    /// Where the answer to a classic `request` goes: the requester's own channel when so
    /// configured and the requester named itself, the shared response channel otherwise.
    fn response_channel(&self, request: &Value) -> String {
        match (
            self.shared.config.publish_on_specific_response_channel,
            opt_string(request, "uid"),
        ) {
            (true, Some(uid)) => format!("{}{uid}#", self.ch.response),
            _ => self.ch.response.clone(),
        }
    }

    fn respond_classic(&self, request: &Value, response: Vec<u8>) {
        self.shared.publisher.publish_later(
            publisher::Kind::Publish,
            self.response_channel(request),
            response,
        );
    }

    /// A message on the classic request channel (`onrequest` in lib/index.ts).
    fn on_request(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if self.too_big(channel, payload) {
            return;
        }
        let r = match wire::decode_any(payload, &self.shared.limits) {
            Ok(r) => r,
            Err(e) => return self.dropped(channel, &e),
        };
        let Ok(ns) = self.ns() else { return };
        let id = opt_string(&r, "requestId");
        let mine = opt_string(&r, "uid").as_deref() == Some(self.uid.as_str());
        let own_request = id
            .as_deref()
            .is_some_and(|id| Self::is_pending(&self.requests, id));
        match type_of(&r) {
            Some(req::SOCKETS) => {
                if own_request || mine {
                    return;
                }
                let opts = BroadcastOptions {
                    rooms: wire::rooms_of(r.get("rooms")),
                    ..Default::default()
                };
                let ids = ns
                    .fetch_sockets(&opts)
                    .into_iter()
                    .map(|s| Value::from(s.id.as_str()))
                    .collect();
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("sockets", Value::Array(ids)),
                ]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(req::ALL_ROOMS) => {
                if own_request || mine {
                    return;
                }
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("rooms", wire::str_array(&ns.rooms())),
                ]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(ty @ (req::REMOTE_JOIN | req::REMOTE_LEAVE | req::REMOTE_DISCONNECT)) => {
                // Our own join/leave/disconnect was applied locally when it was made; its
                // echo is skipped (and would be harmless: joining twice is joining once).
                if mine {
                    return;
                }
                if let Some(o) = r.get("opts") {
                    let opts = wire::opts_from_value(Some(o));
                    let rooms = wire::rooms_of(r.get("rooms"));
                    match ty {
                        req::REMOTE_JOIN => ns.add_sockets(&opts, &rooms),
                        req::REMOTE_LEAVE => ns.del_sockets(&opts, &rooms),
                        _ => ns.disconnect_sockets(
                            &opts,
                            r.get("close").and_then(Value::as_bool) == Some(true),
                        ),
                    }
                    return;
                }
                // The legacy single-socket form `{sid, room, requestId}`.
                let Some(sid) = opt_string(&r, "sid") else {
                    return;
                };
                let Ok(sock) = sid.parse::<SocketId>() else {
                    return;
                };
                if ns.socket_rooms(sock).is_none() {
                    return;
                }
                let opts = BroadcastOptions::socket(sock);
                let room: Vec<Room> = opt_string(&r, "room").map(Room::from).into_iter().collect();
                match ty {
                    req::REMOTE_JOIN => ns.add_sockets(&opts, &room),
                    req::REMOTE_LEAVE => ns.del_sockets(&opts, &room),
                    _ => ns.disconnect_sockets(
                        &opts,
                        r.get("close").and_then(Value::as_bool) == Some(true),
                    ),
                }
                let resp = obj([("requestId", Value::from(id))]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(req::REMOTE_FETCH) => {
                if own_request || mine {
                    return;
                }
                let opts = wire::opts_from_value(r.get("opts"));
                let sockets = ns
                    .fetch_sockets(&opts)
                    .iter()
                    .map(wire::socket_to_value)
                    .collect();
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("sockets", Value::Array(sockets)),
                ]);
                match wire::encode_auto(&resp) {
                    Ok(bytes) => self.respond_classic(&r, bytes),
                    Err(e) => tracing::warn!(nsp = %self.nsp, "cannot answer fetchSockets: {e}"),
                }
            }
            Some(req::SERVER_SIDE_EMIT) => {
                if mine {
                    return;
                }
                let args = r
                    .get("data")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .to_vec();
                let reply = id.map(|id| {
                    let me = self.clone();
                    Box::new(move |answer: Vec<Value>| {
                        let resp = obj([
                            ("type", Value::Int(req::SERVER_SIDE_EMIT)),
                            ("requestId", Value::from(id)),
                            ("data", answer.into_iter().next().unwrap_or_default()),
                        ]);
                        match wire::encode_auto(&resp) {
                            // Node always answers server-side emits on the shared channel.
                            Ok(b) => me.shared.publisher.publish_later(
                                publisher::Kind::Publish,
                                me.ch.response.clone(),
                                b,
                            ),
                            Err(e) => tracing::warn!("cannot answer serverSideEmit: {e}"),
                        }
                    }) as ServerSideReply
                });
                ns.server_side_emit(args, reply);
            }
            Some(req::BROADCAST) => {
                let Some(id) = id else {
                    return self.dropped(channel, &"broadcast request without requestId");
                };
                if mine || Self::is_pending(&self.ack_requests, &id) {
                    return;
                }
                let packet = match r.get("packet").map(wire::packet_from_value) {
                    Some(Ok(p)) => p,
                    Some(Err(e)) => return self.dropped(channel, &e),
                    None => return self.dropped(channel, &"broadcast request without packet"),
                };
                let opts = wire::opts_from_value(r.get("opts"));
                let timeout = opts
                    .flags
                    .timeout
                    .unwrap_or(self.shared.config.requests_timeout);
                let acks = ns.broadcast_with_ack(packet, &opts, timeout);
                let target = self.response_channel(&r);
                let count = obj([
                    ("type", Value::Int(req::BROADCAST_CLIENT_COUNT)),
                    ("requestId", Value::from(id.as_str())),
                    ("clientCount", Value::from(acks.expected as u64)),
                ]);
                let out = self.shared.publisher.clone();
                out.publish_later(
                    publisher::Kind::Publish,
                    target.clone(),
                    wire::encode_json(&count),
                );
                tokio::spawn(async move {
                    let mut stream = acks.stream;
                    while let Some(ack) = stream.next().await {
                        let Ok(args) = ack else { continue };
                        let m = obj([
                            ("type", Value::Int(req::BROADCAST_ACK)),
                            ("requestId", Value::from(id.as_str())),
                            ("packet", args.into_iter().next().unwrap_or_default()),
                        ]);
                        let Ok(bytes) = wire::encode_msgpack(&m) else {
                            continue;
                        };
                        out.publish_later(publisher::Kind::Publish, target.clone(), bytes);
                    }
                });
            }
            Some(req::BROADCAST_CLIENT_COUNT | req::BROADCAST_ACK) => {}
            other => self.dropped(channel, &format!("unknown request type {other:?}")),
        }
    }

    /// A message on a classic response channel (`onresponse` in lib/index.ts).
    fn on_response(&self, channel: &str, payload: &[u8]) {
        if self.too_big(channel, payload) {
            return;
        }
        let r = match wire::decode_any(payload, &self.shared.limits) {
            Ok(r) => r,
            Err(e) => return self.dropped(channel, &e),
        };
        let Some(id) = opt_string(&r, "requestId") else {
            return;
        };
        // Looked up first so that the (possibly large) answer is moved, not cloned, into
        // whichever request waits for it. Responses to other nodes' requests share the
        // channel: not ours, not an error.
        let map = if Self::is_pending(&self.ack_requests, &id) {
            &self.ack_requests
        } else {
            &self.requests
        };
        Self::forward(map, &id, r);
    }

    fn publish_response_sharded(&self, requester: &str, ty: i64, data: Value) {
        let m = self.cluster_message(ty, data);
        match wire::encode_auto(&m) {
            Ok(b) => self.shared.publisher.publish_later(
                publisher::Kind::SPublish,
                format!("{}{requester}#", self.ch.broadcast),
                b,
            ),
            Err(e) => tracing::warn!(nsp = %self.nsp, "cannot answer: {e}"),
        }
    }

    /// A sharded message (`onRawMessage` / `onMessage` in the Node adapters).
    fn on_cluster_message(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if self.too_big(channel, payload) {
            return;
        }
        let m = match wire::decode_any(payload, &self.shared.limits) {
            Ok(m) => m,
            Err(e) => return self.dropped(channel, &e),
        };
        let Some(ty) = type_of(&m) else {
            return self.dropped(channel, &"message without type");
        };
        let data = m.get("data").cloned().unwrap_or_default();
        if matches!(
            ty,
            msg::FETCH_SOCKETS_RESPONSE
                | msg::SERVER_SIDE_EMIT_RESPONSE
                | msg::BROADCAST_CLIENT_COUNT
                | msg::BROADCAST_ACK
        ) {
            let Some(id) = opt_string(&data, "requestId") else {
                return;
            };
            let map = if matches!(ty, msg::BROADCAST_CLIENT_COUNT | msg::BROADCAST_ACK) {
                &self.ack_requests
            } else {
                &self.requests
            };
            Self::forward(map, &id, m);
            return;
        }
        let Some(sender) = opt_string(&m, "uid") else {
            return self.dropped(channel, &"message without uid");
        };
        if sender == self.uid || m.get("nsp").and_then(Value::as_str) != Some(self.nsp.as_str()) {
            return;
        }
        let Ok(ns) = self.ns() else { return };
        let opts = || wire::opts_from_value(data.get("opts"));
        match ty {
            msg::INITIAL_HEARTBEAT | msg::HEARTBEAT | msg::ADAPTER_CLOSE => {}
            msg::BROADCAST => {
                let packet = match data.get("packet").map(wire::packet_from_value) {
                    Some(Ok(p)) => p,
                    Some(Err(e)) => return self.dropped(channel, &e),
                    None => return self.dropped(channel, &"broadcast without packet"),
                };
                let Some(id) = opt_string(&data, "requestId") else {
                    return ns.broadcast(&packet, &opts());
                };
                let o = opts();
                let timeout = o
                    .flags
                    .timeout
                    .unwrap_or(self.shared.config.requests_timeout);
                let acks = ns.broadcast_with_ack(packet, &o, timeout);
                self.publish_response_sharded(
                    &sender,
                    msg::BROADCAST_CLIENT_COUNT,
                    obj([
                        ("requestId", Value::from(id.as_str())),
                        ("clientCount", Value::from(acks.expected as u64)),
                    ]),
                );
                let me = self.clone();
                tokio::spawn(async move {
                    let mut stream = acks.stream;
                    while let Some(ack) = stream.next().await {
                        let Ok(args) = ack else { continue };
                        me.publish_response_sharded(
                            &sender,
                            msg::BROADCAST_ACK,
                            obj([
                                ("requestId", Value::from(id.as_str())),
                                ("packet", args.into_iter().next().unwrap_or_default()),
                            ]),
                        );
                    }
                });
            }
            msg::SOCKETS_JOIN => ns.add_sockets(&opts(), &wire::rooms_of(data.get("rooms"))),
            msg::SOCKETS_LEAVE => ns.del_sockets(&opts(), &wire::rooms_of(data.get("rooms"))),
            msg::DISCONNECT_SOCKETS => ns.disconnect_sockets(
                &opts(),
                data.get("close").and_then(Value::as_bool) == Some(true),
            ),
            msg::FETCH_SOCKETS => {
                let sockets = ns
                    .fetch_sockets(&opts())
                    .iter()
                    .map(wire::socket_to_value)
                    .collect();
                self.publish_response_sharded(
                    &sender,
                    msg::FETCH_SOCKETS_RESPONSE,
                    obj([
                        ("requestId", Value::from(opt_string(&data, "requestId"))),
                        ("sockets", Value::Array(sockets)),
                    ]),
                );
            }
            msg::SERVER_SIDE_EMIT => {
                let args = data
                    .get("packet")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .to_vec();
                let reply = opt_string(&data, "requestId").map(|id| {
                    let me = self.clone();
                    Box::new(move |answer: Vec<Value>| {
                        me.publish_response_sharded(
                            &sender,
                            msg::SERVER_SIDE_EMIT_RESPONSE,
                            obj([
                                ("requestId", Value::from(id)),
                                ("packet", answer.into_iter().next().unwrap_or_default()),
                            ]),
                        );
                    }) as ServerSideReply
                });
                ns.server_side_emit(args, reply);
            }
            other => self.dropped(channel, &format!("unknown message type {other}")),
        }
    }

    // ------------------------------------------------------------- subscriptions

    async fn init(self: &Arc<Self>) -> Result<(), AdapterError> {
        let routes = &self.shared.routes;
        let mut sub = self.shared.subscriber.clone();
        match self.mode() {
            Mode::Classic => {
                let pattern = format!("{}*", self.ch.broadcast);
                set_route(&routes.patterns, pattern.clone(), self);
                for c in [
                    &self.ch.request,
                    &self.ch.response,
                    &self.ch.specific_response,
                ] {
                    set_route(&routes.exact, c.clone(), self);
                }
                sub.psubscribe(&pattern).await.map_err(transport)?;
                sub.subscribe(&[
                    &self.ch.request,
                    &self.ch.response,
                    &self.ch.specific_response,
                ])
                .await
                .map_err(transport)?;
            }
            Mode::Sharded { subscription_mode } => {
                let mut channels =
                    vec![self.ch.broadcast.clone(), self.ch.specific_response.clone()];
                if subscription_mode != SubscriptionMode::Static
                    && let Some(ns) = self.ns.upgrade()
                {
                    for room in ns.rooms() {
                        if self.wants_room_channel(&ns, &room) {
                            let c = format!("{}{room}#", self.ch.broadcast);
                            if let Ok(mut d) = self.dynamic.lock() {
                                d.insert(c.clone());
                            }
                            channels.push(c);
                        }
                    }
                }
                for c in &channels {
                    set_route(&routes.exact, c.clone(), self);
                }
                for c in &channels {
                    redis::cmd("SSUBSCRIBE")
                        .arg(c)
                        .exec_async(&mut sub)
                        .await
                        .map_err(transport)?;
                }
            }
        }
        Ok(())
    }

    /// `shouldUseASeparateNamespace`: public rooms in dynamic mode, every room in
    /// dynamic-private mode.
    fn wants_room_channel(&self, ns: &Arc<dyn LocalNamespace>, room: &str) -> bool {
        match sharded(self.mode()) {
            Some(SubscriptionMode::DynamicPrivate) => true,
            Some(SubscriptionMode::Dynamic) => {
                let private = room
                    .parse::<SocketId>()
                    .ok()
                    .is_some_and(|id| ns.socket_rooms(id).is_some());
                !private
            }
            _ => false,
        }
    }

    fn room_changed(self: &Arc<Self>, room: &str, created: bool) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let Some(ns) = self.ns.upgrade() else { return };
        let channel = format!("{}{room}#", self.ch.broadcast);
        let known = self
            .dynamic
            .lock()
            .map(|d| d.contains(&channel))
            .unwrap_or(false);
        if created {
            if known || !self.wants_room_channel(&ns, room) {
                return;
            }
            if let Ok(mut d) = self.dynamic.lock() {
                d.insert(channel.clone());
            }
            set_route(&self.shared.routes.exact, channel.clone(), self);
            let _ = self
                .shared
                .sub_cmds
                .send(redis::cmd("SSUBSCRIBE").arg(&channel).clone());
        } else if known {
            if let Ok(mut d) = self.dynamic.lock() {
                d.remove(&channel);
            }
            remove_route(&self.shared.routes.exact, &channel);
            let _ = self
                .shared
                .sub_cmds
                .send(redis::cmd("SUNSUBSCRIBE").arg(&channel).clone());
        }
    }

    async fn close(&self) -> Result<(), AdapterError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let routes = &self.shared.routes;
        let mut sub = self.shared.subscriber.clone();
        match self.mode() {
            Mode::Classic => {
                let pattern = format!("{}*", self.ch.broadcast);
                remove_route(&routes.patterns, &pattern);
                for c in [
                    &self.ch.request,
                    &self.ch.response,
                    &self.ch.specific_response,
                ] {
                    remove_route(&routes.exact, c);
                }
                sub.punsubscribe(&pattern).await.map_err(transport)?;
                // One UNSUBSCRIBE for the three, as `init` subscribed them.
                sub.unsubscribe(&[
                    &self.ch.request,
                    &self.ch.response,
                    &self.ch.specific_response,
                ])
                .await
                .map_err(transport)?;
            }
            Mode::Sharded { .. } => {
                let mut channels =
                    vec![self.ch.broadcast.clone(), self.ch.specific_response.clone()];
                if let Ok(mut d) = self.dynamic.lock() {
                    channels.extend(d.drain());
                }
                for c in &channels {
                    remove_route(&routes.exact, c);
                    redis::cmd("SUNSUBSCRIBE")
                        .arg(c)
                        .exec_async(&mut sub)
                        .await
                        .map_err(transport)?;
                }
            }
        }
        Ok(())
    }
}

/// Routes every push frame of the `sub` connection to its adapter, in arrival order.
async fn dispatch(
    mut rx: mpsc::UnboundedReceiver<redis::PushInfo>,
    routes: Arc<Routes>,
    counters: Arc<Counters>,
) {
    fn bytes(v: Option<&redis::Value>) -> Option<&[u8]> {
        match v? {
            redis::Value::BulkString(b) => Some(b),
            redis::Value::SimpleString(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
    fn text(v: Option<&redis::Value>) -> Option<&str> {
        bytes(v).and_then(|b| std::str::from_utf8(b).ok())
    }
    while let Some(push) = rx.recv().await {
        let d = &push.data;
        match push.kind {
            PushKind::Message => {
                let (Some(channel), Some(payload)) = (text(d.first()), bytes(d.get(1))) else {
                    counters.dropped_messages.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let Some(inner) = lookup(&routes.exact, channel) else {
                    continue;
                };
                if channel == inner.ch.request {
                    inner.on_request(channel, payload);
                } else {
                    inner.on_response(channel, payload);
                }
            }
            PushKind::PMessage => {
                let (Some(pattern), Some(channel), Some(payload)) =
                    (text(d.first()), text(d.get(1)), bytes(d.get(2)))
                else {
                    counters.dropped_messages.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if let Some(inner) = lookup(&routes.patterns, pattern) {
                    inner.on_broadcast_message(channel, payload);
                }
            }
            PushKind::SMessage => {
                let (Some(channel), Some(payload)) = (text(d.first()), bytes(d.get(1))) else {
                    counters.dropped_messages.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if let Some(inner) = lookup(&routes.exact, channel) {
                    inner.on_cluster_message(channel, payload);
                }
            }
            _ => {}
        }
    }
}

/// Runs the dynamic SSUBSCRIBE/SUNSUBSCRIBE commands on the `sub` connection, in order (a
/// room created then deleted must end unsubscribed).
async fn subscribe_cmds(mut rx: mpsc::UnboundedReceiver<redis::Cmd>, mut conn: ConnectionManager) {
    while let Some(cmd) = rx.recv().await {
        if let Err(e) = cmd.exec_async(&mut conn).await {
            tracing::warn!("room channel subscription failed: {e}");
        }
    }
}

impl Adapter for RedisAdapter {
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.init())
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.close())
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(self.inner.server_count())
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.broadcast(packet, opts))
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>> {
        Box::pin(self.inner.clone().broadcast_with_ack(packet, opts, timeout))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.rooms_op(opts, rooms, true))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.rooms_op(opts, rooms, false))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.inner.ns()?.disconnect_sockets(&opts, close);
            if opts.flags.local {
                return Ok(());
            }
            let extra = ("close", Value::Bool(close));
            self.inner
                .sockets_op(
                    req::REMOTE_DISCONNECT,
                    msg::DISCONNECT_SOCKETS,
                    &opts,
                    extra,
                )
                .await
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(self.inner.fetch_sockets(opts))
    }

    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.inner.ns().ok()?.socket_rooms(id)
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(self.inner.all_rooms())
    }

    fn server_side_emit(&self, args: Vec<Value>) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.inner.server_side_emit(args))
    }

    fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        Box::pin(self.inner.server_side_emit_with_ack(args, timeout))
    }

    fn on_room_created(&self, room: &Room) {
        self.inner.room_changed(room, true);
    }

    fn on_room_deleted(&self, room: &Room) {
        self.inner.room_changed(room, false);
    }
}
