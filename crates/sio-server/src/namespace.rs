//! Namespaces: the sockets of one path, their rooms, and the adapter that spreads
//! operations over the cluster.
//!
//! The room index lives here and implements [`LocalNamespace`], the half of the adapter
//! contract that acts on this process. Every public operation goes through the namespace's
//! [`Adapter`], so a cluster adapter (Redis) drops in with no change to this module.
//!
//! A socket's private room (its id) is not stored in the index: it is answered from the
//! socket table, which keeps idle sockets small.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use sio_types::IntoRoom;
use sio_types::{
    AckResponse, Adapter, AdapterError, AdapterFactory, BroadcastOptions, ConnectError, LocalAcks,
    LocalNamespace, Packet, Room, ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::sync::{OnceCell, mpsc};
use tokio::time::Instant;

use crate::ack::{AckSlot, ack_stream};
use crate::config::ServerConfig;
use crate::handler::{
    BoxedConnectHandler, BoxedMiddleware, ServerSideHandler, box_middleware, run_guarded,
};
use crate::operators::BroadcastOperator;
use crate::outbox::{Counters, Encoded};
use crate::recovery::RecoveryStore;
use crate::socket::Socket;

/// Handlers of a namespace; dynamic namespaces share their parent's.
#[derive(Default)]
pub(crate) struct NsHandlers {
    pub(crate) connect: RwLock<Option<BoxedConnectHandler>>,
    pub(crate) middlewares: RwLock<Vec<BoxedMiddleware>>,
    /// Server-side event handlers, by event name.
    pub(crate) server_side: RwLock<HashMap<Box<str>, ServerSideHandler>>,
    /// Event handlers shared by every socket of the namespace.
    pub(crate) events: RwLock<HashMap<Box<str>, crate::handler::BoxedEventHandler>>,
}

struct Entry {
    socket: Socket,
    rooms: Vec<Room>,
}

#[derive(Default)]
struct NsState {
    sockets: HashMap<SocketId, Entry>,
    /// Each room's members, with the socket itself so a broadcast needs no second lookup
    /// per recipient.
    rooms: HashMap<Room, HashMap<SocketId, Socket>>,
}

pub(crate) struct NamespaceInner {
    pub(crate) path: String,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) recovery: Option<RecoveryStore>,
    pub(crate) handlers: Arc<NsHandlers>,
    state: RwLock<NsState>,
    ack_ids: AtomicU64,
    ready: OnceCell<Result<(), AdapterError>>,
}

impl NamespaceInner {
    pub(crate) fn new(
        path: String,
        config: Arc<ServerConfig>,
        counters: Arc<Counters>,
        factory: &dyn AdapterFactory,
        handlers: Arc<NsHandlers>,
    ) -> Arc<NamespaceInner> {
        Arc::new_cyclic(|weak: &Weak<NamespaceInner>| {
            let local: Weak<dyn LocalNamespace> = weak.clone();
            let adapter = factory.create(&path, local);
            NamespaceInner {
                recovery: config.recovery.map(RecoveryStore::new),
                path,
                config,
                counters,
                adapter,
                handlers,
                state: RwLock::default(),
                ack_ids: AtomicU64::new(0),
                ready: OnceCell::new(),
            }
        })
    }

