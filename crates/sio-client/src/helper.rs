//! The client helper: the seed's `SocketIOClientHelper` over a [`Socket`].
//!
//! It connects when built (unless [`ClientConfig::auto_connect`] is off), tracks the
//! authenticate state the server helper drives (`authenticate` → `authenticated` /
//! `unauthenticated`), wraps subscriptions so a failing handler is logged instead of
//! breaking the connection, and sends room requests.
//!
//! Rooms asked for with [`ClientHelper::join_rooms`] are not remembered: after a
//! reconnection the server has a new socket in its default rooms only, as with the seed's
//! client and socket.io-client, which keep no room state either. Join them again in
//! [`ClientHelperBuilder::on_authenticated`], which runs after every (re)authentication.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};

use serde::de::DeserializeOwned;
use sio_types::constants::event;
use sio_types::value::from_value;
use sio_types::{ClientState, Value};

use crate::config::ClientConfig;
use crate::error::{Error, HelperError};
use crate::manager::{Flushed, Manager};
use crate::socket::{AckSender, DisconnectReason, Event, HandlerId, Socket, lock};

/// What a subscribed handler returns: an error is logged, never propagated.
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A subscription handler: receives the event with the helper.
pub type SubscribeHandler = Arc<dyn Fn(EventContext) -> HandlerResult + Send + Sync>;

/// A callback given the helper.
pub type HelperCallback = Arc<dyn Fn(&ClientHelper) + Send + Sync>;
/// A callback given the helper and the payload of `authenticated` / `unauthenticated`.
pub type PayloadCallback = Arc<dyn Fn(&ClientHelper, &Value) + Send + Sync>;
/// A callback given the helper and why it disconnected.
pub type DisconnectCallback = Arc<dyn Fn(&ClientHelper, &DisconnectReason) + Send + Sync>;
/// A callback given the helper and an error.
pub type ErrorCallback = Arc<dyn Fn(&ClientHelper, &Error) + Send + Sync>;

/// What a [`ClientHelper::subscribe`] handler receives: the event, a way to answer the
/// server's ack, and the helper itself, so a handler can emit, join or leave rooms and
/// disconnect without capturing a clone of it.
///
/// ```no_run
/// # fn demo(helper: &sio_client::ClientHelper) {
/// use sio_client::Value;
///
/// helper.subscribe("kicked-from", |mut ctx| {
///     let room: String = ctx.arg(0)?;
///     ctx.helper().leave_rooms(&[room.as_str()]);
///     ctx.reply(vec![Value::from("left")]);
///     Ok(())
/// }, true);
/// # }
/// ```
#[derive(Debug)]
pub struct EventContext {
    helper: ClientHelper,
    event: Event,
}

impl EventContext {
    /// The event name.
    pub fn name(&self) -> &str {
        &self.event.name
    }

    /// The first argument, the seed's `data` (`null` when there is none).
    pub fn data(&self) -> &Value {
        self.event.args.first().unwrap_or(&Value::Null)
    }

    /// Every argument.
    pub fn args(&self) -> &[Value] {
        &self.event.args
    }

    /// Argument `i` decoded into `T` (a missing one decodes from `null`).
    pub fn arg<T: DeserializeOwned>(&self, i: usize) -> Result<T, sio_types::ValueError> {
        self.event.arg(i)
    }

    /// The helper the event came through.
    pub fn helper(&self) -> &ClientHelper {
        &self.helper
    }

    /// Answers the server's ack with `args`; `false` when it asked for none or it was
    /// answered already.
    pub fn reply(&mut self, args: Vec<Value>) -> bool {
        self.event.ack(args)
    }

    /// Takes the ack handle, to answer later from another task.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.event.take_ack()
    }
}

/// Builds a [`ClientHelper`]: the connection, the namespace and the lifecycle callbacks.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, ClientHelper};
///
/// let helper = ClientHelper::builder(ClientConfig::builder("http://127.0.0.1:3000").build())
///     .on_connected(|h| h.authenticate())
///     .on_authenticated(|_, data| println!("authenticated: {data:?}"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientHelperBuilder {
    config: ClientConfig,
    nsp: Option<String>,
    callbacks: Callbacks,
}

