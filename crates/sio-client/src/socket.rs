//! A socket: one namespace of a [`Manager`](crate::Manager)'s connection.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sio_types::{AckError, AckId, Packet, Value, ValueError};
use tokio::sync::{mpsc, oneshot};

use crate::config::ClientConfig;
use crate::error::Error;
use crate::manager::{CloseGuard, Cmd, Flushed};

/// Why a socket or its connection closed, as socket.io-client 4.8 names it: [`Display`](fmt::Display)
/// and [`as_str`](Self::as_str) give exactly its string (`"transport close"`, ...), so code
/// and logs ported from JavaScript compare the same; the error behind a
/// [`TransportError`](Self::TransportError) or [`ParseError`](Self::ParseError) is kept
/// apart, in [`description`](Self::description) (socket.io-client's second argument).
///
/// ```
/// use sio_client::{DisconnectReason, Error};
///
/// let r = DisconnectReason::TransportError(Error::Transport("connection reset".into()));
/// assert_eq!(r.to_string(), "transport error");
/// assert!(r.description().is_some());
/// assert_eq!(DisconnectReason::ForcedClose.as_str(), "forced close");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (`io server disconnect`); no reconnection.
    IoServerDisconnect,
    /// [`Socket::disconnect`] was called (`io client disconnect`).
    IoClientDisconnect,
    /// The connection was closed on purpose (`forced close`): [`Manager::close`], or the
    /// last socket of a manager left. Sockets only see it from [`Manager::close`].
    ///
    /// [`Manager::close`]: crate::Manager::close
    ForcedClose,
    /// The server sent nothing within pingInterval + pingTimeout (`ping timeout`).
    PingTimeout,
    /// The connection was closed (`transport close`): the server closed the session, or
    /// the WebSocket's TCP connection ended, which is also how a server process that died
    /// shows over WebSocket, as in socket.io-client.
    TransportClose,
    /// The transport failed (`transport error`): a polling request failed (a dead server,
    /// over polling), the WebSocket broke the protocol.
    TransportError(Error),
    /// The server sent something that could not be decoded (`parse error`).
    ParseError(Error),
}

