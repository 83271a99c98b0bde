//! The server helper: the seed's `SocketIOServerHelper` over a [`SocketIo`] server.
//!
//! It tracks every client of namespace `/` in a registry and drives the authenticate flow:
//!
//! 1. on connection the client is `unauthorized` and gets an auth-timeout timer; only the
//!    `authenticate` event is listened to, so no other event reaches the application;
//! 2. `authenticate` moves it to `authenticating` and runs your `authenticate` function on
//!    the socket's [`Handshake`];
//! 3. success: `authenticated`, a first `ping`, the default rooms, the `join` / `leave`
//!    handlers (through `validate_room`), your [`on`](ServerHelper::on) handlers, the ping
//!    interval, `authenticated {id, time}` to the client, then `client_connected`;
//!    failure: `unauthenticated {id, message}` to the client, then disconnect.
//!
//! The helper's handlers are registered in the namespace's connection handler, which the
//! server runs to completion before it answers CONNECT: an `authenticate` sent together
//! with the connection is queued, never lost.
//!
//! Timers (auth timeouts, ping intervals) of all clients share one task and one
//! `DelayQueue`; [`live_timers`](ServerHelper::live_timers) and
//! [`live_tasks`](ServerHelper::live_tasks) count them.
//!
//! ```no_run
//! use sio_server::helper::{SendMessage, ServerHelper};
//!
//! # async fn run() -> Result<(), sio_server::helper::HelperError> {
//! let helper = ServerHelper::builder()
//!     .identifier("chat")
//!     .listen("127.0.0.1:3000".parse().unwrap())
//!     .authenticate(|hs| async move { hs.auth_str("token") == Some("secret") })
//!     .validate_room(|_socket, rooms| async move {
//!         Ok(rooms.into_iter().filter(|r| !r.starts_with("private-")).collect())
//!     })
//!     .build()?;
//! helper.configure().await?;
//! helper.on("message", |socket, args, _ack| async move {
//!     let _ = socket.emit_args("message-back", args.into_vec());
//! })?;
//! helper.send(SendMessage::new("news", "hello").to("io-default")).await?;
//! helper.shutdown().await;
//! # Ok(()) }
//! ```

mod rooms;
mod timers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use dashmap::DashMap;
use futures_core::future::BoxFuture;
use serde::Serialize;
use sio_types::constants::{self, event};
use sio_types::handshake::iso8601;
use sio_types::{ClientState, Handshake, Room, SocketId, Value};
use tracing::Instrument;

use crate::ListenHandle;
use crate::handler::run_guarded;
use crate::io::{SocketIo, SocketIoBuilder};
use crate::service::{SocketIoLayer, SocketIoService};
use crate::socket::Socket;
use crate::{AckSender, Args};

pub use rooms::RoomLimits;
use timers::{OnFire, TaskGuard, TimerCounters, TimerKind, Timers};

/// An error a user callback may return; it is logged, never fatal.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The `authenticate` function: the handshake in, accept or refuse out.
pub type AuthenticateFn = Arc<dyn Fn(Handshake) -> BoxFuture<'static, bool> + Send + Sync>;
/// The `validate_room` function: the socket and the rooms it asks for, the rooms allowed out.
pub type ValidateRoomFn = Arc<
    dyn Fn(Socket, Vec<String>) -> BoxFuture<'static, Result<Vec<String>, BoxError>> + Send + Sync,
>;
/// The `client_connected` function, called once a client is authenticated.
pub type ClientConnectedFn =
    Arc<dyn Fn(Socket) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;
/// An application event handler registered with [`ServerHelper::on_handler`].
pub type EventHandler =
    Arc<dyn Fn(Socket, Args, Option<AckSender>) -> BoxFuture<'static, ()> + Send + Sync>;

/// Errors of the helper. Where the seed fixes a message, the variant carries it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelperError {
    /// `on`, `send` or `io` before [`configure`](ServerHelper::configure) (the seed's
    /// `"[on] IOServer is not initialized yet!"`, with the method's name).
    #[error("[{0}] IOServer is not initialized yet!")]
    NotInitialized(&'static str),
    /// `on` with an empty topic.
    #[error("[on] Invalid topic to start binding handler")]
    InvalidTopic,
    /// `on` with a topic the helper handles itself (`authenticate`, `join`, `leave`):
    /// replacing it would break the authenticate flow.
    #[error("[on] Topic {0:?} is handled by the helper and cannot be rebound")]
    ReservedTopic(String),
    /// `on_handler` without a handler.
    #[error("[on] Invalid event handler | topic: {0}")]
    InvalidHandler(String),
    /// The builder was not given an `authenticate` function.
    #[error("[build] an authenticate function is required")]
    MissingAuthenticate,
    /// `configure` called a second time.
    #[error("[configure] the helper is already configured")]
    AlreadyConfigured,
    /// The helper was shut down.
    #[error("the helper is shut down")]
    ShutDown,
    /// The own listener could not bind.
    #[error("could not listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A Redis connection (`pub`, `sub` or `emitter`, named in the error) was not ready.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Redis(#[from] sio_adapter_redis::ConnectError),
    /// A local send failed.
    #[error(transparent)]
    Emit(#[from] crate::EmitError),
    /// A send through the Redis emitter failed.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    RedisEmit(#[from] sio_adapter_redis::EmitError),
}

/// How the socket.io endpoint is served (the seed's `runtime`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attachment {
    /// Mounted by the application: take [`ServerHelper::layer`] (axum / tower) or
    /// [`ServerHelper::service`] (hyper) after `configure` — the seed's `runtime: 'node'`
    /// with an existing HTTP server.
    #[default]
    Layer,
    /// The helper listens on this address itself — the seed's standalone engine.
    Listen(SocketAddr),
}