/// The lifecycle callbacks a helper keeps.
#[derive(Clone, Default)]
struct Callbacks {
    on_connected: Option<HelperCallback>,
    on_disconnected: Option<DisconnectCallback>,
    on_error: Option<ErrorCallback>,
    on_authenticated: Option<PayloadCallback>,
    on_unauthenticated: Option<PayloadCallback>,
}

impl fmt::Debug for ClientHelperBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHelperBuilder")
            .field("config", &self.config)
            .field("nsp", &self.nsp)
            .finish_non_exhaustive()
    }
}

impl ClientHelperBuilder {
    /// The namespace (`/` by default, or the path of the URL).
    pub fn nsp(mut self, nsp: impl Into<String>) -> Self {
        self.nsp = Some(nsp.into());
        self
    }
    /// Called on each (re)connection.
    pub fn on_connected(mut self, f: impl Fn(&ClientHelper) + Send + Sync + 'static) -> Self {
        self.callbacks.on_connected = Some(Arc::new(f));
        self
    }
    /// Called on each disconnection, after the state went back to `unauthorized`.
    pub fn on_disconnected(
        mut self,
        f: impl Fn(&ClientHelper, &DisconnectReason) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks.on_disconnected = Some(Arc::new(f));
        self
    }
    /// Called on connection errors and on bad input from the server.
    pub fn on_error(mut self, f: impl Fn(&ClientHelper, &Error) + Send + Sync + 'static) -> Self {
        self.callbacks.on_error = Some(Arc::new(f));
        self
    }
    /// Called when the server sends `authenticated`, after every (re)authentication.
    pub fn on_authenticated(
        mut self,
        f: impl Fn(&ClientHelper, &Value) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks.on_authenticated = Some(Arc::new(f));
        self
    }
    /// Called when the server sends `unauthenticated`.
    pub fn on_unauthenticated(
        mut self,
        f: impl Fn(&ClientHelper, &Value) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks.on_unauthenticated = Some(Arc::new(f));
        self
    }

    /// Creates the client and starts connecting (the seed's constructor + `configure()`);
    /// with [`ClientConfig::auto_connect`] off, nothing connects until
    /// [`ClientHelper::connect`]. Must be called inside a tokio runtime; fails only on
    /// invalid options.
    pub fn build(self) -> Result<ClientHelper, Error> {
        let endpoint = self.config.endpoint()?;
        let nsp = self.nsp.unwrap_or_else(|| endpoint.nsp.clone());
        let manager = Manager::start(self.config, endpoint);
        // Connects (auto_connect); the handlers below are in place before any answer can
        // arrive, as nothing awaits in between.
        let socket = manager.socket(&nsp);
        let helper = ClientHelper {
            inner: Arc::new(HelperInner {
                manager,
                socket,
                state: Mutex::new(ClientState::Unauthorized),
                callbacks: self.callbacks,
            }),
        };
        helper.configure();
        Ok(helper)
    }
}

struct HelperInner {
    manager: Manager,
    socket: Socket,
    state: Mutex<ClientState>,
    callbacks: Callbacks,
}

/// The seed's `SocketIOClientHelper`: a socket.io client with the authenticate flow,
/// guarded subscriptions and room requests. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sio_client::{ClientConfig, ClientHelper, ClientState, Value};
///
/// let helper = ClientHelper::builder(ClientConfig::builder("http://127.0.0.1:3000").build())
///     .on_connected(|h| h.authenticate())
///     .on_authenticated(|h, _| h.join_rooms(&["news"]))
///     .build()?;
/// helper.subscribe("news", |ctx| { println!("{:?}", ctx.data()); Ok(()) }, true);
/// if helper.state() == ClientState::Authenticated {
///     helper.emit("message", vec![Value::from("hello")])?;
///     let total: i64 = helper.emit_with_ack("sum", vec![Value::from(1), Value::from(2)]).await?;
/// }
/// helper.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientHelper {
    inner: Arc<HelperInner>,
}

