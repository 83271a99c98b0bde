//! The client helper: the seed's `SocketIOClientHelper` over a [`Socket`].
//!
//! It connects on creation, tracks the authenticate state the server helper drives
//! (`authenticate` → `authenticated` / `unauthenticated`), wraps subscriptions so a failing
//! handler is logged instead of breaking the connection, and sends room requests.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};

use serde::de::DeserializeOwned;
use sio_types::constants::event;
use sio_types::{ClientState, Value};

use crate::config::ClientConfig;
use crate::error::{Error, HelperError};
use crate::manager::Manager;
use crate::socket::{DisconnectReason, HandlerId, Socket, lock};

/// What a subscribed handler returns: an error is logged, never propagated.
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A subscription handler: receives the event's first argument (`null` when none).
pub type SubscribeHandler = Arc<dyn Fn(Value) -> HandlerResult + Send + Sync>;

/// A callback given the helper.
pub type HelperCallback = Arc<dyn Fn(&ClientHelper) + Send + Sync>;
/// A callback given the helper and the payload of `authenticated` / `unauthenticated`.
pub type PayloadCallback = Arc<dyn Fn(&ClientHelper, &Value) + Send + Sync>;
/// A callback given the helper and why it disconnected.
pub type DisconnectCallback = Arc<dyn Fn(&ClientHelper, &DisconnectReason) + Send + Sync>;
/// A callback given the helper and an error.
pub type ErrorCallback = Arc<dyn Fn(&ClientHelper, &Error) + Send + Sync>;
/// Called after an emit was handed to the connection.
pub type EmitCallback = Box<dyn FnOnce() + Send>;

/// Options of a [`ClientHelper`]: the connection and the lifecycle callbacks.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, ClientHelper, ClientHelperOptions, Value};
///
/// let helper = ClientHelper::new(
///     ClientHelperOptions::new(ClientConfig::new("http://127.0.0.1:3000"))
///         .on_connected(|h| h.authenticate())
///         .on_authenticated(|_, data| println!("authenticated: {data:?}")),
/// )?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientHelperOptions {
    /// Where and how to connect.
    pub config: ClientConfig,
    /// The namespace (`/` by default, or the path of the URL).
    pub nsp: Option<String>,
    /// Called on each (re)connection.
    pub on_connected: Option<HelperCallback>,
    /// Called on each disconnection, after the state went back to `unauthorized`.
    pub on_disconnected: Option<DisconnectCallback>,
    /// Called on connection errors and on bad input from the server.
    pub on_error: Option<ErrorCallback>,
    /// Called when the server sends `authenticated`.
    pub on_authenticated: Option<PayloadCallback>,
    /// Called when the server sends `unauthenticated`.
    pub on_unauthenticated: Option<PayloadCallback>,
}

impl fmt::Debug for ClientHelperOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHelperOptions")
            .field("config", &self.config)
            .field("nsp", &self.nsp)
            .finish_non_exhaustive()
    }
}

impl ClientHelperOptions {
    /// Options without callbacks.
    pub fn new(config: ClientConfig) -> Self {
        ClientHelperOptions {
            config,
            nsp: None,
            on_connected: None,
            on_disconnected: None,
            on_error: None,
            on_authenticated: None,
            on_unauthenticated: None,
        }
    }
    /// Sets the namespace.
    pub fn nsp(mut self, nsp: impl Into<String>) -> Self {
        self.nsp = Some(nsp.into());
        self
    }
    /// Sets the connected callback.
    pub fn on_connected(mut self, f: impl Fn(&ClientHelper) + Send + Sync + 'static) -> Self {
        self.on_connected = Some(Arc::new(f));
        self
    }
    /// Sets the disconnected callback.
    pub fn on_disconnected(
        mut self,
        f: impl Fn(&ClientHelper, &DisconnectReason) + Send + Sync + 'static,
    ) -> Self {
        self.on_disconnected = Some(Arc::new(f));
        self
    }
    /// Sets the error callback.
    pub fn on_error(mut self, f: impl Fn(&ClientHelper, &Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(f));
        self
    }
    /// Sets the authenticated callback.
    pub fn on_authenticated(
        mut self,
        f: impl Fn(&ClientHelper, &Value) + Send + Sync + 'static,
    ) -> Self {
        self.on_authenticated = Some(Arc::new(f));
        self
    }
    /// Sets the unauthenticated callback.
    pub fn on_unauthenticated(
        mut self,
        f: impl Fn(&ClientHelper, &Value) + Send + Sync + 'static,
    ) -> Self {
        self.on_unauthenticated = Some(Arc::new(f));
        self
    }
}

struct HelperInner {
    manager: Manager,
    socket: Socket,
    state: Mutex<ClientState>,
    opts: ClientHelperOptions,
}