/// A client as the registry sees it: id, state and rooms (its own id left out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientSnapshot {
    /// The socket id.
    pub id: SocketId,
    /// Where it stands in the authenticate flow.
    pub state: ClientState,
    /// Its rooms, its private room left out.
    pub rooms: Vec<String>,
}

/// What [`ServerHelper::send`] emits: the seed's `{destination, payload: {topic, data},
/// doLog, cb}`.
///
/// ```
/// use sio_server::helper::SendMessage;
/// let msg = SendMessage::new("news", "hi").to("io-default").log(true);
/// assert_eq!(msg.topic, "news");
/// ```
#[non_exhaustive]
pub struct SendMessage {
    /// A socket id or a room; `None` sends to every client.
    pub destination: Option<String>,
    /// The event name.
    pub topic: String,
    /// The payload.
    pub data: Value,
    /// Log the message (the seed's `doLog`): destination, topic and size at INFO; the
    /// payload itself only at TRACE, since it is application data.
    pub log: bool,
    /// Called once the emit was handed over (the seed's `cb`).
    pub callback: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMessage")
            .field("destination", &self.destination)
            .field("topic", &self.topic)
            .field("data", &self.data)
            .field("log", &self.log)
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl SendMessage {
    /// A message to everyone.
    pub fn new(topic: impl Into<String>, data: impl Into<Value>) -> Self {
        SendMessage {
            destination: None,
            topic: topic.into(),
            data: data.into(),
            log: false,
            callback: None,
        }
    }

    /// A message to everyone whose payload is any serde type (a struct, a map, ...), in
    /// one call; fails only when the type cannot be represented (a map with non-string
    /// keys, say).
    ///
    /// ```
    /// use sio_server::helper::SendMessage;
    /// #[derive(serde::Serialize)]
    /// struct News<'a> { title: &'a str, score: u32 }
    ///
    /// let msg = SendMessage::typed("news", &News { title: "hi", score: 3 })?.to("io-default");
    /// assert_eq!(msg.data.get("score").and_then(|v| v.as_i64()), Some(3));
    /// # Ok::<(), sio_server::sio_types::ValueError>(())
    /// ```
    pub fn typed<T: Serialize + ?Sized>(
        topic: impl Into<String>,
        data: &T,
    ) -> Result<Self, sio_types::ValueError> {
        Ok(Self::new(topic, sio_types::value::to_value(data)?))
    }

    /// To a socket id or a room.
    pub fn to(mut self, destination: impl Into<String>) -> Self {
        self.destination = Some(destination.into());
        self
    }

    /// Logs the message when sent.
    pub fn log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// Runs `f` once the emit was handed over.
    pub fn callback(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.callback = Some(Box::new(f));
        self
    }
}

/// JavaScript falsiness, for the seed's "no-op when data is falsy".
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        other => other.as_f64().is_some_and(|n| n == 0.0 || n.is_nan()),
    }
}

struct Options {
    identifier: String,
    attachment: Attachment,
    #[cfg(feature = "redis")]
    redis: Option<sio_adapter_redis::RedisConfig>,
    authenticate: AuthenticateFn,
    validate_room: Option<ValidateRoomFn>,
    client_connected: Option<ClientConnectedFn>,
    authenticate_timeout: Duration,
    ping_interval: Duration,
    default_rooms: Vec<String>,
    room_limits: RoomLimits,
}

/// Builds a [`ServerHelper`]; see the [module docs](self) for an example.
pub struct ServerHelperBuilder {
    identifier: String,
    attachment: Attachment,
    #[cfg(feature = "redis")]
    redis: Option<sio_adapter_redis::RedisConfig>,
    authenticate: Option<AuthenticateFn>,
    validate_room: Option<ValidateRoomFn>,
    client_connected: Option<ClientConnectedFn>,
    authenticate_timeout: Duration,
    ping_interval: Duration,
    default_rooms: Vec<String>,
    room_limits: RoomLimits,
    server: SocketIoBuilder,
}