impl fmt::Debug for ClientHelper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHelper")
            .field("socket", &self.inner.socket)
            .field("state", &self.state())
            .finish()
    }
}

fn with_helper(weak: &Weak<HelperInner>, f: impl FnOnce(&ClientHelper)) {
    if let Some(inner) = weak.upgrade() {
        f(&ClientHelper { inner });
    }
}

impl ClientHelper {
    /// A builder for a helper connecting as `config` says.
    pub fn builder(config: ClientConfig) -> ClientHelperBuilder {
        ClientHelperBuilder {
            config,
            nsp: None,
            callbacks: Callbacks::default(),
        }
    }

    /// Registers the lifecycle handlers. Handlers hold the helper weakly, so dropping every
    /// handle closes the connection.
    fn configure(&self) {
        let s = &self.inner.socket;
        let w = Arc::downgrade(&self.inner);
        s.on_connect(move || {
            with_helper(&w, |h| {
                tracing::info!(nsp = %h.inner.socket.nsp(), id = ?h.inner.socket.id(), "connected");
                if let Some(cb) = &h.inner.callbacks.on_connected {
                    cb(h);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on_disconnect(move |reason| {
            with_helper(&w, |h| {
                tracing::info!(reason = %reason, "disconnected");
                h.set_state(ClientState::Unauthorized);
                if let Some(cb) = &h.inner.callbacks.on_disconnected {
                    cb(h, reason);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on_error(move |err| {
            with_helper(&w, |h| {
                tracing::warn!(error = %err, "socket error");
                if let Some(cb) = &h.inner.callbacks.on_error {
                    cb(h, err);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on(event::AUTHENTICATED, move |ev| {
            with_helper(&w, |h| {
                h.set_state(ClientState::Authenticated);
                let data = ev.args.into_iter().next().unwrap_or_default();
                tracing::info!(data = ?data, "authenticated");
                if let Some(cb) = &h.inner.callbacks.on_authenticated {
                    cb(h, &data);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on(event::UNAUTHENTICATED, move |ev| {
            with_helper(&w, |h| {
                h.set_state(ClientState::Unauthorized);
                let data = ev.args.into_iter().next().unwrap_or_default();
                tracing::warn!(data = ?data, "unauthenticated");
                if let Some(cb) = &h.inner.callbacks.on_unauthenticated {
                    cb(h, &data);
                }
            })
        });
        s.on(event::PING, |ev| {
            tracing::debug!(data = ?ev.args.first(), "ping from server");
        });
    }

    fn set_state(&self, state: ClientState) {
        *lock(&self.inner.state) = state;
    }

    /// The authenticate state.
    pub fn state(&self) -> ClientState {
        *lock(&self.inner.state)
    }

    /// The raw socket, for what the helper does not cover.
    pub fn socket(&self) -> &Socket {
        &self.inner.socket
    }

    /// The connection manager.
    pub fn manager(&self) -> &Manager {
        &self.inner.manager
    }

    /// Whether the socket is connected.
    pub fn is_connected(&self) -> bool {
        self.inner.socket.connected()
    }

    /// Emits `authenticate`, moving to `authenticating`. Does nothing unless connected and
    /// `unauthorized`.
    pub fn authenticate(&self) {
        if !self.is_connected() {
            tracing::debug!("authenticate skipped: not connected");
            return;
        }
        {
            let mut st = lock(&self.inner.state);
            if *st != ClientState::Unauthorized {
                tracing::debug!(state = %*st, "authenticate skipped: state is not unauthorized");
                return;
            }
            *st = ClientState::Authenticating;
        }
        if let Err(e) = self.inner.socket.emit(event::AUTHENTICATE, Vec::new()) {
            tracing::warn!(error = %e, "could not emit authenticate");
            self.set_state(ClientState::Unauthorized);
        }
    }

    /// Subscribes `handler` to `event`; it gets an [`EventContext`]: the arguments
    /// ([`data`](EventContext::data) is the seed's first one), the ack to answer, and the
    /// helper. With `ignore_duplicate` (the seed's default) nothing is registered when
    /// `event` already has a handler, and `None` is returned. Errors and panics of the
    /// handler are caught and logged.
    ///
    /// As in the seed, the helper's own handlers count: `authenticated`, `unauthenticated`
    /// and `ping` already have one, so subscribing to them needs `ignore_duplicate = false`.
    pub fn subscribe<F>(&self, event: &str, handler: F, ignore_duplicate: bool) -> Option<HandlerId>
    where
        F: Fn(EventContext) -> HandlerResult + Send + Sync + 'static,
    {
        if ignore_duplicate && self.inner.socket.listener_count(event) > 0 {
            tracing::debug!(event, "subscribe skipped: event already has a handler");
            return None;
        }
        let name = event.to_owned();
        // Weak, as the lifecycle handlers: the socket's handlers must not keep the helper.
        let weak = Arc::downgrade(&self.inner);
        Some(self.inner.socket.on(event, move |event| {
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let ctx = EventContext {
                helper: ClientHelper { inner },
                event,
            };
            match catch_unwind(AssertUnwindSafe(|| handler(ctx))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(event = %name, error = %e, "subscribed handler failed")
                }
                Err(_) => tracing::error!(event = %name, "subscribed handler panicked"),
            }
        }))
    }

    /// Like [`subscribe`](Self::subscribe), decoding the first argument into `T` first; a
    /// payload of another shape is logged and skipped.
    pub fn subscribe_typed<T, F>(
        &self,
        event: &str,
        handler: F,
        ignore_duplicate: bool,
    ) -> Option<HandlerId>
    where
        T: DeserializeOwned,
        F: Fn(T, EventContext) -> HandlerResult + Send + Sync + 'static,
    {
        self.subscribe(
            event,
            move |ctx| {
                let typed: T = ctx.arg(0)?;
                handler(typed, ctx)
            },
            ignore_duplicate,
        )
    }

    /// Subscribes an async handler: each event spawns its future; a failure or panic of the
    /// future is logged.
    pub fn subscribe_async<F, Fut>(
        &self,
        event: &str,
        handler: F,
        ignore_duplicate: bool,
    ) -> Option<HandlerId>
    where
        F: Fn(EventContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let name = event.to_owned();
        self.subscribe(
            event,
            move |ctx| {
                let task = tokio::spawn(handler(ctx));
                let name = name.clone();
                tokio::spawn(async move {
                    match task.await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::error!(event = %name, error = %e, "subscribed handler failed"),
                        Err(e) => tracing::error!(event = %name, error = %e, "subscribed handler panicked"),
                    }
                });
                Ok(())
            },
            ignore_duplicate,
        )
    }

    /// Subscribes several handlers; returns each event with its handler id (`None` when
    /// skipped as a duplicate).
    pub fn subscribe_many(
        &self,
        events: impl IntoIterator<Item = (String, SubscribeHandler)>,
        ignore_duplicate: bool,
    ) -> Vec<(String, Option<HandlerId>)> {
        events
            .into_iter()
            .map(|(event, handler)| {
                let id = self.subscribe(&event, move |ctx| handler(ctx), ignore_duplicate);
                (event, id)
            })
            .collect()
    }

    /// Removes `handler` from `event`, or every handler of `event` when `None`. Does
    /// nothing when the event has no handler.
    pub fn unsubscribe(&self, event: &str, handler: Option<HandlerId>) {
        let s = &self.inner.socket;
        if s.listener_count(event) == 0 {
            return;
        }
        match handler {
            Some(id) => {
                s.off(id);
            }
            None => {
                s.off_all(event);
            }
        }
    }

    /// Removes every handler of each event.
    pub fn unsubscribe_many<S: AsRef<str>>(&self, events: impl IntoIterator<Item = S>) {
        for e in events {
            self.unsubscribe(e.as_ref(), None);
        }
    }

    /// Connects: the first time with [`ClientConfig::auto_connect`] off, or again after
    /// [`disconnect`](Self::disconnect).
    pub fn connect(&self) {
        self.inner.socket.connect();
    }

    /// Disconnects, keeping handlers and state. Await the result to know the packets
    /// emitted before were written.
    pub fn disconnect(&self) -> Flushed {
        self.inner.socket.disconnect()
    }

    /// The seed's checks before an emit: connected, and a topic.
    fn check_emit(&self, topic: &str) -> Result<(), HelperError> {
        if !self.is_connected() {
            return Err(HelperError::invalid_state());
        }
        if topic.is_empty() {
            return Err(HelperError::topic_required());
        }
        Ok(())
    }

    /// Emits `topic` with `args` (any number; build one from a serde type with
    /// [`sio_types::value::to_value`]). Fails with status 400 when not connected
    /// (`"Invalid socket client state to emit"`) or when `topic` is empty (`"Topic is
    /// required to emit"`), with 500 when the socket refuses it (a reserved name, a full
    /// buffer, a closed client).
    pub fn emit(&self, topic: &str, args: Vec<Value>) -> Result<(), HelperError> {
        self.check_emit(topic)?;
        tracing::debug!(topic, args = ?args, "emit");
        self.inner
            .socket
            .emit(topic, args)
            .map_err(HelperError::internal)
    }

    /// Emits `topic` with `args` and waits for the server's ack, within
    /// [`ClientConfig::ack_timeout`] (retried as [`ClientConfig::retries`] says). The ack's
    /// arguments decode into `R` as a sequence: a tuple (`(String, i64)`), a `Vec<Value>`
    /// for all of them raw, or a one-element tuple for one. Fails as
    /// [`emit`](Self::emit), and with 500 when the ack fails or does not decode.
    ///
    /// ```no_run
    /// # async fn demo(helper: sio_client::ClientHelper) -> Result<(), sio_client::HelperError> {
    /// use sio_client::Value;
    ///
    /// let (sum,): (i64,) = helper.emit_with_ack("sum", vec![Value::from(1), Value::from(2)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack<R: DeserializeOwned>(
        &self,
        topic: &str,
        args: Vec<Value>,
    ) -> Result<R, HelperError> {
        self.check_emit(topic)?;
        tracing::debug!(topic, args = ?args, "emit with ack");
        let reply = self
            .inner
            .socket
            .emit_with_ack(topic, args)
            .await
            .map_err(HelperError::internal)?;
        from_value(Value::Array(reply)).map_err(HelperError::internal)
    }

    fn rooms_request(&self, topic: &str, rooms: &[&str]) {
        if !self.is_connected() {
            tracing::warn!(topic, rooms = ?rooms, "not connected: room request skipped");
            return;
        }
        let list = Value::Array(rooms.iter().map(|r| Value::from(*r)).collect());
        let payload = Value::from_iter([("rooms", list)]);
        if let Err(e) = self.inner.socket.emit(topic, vec![payload]) {
            tracing::warn!(topic, error = %e, "room request failed");
        }
    }

    /// Asks the server to join `rooms` (`join` with `{rooms}`); warns and returns when not
    /// connected.
    pub fn join_rooms(&self, rooms: &[&str]) {
        self.rooms_request(event::JOIN, rooms);
    }

    /// Asks the server to leave `rooms` (`leave` with `{rooms}`); warns and returns when not
    /// connected.
    pub fn leave_rooms(&self, rooms: &[&str]) {
        self.rooms_request(event::LEAVE, rooms);
    }

    /// Removes every handler (the helper's own included), disconnects, and resets the state
    /// to `unauthorized`. Await the result to know the packets emitted before were written
    /// and the connection closed.
    pub fn shutdown(&self) -> Flushed {
        let s = &self.inner.socket;
        s.remove_all_listeners();
        let flushed = s.disconnect();
        self.set_state(ClientState::Unauthorized);
        flushed
    }
}