impl DisconnectReason {
    /// socket.io-client's string for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError(_) => "transport error",
            DisconnectReason::ParseError(_) => "parse error",
        }
    }

    /// The error behind the reason, when there is one.
    pub fn description(&self) -> Option<&Error> {
        match self {
            DisconnectReason::TransportError(e) | DisconnectReason::ParseError(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one registered handler, to remove it with [`Socket::off`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandlerId(pub(crate) u64);

/// An event the server sent, as a handler receives it.
#[derive(Debug)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments after the name.
    pub args: Vec<Value>,
    ack: Option<AckSender>,
}

impl Event {
    /// Argument `i`, decoded into `T` with serde.
    ///
    /// A missing argument decodes from `null`, so `Option<T>` handles absent ones.
    pub fn arg<T: DeserializeOwned>(&self, i: usize) -> Result<T, ValueError> {
        sio_types::value::from_value(self.args.get(i).cloned().unwrap_or(Value::Null))
    }

    /// All the arguments decoded at once, as a tuple, a `Vec` or a struct of sequence form:
    /// `let (name, avatar): (String, bytes::Bytes) = ev.decode()?;`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        sio_types::value::from_value(Value::Array(self.args.clone()))
    }

    /// Whether the server waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the answer handle, to answer later (from another task).
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Answers the server's ack with `args`. Returns `false` when the server did not ask for
    /// one or it was already answered.
    pub fn ack(&mut self, args: Vec<Value>) -> bool {
        match self.ack.take() {
            Some(a) => a.send(args).is_ok(),
            None => false,
        }
    }
}

/// Answers one ack the server asked for (`socket.emitWithAck` on the server side).
#[derive(Debug)]
pub struct AckSender {
    nsp: String,
    id: AckId,
    cmd: mpsc::UnboundedSender<Cmd>,
}

impl AckSender {
    /// Sends the answer.
    pub fn send(self, args: Vec<Value>) -> Result<(), Error> {
        self.cmd
            .send(Cmd::Send(Packet::ack(self.nsp, self.id, args)))
            .map_err(|_| Error::Closed)
    }
}

pub(crate) type EventHandler = Arc<dyn Fn(Event) + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn() + Send + Sync>;
pub(crate) type DisconnectHandler = Arc<dyn Fn(&DisconnectReason) + Send + Sync>;
pub(crate) type ErrorHandler = Arc<dyn Fn(&Error) + Send + Sync>;
pub(crate) type AnyHandler = Arc<dyn Fn(&str, &[Value]) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Handlers {
    events: HashMap<String, Vec<(HandlerId, EventHandler)>>,
    connect: Vec<(HandlerId, ConnectHandler)>,
    disconnect: Vec<(HandlerId, DisconnectHandler)>,
    error: Vec<(HandlerId, ErrorHandler)>,
    any: Vec<(HandlerId, AnyHandler)>,
    any_outgoing: Vec<(HandlerId, AnyHandler)>,
}

/// Removes `id` from `list`, or every entry with `None`; returns how many went.
fn remove_any(list: &mut Vec<(HandlerId, AnyHandler)>, id: Option<HandlerId>) -> usize {
    let before = list.len();
    match id {
        Some(id) => list.retain(|(i, _)| *i != id),
        None => list.clear(),
    }
    before - list.len()
}

pub(crate) struct PendingAck {
    tx: oneshot::Sender<Vec<Value>>,
    /// Whether the packet left the client; only those are failed when the connection drops,
    /// buffered ones wait for the next connection, as socket.io-client does.
    sent: bool,
}

#[derive(Default)]
pub(crate) struct SockState {
    /// The application wants this socket connected (reconnect it after a loss).
    pub(crate) active: bool,
    pub(crate) connected: bool,
    /// A CONNECT was sent and not answered yet.
    pub(crate) connecting: bool,
    pub(crate) id: Option<String>,
    pub(crate) pid: Option<String>,
    pub(crate) last_offset: Option<String>,
    pub(crate) recovered: bool,
    pub(crate) buffer: VecDeque<Packet>,
}

struct Queued {
    event: String,
    args: Vec<Value>,
    reply: Option<oneshot::Sender<Result<Vec<Value>, Error>>>,
}

pub(crate) struct SocketInner {
    pub(crate) nsp: String,
    cmd: mpsc::UnboundedSender<Cmd>,
    config: Arc<ClientConfig>,
    auth: Mutex<Option<Value>>,
    pub(crate) state: Mutex<SockState>,
    handlers: Mutex<Handlers>,
    acks: Mutex<HashMap<AckId, PendingAck>>,
    next_ack: AtomicU64,
    next_handler: AtomicU64,
    retry_tx: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    /// Emits in the retry queue, bounded like the send buffer.
    queued: AtomicUsize,
}

/// Locks a mutex, recovering it when a panicking handler poisoned it: the data under these
/// locks stays consistent because no code panics while holding them.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn call_guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        tracing::error!(handler = what, "handler panicked; the panic was caught");
    }
}

impl SocketInner {
    pub(crate) fn new(
        nsp: String,
        cmd: mpsc::UnboundedSender<Cmd>,
        config: Arc<ClientConfig>,
        auth: Option<Value>,
    ) -> Arc<Self> {
        let inner = Arc::new(SocketInner {
            nsp,
            cmd,
            config,
            auth: Mutex::new(auth),
            state: Mutex::new(SockState::default()),
            handlers: Mutex::new(Handlers::default()),
            acks: Mutex::new(HashMap::new()),
            next_ack: AtomicU64::new(0),
            next_handler: AtomicU64::new(0),
            retry_tx: Mutex::new(None),
            queued: AtomicUsize::new(0),
        });
        if inner.config.retries > 0 {
            let (tx, rx) = mpsc::unbounded_channel();
            *lock(&inner.retry_tx) = Some(tx);
            tokio::spawn(retry_loop(Arc::downgrade(&inner), rx));
        }
        inner
    }

