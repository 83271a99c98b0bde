//! Sockets: one client connected to one namespace.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use sio_types::IntoRoom;
use sio_types::constants::is_reserved_event;
use sio_types::value::to_value;
use sio_types::{
    AckError, AckId, BroadcastFlags, BroadcastOptions, Handshake, Packet, Room, SocketId, Value,
};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::ack::{AckSender, AckSlot, PendingAcks, wait_one};
use crate::engine::Conn;
use crate::error::EmitError;
use crate::extensions::Extensions;
use crate::handler::{Args, BoxedEventHandler, DisconnectFn, box_event, call_guarded, run_guarded};
use crate::namespace::NamespaceInner;
use crate::operators::BroadcastOperator;
use crate::outbox::{self, Encoded};

/// Why a socket left its namespace, with socket.io's reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// `server namespace disconnect`: the server called [`Socket::disconnect`].
    ServerNamespaceDisconnect,
    /// `client namespace disconnect`: the client left the namespace.
    ClientNamespaceDisconnect,
    /// `server shutting down`.
    ServerShuttingDown,
    /// `ping timeout`: the client stopped answering heartbeats.
    PingTimeout,
    /// `transport close`: the connection was closed (the user left, the network dropped).
    TransportClose,
    /// `transport error`: the connection failed, or the socket was a slow consumer.
    TransportError,
    /// `parse error`: the client sent a packet that could not be decoded.
    ParseError,
    /// `forced close`: the connection was closed by the server.
    ForcedClose,
    /// `forced server close`: the server closed the connection of all namespaces.
    ForcedServerClose,
}

impl DisconnectReason {
    /// socket.io's string for this reason.
    ///
    /// ```
    /// use sio_server::DisconnectReason;
    /// assert_eq!(DisconnectReason::PingTimeout.as_str(), "ping timeout");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether socket.io keeps the session for connection state recovery after this reason.
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::ForcedClose
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedServerClose
        )
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An EVENT packet from the client, on its way to the handler.
pub(crate) struct IncomingEvent {
    pub(crate) event: String,
    pub(crate) args: Vec<Value>,
    pub(crate) ack: Option<AckId>,
}

pub(crate) struct SocketInner {
    pub(crate) id: SocketId,
    pub(crate) pid: Option<Box<str>>,
    pub(crate) ns: Arc<NamespaceInner>,
    pub(crate) conn: Arc<Conn>,
    pub(crate) auth: Value,
    pub(crate) issued: i64,
    pub(crate) recovered: bool,
    handlers: RwLock<HashMap<Box<str>, BoxedEventHandler>>,
    disconnecting: Mutex<Vec<DisconnectFn>>,
    disconnect: Mutex<Vec<DisconnectFn>>,
    pub(crate) acks: PendingAcks,
    /// Events that arrived while the connect flow ran, in order (`None` once it finished:
    /// events then go straight to their handlers). They count as pending on the
    /// connection.
    early: Mutex<Option<VecDeque<IncomingEvent>>>,
    /// Set once the CONNECT answer went out; until then emits are held in `pre_connect`.
    connected: AtomicBool,
    closed: AtomicBool,
    pre_connect: Mutex<Option<Held>>,
    extensions: Extensions,
    data: Mutex<Value>,
}

/// Packets emitted before the CONNECT answer, with their total size.
#[derive(Default)]
struct Held {
    packets: Vec<(Encoded, bool)>,
    bytes: usize,
}

/// One client connected to one namespace. Cheap to clone (a reference).
///
/// Register event handlers with [`on`](Socket::on), answer with [`emit`](Socket::emit),
/// group sockets with [`join`](Socket::join), broadcast with [`to`](Socket::to).
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("nsp", &self.inner.ns.path)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// One started event of a socket; counts it done on its connection when dropped, however
/// the handler ends.
struct Pending(Socket);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.inner.conn.data().release(1);
    }
}

pub(crate) struct NewSocket {
    pub(crate) id: SocketId,
    pub(crate) pid: Option<Box<str>>,
    pub(crate) auth: Value,
    pub(crate) data: Value,
    pub(crate) recovered: bool,
}

