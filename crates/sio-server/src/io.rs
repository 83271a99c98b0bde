//! The server: its builder, its handle, and how it is attached to HTTP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use sio_engine::{Engine, Refusal};
use sio_protocol::Limits;
use sio_protocol::socketio::Parser;
use sio_types::IntoRoom;
use sio_types::{AdapterFactory, LocalAdapterFactory, SocketInfo, Value};

use crate::config::{Cookie, Cors, RecoveryConfig, ServerConfig, SlowConsumerPolicy, Transports};
use crate::engine::EngineHandler;
use crate::error::EmitError;
use crate::handler::box_connect;
use crate::namespace::{Namespace, NamespaceInner, NsHandlers};
use crate::operators::BroadcastOperator;
use crate::outbox::Counters;
use crate::service::{SocketIoLayer, SocketIoService};
use crate::socket::{DisconnectReason, Socket};

type Matcher = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(crate) struct ServerInner {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) counters: Arc<Counters>,
    factory: Arc<dyn AdapterFactory>,
    namespaces: RwLock<HashMap<String, Arc<NamespaceInner>>>,
    dynamic: RwLock<Vec<(Matcher, Arc<NsHandlers>)>>,
}

impl ServerInner {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_packet_size: usize::try_from(self.config.engine.max_payload).unwrap_or(usize::MAX),
            ..self.config.limits
        }
    }

    fn create_ns(&self, path: &str, handlers: Arc<NsHandlers>) -> Arc<NamespaceInner> {
        let ns = NamespaceInner::new(
            path.to_owned(),
            self.config.clone(),
            self.counters.clone(),
            &*self.factory,
            handlers,
        );
        // Start the adapter (Redis subscriptions) now, so broadcasts from other servers
        // reach this namespace before its first connection. Outside a runtime (a server
        // built before `main` starts one) it starts on the first connection or on
        // `Namespace::ready`.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&ns);
            rt.spawn(async move {
                if let Some(ns) = weak.upgrade()
                    && let Err(e) = ns.ready().await
                {
                    tracing::error!(nsp = %ns.path, error = %e, "adapter failed to initialize");
                }
            });
        }
        ns
    }

    /// The namespace at `path`: a registered one, or a new child of a matching dynamic one.
    pub(crate) fn get_or_create_ns(&self, path: &str) -> Option<Arc<NamespaceInner>> {
        if let Some(ns) = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Some(ns.clone());
        }
        let handlers = {
            let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner());
            dynamic
                .iter()
                .find(|(m, _)| m(path))
                .map(|(_, h)| h.clone())?
        };
        let mut map = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        let ns = map
            .entry(path.to_owned())
            .or_insert_with(|| self.create_ns(path, handlers));
        Some(ns.clone())
    }

    /// The namespace at `path`, if it exists.
    pub(crate) fn namespace(&self, path: &str) -> Option<Namespace> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .map(|ns| Namespace { inner: ns.clone() })
    }

    /// Every namespace, dynamic children included.
    pub(crate) fn namespace_list(&self) -> Vec<Namespace> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|ns| Namespace { inner: ns.clone() })
            .collect()
    }

    fn ns_or_insert(&self, path: &str) -> Arc<NamespaceInner> {
        let mut map = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        map.entry(path.to_owned())
            .or_insert_with(|| self.create_ns(path, Arc::default()))
            .clone()
    }
}

/// Builds a [`SocketIo`] server.
///
/// ```
/// use std::time::Duration;
/// let io = sio_server::SocketIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(100_000)
///     .build();
/// assert_eq!(io.config().engine.max_payload, 100_000);
/// ```
pub struct SocketIoBuilder {
    config: ServerConfig,
    factory: Arc<dyn AdapterFactory>,
}

impl std::fmt::Debug for SocketIoBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for SocketIoBuilder {
    fn default() -> Self {
        SocketIoBuilder {
            config: ServerConfig::default(),
            factory: Arc::new(LocalAdapterFactory),
        }
    }
}