    fn enqueue(&self, item: Queued) -> Result<(), Error> {
        let n = self.queued.fetch_add(1, Ordering::SeqCst);
        if n >= self.config.max_buffered {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::BufferFull(n));
        }
        let sent = lock(&self.retry_tx)
            .as_ref()
            .map(|tx| tx.send(item).is_ok())
            .unwrap_or(false);
        if !sent {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The CONNECT payload: the auth, plus `pid` and `offset` to ask for recovery.
    pub(crate) fn connect_packet(&self) -> Packet {
        let auth = lock(&self.auth).clone();
        let st = lock(&self.state);
        let payload = match &st.pid {
            Some(pid) => {
                let mut map = match auth {
                    Some(Value::Object(m)) => m,
                    _ => Default::default(),
                };
                map.insert("pid".into(), Value::from(pid.clone()));
                map.insert("offset".into(), Value::from(st.last_offset.clone()));
                Some(Value::Object(map))
            }
            None => auth,
        };
        Packet::connect(self.nsp.clone(), payload)
    }

    /// The server accepted the CONNECT: returns the packets buffered while disconnected.
    pub(crate) fn on_connected(&self, payload: Option<&Value>) -> Vec<Packet> {
        let sid = payload.and_then(|p| p.get("sid")).and_then(Value::as_str);
        let pid = payload.and_then(|p| p.get("pid")).and_then(Value::as_str);
        let mut st = lock(&self.state);
        st.recovered = pid.is_some() && pid == st.pid.as_deref();
        st.pid = pid.map(str::to_owned);
        st.id = sid.map(str::to_owned);
        st.connected = true;
        st.connecting = false;
        st.buffer.drain(..).collect()
    }

    pub(crate) fn mark_sent(&self, id: AckId) {
        if let Some(p) = lock(&self.acks).get_mut(&id) {
            p.sent = true;
        }
    }

    pub(crate) fn answer_ack(&self, id: AckId, args: Vec<Value>) {
        match lock(&self.acks).remove(&id) {
            Some(p) => {
                let _ = p.tx.send(args);
            }
            None => tracing::debug!(nsp = %self.nsp, id, "ack for an unknown id ignored"),
        }
    }

    /// The connection is gone: sent packets will never be answered.
    pub(crate) fn fail_sent_acks(&self) {
        lock(&self.acks).retain(|_, p| !p.sent);
    }

    /// Marks the socket disconnected; `true` if it was connected.
    pub(crate) fn set_disconnected(&self, deactivate: bool) -> bool {
        let mut st = lock(&self.state);
        let was = st.connected;
        st.connected = false;
        st.connecting = false;
        st.id = None;
        if deactivate {
            st.active = false;
        }
        drop(st);
        self.fail_sent_acks();
        was
    }

    pub(crate) fn rebuffer(&self, packet: Packet) {
        let mut st = lock(&self.state);
        if st.buffer.len() < self.config.max_buffered {
            st.buffer.push_back(packet);
        } else {
            tracing::warn!(nsp = %self.nsp, "send buffer full, packet dropped");
        }
    }

    pub(crate) fn dispatch_event(&self, event: String, args: Vec<Value>, ack: Option<AckId>) {
        {
            let mut st = lock(&self.state);
            if st.pid.is_some()
                && let Some(Value::String(offset)) = args.last()
            {
                st.last_offset = Some(offset.clone());
            }
        }
        let (any, handlers): (Vec<AnyHandler>, Vec<EventHandler>) = {
            let h = lock(&self.handlers);
            (
                h.any.iter().map(|(_, h)| h.clone()).collect(),
                h.events
                    .get(&event)
                    .map(|v| v.iter().map(|(_, h)| h.clone()).collect())
                    .unwrap_or_default(),
            )
        };
        // Catch-all listeners run before the event's own, as in socket.io-client.
        for h in any {
            call_guarded("any", || h(&event, &args));
        }
        if handlers.is_empty() {
            tracing::debug!(nsp = %self.nsp, event = %event, "event without handler");
        }
        let mut ack = ack.map(|id| AckSender {
            nsp: self.nsp.clone(),
            id,
            cmd: self.cmd.clone(),
        });
        for h in handlers {
            // Only the first handler gets the answer handle, as only one answer can be sent.
            let ev = Event {
                name: event.clone(),
                args: args.clone(),
                ack: ack.take(),
            };
            call_guarded(&event, || h(ev));
        }
    }

    /// Tells the outgoing catch-all listeners about an event that is leaving the client now.
    pub(crate) fn notify_outgoing(&self, event: &str, args: &[Value]) {
        let hs: Vec<AnyHandler> = lock(&self.handlers)
            .any_outgoing
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for h in hs {
            call_guarded("any outgoing", || h(event, args));
        }
    }

    pub(crate) fn emit_connect(&self) {
        let hs: Vec<ConnectHandler> = lock(&self.handlers)
            .connect
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for h in hs {
            call_guarded("connect", || h());
        }
    }

    pub(crate) fn emit_disconnect(&self, reason: &DisconnectReason) {
        let hs: Vec<DisconnectHandler> = lock(&self.handlers)
            .disconnect
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        for h in hs {
            call_guarded("disconnect", || h(reason));
        }
    }

    pub(crate) fn emit_error(&self, error: &Error) {
        let hs: Vec<ErrorHandler> = lock(&self.handlers)
            .error
            .iter()
            .map(|(_, h)| h.clone())
            .collect();
        if hs.is_empty() {
            tracing::warn!(nsp = %self.nsp, error = %error, "socket error without error handler");
        }
        for h in hs {
            call_guarded("error", || h(error));
        }
    }

    fn handler_id(&self) -> HandlerId {
        HandlerId(self.next_handler.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends now if connected, else buffers.
    fn send_or_buffer(&self, packet: Packet) -> Result<(), Error> {
        if self.cmd.is_closed() {
            return Err(Error::Closed);
        }
        let mut st = lock(&self.state);
        if st.connected {
            drop(st);
            self.cmd.send(Cmd::Send(packet)).map_err(|_| Error::Closed)
        } else if st.buffer.len() >= self.config.max_buffered {
            Err(Error::BufferFull(st.buffer.len()))
        } else {
            st.buffer.push_back(packet);
            Ok(())
        }
    }

    /// Sends now if connected, else drops the packet: a volatile emit is never buffered.
    /// Returns whether it was handed to the connection task.
    fn send_volatile(&self, packet: Packet) -> Result<bool, Error> {
        if self.cmd.is_closed() {
            return Err(Error::Closed);
        }
        if !lock(&self.state).connected {
            tracing::debug!(nsp = %self.nsp, "volatile packet dropped: not connected");
            return Ok(false);
        }
        // The connection task drops it too if the connection is lost before it gets there.
        self.cmd
            .send(Cmd::SendVolatile(packet))
            .map(|()| true)
            .map_err(|_| Error::Closed)
    }

    /// A volatile packet waiting for `id` was dropped: its ack can never come.
    pub(crate) fn drop_ack(&self, id: AckId) {
        lock(&self.acks).remove(&id);
    }

    async fn emit_with_ack_once(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        volatile: bool,
    ) -> Result<Vec<Value>, Error> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.acks).insert(id, PendingAck { tx, sent: false });
        let packet = Packet::event(self.nsp.clone(), event, args).with_ack(id);
        let sent = if volatile {
            match self.send_volatile(packet) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::Ack(AckError::Send(
                    "volatile packet dropped: not connected".into(),
                ))),
                Err(e) => Err(e),
            }
        } else {
            self.send_or_buffer(packet)
        };
        if let Err(e) = sent {
            lock(&self.acks).remove(&id);
            return Err(e);
        }
        let result = match timeout {
            Some(t) => match tokio::time::timeout(t, rx).await {
                Ok(r) => r.map_err(|_| AckError::Disconnected),
                Err(_) => Err(AckError::Timeout),
            },
            None => rx.await.map_err(|_| AckError::Disconnected),
        };
        if result.is_err() {
            lock(&self.acks).remove(&id);
        }
        result.map_err(Error::Ack)
    }
}