impl std::fmt::Debug for ServerHelperBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHelperBuilder")
            .field("identifier", &self.identifier)
            .field("attachment", &self.attachment)
            .field("authenticate_timeout", &self.authenticate_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("default_rooms", &self.default_rooms)
            .finish_non_exhaustive()
    }
}

impl ServerHelperBuilder {
    /// A name for logs: every span of the helper carries it.
    pub fn identifier(mut self, id: impl Into<String>) -> Self {
        self.identifier = id.into();
        self
    }

    /// How the endpoint is served (default [`Attachment::Layer`]).
    pub fn attachment(mut self, a: Attachment) -> Self {
        self.attachment = a;
        self
    }

    /// Shorthand for `attachment(Attachment::Listen(addr))`.
    pub fn listen(self, addr: SocketAddr) -> Self {
        self.attachment(Attachment::Listen(addr))
    }

    /// Cluster mode through Redis at `url` (key prefix `socket.io`, Node's default).
    #[cfg(feature = "redis")]
    pub fn redis_url(self, url: impl Into<String>) -> Self {
        self.redis(sio_adapter_redis::RedisConfig::new(url))
    }

    /// Cluster mode through Redis with this configuration (its connect timeout bounds
    /// how long `configure` waits for each of the three connections).
    #[cfg(feature = "redis")]
    pub fn redis(mut self, config: sio_adapter_redis::RedisConfig) -> Self {
        self.redis = Some(config);
        self
    }

    /// The authenticate check (required). A panic counts as a refusal.
    pub fn authenticate<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.authenticate = Some(Arc::new(move |hs| Box::pin(f(hs))));
        self
    }

    /// Which of the rooms a `join` / `leave` request names are allowed. Without it, no
    /// room request is granted (only the default rooms are joined). An error or a panic
    /// grants nothing and is logged.
    pub fn validate_room<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Socket, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<String>, BoxError>> + Send + 'static,
    {
        self.validate_room = Some(Arc::new(move |s, r| Box::pin(f(s, r))));
        self
    }

    /// Called once a client is authenticated (after `authenticated` was sent); its errors
    /// and panics are logged.
    pub fn client_connected<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.client_connected = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }

    /// How long a client may stay unauthenticated (default 10 s).
    pub fn authenticate_timeout(mut self, d: Duration) -> Self {
        self.authenticate_timeout = d;
        self
    }

    /// The interval of the heartbeat `ping` event (default 30 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d.max(Duration::from_millis(1));
        self
    }

    /// Rooms every authenticated client joins (default `io-default`, `io-notification`).
    pub fn default_rooms(mut self, rooms: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.default_rooms = rooms.into_iter().map(Into::into).collect();
        self
    }

    /// Limits on `join` / `leave` requests.
    pub fn room_limits(mut self, l: RoomLimits) -> Self {
        self.room_limits = l;
        self
    }

    /// Pass-through socket.io server options (path, engine.io ping, payload size, parser,
    /// ...). The adapter is the helper's business and is set by `configure`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = sio_server::helper::ServerHelper::builder()
    ///     .server_options(|s| s.ping_timeout(Duration::from_secs(5)).max_payload(64_000));
    /// # drop(b);
    /// ```
    pub fn server_options(mut self, f: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Self {
        self.server = f(self.server);
        self
    }

    /// Builds the helper; fails without an `authenticate` function.
    pub fn build(self) -> Result<ServerHelper, HelperError> {
        let authenticate = self.authenticate.ok_or(HelperError::MissingAuthenticate)?;
        let span = tracing::info_span!("sio_helper", id = %self.identifier);
        let inner = Arc::new(Inner {
            opts: Options {
                identifier: self.identifier,
                attachment: self.attachment,
                #[cfg(feature = "redis")]
                redis: self.redis,
                authenticate,
                validate_room: self.validate_room,
                client_connected: self.client_connected,
                authenticate_timeout: self.authenticate_timeout,
                ping_interval: self.ping_interval,
                default_rooms: self.default_rooms,
                room_limits: self.room_limits,
            },
            server: Mutex::new(Some(self.server)),
            running: RwLock::new(None),
            listener: Mutex::new(None),
            registry: DashMap::new(),
            counters: Arc::default(),
            timers: Mutex::new(None),
            configured: AtomicBool::new(false),
            shut: AtomicBool::new(false),
            span,
        });
        Ok(ServerHelper { inner })
    }
}

#[derive(Clone)]
enum Sender {
    Local,
    #[cfg(feature = "redis")]
    Redis(sio_adapter_redis::Emitter),
}

#[derive(Clone)]
struct Running {
    io: SocketIo,
    sender: Sender,
}

struct ClientEntry {
    state: ClientState,
    socket: Socket,
}