impl SocketIoBuilder {
    /// The HTTP path (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.config.engine.path = path.into();
        self
    }
    /// Engine.io heartbeat interval (default 25 s); the first PING goes out one interval
    /// after the handshake.
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.config.engine.ping_interval = d;
        self
    }
    /// Heartbeat answer timeout (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.config.engine.ping_timeout = d;
        self
    }
    /// Largest message or polling body, in bytes (default 1 MB, socket.io's
    /// `maxHttpBufferSize`).
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.config.engine.max_payload = bytes;
        self
    }
    /// Transports accepted (default both, with upgrade).
    pub fn transports(mut self, t: Transports) -> Self {
        self.config.engine.transports = t;
        self
    }
    /// Whether polling clients may upgrade to WebSocket (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.config.engine.allow_upgrades = allow;
        self
    }
    /// How long a connection may stay without joining a namespace (default 45 s); see
    /// [`ServerConfig::connect_timeout`].
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.config.connect_timeout = d;
        self
    }
    /// How long an upgrade may take (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.config.engine.upgrade_timeout = d;
        self
    }
    /// Decides on every handshake (socket.io's `allowRequest`): `Err` refuses it with the
    /// refusal's status and message.
    ///
    /// ```
    /// use sio_server::config::Refusal;
    /// let io = sio_server::SocketIo::builder()
    ///     .allow_request(|req| {
    ///         let ok = req.headers.get("origin").is_some_and(|o| o == "https://app.example");
    ///         async move { if ok { Ok(()) } else { Err(Refusal::forbidden("origin not allowed")) } }
    ///     })
    ///     .build();
    /// # drop(io);
    /// ```
    pub fn allow_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        let engine = std::mem::take(&mut self.config.engine);
        self.config.engine = engine.into_builder().allow_request(f).build();
        self
    }
    /// Sets the sticky-session cookie (socket.io's `cookie`; default none).
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.config.engine.cookie = Some(cookie);
        self
    }
    /// Turns on CORS (socket.io's `cors`), preflights included, in the own-listener mode
    /// as well as under axum (default off).
    ///
    /// ```
    /// use sio_server::config::{Cors, CorsOrigin};
    /// let io = sio_server::SocketIo::builder()
    ///     .cors(Cors { origin: CorsOrigin::List(vec!["https://app.example".into()]), credentials: true, ..Cors::default() })
    ///     .build();
    /// # drop(io);
    /// ```
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config.engine.cors = Some(cors);
        self
    }
    /// Polling responses of at least `threshold` bytes are gzip- or deflate-compressed
    /// (socket.io's `httpCompression`, default 1 KiB); `None` turns it off.
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.config.engine.http_compression = threshold;
        self
    }
    /// Default ack timeout (default 5 s).
    pub fn ack_timeout(mut self, d: Duration) -> Self {
        self.config.ack_timeout = d;
        self
    }
    /// Most packets queued per connection before the slow-consumer policy applies
    /// (default 16,384).
    pub fn max_buffered_packets(mut self, n: usize) -> Self {
        self.config.engine.max_buffered_packets = n.max(1);
        self
    }
    /// Most events of one connection pending at once (default 1,024): handled by a handler
    /// that is waiting (past its first `.await`), or held back while a connect flow runs.
    /// At the bound the server stops reading the connection until one is done, so the
    /// client is slowed down by TCP; one whose handlers never finish stops answering
    /// PINGs and is closed by the heartbeat.
    pub fn max_pending_events(mut self, n: usize) -> Self {
        self.config.max_pending_events = n.max(1);
        self
    }
    /// Most bytes queued per connection before the slow-consumer policy applies (default
    /// 8 MiB): what the connection's transport has not taken yet, so a client that stops
    /// reading reaches it once the kernel and WebSocket write buffers are full.
    ///
    /// ```
    /// let io = sio_server::SocketIo::builder()
    ///     .max_buffered_bytes(1024 * 1024)
    ///     .build();
    /// # drop(io);
    /// ```
    pub fn max_buffered_bytes(mut self, n: usize) -> Self {
        self.config.engine.max_buffered_bytes = n.max(1);
        self
    }
    /// What to do with a slow consumer (default: disconnect it).
    pub fn slow_consumer(mut self, p: SlowConsumerPolicy) -> Self {
        self.config.slow_consumer = p;
        self
    }
    /// The socket.io parser (default: socket.io-parser, JSON with binary attachments).
    pub fn parser(mut self, p: Parser) -> Self {
        self.config.parser = p;
        self
    }
    /// Decoder limits (attachments, depth); the size limit follows `max_payload`.
    pub fn limits(mut self, l: Limits) -> Self {
        self.config.limits = l;
        self
    }
    /// Read buffer of each WebSocket connection (default 1 KiB, at least 256 bytes). Every
    /// connection keeps it for its lifetime; larger frames still arrive whole.
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.engine.ws_read_buffer_size = bytes.max(256);
        self
    }
    /// Turns on connection state recovery.
    pub fn connection_state_recovery(mut self, r: RecoveryConfig) -> Self {
        self.config.recovery = Some(r);
        self
    }
    /// The cluster adapter factory (default: in-memory, single process).
    pub fn adapter(mut self, f: impl AdapterFactory) -> Self {
        self.factory = Arc::new(f);
        self
    }
    /// The cluster adapter factory, shared.
    pub fn adapter_arc(mut self, f: Arc<dyn AdapterFactory>) -> Self {
        self.factory = f;
        self
    }

    /// Builds the server. Namespace `/` always exists, as in socket.io.
    pub fn build(mut self) -> SocketIo {
        // A connection without a namespace is an idle engine session (see
        // `ServerConfig::connect_timeout`).
        self.config.engine.idle_timeout = Some(self.config.connect_timeout);
        let engine_config = self.config.engine.clone();
        let inner = Arc::new(ServerInner {
            config: Arc::new(self.config),
            counters: Arc::new(Counters::default()),
            factory: self.factory,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
        });
        inner.ns_or_insert("/");
        let engine = Engine::new(
            EngineHandler {
                server: inner.clone(),
            },
            engine_config,
        );
        SocketIo { inner, engine }
    }
}