/// The seed's `SocketIOClientHelper`: a socket.io client with the authenticate flow,
/// guarded subscriptions and room requests. Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use sio_client::{ClientConfig, ClientHelper, ClientHelperOptions, ClientState, Value};
///
/// let helper = ClientHelper::new(
///     ClientHelperOptions::new(ClientConfig::new("http://127.0.0.1:3000"))
///         .on_connected(|h| h.authenticate())
///         .on_authenticated(|h, _| h.join_rooms(&["news"])),
/// )?;
/// helper.subscribe("news", |data| { println!("{data:?}"); Ok(()) }, true);
/// if helper.state() == ClientState::Authenticated {
///     helper.emit("message", Value::from("hello"), true, None)?;
/// }
/// helper.shutdown();
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
    /// Creates the client and starts connecting (the seed's constructor + `configure()`).
    /// Must be called inside a tokio runtime; fails only on invalid options.
    pub fn new(opts: ClientHelperOptions) -> Result<Self, Error> {
        let endpoint = opts.config.endpoint()?;
        let nsp = opts.nsp.clone().unwrap_or_else(|| endpoint.nsp.clone());
        let manager = Manager::start(opts.config.clone(), endpoint);
        let socket = manager.socket(&nsp);
        let helper = ClientHelper {
            inner: Arc::new(HelperInner {
                manager,
                socket,
                state: Mutex::new(ClientState::Unauthorized),
                opts,
            }),
        };
        helper.configure();
        helper.inner.socket.connect();
        Ok(helper)
    }

    /// Registers the lifecycle handlers. Handlers hold the helper weakly, so dropping every
    /// handle closes the connection.
    fn configure(&self) {
        let s = &self.inner.socket;
        let w = Arc::downgrade(&self.inner);
        s.on_connect(move || {
            with_helper(&w, |h| {
                tracing::info!(nsp = %h.inner.socket.nsp(), id = ?h.inner.socket.id(), "connected");
                if let Some(cb) = &h.inner.opts.on_connected {
                    cb(h);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on_disconnect(move |reason| {
            with_helper(&w, |h| {
                tracing::info!(reason = %reason, "disconnected");
                h.set_state(ClientState::Unauthorized);
                if let Some(cb) = &h.inner.opts.on_disconnected {
                    cb(h, reason);
                }
            })
        });
        let w = Arc::downgrade(&self.inner);
        s.on_error(move |err| {
            with_helper(&w, |h| {
                tracing::warn!(error = %err, "socket error");
                if let Some(cb) = &h.inner.opts.on_error {
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
                if let Some(cb) = &h.inner.opts.on_authenticated {
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
                if let Some(cb) = &h.inner.opts.on_unauthenticated {
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

    /// Subscribes `handler` to `event`; it gets the first argument. With `ignore_duplicate`
    /// (the seed's default) nothing is registered when `event` already has a handler, and
    /// `None` is returned. Errors and panics of the handler are caught and logged.
    ///
    /// As in the seed, the helper's own handlers count: `authenticated`, `unauthenticated`
    /// and `ping` already have one, so subscribing to them needs `ignore_duplicate = false`.
    pub fn subscribe<F>(&self, event: &str, handler: F, ignore_duplicate: bool) -> Option<HandlerId>
    where
        F: Fn(Value) -> HandlerResult + Send + Sync + 'static,
    {
        if ignore_duplicate && self.inner.socket.listener_count(event) > 0 {
            tracing::debug!(event, "subscribe skipped: event already has a handler");
            return None;
        }
        let name = event.to_owned();
        Some(self.inner.socket.on(event, move |ev| {
            let data = ev.args.into_iter().next().unwrap_or_default();
            match catch_unwind(AssertUnwindSafe(|| handler(data))) {
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
        F: Fn(T) -> HandlerResult + Send + Sync + 'static,
    {
        self.subscribe(
            event,
            move |data| {
                let typed: T = sio_types::value::from_value(data)?;
                handler(typed)
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
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let name = event.to_owned();
        self.subscribe(
            event,
            move |data| {
                let task = tokio::spawn(handler(data));
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
                let id = self.subscribe(&event, move |v| handler(v), ignore_duplicate);
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

    /// Connects again after [`disconnect`](Self::disconnect).
    pub fn connect(&self) {
        self.inner.socket.connect();
    }

    /// Disconnects, keeping handlers and state.
    pub fn disconnect(&self) {
        self.inner.socket.disconnect();
    }

    /// Emits `topic` with `data`. Fails with status 400 when not connected
    /// (`"Invalid socket client state to emit"`) or when `topic` is empty (`"Topic is
    /// required to emit"`). With `log`, the emit is logged; `callback` runs on a separate
    /// task once the packet is handed to the connection.
    pub fn emit(
        &self,
        topic: &str,
        data: impl Into<Value>,
        log: bool,
        callback: Option<EmitCallback>,
    ) -> Result<(), HelperError> {
        if !self.is_connected() {
            return Err(HelperError::invalid_state());
        }
        if topic.is_empty() {
            return Err(HelperError::topic_required());
        }
        let data = data.into();
        if log {
            tracing::info!(topic, data = ?data, "emit");
        }
        self.inner
            .socket
            .emit(topic, vec![data])
            .map_err(HelperError::internal)?;
        if let Some(cb) = callback {
            tokio::spawn(async move { cb() });
        }
        Ok(())
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
    /// to `unauthorized`.
    pub fn shutdown(&self) {
        let s = &self.inner.socket;
        s.remove_all_listeners();
        s.disconnect();
        self.set_state(ClientState::Unauthorized);
    }
}