struct Inner {
    opts: Options,
    server: Mutex<Option<SocketIoBuilder>>,
    running: RwLock<Option<Running>>,
    listener: Mutex<Option<ListenHandle>>,
    registry: DashMap<SocketId, ClientEntry>,
    counters: Arc<TimerCounters>,
    timers: Mutex<Option<Arc<Timers>>>,
    configured: AtomicBool,
    shut: AtomicBool,
    span: tracing::Span,
}

/// The seed's `SocketIOServerHelper`. Cheap to clone: every clone is the same helper.
#[derive(Clone)]
pub struct ServerHelper {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ServerHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHelper")
            .field("identifier", &self.inner.opts.identifier)
            .field("clients", &self.inner.registry.len())
            .finish_non_exhaustive()
    }
}

fn iso_now() -> String {
    iso8601(crate::handshake::now_ms())
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::from_iter(pairs)
}

impl OnFire for Inner {
    fn fire(&self, id: SocketId, kind: TimerKind) -> Option<Duration> {
        let (state, socket) = {
            let e = self.registry.get(&id)?;
            (e.state, e.socket.clone())
        };
        match kind {
            TimerKind::AuthTimeout => {
                if state != ClientState::Authenticated {
                    tracing::info!(sid = %id, %state, "authenticate timeout: disconnecting");
                    self.disconnect_client(&socket);
                }
                None
            }
            TimerKind::Ping => {
                self.ping_client(&socket, false);
                Some(self.opts.ping_interval)
            }
        }
    }

    fn is_live(&self, id: SocketId) -> bool {
        self.registry.contains_key(&id)
    }
}