/// Sends queued emits one at a time, each until the server acknowledges it or its tries run
/// out: socket.io-client's `retries` semantics (at-least-once, in order).
async fn retry_loop(socket: Weak<SocketInner>, mut rx: mpsc::UnboundedReceiver<Queued>) {
    while let Some(item) = rx.recv().await {
        let Some(inner) = socket.upgrade() else {
            return;
        };
        let retries = inner.config.retries;
        let timeout = inner.config.ack_timeout;
        let mut tries = 0u32;
        let result = loop {
            tries += 1;
            match inner
                .emit_with_ack_once(&item.event, item.args.clone(), timeout, false)
                .await
            {
                Ok(args) => break Ok(args),
                Err(e @ (Error::Closed | Error::BufferFull(_))) => break Err(e),
                Err(e) if tries > retries => break Err(e),
                Err(e) => {
                    // While disconnected the next try waits in the send buffer and goes out
                    // on reconnection; a server may see a packet twice (at-least-once).
                    tracing::debug!(event = %item.event, tries, error = %e, "emit not acknowledged, retrying");
                    continue;
                }
            }
        };
        inner.queued.fetch_sub(1, Ordering::SeqCst);
        match item.reply {
            Some(tx) => {
                let _ = tx.send(result);
            }
            None => {
                if let Err(e) = result {
                    tracing::warn!(event = %item.event, error = %e, "emit dropped after its retries");
                }
            }
        }
    }
}

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
/// [`Manager::socket`](crate::Manager::socket) or [`ClientConfig::connect`].
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, Value};
///
/// let socket = ClientConfig::new("http://127.0.0.1:3000").connect().await?;
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
    /// With [`ClientConfig::retries`] set, the emit is retried until the server acks it.
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

    /// Emits `event` and waits for the server's ack, within [`ClientConfig::ack_timeout`]
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
    /// let socket = sio_client::ClientConfig::new("http://127.0.0.1:3000").connect().await?;
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
    /// let socket = sio_client::ClientConfig::new("http://127.0.0.1:3000").connect().await?;
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
    /// positions or typing notices. It bypasses [`ClientConfig::retries`].
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
    /// let socket = sio_client::ClientConfig::new("http://127.0.0.1:3000").connect().await?;
    /// socket.volatile().emit("cursor", vec![Value::from(10), Value::from(20)])?;
    /// # Ok(()) }
    /// ```
    pub fn volatile(&self) -> Emitter<'_> {
        Emitter {
            socket: self,
            volatile: true,
            compress: true,
        }
    }

    /// An emit with socket.io-client's per-packet `compress` flag (`socket.compress(false)`).
    /// See [`Emitter::compress`] for what it changes here: nothing on the wire.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::Value;
    ///
    /// let socket = sio_client::ClientConfig::new("http://127.0.0.1:3000").connect().await?;
    /// socket.compress(false).volatile().emit("frame", vec![Value::from("...")])?;
    /// # Ok(()) }
    /// ```
    pub fn compress(&self, compress: bool) -> Emitter<'_> {
        Emitter {
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

/// An emit with per-packet flags, from [`Socket::volatile`] or [`Socket::compress`].
///
/// The flags apply to this emit only, as socket.io-client's do.
#[derive(Debug, Clone, Copy)]
#[must_use = "an Emitter sends nothing until `emit` is called"]
pub struct Emitter<'a> {
    socket: &'a Socket,
    volatile: bool,
    compress: bool,
}