impl Socket {
    pub(crate) fn new(ns: Arc<NamespaceInner>, conn: Arc<Conn>, new: NewSocket) -> Socket {
        Socket {
            inner: Arc::new(SocketInner {
                id: new.id,
                pid: new.pid,
                ns,
                conn,
                auth: new.auth,
                issued: crate::handshake::now_ms(),
                recovered: new.recovered,
                handlers: RwLock::default(),
                disconnecting: Mutex::default(),
                disconnect: Mutex::default(),
                acks: PendingAcks::default(),
                // Until the connect flow finishes, events wait here: none is lost nor
                // handled before the connection handler registered its handlers.
                early: Mutex::new(Some(VecDeque::new())),
                connected: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                pre_connect: Mutex::new(Some(Held::default())),
                extensions: Extensions::default(),
                data: Mutex::new(new.data),
            }),
        }
    }

    /// The socket id (also the name of its private room).
    pub fn id(&self) -> SocketId {
        self.inner.id
    }

    /// The namespace path, e.g. `/`.
    pub fn ns(&self) -> &str {
        &self.inner.ns.path
    }

    /// The namespace this socket belongs to.
    pub fn namespace(&self) -> crate::Namespace {
        crate::Namespace {
            inner: self.inner.ns.clone(),
        }
    }

    pub(crate) fn ns_path(&self) -> String {
        self.inner.ns.path.clone()
    }

    /// The handshake: headers, query, address, time and the auth payload of the CONNECT
    /// packet. Built on each call from the request kept by the connection, so sockets do
    /// not hold a second copy of the headers.
    pub fn handshake(&self) -> Handshake {
        crate::handshake::build(
            self.inner.conn.request(),
            self.inner.conn.remote_addr(),
            self.inner.issued,
            self.inner.auth.clone(),
        )
    }

    /// The auth payload the client sent with its CONNECT packet (`io({auth})`), or an
    /// empty object `{}` when it sent none, as socket.io's `handshake.auth` is: a lookup
    /// such as `socket.auth().get("token")` never needs to check for null first.
    pub fn auth(&self) -> &Value {
        &self.inner.auth
    }

    /// Whether this socket was restored by connection state recovery (socket.io's
    /// `socket.recovered`).
    pub fn recovered(&self) -> bool {
        self.inner.recovered
    }