impl Inner {
    fn timers(&self) -> Option<Arc<Timers>> {
        self.timers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn running(&self) -> Option<Running> {
        self.running
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_state(&self, socket: &Socket, state: ClientState) {
        // Mirrored into socket.data so that cluster-wide fetch_sockets reports it.
        socket.set_data(obj(vec![("state", Value::from(state.as_str()))]));
    }

    fn ping_client(&self, socket: &Socket, ignore_auth: bool) {
        let Some(state) = self.registry.get(&socket.id()).map(|e| e.state) else {
            return;
        };
        if !ignore_auth && state != ClientState::Authenticated {
            tracing::info!(sid = %socket.id(), %state, "ping to a client that is not authenticated: disconnecting");
            self.disconnect_client(socket);
            return;
        }
        let _ = socket.emit(event::PING, &obj(vec![("time", Value::from(iso_now()))]));
    }

    /// Removes the entry and its timers. Returns whether there was one.
    fn forget(&self, id: SocketId) -> bool {
        let removed = self.registry.remove(&id).is_some();
        if removed && let Some(t) = self.timers() {
            t.disarm_all(id);
        }
        removed
    }

    fn disconnect_client(&self, socket: &Socket) {
        self.forget(socket.id());
        // The seed's `socket.disconnect()`: a DISCONNECT packet queued behind whatever was
        // emitted before (`unauthenticated`), after which socket.io-client closes its
        // connection itself. Closing the engine.io connection here instead loses that
        // packet on polling and can strand a client in the middle of an upgrade.
        socket.disconnect(false);
    }

    fn on_client_connect(self: &Arc<Self>, socket: Socket) {
        let id = socket.id();
        if self.shut.load(Ordering::Acquire) {
            socket.disconnect(false);
            return;
        }
        if self.registry.contains_key(&id) {
            return;
        }
        self.registry.insert(
            id,
            ClientEntry {
                state: ClientState::Unauthorized,
                socket: socket.clone(),
            },
        );
        self.set_state(&socket, ClientState::Unauthorized);
        if let Some(t) = self.timers() {
            t.arm(id, TimerKind::AuthTimeout, self.opts.authenticate_timeout);
        }
        let weak = Arc::downgrade(self);
        socket.on_disconnect(move |s, reason| {
            if let Some(inner) = weak.upgrade() {
                tracing::debug!(parent: &inner.span, sid = %s.id(), %reason, "client disconnected");
                inner.forget(s.id());
            }
        });
    }

    fn is_authenticated(&self, id: SocketId) -> bool {
        self.registry
            .get(&id)
            .is_some_and(|e| e.state == ClientState::Authenticated)
    }

    /// The flow's handlers, registered once on the namespace rather than on each socket
    /// (idle sockets stay small): `authenticate` for registered clients, `join` / `leave`
    /// for authenticated ones only.
    fn register_flow_handlers(self: &Arc<Self>, ns: &crate::Namespace) {
        let weak = Arc::downgrade(self);
        ns.on(event::AUTHENTICATE, move |socket, _args, _ack| {
            let weak = weak.clone();
            async move {
                if let Some(inner) = weak.upgrade() {
                    let span = inner.span.clone();
                    inner.on_authenticate(socket).instrument(span).await;
                }
            }
        });
        for (topic, join) in [(event::JOIN, true), (event::LEAVE, false)] {
            let weak = Arc::downgrade(self);
            ns.on(topic, move |socket, args, _ack| {
                let weak = weak.clone();
                async move {
                    let Some(inner) = weak.upgrade() else { return };
                    if !inner.is_authenticated(socket.id()) {
                        tracing::debug!(parent: &inner.span, sid = %socket.id(), "room request before authentication ignored");
                        return;
                    }
                    let span = inner.span.clone();
                    inner.on_rooms(socket, args, join).instrument(span).await;
                }
            });
        }
    }

    async fn on_authenticate(self: Arc<Self>, socket: Socket) {
        let id = socket.id();
        {
            let Some(mut e) = self.registry.get_mut(&id) else {
                return;
            };
            if e.state != ClientState::Unauthorized {
                tracing::debug!(sid = %id, state = %e.state, "authenticate ignored: already {}", e.state);
                return;
            }
            e.state = ClientState::Authenticating;
        }
        self.set_state(&socket, ClientState::Authenticating);
        let ok = run_guarded("authenticate", (self.opts.authenticate)(socket.handshake()))
            .await
            .unwrap_or(false);
        if !self.registry.contains_key(&id) {
            return;
        }
        if ok {
            self.on_client_authenticated(&socket);
        } else {
            tracing::info!(sid = %id, "authentication failed");
            if let Some(mut e) = self.registry.get_mut(&id) {
                e.state = ClientState::Unauthorized;
            }
            let payload = obj(vec![
                ("id", Value::from(id.as_str())),
                ("message", Value::from("Failed to authenticate connection")),
            ]);
            let _ = socket.emit(event::UNAUTHENTICATED, &payload);
            self.disconnect_client(&socket);
        }
    }

    fn on_client_authenticated(self: &Arc<Self>, socket: &Socket) {
        let id = socket.id();
        {
            let Some(mut e) = self.registry.get_mut(&id) else {
                tracing::debug!(sid = %id, "authenticated client is gone");
                return;
            };
            e.state = ClientState::Authenticated;
        }
        self.set_state(socket, ClientState::Authenticated);
        let timers = self.timers();
        if let Some(t) = &timers {
            t.disarm(id, TimerKind::AuthTimeout);
        }
        self.ping_client(socket, true);
        socket.join_many(self.opts.default_rooms.iter().cloned());
        // `join` / `leave` and the application's handlers live on the namespace and
        // admit authenticated clients only: from here on, this one.
        if let Some(t) = &timers {
            t.arm(id, TimerKind::Ping, self.opts.ping_interval);
        }
        let payload = obj(vec![
            ("id", Value::from(id.as_str())),
            ("time", Value::from(iso_now())),
        ]);
        let _ = socket.emit(event::AUTHENTICATED, &payload);
        tracing::info!(sid = %id, "client authenticated");
        if let Some(cc) = self.opts.client_connected.clone() {
            let guard = TaskGuard::new(&self.counters);
            let socket = socket.clone();
            tokio::spawn(
                async move {
                    let _guard = guard;
                    match run_guarded("client_connected", cc(socket.clone())).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => {
                            tracing::error!(sid = %socket.id(), error = %e, "client_connected failed")
                        }
                        None => {}
                    }
                }
                .instrument(self.span.clone()),
            );
        }
    }

    async fn on_rooms(self: Arc<Self>, socket: Socket, args: Args, join: bool) {
        let what = if join { event::JOIN } else { event::LEAVE };
        let requested = match rooms::parse(args.get(0), &self.opts.room_limits) {
            Ok(r) => r,
            Err(bad) => {
                tracing::warn!(sid = %socket.id(), request = what, reason = %bad, "room request ignored");
                return;
            }
        };
        if requested.is_empty() {
            return;
        }
        let Some(validate) = self.opts.validate_room.clone() else {
            tracing::warn!(sid = %socket.id(), request = what, "no validate_room function: room request refused");
            return;
        };
        let allowed = match run_guarded(
            "validate_room",
            validate(socket.clone(), requested.clone()),
        )
        .await
        {
            Some(Ok(allowed)) => allowed,
            Some(Err(e)) => {
                tracing::error!(sid = %socket.id(), request = what, error = %e, "validate_room failed: nothing done");
                return;
            }
            None => return,
        };
        // Only what was asked: a validator returning extra rooms grants nothing more.
        let rooms: Vec<Room> = allowed
            .into_iter()
            .filter(|r| requested.contains(r))
            .map(Room::from)
            .collect();
        if !self.registry.contains_key(&socket.id()) {
            return;
        }
        tracing::debug!(sid = %socket.id(), request = what, rooms = ?rooms, "rooms");
        if join {
            socket.join_many(rooms);
        } else {
            for r in rooms {
                socket.leave(r);
            }
        }
    }
}

impl ServerHelper {
    /// A builder with the seed's defaults.
    pub fn builder() -> ServerHelperBuilder {
        ServerHelperBuilder {
            identifier: "socket-io-server".into(),
            attachment: Attachment::default(),
            #[cfg(feature = "redis")]
            redis: None,
            authenticate: None,
            validate_room: None,
            client_connected: None,
            authenticate_timeout: constants::AUTHENTICATE_TIMEOUT,
            ping_interval: constants::PING_INTERVAL,
            default_rooms: constants::room::DEFAULTS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            room_limits: RoomLimits::default(),
            server: SocketIo::builder(),
        }
    }

