//! The Redis adapter factory: the connections every namespace's adapter shares, the routing
//! of what Redis pushes to the adapter it is for, and [`RedisAdapter`], which is one of the
//! protocols as a transport over those connections:
//!
//! - classic (`crate::classic`): @socket.io/redis-adapter's `createAdapter`;
//! - sharded (`crate::sharded`): its `createShardedAdapter`, a `cluster` transport;
//! - streams (`crate::streams`): @socket.io/redis-streams-adapter, a `cluster` transport.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_core::future::BoxFuture;
use redis::PushKind;
use sio_protocol::Limits;
use sio_types::{
    AckStream, Adapter, AdapterError, AdapterFactory, BroadcastOptions, LocalNamespace, Packet,
    PersistedSession, RestoredSession, Room, SocketId, SocketInfo, Value,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::classic::{Classic, ClassicAdapter};
use crate::cluster::{ClusterAdapter, ClusterNode, Message, Transport};
use crate::config::{Mode, RedisConfig};
use crate::conn::{
    ConnectionStats, Counters, Managed, RedisConn, RedisConnectError, SubOp, connect,
};
use crate::publisher::Publisher;
use crate::sharded::Sharded;
use crate::streams::{Readers, Streams, start_readers};
use crate::wire;

/// Which adapter a channel's messages go to.
#[derive(Clone)]
pub(crate) enum Route {
    Classic(Weak<Classic>),
    Cluster(Weak<ClusterNode>),
}

#[derive(Default)]
pub(crate) struct Routes {
    exact: Mutex<HashMap<String, Route>>,
    patterns: Mutex<HashMap<String, Weak<Classic>>>,
}

impl Routes {
    pub(crate) fn set_exact(&self, channel: String, route: Route) {
        if let Ok(mut m) = self.exact.lock() {
            m.insert(channel, route);
        }
    }

    pub(crate) fn remove_exact(&self, channel: &str) {
        if let Ok(mut m) = self.exact.lock() {
            m.remove(channel);
        }
    }

    pub(crate) fn set_pattern(&self, pattern: String, to: Weak<Classic>) {
        if let Ok(mut m) = self.patterns.lock() {
            m.insert(pattern, to);
        }
    }

    pub(crate) fn remove_pattern(&self, pattern: &str) {
        if let Ok(mut m) = self.patterns.lock() {
            m.remove(pattern);
        }
    }

    fn exact(&self, channel: &str) -> Option<Route> {
        self.exact.lock().ok()?.get(channel).cloned()
    }

    fn pattern(&self, pattern: &str) -> Option<Arc<Classic>> {
        self.patterns.lock().ok()?.get(pattern)?.upgrade()
    }

    /// Every channel and pattern subscribed.
    fn all(&self) -> (Vec<String>, Vec<String>) {
        let exact = self
            .exact
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let patterns = self
            .patterns
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        (exact, patterns)
    }
}

/// What every adapter of a factory shares: the configuration, the connections and the
/// routes of the subscriptions.
pub(crate) struct Shared {
    pub(crate) config: RedisConfig,
    pub(crate) limits: Limits,
    /// The `pub` connection, for the commands that are not publishes (NUMSUB, XADD, ...).
    pub(crate) pub_conn: RedisConn,
    /// Every PUBLISH/SPUBLISH of every namespace, in call order, on the `pub` connection.
    pub(crate) publisher: Publisher,
    pub(crate) subscriber: RedisConn,
    pub(crate) routes: Arc<Routes>,
    pub(crate) counters: Arc<Counters>,
    sub_cmds: mpsc::UnboundedSender<(SubOp, String)>,
    /// Streams mode: which namespace reads which entries.
    pub(crate) readers: Arc<Readers>,
    /// Streams mode: the readers' connections and tasks.
    reader_tasks: Mutex<Vec<(Managed, JoinHandle<()>)>>,
    /// A Redis Cluster subscriber is being re-subscribed after losing a node.
    healing: std::sync::atomic::AtomicBool,
    _pub: Managed,
    _sub: Managed,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Ok(readers) = self.reader_tasks.get_mut() {
            for (_, t) in readers.iter() {
                t.abort();
            }
        }
    }
}