    pub(crate) fn next_ack_id(&self) -> u64 {
        self.ack_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Awaits the adapter's `init` once.
    pub(crate) async fn ready(&self) -> Result<(), AdapterError> {
        self.ready.get_or_init(|| self.adapter.init()).await.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, NsState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, NsState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `f` for each local socket `opts` selects, under the read lock (callers only
    /// queue packets, which never blocks).
    fn for_each_selected(&self, opts: &BroadcastOptions, mut f: impl FnMut(&Socket)) {
        let st = self.read();
        let mut except: HashSet<SocketId> = HashSet::new();
        for room in &opts.except {
            members(&st, room, |id, _| {
                except.insert(id);
            });
        }
        if opts.rooms.is_empty() {
            for (id, e) in &st.sockets {
                if !except.contains(id) {
                    f(&e.socket);
                }
            }
            return;
        }
        let mut seen: HashSet<SocketId> = HashSet::new();
        let dedupe = opts.rooms.len() > 1;
        for room in &opts.rooms {
            members(&st, room, |id, socket| {
                if except.contains(&id) || (dedupe && !seen.insert(id)) {
                    return;
                }
                f(socket);
            });
        }
    }

    fn selected(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let mut v = Vec::new();
        self.for_each_selected(opts, |s| v.push(s.clone()));
        v
    }

    /// Delivers a packet to the selected local sockets: logged for recovery when enabled,
    /// encoded once, queued on each socket.
    pub(crate) fn deliver(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.deliver_at(packet, opts, None);
    }

    /// [`deliver`](Self::deliver), with the offset the cluster's log gave the packet.
    pub(crate) fn deliver_at(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        offset: Option<&str>,
    ) {
        let stamped = crate::recovery::stamp(self, packet, opts, offset);
        let packet = stamped.as_ref().unwrap_or(packet);
        let enc = match Encoded::encode(&self.config.parser, packet) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(nsp = %self.path, error = %e, "broadcast packet could not be encoded");
                return;
            }
        };
        let volatile = opts.flags.volatile;
        self.for_each_selected(opts, |s| {
            let _ = s.send_encoded(&enc, volatile);
        });
    }

    /// Adds a socket to the table; false when it closed meanwhile.
    pub(crate) fn insert_socket(&self, socket: &Socket, rooms: Vec<Room>) -> bool {
        let id = socket.id();
        let created = {
            let mut st = self.write();
            if socket.is_closed() {
                return false;
            }
            let mut created = Vec::new();
            let mut own = Vec::new();
            for room in rooms {
                if room.as_ref() == id.as_str() || own.contains(&room) {
                    continue;
                }
                let set = st.rooms.entry(room.clone()).or_default();
                if set.is_empty() {
                    created.push(room.clone());
                }
                set.insert(id, socket.clone());
                own.push(room);
            }
            if let Some(o) = self.counters.watch.get() {
                o.room_joined(&self.path, &Room::Owned(id.as_str().to_owned()), id);
                for room in &own {
                    o.room_joined(&self.path, room, id);
                }
            }
            st.sockets.insert(
                id,
                Entry {
                    socket: socket.clone(),
                    rooms: own,
                },
            );
            created
        };
        self.adapter
            .on_room_created(&Room::Owned(id.as_str().to_owned()));
        for room in &created {
            self.adapter.on_room_created(room);
        }
        true
    }

    /// Removes a socket; returns the rooms it was in (without its own).
    pub(crate) fn remove_socket(&self, id: SocketId) -> Option<Vec<Room>> {
        let (rooms, deleted) = {
            let mut st = self.write();
            let entry = st.sockets.remove(&id)?;
            let mut deleted = Vec::new();
            for room in &entry.rooms {
                if let Some(set) = st.rooms.get_mut(room) {
                    set.remove(&id);
                    if set.is_empty() {
                        st.rooms.remove(room);
                        deleted.push(room.clone());
                    }
                }
            }
            (entry.rooms, deleted)
        };
        let own = Room::Owned(id.as_str().to_owned());
        if let Some(o) = self.counters.watch.get() {
            for room in std::iter::once(&own).chain(&rooms) {
                o.room_left(&self.path, room, id);
            }
        }
        for room in &deleted {
            self.adapter.on_room_deleted(room);
        }
        self.adapter.on_room_deleted(&own);
        Some(rooms)
    }

    pub(crate) fn join(&self, id: SocketId, rooms: &[Room]) {
        let created = {
            let mut st = self.write();
            let st = &mut *st;
            let Some(entry) = st.sockets.get_mut(&id) else {
                return;
            };
            let mut created = Vec::new();
            for room in rooms {
                if room.as_ref() == id.as_str() || entry.rooms.contains(room) {
                    continue;
                }
                entry.rooms.push(room.clone());
                let set = st.rooms.entry(room.clone()).or_default();
                if set.is_empty() {
                    created.push(room.clone());
                }
                set.insert(id, entry.socket.clone());
                if let Some(o) = self.counters.watch.get() {
                    o.room_joined(&self.path, room, id);
                }
            }
            created
        };
        for room in &created {
            self.adapter.on_room_created(room);
        }
    }

    pub(crate) fn leave(&self, id: SocketId, rooms: &[Room]) {
        let deleted = {
            let mut st = self.write();
            let st = &mut *st;
            let Some(entry) = st.sockets.get_mut(&id) else {
                return;
            };
            let mut deleted = Vec::new();
            for room in rooms {
                let Some(pos) = entry.rooms.iter().position(|r| r == room) else {
                    continue;
                };
                entry.rooms.swap_remove(pos);
                if let Some(o) = self.counters.watch.get() {
                    o.room_left(&self.path, room, id);
                }
                if let Some(set) = st.rooms.get_mut(room) {
                    set.remove(&id);
                    if set.is_empty() {
                        st.rooms.remove(room);
                        deleted.push(room.clone());
                    }
                }
            }
            deleted
        };
        for room in &deleted {
            self.adapter.on_room_deleted(room);
        }
    }

    pub(crate) fn leave_all(&self, id: SocketId) {
        let rooms = {
            let st = self.read();
            match st.sockets.get(&id) {
                Some(e) => e.rooms.clone(),
                None => return,
            }
        };
        self.leave(id, &rooms);
    }

    pub(crate) fn socket_rooms_of(&self, id: SocketId) -> Option<Vec<Room>> {
        let st = self.read();
        let e = st.sockets.get(&id)?;
        let mut v = Vec::with_capacity(e.rooms.len() + 1);
        v.push(Room::Owned(id.as_str().to_owned()));
        v.extend(e.rooms.iter().cloned());
        Some(v)
    }

    pub(crate) fn get_socket(&self, id: SocketId) -> Option<Socket> {
        self.read().sockets.get(&id).map(|e| e.socket.clone())
    }

    pub(crate) fn len(&self) -> usize {
        self.read().sockets.len()
    }

    pub(crate) fn room_len(&self, room: &str) -> usize {
        let st = self.read();
        match st.rooms.get(room) {
            Some(set) => set.len(),
            None => room
                .parse::<SocketId>()
                .is_ok_and(|id| st.sockets.contains_key(&id))
                .into(),
        }
    }

    pub(crate) fn all_sockets(&self) -> Vec<Socket> {
        self.read()
            .sockets
            .values()
            .map(|e| e.socket.clone())
            .collect()
    }
}

/// Calls `f` with each member of `room`; a socket id names that socket's private room.
fn members(st: &NsState, room: &Room, mut f: impl FnMut(SocketId, &Socket)) {
    if let Some(set) = st.rooms.get(room) {
        for (id, socket) in set {
            f(*id, socket);
        }
    } else if let Ok(id) = room.parse::<SocketId>()
        && let Some(e) = st.sockets.get(&id)
    {
        f(id, &e.socket);
    }
}

impl LocalNamespace for NamespaceInner {
    fn path(&self) -> &str {
        &self.path
    }

    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.deliver(packet, opts);
    }