    /// The identifier given to the builder.
    pub fn identifier(&self) -> &str {
        &self.inner.opts.identifier
    }

    /// Makes the helper ready: with Redis, the `pub`, `sub` and `emitter` connections
    /// (each ready within the Redis config's connect timeout, or an error naming which one
    /// failed), the Redis adapter and the emitter; without, the in-memory adapter. Then the
    /// server, the connection handler, the timer task, and the listener when asked for.
    pub async fn configure(&self) -> Result<(), HelperError> {
        let inner = &self.inner;
        if inner.shut.load(Ordering::Acquire) {
            return Err(HelperError::ShutDown);
        }
        if inner.configured.swap(true, Ordering::AcqRel) {
            return Err(HelperError::AlreadyConfigured);
        }
        let result = self.configure_inner().instrument(inner.span.clone()).await;
        if result.is_err() {
            inner.configured.store(false, Ordering::Release);
        }
        result
    }

    async fn configure_inner(&self) -> Result<(), HelperError> {
        let inner = &self.inner;
        let builder = inner
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        #[allow(unused_mut)]
        let mut builder = builder;
        #[allow(unused_mut)]
        let mut sender = Sender::Local;
        #[cfg(feature = "redis")]
        if let Some(cfg) = inner.opts.redis.clone() {
            let (factory, emitter) = tokio::join!(
                sio_adapter_redis::RedisAdapterFactory::connect(cfg.clone()),
                sio_adapter_redis::Emitter::connect(cfg),
            );
            let (factory, emitter) = (factory?, emitter?);
            tracing::info!("redis pub, sub and emitter connections ready");
            builder = builder.adapter(factory);
            sender = Sender::Redis(emitter);
        }
        let io = builder.build();
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        io.ns("/", move |socket| {
            let weak = weak.clone();
            async move {
                if let Some(inner) = weak.upgrade() {
                    let _e = inner.span.enter();
                    inner.on_client_connect(socket);
                }
            }
        });
        if let Some(ns) = io.of("/") {
            inner.register_flow_handlers(&ns);
            ns.ready().await.map_err(crate::EmitError::from)?;
        }
        let on_fire: Weak<dyn OnFire> = Arc::downgrade(&self.inner) as Weak<dyn OnFire>;
        let timers = Timers::start(on_fire, inner.counters.clone(), inner.span.clone());
        *inner.timers.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(timers));
        if let Attachment::Listen(addr) = inner.opts.attachment {
            let handle = io
                .listen(addr)
                .await
                .map_err(|source| HelperError::Listen { addr, source })?;
            tracing::info!(addr = %handle.local_addr(), "listening");
            *inner.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        }
        *inner.running.write().unwrap_or_else(|e| e.into_inner()) = Some(Running { io, sender });
        Ok(())
    }

    /// The socket.io server (the seed's `getIOServer`).
    pub fn io(&self) -> Result<SocketIo, HelperError> {
        self.inner
            .running()
            .map(|r| r.io)
            .ok_or(HelperError::NotInitialized("io"))
    }

    /// The tower layer to mount under axum ([`Attachment::Layer`]).
    pub fn layer(&self) -> Result<SocketIoLayer, HelperError> {
        Ok(self.io()?.layer())
    }

    /// A standalone hyper / tower service.
    pub fn service(&self) -> Result<SocketIoService, HelperError> {
        Ok(self.io()?.service())
    }