/// Counters of the slow-consumer policy, since the server started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Volatile packets dropped because a socket's buffer was full.
    pub volatile_dropped: u64,
    /// Packets dropped under [`SlowConsumerPolicy::Drop`].
    pub full_dropped: u64,
    /// Connections closed as slow consumers.
    pub slow_disconnected: u64,
}

/// A socket.io server. Cheap to clone: every clone is the same server.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let io = sio_server::SocketIo::builder().build();
/// io.ns("/", |socket| async move {
///     socket.on("ping", |socket, args, ack| async move {
///         if let Some(ack) = ack { let _ = ack.send_args(args.into_vec()); }
///         let _ = socket.emit("pong", &());
///     });
/// });
/// let server = io.listen("127.0.0.1:3000".parse().unwrap()).await?;
/// println!("listening on {}", server.local_addr());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SocketIo {
    pub(crate) inner: Arc<ServerInner>,
    engine: Engine<EngineHandler>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl SocketIo {
    /// A builder with socket.io's defaults.
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    /// The options in effect.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Registers (or replaces) the connection handler of the namespace at `path`, creating
    /// the namespace if needed.
    ///
    /// The handler runs to completion before the client receives its CONNECT answer, so the
    /// event handlers it registers are in place before the client can emit; events sent
    /// meanwhile are queued, never lost.
    ///
    /// Because of that, the handler must not wait for the client: an `emit_with_ack`
    /// awaited inside it cannot be answered before the handler returns (the client is not
    /// connected yet) and only ends at its timeout. Emit without waiting, or spawn a task.
    pub fn ns<F, Fut>(&self, path: &str, handler: F) -> Namespace
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let ns = self.inner.ns_or_insert(path);
        *ns.handlers
            .connect
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(box_connect(handler));
        Namespace { inner: ns }
    }

    /// Serves every namespace whose path `matches` (checked on the first connection to
    /// each path) with `handler`; children share the returned handle's middlewares.
    pub fn dynamic_ns<M, F, Fut>(&self, matches: M, handler: F) -> DynamicNamespace
    where
        M: Fn(&str) -> bool + Send + Sync + 'static,
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let handlers = Arc::new(NsHandlers::default());
        *handlers.connect.write().unwrap_or_else(|e| e.into_inner()) = Some(box_connect(handler));
        self.inner
            .dynamic
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((Arc::new(matches), handlers.clone()));
        DynamicNamespace { handlers }
    }

    /// The namespace at `path`, if it exists.
    pub fn of(&self, path: &str) -> Option<Namespace> {
        self.inner.namespace(path)
    }

    /// Every namespace, dynamic children included.
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.inner.namespace_list()
    }

    fn main(&self) -> Namespace {
        Namespace {
            inner: self.inner.ns_or_insert("/"),
        }
    }

    /// A broadcast to the main namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        self.main().broadcast()
    }

    /// A broadcast to `room` of the main namespace.
    pub fn to(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.main().to(room)
    }

    /// Same as [`to`](SocketIo::to).
    pub fn within(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.to(room)
    }

    /// A broadcast to the main namespace but `room`.
    pub fn except(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.main().except(room)
    }

    /// A broadcast to this server's sockets only.
    pub fn local(&self) -> BroadcastOperator {
        self.broadcast().local()
    }

    /// Emits to every socket of the main namespace.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.broadcast().emit(event, data).await
    }

    /// Describes every socket of the main namespace, cluster-wide.
    pub async fn fetch_sockets(&self) -> Result<Vec<SocketInfo>, sio_types::AdapterError> {
        self.broadcast().fetch_sockets().await
    }

    /// Emits `event` to the other servers of the cluster (main namespace); see
    /// [`Namespace::server_side_emit`].
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(), sio_types::AdapterError> {
        self.main().server_side_emit(event, args).await
    }

    /// Handles the server-side event `event` of the main namespace; see
    /// [`Namespace::on_server_side`].
    pub fn on_server_side<F, Fut>(&self, event: impl Into<String>, f: F)
    where
        F: Fn(crate::Args, Option<sio_types::ServerSideReply>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.main().on_server_side(event, f);
    }

    /// Slow-consumer counters.
    pub fn stats(&self) -> Stats {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        Stats {
            volatile_dropped: c.volatile_dropped.load(Relaxed),
            full_dropped: c.full_dropped.load(Relaxed),
            slow_disconnected: c.slow_disconnected.load(Relaxed),
        }
    }

    /// The tower layer to mount under axum (or any tower stack). Requests under the
    /// server's path are served by socket.io, the others go to the inner service. CORS,
    /// compression and the cookie are the server's own options (see the builder).
    pub fn layer(&self) -> SocketIoLayer {
        SocketIoLayer(self.engine.layer())
    }

    /// A standalone hyper / tower service that answers 404 outside the socket.io path.
    pub fn service(&self) -> SocketIoService {
        SocketIoService(self.engine.service())
    }

    /// How many engine.io connections are open (with or without a namespace).
    pub fn connection_count(&self) -> usize {
        self.engine.session_count()
    }

    /// Listens on `addr` with its own hyper server (HTTP/1.1 with upgrades, listen backlog
    /// 1,024, `TCP_NODELAY`). Fills `handshake.address` from the peer address.
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<crate::ListenHandle> {
        sio_engine::listen::listen(self.service(), addr).await
    }

    /// Disconnects every socket (reason `server shutting down`), closes every connection
    /// and closes the adapters.
    pub async fn close(&self) {
        for ns in self.namespaces() {
            for s in ns.sockets() {
                s.close(DisconnectReason::ServerShuttingDown);
            }
        }
        self.engine.close_all();
        for ns in self.namespaces() {
            if let Err(e) = ns.inner.adapter.close().await {
                tracing::warn!(nsp = %ns.path(), error = %e, "adapter close failed");
            }
        }
    }
}

/// The handle of a dynamic namespace pattern: its middlewares apply to every child.
#[derive(Clone)]
pub struct DynamicNamespace {
    handlers: Arc<NsHandlers>,
}

impl std::fmt::Debug for DynamicNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicNamespace").finish_non_exhaustive()
    }
}

impl DynamicNamespace {
    /// Adds a connect-time middleware to every child namespace.
    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), sio_types::ConnectError>> + Send + 'static,
    {
        self.handlers
            .middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(crate::handler::box_middleware(f));
    }
}