    fn broadcast_at(&self, packet: &Packet, opts: &BroadcastOptions, offset: &str) {
        self.deliver_at(packet, opts, Some(offset));
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> LocalAcks {
        let id = self.next_ack_id();
        let packet = packet.with_ack(id);
        let (tx, rx) = mpsc::unbounded_channel::<AckResponse>();
        let enc = match Encoded::encode(&self.config.parser, &packet) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(nsp = %self.path, error = %e, "broadcast packet could not be encoded");
                return LocalAcks {
                    expected: 0,
                    stream: ack_stream(rx, 0, timeout),
                };
            }
        };
        let deadline = Instant::now() + timeout;
        let mut expected = 0;
        self.for_each_selected(opts, |s| {
            s.inner.acks.insert(id, AckSlot::Many(tx.clone()), deadline);
            if s.send_encoded(&enc, opts.flags.volatile).is_ok() {
                expected += 1;
            } else {
                s.inner.acks.remove(id);
            }
        });
        drop(tx);
        LocalAcks {
            expected,
            stream: ack_stream(rx, expected, timeout),
        }
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.selected(opts) {
            self.join(s.id(), rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        for s in self.selected(opts) {
            self.leave(s.id(), rooms);
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for s in self.selected(opts) {
            s.disconnect(close);
        }
    }

    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        self.selected(opts)
            .into_iter()
            .map(|s| {
                let mut data = s.data();
                if let Some(o) = self.counters.watch.get() {
                    o.decorate_data(&s, &mut data);
                }
                SocketInfo {
                    id: s.id(),
                    handshake: s.handshake(),
                    rooms: s.rooms(),
                    data,
                }
            })
            .collect()
    }

    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.socket_rooms_of(id)
    }