    /// The address of the own listener ([`Attachment::Listen`]), once configured.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(ListenHandle::local_addr)
    }

    /// Every client of this server (the seed's `getClients()`).
    pub fn clients(&self) -> Vec<ClientSnapshot> {
        let entries: Vec<(ClientState, Socket)> = self
            .inner
            .registry
            .iter()
            .map(|e| (e.state, e.socket.clone()))
            .collect();
        entries
            .into_iter()
            .map(|(st, s)| snapshot(st, &s))
            .collect()
    }

    /// How many clients of this server are in `state` (say, authenticated), without a
    /// snapshot of each: one pass over the registry.
    ///
    /// ```no_run
    /// # fn f(helper: sio_server::ServerHelper) {
    /// use sio_types::ClientState;
    /// let online = helper.client_count(ClientState::Authenticated);
    /// # let _ = online; }
    /// ```
    pub fn client_count(&self, state: ClientState) -> usize {
        self.inner
            .registry
            .iter()
            .filter(|e| e.state == state)
            .count()
    }

    /// One client by id (the seed's `getClients({id})`).
    pub fn client(&self, id: SocketId) -> Option<ClientSnapshot> {
        let (st, s) = self
            .inner
            .registry
            .get(&id)
            .map(|e| (e.state, e.socket.clone()))?;
        Some(snapshot(st, &s))
    }

    /// The socket of a registered client.
    pub fn socket(&self, id: SocketId) -> Option<Socket> {
        self.inner.registry.get(&id).map(|e| e.socket.clone())
    }

    /// Every client of the cluster (every server sharing the Redis adapter; this one alone
    /// without Redis), with the state each server's helper recorded.
    pub async fn cluster_clients(&self) -> Result<Vec<ClientSnapshot>, HelperError> {
        let io = self.io()?;
        let infos = io.fetch_sockets().await.map_err(crate::EmitError::from)?;
        Ok(infos
            .into_iter()
            .map(|info| {
                let state = info
                    .data
                    .get("state")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default();
                ClientSnapshot {
                    id: info.id,
                    state,
                    rooms: info
                        .rooms
                        .iter()
                        .map(|r| r.as_ref().to_owned())
                        .filter(|r| r != info.id.as_str())
                        .collect(),
                }
            })
            .collect())
    }

    /// Registers an application event handler (the seed's `on({topic, handler})`). It
    /// serves every authenticated client, now and later; events of sockets that are not
    /// authenticated never reach it. Registering a topic again replaces its handler; the
    /// helper's own topics (`authenticate`, `join`, `leave`) are refused.
    pub fn on<F, Fut>(&self, topic: &str, handler: F) -> Result<(), HelperError>
    where
        F: Fn(Socket, Args, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h: EventHandler = Arc::new(move |s, a, ack| Box::pin(handler(s, a, ack)));
        self.on_handler(topic, Some(h))
    }

    /// [`on`](ServerHelper::on) with an already boxed, optional handler: `None` is the
    /// seed's "Invalid event handler" error.
    pub fn on_handler(
        &self,
        topic: &str,
        handler: Option<EventHandler>,
    ) -> Result<(), HelperError> {
        if topic.is_empty() {
            return Err(HelperError::InvalidTopic);
        }
        let Some(handler) = handler else {
            return Err(HelperError::InvalidHandler(topic.to_owned()));
        };
        if [event::AUTHENTICATE, event::JOIN, event::LEAVE].contains(&topic) {
            return Err(HelperError::ReservedTopic(topic.to_owned()));
        }
        let running = self
            .inner
            .running()
            .ok_or(HelperError::NotInitialized("on"))?;
        let Some(ns) = running.io.of("/") else {
            return Err(HelperError::NotInitialized("on"));
        };
        let weak = Arc::downgrade(&self.inner);
        let name = topic.to_owned();
        ns.on(topic, move |socket, args, ack| {
            let admitted = weak
                .upgrade()
                .is_some_and(|inner| inner.is_authenticated(socket.id()));
            let fut = admitted.then(|| handler(socket.clone(), args, ack));
            let name = name.clone();
            async move {
                match fut {
                    Some(f) => f.await,
                    None => tracing::debug!(sid = %socket.id(), event = %name, "event from a client that is not authenticated dropped"),
                }
            }
        });
        Ok(())
    }

    /// Emits `ping {time}` to `socket` (the seed's `ping`). Unless `ignore_auth`, a client
    /// that is not authenticated is disconnected instead. Unknown sockets are ignored.
    pub fn ping(&self, socket: &Socket, ignore_auth: bool) {
        self.inner.ping_client(socket, ignore_auth);
    }

    /// Disconnects a client: timers cleared, entry removed, and the socket leaves the
    /// namespace with a DISCONNECT packet (the seed's `socket.disconnect()`), on which
    /// socket.io-client closes its connection.
    pub fn disconnect(&self, socket: &Socket) {
        self.inner.disconnect_client(socket);
    }

    /// Registers a socket of namespace `/` by hand (the seed's `onClientConnect`); the
    /// connection handler does it for every socket. Does nothing for a known socket.
    pub fn handle_connection(&self, socket: Socket) {
        self.inner.on_client_connect(socket);
    }

    /// Marks a registered client authenticated by hand (the seed's
    /// `onClientAuthenticated`): rooms, handlers, pings, `authenticated`, `client_connected`.
    pub fn authenticate_client(&self, socket: &Socket) {
        self.inner.on_client_authenticated(socket);
    }

    /// Emits `topic` with `data` (compressed) to a socket id, a room, or everyone: through
    /// the Redis emitter in cluster mode, locally otherwise. As in the seed, an empty topic
    /// or falsy data (`null`, `false`, `0`, `""`) sends nothing; `Ok(false)` tells so.
    /// The callback runs after the emit.
    pub async fn send(&self, msg: SendMessage) -> Result<bool, HelperError> {
        let running = self
            .inner
            .running()
            .ok_or(HelperError::NotInitialized("send"))?;
        if msg.topic.is_empty() || is_falsy(&msg.data) {
            tracing::debug!(parent: &self.inner.span, topic = %msg.topic, "send skipped: missing topic or data");
            return Ok(false);
        }
        if msg.log {
            // Sizes, not contents: payloads are application data (and can be large). Their
            // contents are logged only at TRACE, for whoever turns that on.
            tracing::info!(parent: &self.inner.span, destination = ?msg.destination, topic = %msg.topic, bytes = msg.data.approx_size(), "send");
            tracing::trace!(parent: &self.inner.span, data = ?msg.data, "send payload");
        }
        let args = vec![msg.data];
        match running.sender {
            Sender::Local => {
                let op = match &msg.destination {
                    Some(d) => running.io.to(d.clone()),
                    None => running.io.broadcast(),
                };
                op.compress(true).emit_args(&msg.topic, args).await?;
            }
            #[cfg(feature = "redis")]
            Sender::Redis(emitter) => {
                let em = match &msg.destination {
                    Some(d) => emitter.to(d.clone()),
                    None => emitter,
                };
                em.compress(true).emit(&msg.topic, args).await?;
            }
        }
        if let Some(cb) = msg.callback {
            tokio::spawn(async move { cb() });
        }
        Ok(true)
    }

    /// How many timers (auth timeouts, ping intervals) are pending.
    pub fn live_timers(&self) -> usize {
        self.inner.counters.timers.load(Ordering::Acquire)
    }

    /// How many helper tasks run: the shared timer task and `client_connected` calls in
    /// flight.
    pub fn live_tasks(&self) -> usize {
        self.inner.counters.tasks.load(Ordering::Acquire)
    }

    /// Whether [`shutdown`](ServerHelper::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut.load(Ordering::Acquire)
    }

    /// Disconnects every client, clears timers and registry, closes the server and the
    /// listener, and drops the Redis connections. Safe to call twice.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.shut.swap(true, Ordering::AcqRel) {
            return;
        }
        let span = inner.span.clone();
        async {
            let sockets: Vec<Socket> = inner.registry.iter().map(|e| e.socket.clone()).collect();
            for s in &sockets {
                inner.disconnect_client(s);
            }
            inner.registry.clear();
            if let Some(t) = inner
                .timers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                t.stop();
            }
            let running = inner
                .running
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(l) = inner
                .listener
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                l.shutdown();
            }
            if let Some(r) = running {
                r.io.close().await;
                // Dropping the io, its adapter factory and the emitter closes the pub,
                // sub and emitter connections.
                drop(r);
            }
            // The timer task notices its channel closed on its next poll; wait for it so
            // that `live_tasks` is exact when this returns.
            for _ in 0..200 {
                if inner.counters.timers.load(Ordering::Acquire) == 0
                    && inner.counters.tasks.load(Ordering::Acquire) == 0
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tracing::info!("helper shut down");
        }
        .instrument(span)
        .await;
    }
}