pub(crate) fn transport_error(e: redis::RedisError) -> AdapterError {
    AdapterError::Transport(e.to_string())
}

impl Shared {
    pub(crate) fn dropped(&self, nsp: &str, channel: &str, why: &dyn std::fmt::Display) {
        self.counters
            .dropped_messages
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(nsp, channel, "dropping malformed message: {why}");
    }

    /// Larger messages than configured are dropped unread.
    pub(crate) fn too_big(&self, nsp: &str, channel: &str, payload: &[u8]) -> bool {
        let big = payload.len() > self.limits.max_packet_size;
        if big {
            self.dropped(
                nsp,
                channel,
                &format_args!("message of {} bytes is too large", payload.len()),
            );
        }
        big
    }

    /// `PUBSUB <kind> <channel>`: the servers subscribed to a namespace's channel.
    pub(crate) async fn numsub(&self, kind: &str, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self.pub_conn.clone();
        let reply: redis::Value = redis::cmd("PUBSUB")
            .arg(kind)
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(transport_error)?;
        // `[channel, n]` from one server; from a cluster client, every node's counts
        // merged into `{channel: n}` (each subscriber is connected to exactly one node).
        let n = match &reply {
            redis::Value::Array(a) => a.get(1),
            redis::Value::Map(m) => m.first().map(|(_, n)| n),
            _ => None,
        };
        let count = match n {
            Some(redis::Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        // We are subscribed ourselves, but a reply that misses us (a race with a reconnect)
        // must not make the count zero.
        Ok(count.max(1))
    }

    /// SUBSCRIBEs (or SSUBSCRIBEs) `channels`.
    pub(crate) async fn subscribe(
        &self,
        channels: &[String],
        sharded: bool,
    ) -> Result<(), AdapterError> {
        let op = if sharded {
            SubOp::SSubscribe
        } else {
            SubOp::Subscribe
        };
        self.subscription(op, channels).await
    }

    /// The reverse of [`subscribe`](Self::subscribe).
    pub(crate) async fn unsubscribe(
        &self,
        channels: &[String],
        sharded: bool,
    ) -> Result<(), AdapterError> {
        let op = if sharded {
            SubOp::SUnsubscribe
        } else {
            SubOp::Unsubscribe
        };
        self.subscription(op, channels).await
    }

    pub(crate) async fn subscription(
        &self,
        op: SubOp,
        channels: &[String],
    ) -> Result<(), AdapterError> {
        let mut sub = self.subscriber.clone();
        sub.subscription(op, channels)
            .await
            .map_err(transport_error)
    }

    /// Whether exact channels are subscribed with SSUBSCRIBE.
    fn sharded_subscriptions(&self) -> bool {
        matches!(
            self.config.mode,
            Mode::Sharded { .. }
                | Mode::Streams {
                    sharded_pubsub: true
                }
        )
    }

    /// A Redis Cluster node of the subscriber connection went away. The cluster client moves
    /// subscriptions when it refreshes its slot map, but only a failing request makes it do
    /// that, and this connection sends none: so every subscription is sent again until all
    /// go through, which happens once the failed node's slots have a new master (its replica
    /// promoted), and the client's map says so.
    fn heal_subscriptions(self: &Arc<Self>) {
        if !self.subscriber.is_cluster() || self.healing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Some(sh) = weak.upgrade() else { return };
                let (exact, patterns) = sh.routes.all();
                let op = if sh.sharded_subscriptions() {
                    SubOp::SSubscribe
                } else {
                    SubOp::Subscribe
                };
                let mut ok = sh.subscription(op, &exact).await.is_ok();
                if ok && !patterns.is_empty() {
                    ok = sh.subscription(SubOp::PSubscribe, &patterns).await.is_ok();
                }
                if ok || std::time::Instant::now() > deadline {
                    if !ok {
                        tracing::warn!("Redis Cluster subscriptions could not be restored");
                    }
                    sh.healing.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }

    /// Queues a (un)subscription on the `sub` connection, in order (a room created then
    /// deleted must end unsubscribed).
    pub(crate) fn subscribe_later(&self, op: SubOp, channel: String) {
        let _ = self.sub_cmds.send((op, channel));
    }

    /// A message on a cluster transport's pub/sub channel: JSON or msgpack, by first byte.
    fn on_cluster_payload(&self, node: &Arc<ClusterNode>, channel: &str, payload: &[u8]) {
        if self.too_big(&node.nsp, channel, payload) {
            return;
        }
        match wire::decode_any(payload, &self.limits).and_then(Message::from_value) {
            Ok(m) => node.on_message(m, None),
            Err(e) => self.dropped(&node.nsp, channel, &e),
        }
    }
}

/// Creates a [`RedisAdapter`] for each namespace; owns the `pub` and `sub` connections they
/// share (as Node's `createAdapter(pubClient, subClient)` does).
///
/// ```no_run
/// # async fn run() -> Result<(), sio_adapter_redis::RedisConnectError> {
/// use sio_adapter_redis::{RedisAdapterFactory, RedisConfig};
///
/// let factory = RedisAdapterFactory::connect(RedisConfig::builder("redis://127.0.0.1:6379").build()).await?;
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
    pub async fn connect(config: RedisConfig) -> Result<Self, RedisConnectError> {
        let counters = Arc::new(Counters::default());
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let target = config.target()?;
        let t = config.connect_timeout;
        let (p, s) = tokio::join!(
            connect(&target, "pub", t, counters.clone(), None),
            connect(&target, "sub", t, counters.clone(), Some(push_tx)),
        );
        let (p, s) = (p?, s?);
        let routes = Arc::new(Routes::default());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let limits = config.limits();
        let tasks = vec![tokio::spawn(subscribe_cmds(cmd_rx, s.conn.clone()))];
        let shared = Arc::new(Shared {
            pub_conn: p.conn.clone(),
            publisher: Publisher::start(p.conn.clone(), counters.clone(), config.fire_and_forget),
            subscriber: s.conn.clone(),
            config,
            limits,
            routes,
            counters,
            sub_cmds: cmd_tx,
            readers: Arc::default(),
            reader_tasks: Mutex::default(),
            healing: std::sync::atomic::AtomicBool::new(false),
            _pub: p,
            _sub: s,
            tasks,
        });
        // Holds the shared state weakly: the task must not keep the connections alive.
        tokio::spawn(dispatch(push_rx, Arc::downgrade(&shared)));
        if let Mode::Streams { .. } = shared.config.mode {
            let started = start_readers(&shared, &shared.readers).await?;
            if let Ok(mut r) = shared.reader_tasks.lock() {
                *r = started;
            }
        }
        Ok(RedisAdapterFactory { shared })
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
        let shared = self.shared.clone();
        let cluster = |transport: Box<dyn Transport>| {
            let counted = self.shared.clone();
            let node = ClusterNode::new(
                path,
                ns.clone(),
                shared.config.requests_timeout,
                transport,
                Box::new(move |nsp, why| counted.dropped(nsp, "cluster", why)),
            );
            let uid = node.uid.clone();
            (
                uid,
                Arc::new(ClusterAdapter(Arc::new(node))) as Arc<dyn Adapter>,
            )
        };
        let (uid, inner) = match shared.config.mode {
            Mode::Classic => {
                let c = Arc::new(Classic::new(shared.clone(), path, ns.clone()));
                let uid = c.uid.clone();
                (uid, Arc::new(ClassicAdapter(c)) as Arc<dyn Adapter>)
            }
            Mode::Sharded { subscription_mode } => cluster(Box::new(Sharded::new(
                shared.clone(),
                path,
                subscription_mode,
            ))),
            Mode::Streams { sharded_pubsub } => cluster(Box::new(Streams::new(
                shared.clone(),
                shared.readers.clone(),
                path,
                sharded_pubsub,
            ))),
        };
        RedisAdapter {
            inner,
            uid,
            nsp: path.to_owned(),
            shared,
        }
    }
}

impl AdapterFactory for RedisAdapterFactory {
    fn create(&self, path: &str, ns: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        Arc::new(self.create_adapter(path, ns))
    }
}

/// The adapter of one namespace, wire-compatible with `@socket.io/redis-adapter` 8.x.
///
/// Created by [`RedisAdapterFactory`]. In classic mode it speaks `createAdapter`'s protocol
/// (and hears `@socket.io/redis-emitter`), in sharded mode `createShardedAdapter`'s.
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<dyn Adapter>,
    uid: String,
    nsp: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("nsp", &self.nsp)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl RedisAdapter {
    /// This node's uid on the wire (6 alphanumerics in classic mode, 16 hex digits
    /// otherwise).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Outage and decode-failure counters of the shared connections.
    pub fn stats(&self) -> ConnectionStats {
        self.shared.counters.snapshot()
    }
}

/// Routes every push frame of the `sub` connection to its adapter, in arrival order.
async fn dispatch(mut rx: mpsc::UnboundedReceiver<redis::PushInfo>, shared: Weak<Shared>) {
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
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let d = &push.data;
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                let (Some(channel), Some(payload)) = (text(d.first()), bytes(d.get(1))) else {
                    shared
                        .counters
                        .dropped_messages
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                match shared.routes.exact(channel) {
                    Some(Route::Classic(c)) => {
                        if let Some(c) = c.upgrade() {
                            c.on_channel_message(channel, payload);
                        }
                    }
                    Some(Route::Cluster(n)) => {
                        if let Some(n) = n.upgrade() {
                            shared.on_cluster_payload(&n, channel, payload);
                        }
                    }
                    None => {}
                }
            }
            PushKind::Disconnection => shared.heal_subscriptions(),
            PushKind::PMessage => {
                let (Some(pattern), Some(channel), Some(payload)) =
                    (text(d.first()), text(d.get(1)), bytes(d.get(2)))
                else {
                    shared
                        .counters
                        .dropped_messages
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if let Some(c) = shared.routes.pattern(pattern) {
                    c.on_broadcast_message(channel, payload);
                }
            }
            _ => {}
        }
    }
}

/// Runs the dynamic SSUBSCRIBE/SUNSUBSCRIBE commands on the `sub` connection, in order.
async fn subscribe_cmds(mut rx: mpsc::UnboundedReceiver<(SubOp, String)>, mut conn: RedisConn) {
    while let Some((op, channel)) = rx.recv().await {
        if let Err(e) = conn.subscription(op, &[channel]).await {
            tracing::warn!("room channel subscription failed: {e}");
        }
    }
}

impl Adapter for RedisAdapter {
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.init()
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.close()
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        self.inner.server_count()
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>> {
        self.inner.broadcast_with_ack(packet, opts, timeout)
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.add_sockets(opts, rooms)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.del_sockets(opts, rooms)
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.disconnect_sockets(opts, close)
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        self.inner.fetch_sockets(opts)
    }

    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.inner.socket_rooms(id)
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        self.inner.all_rooms()
    }

    fn server_side_emit(&self, args: Vec<Value>) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.server_side_emit(args)
    }

    fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        self.inner.server_side_emit_with_ack(args, timeout)
    }

    fn keeps_sessions(&self) -> bool {
        self.inner.keeps_sessions()
    }

    fn persist_session(
        &self,
        session: PersistedSession,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.persist_session(session, ttl)
    }

    fn forget_session(&self, pid: &str) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.forget_session(pid)
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        self.inner.restore_session(pid, offset)
    }

    fn current_offset(&self) -> Option<String> {
        self.inner.current_offset()
    }

    fn on_room_created(&self, room: &Room) {
        self.inner.on_room_created(room);
    }

    fn on_room_deleted(&self, room: &Room) {
        self.inner.on_room_deleted(room);
    }
}
