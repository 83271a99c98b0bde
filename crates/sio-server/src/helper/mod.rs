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
//! with the connection is queued, never lost. The other handlers exist once the client is
//! authenticated: as in the seed, a client joins rooms and emits after `authenticated`
//! arrives (sio-client's helper does). An event sent earlier is dropped when your
//! `authenticate` function waits, since handlers that wait do not hold back later events.
//!
//! Timers (auth timeouts, ping intervals) of all clients share one task and one
//! `DelayQueue`; [`live_timers`](ServerHelper::live_timers) and
//! [`live_tasks`](ServerHelper::live_tasks) count them.
//!
//! | part | what it holds |
//! |---|---|
//! | this module | [`ServerHelper`], the facade: configure, handlers, send, clients, shutdown |
//! | `builder` | [`ServerHelperBuilder`]: the seed's options and the server's |
//! | `flow` | the per-client flow: registry, authentication, rooms, pings, disconnect |
//! | `message` | [`SendMessage`] |
//! | `rooms` | [`RoomLimits`] and the parsing of `join` / `leave` requests |
//! | `timers` | the one timer queue of every client |
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

mod builder;
mod flow;
mod message;
mod rooms;
mod timers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_core::future::BoxFuture;
use serde::Serialize;
use sio_types::constants::event;
use sio_types::{ClientState, Handshake, SocketId, Value};
use tracing::Instrument;

use crate::ListenHandle;
use crate::io::SocketIo;
use crate::service::{SocketIoLayer, SocketIoService};
use crate::socket::Socket;
use crate::{AckSender, Args};

pub use builder::ServerHelperBuilder;
use flow::{Inner, Running, Sender};
pub use message::SendMessage;
use message::is_falsy;
pub use rooms::RoomLimits;
use timers::{OnFire, Timers};

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
    Redis(#[from] sio_adapter_redis::RedisConnectError),
    /// A local send failed.
    #[error(transparent)]
    Emit(#[from] crate::EmitError),
    /// A send through the Redis emitter failed.
    #[cfg(feature = "redis")]
    #[error(transparent)]
    RedisEmit(#[from] sio_adapter_redis::EmitterError),
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

impl ServerHelper {
    /// A builder with the seed's defaults.
    pub fn builder() -> ServerHelperBuilder {
        ServerHelperBuilder::with_seed_defaults()
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
            if cfg.mode() == sio_adapter_redis::Mode::Classic {
                let (factory, emitter) = tokio::join!(
                    sio_adapter_redis::RedisAdapterFactory::connect(cfg.clone()),
                    sio_adapter_redis::Emitter::connect(cfg),
                );
                let (factory, emitter) = (factory?, emitter?);
                tracing::info!("redis pub, sub and emitter connections ready");
                builder = builder.adapter(factory);
                sender = Sender::Redis(emitter);
            } else {
                // The emitter speaks the classic protocol only: with the sharded or streams
                // adapter, `send` goes through the adapter (so this server's own clients get
                // a send even while Redis is unreachable, and the error says the rest of
                // the cluster did not).
                let factory = sio_adapter_redis::RedisAdapterFactory::connect(cfg).await?;
                tracing::info!(mode = ?factory.config().mode(), "redis adapter ready");
                builder = builder.adapter(factory);
            }
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
    use super::flow::obj;
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