fn snapshot(state: ClientState, socket: &Socket) -> ClientSnapshot {
    let own = socket.id();
    ClientSnapshot {
        id: own,
        state,
        rooms: socket
            .rooms()
            .into_iter()
            .map(|r| r.as_ref().to_owned())
            .filter(|r| r != own.as_str())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falsy_data_follows_javascript() {
        for v in [
            Value::Null,
            Value::Bool(false),
            Value::from(0),
            Value::from(""),
        ] {
            assert!(is_falsy(&v), "{v:?}");
        }
        for v in [
            Value::Bool(true),
            Value::from(1),
            Value::from("x"),
            obj(vec![]),
        ] {
            assert!(!is_falsy(&v), "{v:?}");
        }
    }

    #[test]
    fn seed_error_messages() {
        assert_eq!(
            HelperError::InvalidTopic.to_string(),
            "[on] Invalid topic to start binding handler"
        );
        assert_eq!(
            HelperError::InvalidHandler("chat".into()).to_string(),
            "[on] Invalid event handler | topic: chat"
        );
        assert_eq!(
            HelperError::NotInitialized("on").to_string(),
            "[on] IOServer is not initialized yet!"
        );
    }

    #[test]
    fn build_needs_authenticate() {
        assert!(matches!(
            ServerHelper::builder().build(),
            Err(HelperError::MissingAuthenticate)
        ));
    }
}