    /// Whether the socket is connected (CONNECT answered, not yet disconnected).
    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire) && !self.inner.closed.load(Ordering::Acquire)
    }

    /// The engine.io transport in use: `"polling"` or `"websocket"`.
    pub fn transport(&self) -> &'static str {
        self.inner.conn.transport().as_str()
    }

    /// Per-socket typed state.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// The application data of the socket (socket.io's `socket.data`), returned by
    /// `fetch_sockets` and kept by connection state recovery.
    pub fn data(&self) -> Value {
        self.inner
            .data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces [`data`](Socket::data).
    pub fn set_data(&self, data: Value) {
        *self.inner.data.lock().unwrap_or_else(|e| e.into_inner()) = data;
        if let Some(o) = self.inner.ns.counters.watch.get() {
            o.socket_data(self);
        }
    }

    /// Registers the handler of `event`, replacing any previous one.
    ///
    /// Handlers of one socket start in the order their events arrived; what a handler does
    /// before its first `.await` keeps that order. A handler that waits does not hold back
    /// the socket's later events, as with listeners in Node; with `max_pending_events` of
    /// them waiting, the server reads nothing more from the client until one is done. A
    /// handler may await `emit_with_ack` on its own socket.
    ///
    /// ```no_run
    /// # fn f(socket: sio_server::Socket) {
    /// socket.on("message", |socket, args, ack| async move {
    ///     let _ = socket.emit_args("message-back", args.0.clone());
    ///     if let Some(ack) = ack {
    ///         let _ = ack.send_args(args.0);
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Socket, Args, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut map = self
            .inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner());
        map.insert(event.into().into_boxed_str(), box_event(handler));
    }

    /// Removes the handler of `event`.
    pub fn off(&self, event: &str) {
        let mut map = self
            .inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner());
        map.remove(event);
    }

    /// Called once when the socket starts to disconnect, while it is still in its rooms.
    pub fn on_disconnecting(&self, f: impl FnOnce(Socket, DisconnectReason) + Send + 'static) {
        self.inner
            .disconnecting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(f));
    }

    /// Called once when the socket has disconnected (rooms left, pending acks failed).
    pub fn on_disconnect(&self, f: impl FnOnce(Socket, DisconnectReason) + Send + 'static) {
        let mut v = self
            .inner
            .disconnect
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Registered after the socket closed: nothing would ever call it.
        if !self.inner.closed.load(Ordering::Acquire) {
            v.push(Box::new(f));
        }
    }

    /// Emits `event` with one argument.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let v = to_value(data)?;
        self.emit_args(event, vec![v])
    }

    /// Emits `event` with these arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.emit_with_flags(event, args, BroadcastFlags::default())
    }

    /// Emits `event` with these arguments and flags (`volatile`, `compress`).
    pub fn emit_with_flags(
        &self,
        event: &str,
        args: Vec<Value>,
        flags: BroadcastFlags,
    ) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        if let Some(o) = self.inner.ns.counters.watch.get() {
            o.event_sent(self, event, &args);
        }
        let packet = Packet::event(self.ns_path(), event, args);
        if self.inner.ns.recovery.is_some() && !flags.volatile {
            // Through the namespace so the packet gets its offset and is kept for recovery.
            let mut opts = BroadcastOptions::socket(self.inner.id);
            opts.flags = flags;
            crate::recovery::emit(&self.inner.ns, packet, opts);
            return Ok(());
        }
        self.send_packet(&packet, flags.volatile)
    }

    /// Emits `event` with one argument and waits for the client's ack (the server's
    /// `ack_timeout`). Fails on timeout or when the socket disconnects first.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Args, AckError> {
        let v = to_value(data)?;
        self.emit_args_with_ack(event, vec![v], None).await
    }

    /// Emits `event` with these arguments and waits for the ack, at most `timeout` (the
    /// server's `ack_timeout` when `None`).
    pub async fn emit_args_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
    ) -> Result<Args, AckError> {
        if is_reserved_event(event) {
            return Err(EmitError::Reserved(event.to_owned()).into());
        }
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(AckError::Disconnected);
        }
        let timeout = timeout.unwrap_or(self.inner.ns.config.ack_timeout);
        if let Some(o) = self.inner.ns.counters.watch.get() {
            o.event_sent(self, event, &args);
        }
        let id = self.inner.ns.next_ack_id();
        let (tx, rx) = oneshot::channel();
        self.inner
            .acks
            .insert(id, AckSlot::One(tx), Instant::now() + timeout);
        let packet = Packet::event(self.ns_path(), event, args).with_ack(id);
        if let Err(e) = self.send_packet(&packet, false) {
            self.inner.acks.remove(id);
            return Err(e.into());
        }
        wait_one(self, id, rx, timeout).await.map(Args)
    }

    /// Joins `room` (adding it to the cluster through the adapter's room hooks).
    pub fn join(&self, room: impl IntoRoom) {
        self.inner
            .ns
            .join(self.inner.id, std::slice::from_ref(&room.into_room()));
    }

    /// Joins several rooms.
    pub fn join_many(&self, rooms: impl IntoIterator<Item = impl IntoRoom>) {
        let rooms: Vec<Room> = rooms.into_iter().map(IntoRoom::into_room).collect();
        self.inner.ns.join(self.inner.id, &rooms);
    }

    /// Leaves `room`.
    pub fn leave(&self, room: impl IntoRoom) {
        self.inner
            .ns
            .leave(self.inner.id, std::slice::from_ref(&room.into_room()));
    }

    /// Leaves every room but its own.
    pub fn leave_all(&self) {
        self.inner.ns.leave_all(self.inner.id);
    }

    /// The rooms of this socket, its own id first.
    pub fn rooms(&self) -> Vec<Room> {
        self.inner
            .ns
            .socket_rooms_of(self.inner.id)
            .unwrap_or_default()
    }

    /// A broadcast to `room`, leaving this socket out (socket.io's `socket.to(room)`).
    pub fn to(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Same as [`to`](Socket::to).
    pub fn within(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.to(room)
    }

    /// A broadcast to every socket but those of `room` and this one.
    pub fn except(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// A broadcast to the whole namespace but this socket (socket.io's `socket.broadcast`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.ns.clone()).except(self.inner.id.as_str().to_owned())
    }

    /// Leaves the namespace: sends DISCONNECT to the client (reason `server namespace
    /// disconnect`). With `close`, the whole connection closes too (every namespace).
    pub fn disconnect(&self, close: bool) {
        if self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        let packet = Packet::disconnect(self.ns_path());
        let _ = self.send_packet(&packet, false);
        self.close(DisconnectReason::ServerNamespaceDisconnect);
        if close {
            for s in self.inner.conn.data().sockets() {
                let _ = s.send_packet(&Packet::disconnect(s.ns_path()), false);
                s.close(DisconnectReason::ServerNamespaceDisconnect);
            }
            self.inner.conn.close(sio_engine::CloseReason::ForcedClose);
        }
    }

    /// Encodes and queues one packet for this socket.
    pub(crate) fn send_packet(&self, packet: &Packet, volatile: bool) -> Result<(), EmitError> {
        let enc = Encoded::encode(&self.inner.ns.config.parser, packet)?;
        self.send_encoded(&enc, volatile)
    }

    /// Queues an encoded packet: held until the CONNECT answer went out, then written to
    /// the connection.
    pub(crate) fn send_encoded(&self, enc: &Encoded, volatile: bool) -> Result<(), EmitError> {
        if !self.inner.connected.load(Ordering::Acquire) {
            let mut pre = self
                .inner
                .pre_connect
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(buf) = pre.as_mut() {
                // Held packets are bounded too, so a slow connection handler under a
                // broadcast storm cannot grow memory without bound. Half the connection's
                // queue: the flush after CONNECT must fit in it with the CONNECT answer and
                // the heartbeats.
                let cfg = &self.inner.ns.config;
                let too_many = buf.packets.len() >= (cfg.engine.max_buffered_packets / 2).max(1);
                // Same for bytes; one packet alone always fits, as on the connection.
                let too_big = buf.bytes > 0
                    && buf.bytes.saturating_add(enc.len())
                        > (cfg.engine.max_buffered_bytes / 2).max(1);
                if too_many || too_big {
                    let counters = &self.inner.ns.counters;
                    if volatile {
                        counters
                            .volatile_dropped
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        return Ok(());
                    }
                    counters
                        .full_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(sid = %self.inner.id, held = buf.packets.len(), held_bytes = buf.bytes, "too many packets or bytes held before the CONNECT answer, packet dropped");
                    return Err(EmitError::BufferFull);
                }
                buf.bytes = buf.bytes.saturating_add(enc.len());
                buf.packets.push((enc.clone(), volatile));
                return Ok(());
            }
        }
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(EmitError::Closed);
        }
        self.write(enc, volatile)
    }

    fn write(&self, enc: &Encoded, volatile: bool) -> Result<(), EmitError> {
        let cfg = &self.inner.ns.config;
        outbox::write(
            &self.inner.conn,
            enc,
            volatile,
            cfg.slow_consumer,
            &self.inner.ns.counters,
        )
    }

    /// Sends the CONNECT answer, then what was emitted meanwhile.
    pub(crate) fn finish_connect(&self, connect: &Packet) -> Result<(), EmitError> {
        let mut pre = self
            .inner
            .pre_connect
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let enc = Encoded::encode(&self.inner.ns.config.parser, connect)?;
        self.write(&enc, false)?;
        for (enc, volatile) in pre.take().unwrap_or_default().packets {
            self.write(&enc, volatile)?;
        }
        self.inner.connected.store(true, Ordering::Release);
        drop(pre);
        Ok(())
    }

    /// Hands an event to its handler: held back while the connect flow runs, else started
    /// at once (see [`start`](Self::start)).
    ///
    /// Every event counts as pending on the connection until it is done; at
    /// `max_pending_events` the engine stops reading the connection (the engine handler's
    /// `poll_ready`), so a burst is slowed down by TCP, never dropped.
    pub(crate) fn on_event(&self, ev: IncomingEvent) {
        if self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        if let Some(o) = self.inner.ns.counters.watch.get() {
            o.event_received(self, &ev.event, &ev.args);
        }
        self.inner.conn.data().hold();
        let ev = {
            let mut early = self.inner.early.lock().unwrap_or_else(|e| e.into_inner());
            match early.as_mut() {
                Some(q) => {
                    q.push_back(ev);
                    return;
                }
                None => ev,
            }
        };
        self.start(ev);
    }

    /// Runs the handler of `ev` (already counted pending) on the caller's task (the
    /// connection's reader) as far as it gets without waiting (see
    /// [`run_inline`](crate::handler::run_inline)); one that waits goes on in a task of
    /// its own, alongside the socket's later events, as listeners do in Node.
    ///
    /// So handlers start in the order their events arrived, and everything a handler does
    /// before its first `.await` (a broadcast's publish is queued there) keeps that order.
    /// A handler waiting for something (Redis confirming a broadcast, a database) never
    /// holds back the socket's later events. Most handlers (an ack, a broadcast, a room
    /// change) finish without waiting: the reader then reads the client's next frame only
    /// after the handler is done.
    fn start(&self, ev: IncomingEvent) {
        let pending = Pending(self.clone());
        // A panic in building the handler's future (dispatch guards the future itself) is
        // logged by run_inline; dropping `pending` still counts the event done.
        crate::handler::run_inline("event", async move {
            pending.0.dispatch(ev).await;
        });
    }

    /// Starts the events that arrived while the connect flow ran, in order; later ones go
    /// straight to their handlers.
    pub(crate) fn start_early_events(&self) {
        loop {
            let next = {
                let mut early = self.inner.early.lock().unwrap_or_else(|e| e.into_inner());
                match early.as_mut().and_then(VecDeque::pop_front) {
                    Some(ev) if !self.inner.closed.load(Ordering::Acquire) => ev,
                    Some(_) => {
                        // Closed meanwhile: this one and the rest are dropped.
                        let n = 1 + early.take().map_or(0, |q| q.len());
                        drop(early);
                        self.inner.conn.data().release(n);
                        return;
                    }
                    None => {
                        *early = None;
                        return;
                    }
                }
            };
            self.start(next);
        }
    }

    async fn dispatch(&self, ev: IncomingEvent) {
        let handler = {
            let map = self
                .inner
                .handlers
                .read()
                .unwrap_or_else(|e| e.into_inner());
            map.get(ev.event.as_str()).cloned()
        };
        let handler = handler.or_else(|| {
            let map = self
                .inner
                .ns
                .handlers
                .events
                .read()
                .unwrap_or_else(|e| e.into_inner());
            map.get(ev.event.as_str()).cloned()
        });
        let Some(handler) = handler else {
            tracing::trace!(sid = %self.inner.id, event = %ev.event, "no handler for event");
            return;
        };
        let ack = ev.ack.map(|id| AckSender::new(self.clone(), id));
        let fut = handler(self.clone(), Args(ev.args), ack);
        run_guarded(&ev.event, fut).await;
    }

    /// Drops the events held back by the connect flow (refused, or closed).
    pub(crate) fn discard_early_events(&self) {
        let dropped = self
            .inner
            .early
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.inner
            .conn
            .data()
            .release(dropped.map_or(0, |q| q.len()));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Leaves the namespace for `reason`: callbacks, rooms, pending acks, recovery.
    /// Runs once; later calls do nothing.
    pub(crate) fn close(&self, reason: DisconnectReason) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let was_connected = self.inner.connected.swap(false, Ordering::AcqRel);
        tracing::debug!(sid = %self.inner.id, nsp = %self.inner.ns.path, %reason, "socket disconnected");
        let disconnecting = std::mem::take(
            &mut *self
                .inner
                .disconnecting
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for f in disconnecting {
            call_guarded("disconnecting", || f(self.clone(), reason));
        }
        // Before its rooms are left, in the order Node's admin UI reports them.
        if let Some(o) = self.inner.ns.counters.watch.get()
            && self.inner.ns.get_socket(self.inner.id).is_some()
        {
            o.socket_disconnected(self, reason);
        }
        let rooms = self.inner.ns.remove_socket(self.inner.id);
        crate::engine::remove_socket(&self.inner.conn, self);
        self.inner.acks.fail_all();
        self.discard_early_events();
        if was_connected {
            crate::recovery::on_closed(self, reason.is_recoverable(), rooms);
        }
        let disconnect = std::mem::take(
            &mut *self
                .inner
                .disconnect
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        if was_connected {
            for f in disconnect {
                call_guarded("disconnect", || f(self.clone(), reason));
            }
        }
    }
}