impl Emitter<'_> {
    /// Makes this emit volatile: see [`Socket::volatile`].
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sets the `compress` flag (default `true`).
    ///
    /// socket.io-client hands it to the transport, where only Node's WebSocket uses it, to
    /// choose per-message deflate for the frame. Here every packet goes out uncompressed
    /// whatever the flag says (docs/compatibility.md, client section): it is kept so code
    /// ported from JavaScript compiles and reads the same, and [`is_compressed`](Self::is_compressed)
    /// reports it.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Whether the emit is volatile.
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// The `compress` flag as set (it has no effect on the wire, see [`compress`](Self::compress)).
    pub fn is_compressed(&self) -> bool {
        self.compress
    }

    /// Emits `event` with `args`. A volatile emit while the socket is not connected is
    /// dropped and still returns `Ok(())`, as socket.io-client discards it silently; other
    /// emits behave as [`Socket::emit`].
    pub fn emit(self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        if !self.volatile {
            return self.socket.emit(event, args);
        }
        refuse_reserved(event)?;
        let inner = &self.socket.inner;
        inner
            .send_volatile(Packet::event(inner.nsp.clone(), event, args))
            .map(|_| ())
    }

    /// Emits `event` and waits for the server's ack within [`ClientConfig::ack_timeout`].
    /// A volatile emit is not retried, and fails at once with [`AckError::Send`] when it is
    /// dropped because the socket is not connected ([`AckError::Disconnected`] when the
    /// connection went away between the emit and the send); other emits behave as
    /// [`Socket::emit_with_ack`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::Value;
    ///
    /// let socket = sio_client::ClientConfig::new("http://127.0.0.1:3000").connect().await?;
    /// let reply = socket.volatile().emit_with_ack("ping", vec![Value::from(1)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack(self, event: &str, args: Vec<Value>) -> Result<Vec<Value>, Error> {
        if !self.volatile {
            return self.socket.emit_with_ack(event, args).await;
        }
        refuse_reserved(event)?;
        let inner = &self.socket.inner;
        inner
            .emit_with_ack_once(event, args, inner.config.ack_timeout, true)
            .await
    }

    /// Emits `event` with one argument serialized from `data`, as [`emit`](Self::emit).
    pub fn emit_serde<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), Error> {
        self.emit(event, vec![sio_types::value::to_value(data)?])
    }
}
