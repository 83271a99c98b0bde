//! A socket: one namespace of a [`Manager`](crate::Manager)'s connection.

mod event;
mod flagged;
mod reason;
mod state;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sio_types::{Packet, Value};
use tokio::sync::oneshot;

pub use event::{AckSender, Event};
pub use flagged::FlaggedEmit;
pub use reason::DisconnectReason;
use state::{Handlers, Queued, remove_any};
pub(crate) use state::{SocketInner, call_guarded, lock};

use crate::error::Error;
use crate::manager::{CloseGuard, Cmd, Flushed};

/// Identifies one registered handler, to remove it with [`Socket::off`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandlerId(pub(crate) u64);

/// Every emit path refuses socket.io's reserved names, as socket.io-client throws on them.
fn refuse_reserved(event: &str) -> Result<(), Error> {
    if sio_types::constants::is_reserved_event(event) {
        return Err(Error::ReservedEvent(event.to_owned()));
    }
    Ok(())
}

/// One namespace of a connection: emit events, register handlers, answer acks.
///
/// Cheap to clone; every clone is the same socket. Create it with
/// [`Manager::socket`](crate::Manager::socket) or [`ClientConfig::connect`](crate::ClientConfig::connect).
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, Value};
///
/// let socket = ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
/// socket.on("question", |mut ev| {
///     ev.ack(vec![Value::from(42)]);
/// });
/// socket.emit("hello", vec![Value::from("world")])?;
/// let answer = socket.emit_with_ack("sum", vec![Value::from(1), Value::from(2)]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
    pub(crate) _guard: Arc<CloseGuard>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.inner.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.inner.nsp
    }

    /// The socket id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        lock(&self.inner.state).id.clone()
    }

    /// Whether the namespace is connected.
    pub fn connected(&self) -> bool {
        lock(&self.inner.state).connected
    }

    /// Whether the last connection recovered the session (connection state recovery).
    pub fn recovered(&self) -> bool {
        lock(&self.inner.state).recovered
    }

    /// Whether the socket tries to be connected (it was connected by the application and
    /// not disconnected since).
    pub fn active(&self) -> bool {
        lock(&self.inner.state).active
    }

    /// Replaces the auth payload of the next CONNECTs.
    pub fn set_auth(&self, auth: Option<Value>) {
        *lock(&self.inner.auth) = auth;
    }

    /// Connects the namespace (opening the connection if needed). Returns at once; the
    /// `connect` handlers run when the server accepts.
    pub fn connect(&self) {
        lock(&self.inner.state).active = true;
        let _ = self.inner.cmd.send(Cmd::Connect(self.inner.clone()));
    }

    /// Waits until the socket is connected, or `timeout` passes. Returns whether it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Leaves the namespace and stops reconnecting it. Handlers stay registered. Await the
    /// result to know the packets emitted before, and the DISCONNECT, were written; the
    /// disconnect happens whether or not it is awaited.
    pub fn disconnect(&self) -> Flushed {
        lock(&self.inner.state).active = false;
        let (done, flushed) = Flushed::pair();
        let cmd = Cmd::Disconnect(self.inner.nsp.clone(), Some(done));
        if self.inner.cmd.send(cmd).is_err() {
            return Flushed::done();
        }
        flushed
    }

    /// Emits `event` with `args`. While disconnected the packet waits in a bounded buffer.
    /// With [`ClientConfig::retries`](crate::ClientConfig::retries) set, the emit is retried until the server acks it.
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        refuse_reserved(event)?;
        if self.inner.config.retries > 0 {
            return self.inner.enqueue(Queued {
                event: event.to_owned(),
                args,
                reply: None,
            });
        }
        self.inner
            .send_or_buffer(Packet::event(self.inner.nsp.clone(), event, args))
    }

    /// Emits `event` with one argument serialized from `data`.
    pub fn emit_serde<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Error> {
        self.emit(event, vec![sio_types::value::to_value(data)?])
    }

    /// Emits `event` and waits for the server's ack, within [`ClientConfig::ack_timeout`](crate::ClientConfig::ack_timeout)
    /// (retried as configured).
    pub async fn emit_with_ack(&self, event: &str, args: Vec<Value>) -> Result<Vec<Value>, Error> {
        refuse_reserved(event)?;
        if self.inner.config.retries > 0 {
            let (reply, rx) = oneshot::channel();
            self.inner.enqueue(Queued {
                event: event.to_owned(),
                args,
                reply: Some(reply),
            })?;
            return rx.await.map_err(|_| Error::Closed)?;
        }
        self.inner
            .emit_with_ack_once(event, args, self.inner.config.ack_timeout, false)
            .await
    }

    /// Emits `event` and waits at most `timeout` for the ack (no retries).
    pub async fn emit_with_ack_timeout(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, Error> {
        refuse_reserved(event)?;
        self.inner
            .emit_with_ack_once(event, args, Some(timeout), false)
            .await
    }

    /// Registers a handler for the server's `event`. Handlers run on the connection's task:
    /// keep them short and spawn for long work (take the [`AckSender`] along with
    /// [`Event::take_ack`]). A panicking handler is caught and logged. When several handlers
    /// share an event, only the first one registered can answer the server's ack.
    ///
    /// A handler that captures a clone of its own socket keeps the connection alive after
    /// every other handle is dropped: call [`Manager::close`](crate::Manager::close) or
    /// [`disconnect`](Self::disconnect) to end it.
    pub fn on<F>(&self, event: &str, handler: F) -> HandlerId
    where
        F: Fn(Event) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .events
            .entry(event.to_owned())
            .or_default()
            .push((id, Arc::new(handler)));
        id
    }

    /// Registers a handler called each time the namespace connects.
    pub fn on_connect<F: Fn() + Send + Sync + 'static>(&self, handler: F) -> HandlerId {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .connect
            .push((id, Arc::new(handler)));
        id
    }

    /// Registers a handler called each time the namespace disconnects.
    pub fn on_disconnect<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&DisconnectReason) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .disconnect
            .push((id, Arc::new(handler)));
        id
    }

    /// Registers a handler for errors: failed connection attempts, refused CONNECTs,
    /// malformed input from the server.
    pub fn on_error<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&Error) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .error
            .push((id, Arc::new(handler)));
        id
    }

    /// Registers a catch-all listener, called with the name and arguments of every event the
    /// server sends, before the event's own handlers (socket.io-client's `onAny`). It cannot
    /// answer the server's ack: that stays with the handlers of [`on`](Self::on).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
    /// let id = socket.on_any(|event, args| println!("got {event} with {args:?}"));
    /// // Later: stop logging.
    /// socket.off_any(Some(id));
    /// # Ok(()) }
    /// ```
    pub fn on_any<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&str, &[Value]) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers).any.push((id, Arc::new(handler)));
        id
    }

    /// Like [`on_any`](Self::on_any), but the listener runs before those already registered
    /// (socket.io-client's `prependAny`).
    pub fn prepend_any<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&str, &[Value]) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .any
            .insert(0, (id, Arc::new(handler)));
        id
    }

    /// Removes one catch-all listener, or all of them with `None` (socket.io-client's
    /// `offAny`). Returns how many were removed.
    pub fn off_any(&self, id: Option<HandlerId>) -> usize {
        remove_any(&mut lock(&self.inner.handlers).any, id)
    }

    /// Registers a listener called with the name and arguments of every event this socket
    /// sends, when the packet leaves the client: at once while connected, on reconnection
    /// for buffered ones, never for dropped volatile ones (socket.io-client's
    /// `onAnyOutgoing`). It runs on the connection's task: keep it short.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
    /// socket.on_any_outgoing(|event, args| println!("sent {event} with {args:?}"));
    /// socket.emit("hello", vec![])?;
    /// # Ok(()) }
    /// ```
    pub fn on_any_outgoing<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&str, &[Value]) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .any_outgoing
            .push((id, Arc::new(handler)));
        id
    }

    /// Like [`on_any_outgoing`](Self::on_any_outgoing), but the listener runs before those
    /// already registered (socket.io-client's `prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&str, &[Value]) + Send + Sync + 'static,
    {
        let id = self.inner.handler_id();
        lock(&self.inner.handlers)
            .any_outgoing
            .insert(0, (id, Arc::new(handler)));
        id
    }

    /// Removes one outgoing catch-all listener, or all of them with `None`
    /// (socket.io-client's `offAnyOutgoing`). Returns how many were removed.
    pub fn off_any_outgoing(&self, id: Option<HandlerId>) -> usize {
        remove_any(&mut lock(&self.inner.handlers).any_outgoing, id)
    }

    /// An emit that is dropped instead of buffered when the socket is not connected
    /// (socket.io-client's `socket.volatile.emit`): for data that is worthless late, such as
    /// positions or typing notices. It bypasses [`ClientConfig::retries`](crate::ClientConfig::retries).
    ///
    /// "Not connected" covers no connection, reconnecting, and a CONNECT not answered yet;
    /// it is checked when emitting and again when the connection task sends the packet.
    /// socket.io-client looks at the engine.io transport instead, so the two drop different
    /// packets at the edges (docs/compatibility.md, client section).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::Value;
    ///
    /// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
    /// socket.volatile().emit("cursor", vec![Value::from(10), Value::from(20)])?;
    /// # Ok(()) }
    /// ```
    pub fn volatile(&self) -> FlaggedEmit<'_> {
        FlaggedEmit {
            socket: self,
            volatile: true,
            compress: true,
        }
    }

    /// An emit with socket.io-client's per-packet `compress` flag (`socket.compress(false)`).
    /// See [`FlaggedEmit::compress`] for what it changes here: nothing on the wire.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::Value;
    ///
    /// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
    /// socket.compress(false).volatile().emit("frame", vec![Value::from("...")])?;
    /// # Ok(()) }
    /// ```
    pub fn compress(&self, compress: bool) -> FlaggedEmit<'_> {
        FlaggedEmit {
            socket: self,
            volatile: false,
            compress,
        }
    }

    /// Removes one handler. Returns whether it was registered.
    pub fn off(&self, id: HandlerId) -> bool {
        let mut h = lock(&self.inner.handlers);
        let mut found = false;
        for list in h.events.values_mut() {
            let before = list.len();
            list.retain(|(i, _)| *i != id);
            found |= list.len() != before;
        }
        h.events.retain(|_, l| !l.is_empty());
        let before = h.connect.len() + h.disconnect.len() + h.error.len();
        h.connect.retain(|(i, _)| *i != id);
        h.disconnect.retain(|(i, _)| *i != id);
        h.error.retain(|(i, _)| *i != id);
        found |= remove_any(&mut h.any, Some(id)) + remove_any(&mut h.any_outgoing, Some(id)) > 0;
        found || before != h.connect.len() + h.disconnect.len() + h.error.len()
    }

    /// Removes every handler of `event`. Returns how many there were.
    pub fn off_all(&self, event: &str) -> usize {
        lock(&self.inner.handlers)
            .events
            .remove(event)
            .map_or(0, |l| l.len())
    }

    /// Removes every handler: events, catch-alls, connect, disconnect and error.
    pub fn remove_all_listeners(&self) {
        *lock(&self.inner.handlers) = Handlers::default();
    }

    /// How many handlers `event` has.
    pub fn listener_count(&self, event: &str) -> usize {
        lock(&self.inner.handlers)
            .events
            .get(event)
            .map_or(0, Vec::len)
    }
}