    fn rooms(&self) -> Vec<Room> {
        let st = self.read();
        st.rooms
            .keys()
            .cloned()
            .chain(
                st.sockets
                    .keys()
                    .map(|id| Room::Owned(id.as_str().to_owned())),
            )
            .collect()
    }

    fn has_room(&self, room: &str) -> bool {
        let st = self.read();
        st.rooms.contains_key(room)
            || room
                .parse::<SocketId>()
                .is_ok_and(|id| st.sockets.contains_key(&id))
    }

    fn server_side_emit(&self, mut args: Vec<Value>, reply: Option<ServerSideReply>) {
        // `[event, ...args]`, as socket.io's serverSideEmit sends it.
        let Some(Value::String(event)) = (!args.is_empty()).then(|| args.remove(0)) else {
            tracing::debug!(nsp = %self.path, "server-side emit without an event name, ignored");
            return;
        };
        let handler = self
            .handlers
            .server_side
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event.as_str())
            .cloned();
        match handler {
            Some(h) => {
                tokio::spawn(async move {
                    run_guarded(&event, h(crate::Args(args), reply)).await;
                });
            }
            None => {
                tracing::trace!(nsp = %self.path, event, "no handler for server-side event");
            }
        }
    }
}

/// `[event, ...args]`: how a server-side emit travels between servers.
fn with_event(event: &str, args: Vec<Value>) -> Vec<Value> {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Value::String(event.to_owned()));
    all.extend(args);
    all
}

/// A namespace handle. Cheap to clone.
///
/// ```no_run
/// # async fn f(io: sio_server::SocketIo) {
/// let chat = io.ns("/chat", |socket| async move {
///     let _ = socket.emit("welcome", "hi");
/// });
/// chat.use_middleware(|socket| async move {
///     match socket.auth().get("token") {
///         Some(_) => Ok(()),
///         None => Err(sio_types::ConnectError { message: "no token".into(), data: None }),
///     }
/// });
/// chat.to("lobby").emit("news", &"hello").await.ok();
/// # }
/// ```
#[derive(Clone)]
pub struct Namespace {
    pub(crate) inner: Arc<NamespaceInner>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    /// The path, e.g. `/chat`.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The namespace's cluster adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.inner.adapter
    }

    /// Waits until the adapter is initialized (done on the first connection otherwise).
    pub async fn ready(&self) -> Result<(), AdapterError> {
        self.inner.ready().await
    }

    /// Adds a connect-time middleware. Middlewares run in order before the connection
    /// handler; an `Err` refuses the connection with a CONNECT_ERROR the client sees as
    /// `connect_error` (message and data).
    pub fn use_middleware<F, Fut>(&self, f: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.inner
            .handlers
            .middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(box_middleware(f));
    }

    /// Registers the handler of `event` for every socket of this namespace, once.
    ///
    /// Equivalent to calling [`Socket::on`] in the connection handler, but the handler is
    /// stored once for the namespace instead of once per socket, which keeps idle sockets
    /// small. A handler registered on the socket itself takes precedence.
    pub fn on<F, Fut>(&self, event: impl Into<String>, handler: F)
    where
        F: Fn(Socket, crate::Args, Option<crate::AckSender>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner
            .handlers
            .events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                event.into().into_boxed_str(),
                crate::handler::box_event(handler),
            );
    }

    /// Handles the server-side event `event` that the other servers of the cluster emit
    /// (socket.io's `io.on(event, (...args) => …)` for `serverSideEmit`). `reply` is set
    /// when the sender waits for answers (Node's last-argument callback): call it with one
    /// value, the answer (Node's callback carries one; other servers see only the first).
    /// Registering the same event again replaces its handler.
    ///
    /// ```no_run
    /// # fn f(ns: sio_server::Namespace) {
    /// ns.on_server_side("cache:drop", |args, reply| async move {
    ///     let key: String = args.decode().unwrap_or_default();
    ///     if let Some(reply) = reply {
    ///         reply(vec![sio_server::Value::from(key)]);
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on_server_side<F, Fut>(&self, event: impl Into<String>, f: F)
    where
        F: Fn(crate::Args, Option<ServerSideReply>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let h: ServerSideHandler = Arc::new(move |a, r| Box::pin(f(a, r)));
        self.inner
            .handlers
            .server_side
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.into().into_boxed_str(), h);
    }

    /// Emits `event` to the other servers' [`on_server_side`](Namespace::on_server_side)
    /// handlers (Node's `io.serverSideEmit(event, ...args)`); this server's own handlers
    /// are not called, as in Node.
    ///
    /// ```no_run
    /// # async fn f(ns: sio_server::Namespace) -> Result<(), sio_server::AdapterError> {
    /// ns.server_side_emit("cache:drop", vec!["user:42".into()]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(), AdapterError> {
        self.inner
            .adapter
            .server_side_emit(with_event(event, args))
            .await
    }

    /// Emits to the other servers and collects one answer from each until `timeout`.
    ///
    /// If some servers do not answer in time this fails with
    /// [`AdapterError::PartialTimeout`], whose `received` holds the answers that did arrive.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Vec<Value>>, AdapterError> {
        self.inner
            .adapter
            .server_side_emit_with_ack(with_event(event, args), timeout)
            .await
    }

    /// A broadcast to the whole namespace (add rooms with `to`).
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.clone())
    }

    /// A broadcast to `room`.
    pub fn to(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// A broadcast to every socket but those in `room`.
    pub fn except(&self, room: impl IntoRoom) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// A local socket by id.
    pub fn get_socket(&self, id: SocketId) -> Option<Socket> {
        self.inner.get_socket(id)
    }

    /// Every local socket.
    pub fn sockets(&self) -> Vec<Socket> {
        self.inner.all_sockets()
    }

    /// How many sockets are connected here (this process).
    pub fn local_len(&self) -> usize {
        self.inner.len()
    }

    /// How many of this process's sockets are in `room` (a socket id counts as its own
    /// room): a lookup, not a `fetch_sockets` of every member. The cluster-wide count is
    /// `to(room).fetch_sockets().await?.len()`.
    ///
    /// ```no_run
    /// # fn f(ns: sio_server::Namespace) {
    /// let here = ns.local_room_len("lobby");
    /// # let _ = here; }
    /// ```
    pub fn local_room_len(&self, room: &str) -> usize {
        self.inner.room_len(room)
    }
}
