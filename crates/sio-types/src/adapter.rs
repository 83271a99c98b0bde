//! The cluster adapter: how a namespace's broadcasts and queries reach every server.
//!
//! Two traits meet here:
//!
//! - [`LocalNamespace`] is implemented by the server (`sio-server`): it knows this process's
//!   sockets and their rooms, and performs every operation *locally*.
//! - [`Adapter`] is implemented by a cluster adapter (`sio-adapter-redis`, or the
//!   [`LocalAdapter`] of a single process): it performs every operation *cluster-wide*,
//!   publishing to the other servers and calling back into its [`LocalNamespace`] for the
//!   local share, and for what other servers ask of this one.
//!
//! The server creates one adapter per namespace through an [`AdapterFactory`]. Adapters never
//! depend on the server crate, so a Redis adapter and a Node-compatible emitter build without
//! it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::broadcast::{BroadcastOptions, Room};
use crate::error::{AckError, AdapterError};
use crate::handshake::Handshake;
use crate::id::SocketId;
use crate::packet::Packet;
use crate::value::Value;

/// One client's answer to a broadcast that asked for acks: its ack arguments, or why none
/// came.
pub type AckResponse = Result<Vec<Value>, AckError>;

/// The answers to a broadcast with acks, as they arrive. It ends once every expected socket
/// answered or the timeout passed (then the missing ones yield [`AckError::Timeout`]).
pub type AckStream = BoxStream<'static, AckResponse>;

/// The answer channel of a server-side emit that wants an ack; called at most once.
pub type ServerSideReply = Box<dyn FnOnce(Vec<Value>) + Send>;

/// What `fetch_sockets` returns for each socket, local or remote.
///
/// It serializes with socket.io's field names (`id`, `handshake`, `rooms`, `data`), the
/// shape Node servers exchange for `fetchSockets()`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocketInfo {
    /// The socket id.
    pub id: SocketId,
    /// Its handshake.
    pub handshake: Handshake,
    /// The rooms it is in, its own id included.
    pub rooms: Vec<Room>,
    /// The application data attached to the socket (`socket.data` in Node).
    #[serde(default)]
    pub data: Value,
}

/// What connection state recovery keeps of a disconnected socket (socket.io's
/// `SessionToPersist`), for adapters that keep sessions cluster-wide (see
/// [`Adapter::keeps_sessions`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PersistedSession {
    /// The socket id, given back on recovery.
    pub sid: SocketId,
    /// The private session id the client presents to recover.
    pub pid: String,
    /// Its rooms (its own id's room may or may not be among them).
    pub rooms: Vec<Room>,
    /// Its `data`.
    pub data: Value,
    /// The cluster offset the session starts from: a client that reconnects before it
    /// received any packet has no offset of its own, and is resumed from this one. Not
    /// part of Node's sessions (they ignore it, and have none).
    pub offset: Option<String>,
}

/// A session found again, with the packets its client missed: events whose last argument
/// is each one's offset, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct RestoredSession {
    /// The session.
    pub session: PersistedSession,
    /// The packets sent to its rooms since the client's offset.
    pub missed: Vec<Packet>,
}

/// The local acks of a broadcast: how many sockets were asked, and their answers.
pub struct LocalAcks {
    /// How many local sockets the packet was sent to.
    pub expected: usize,
    /// Their answers.
    pub stream: AckStream,
}

impl std::fmt::Debug for LocalAcks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAcks")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

/// One namespace of this process, as its adapter sees it. Implemented by the server.
///
/// Every method acts on this process's sockets only, returns at once (packets are queued,
/// never awaited) and never fails: a socket that cannot take a packet is the server's
/// business (its buffer policy), not the cluster's.
pub trait LocalNamespace: Send + Sync + 'static {
    /// The namespace path, e.g. `/` or `/admin`.
    fn path(&self) -> &str;

    /// Sends `packet` to the local sockets `opts` selects (flags honoured).
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions);

    /// Like [`broadcast`](LocalNamespace::broadcast), for a packet the cluster keeps in a
    /// log at `offset` (a Redis stream entry id): a server with connection state recovery
    /// gives clients that offset, the same on every server, instead of one of its own, so
    /// that another server can resume the client from it.
    fn broadcast_at(&self, packet: &Packet, opts: &BroadcastOptions, offset: &str) {
        let _ = offset;
        self.broadcast(packet, opts);
    }

    /// Sends `packet` to the local sockets `opts` selects, each with an ack id, and returns
    /// their answers; each socket's answer times out after `timeout`.
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        timeout: Duration,
    ) -> LocalAcks;

    /// Makes the selected local sockets join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Makes the selected local sockets leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the selected local sockets; `close` also closes their connection.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);

    /// Describes the selected local sockets.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Vec<SocketInfo>;

    /// The rooms of one local socket, `None` when no such socket is here.
    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>>;

    /// Every room with a local member, socket-id rooms included (as socket.io lists them).
    fn rooms(&self) -> Vec<Room>;

    /// Whether some local socket is in `room`. Cheap: adapters call it for every message
    /// that arrives on a room channel, to drop it without decoding.
    fn has_room(&self, room: &str) -> bool;

    /// Delivers a server-side emit from another server to this namespace's handlers.
    fn server_side_emit(&self, args: Vec<Value>, reply: Option<ServerSideReply>);
}

/// A namespace's view of the cluster. Implemented by cluster adapters.
///
/// Each operation covers every server: the local share through the [`LocalNamespace`] the
/// adapter was created with, the rest through the adapter's transport. Methods borrow
/// `self` for the whole future, so the server keeps the adapter in an `Arc`.
pub trait Adapter: Send + Sync + 'static {
    /// Connects and subscribes; the server awaits it before the namespace takes sockets.
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }

    /// Unsubscribes and releases the adapter's resources. Calling it twice is harmless.
    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async { Ok(()) })
    }

    /// How many servers serve this namespace, this one included.
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>>;

    /// Sends `packet` to the sockets `opts` selects on every server (only here with
    /// `flags.local`).
    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Like [`broadcast`](Adapter::broadcast), collecting every client's ack until `timeout`.
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>>;

    /// Makes the selected sockets, on every server, join `rooms`.
    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Makes the selected sockets, on every server, leave `rooms`.
    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Disconnects the selected sockets on every server.
    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Describes the selected sockets of every server.
    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>>;

    /// The rooms of a socket of this server.
    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>>;

    /// Every room with a member on any server.
    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>>;

    /// Emits to the *other* servers' server-side handlers.
    fn server_side_emit(&self, args: Vec<Value>) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Emits to the other servers' server-side handlers and collects one answer from each,
    /// until `timeout`.
    ///
    /// When some servers do not answer in time, this fails with
    /// [`AdapterError::PartialTimeout`], which carries the answers that did arrive.
    fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>>;

    /// Whether this adapter keeps connection state recovery sessions and packet offsets for
    /// the whole cluster (the Redis Streams adapter does). The server then persists and
    /// restores sessions through it, hands clients the offsets it passes to
    /// [`LocalNamespace::broadcast_at`], and sends a socket's own events through
    /// [`broadcast`](Adapter::broadcast) so that they get one. Such an adapter queues a
    /// broadcast when `broadcast` is called, not when its future is first polled: calls
    /// keep their order however their futures are run, and dropping the future does not
    /// cancel the broadcast (the server drops it for a socket's own events).
    fn keeps_sessions(&self) -> bool {
        false
    }

    /// Keeps `session` for `ttl` (see [`keeps_sessions`](Adapter::keeps_sessions)); a
    /// later call for the same `pid` replaces it.
    fn persist_session(
        &self,
        session: PersistedSession,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let _ = (session, ttl);
        Box::pin(async { Err(AdapterError::Unsupported("persist_session")) })
    }

    /// Drops the session of `pid` (its socket left for good).
    fn forget_session(&self, pid: &str) -> BoxFuture<'_, Result<(), AdapterError>> {
        let _ = pid;
        Box::pin(async { Ok(()) })
    }

    /// Takes the session of `pid` and the packets its client missed since `offset` (or,
    /// without one, since the session's own [`PersistedSession::offset`]). `None` when the session
    /// is unknown or expired, or the offset is no longer kept.
    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let _ = (pid, offset);
        Box::pin(async { Err(AdapterError::Unsupported("restore_session")) })
    }

    /// The newest offset this server knows of, recorded as a new session's
    /// [`PersistedSession::offset`].
    fn current_offset(&self) -> Option<String> {
        None
    }

    /// Called by the server when a local room gets its first member. Adapters that
    /// subscribe per room (the sharded Redis adapter) hook in here.
    fn on_room_created(&self, room: &Room) {
        let _ = room;
    }

    /// Called by the server when a local room loses its last member.
    fn on_room_deleted(&self, room: &Room) {
        let _ = room;
    }
}

/// Creates the adapter of each namespace.
pub trait AdapterFactory: Send + Sync + 'static {
    /// The adapter for the namespace at `path`. `ns` cannot be upgraded during this call
    /// (the namespace is still being built); it can from the first operation on.
    fn create(&self, path: &str, ns: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter>;
}

/// The single-process adapter: every operation is the local one. The server's default.
#[derive(Clone)]
pub struct LocalAdapter {
    ns: Weak<dyn LocalNamespace>,
}

impl std::fmt::Debug for LocalAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAdapter").finish_non_exhaustive()
    }
}

impl LocalAdapter {
    /// An adapter over `ns`.
    pub fn new(ns: Weak<dyn LocalNamespace>) -> Self {
        LocalAdapter { ns }
    }

    fn ns(&self) -> Result<Arc<dyn LocalNamespace>, AdapterError> {
        self.ns.upgrade().ok_or(AdapterError::Closed)
    }
}

/// The factory of [`LocalAdapter`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalAdapterFactory;

impl AdapterFactory for LocalAdapterFactory {
    fn create(&self, _path: &str, ns: Weak<dyn LocalNamespace>) -> Arc<dyn Adapter> {
        Arc::new(LocalAdapter::new(ns))
    }
}

impl Adapter for LocalAdapter {
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(async { Ok(1) })
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let res = self.ns().map(|ns| ns.broadcast(&packet, &opts));
        Box::pin(async move { res })
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>> {
        let res = self
            .ns()
            .map(|ns| ns.broadcast_with_ack(packet, &opts, timeout).stream);
        Box::pin(async move { res })
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let res = self.ns().map(|ns| ns.add_sockets(&opts, &rooms));
        Box::pin(async move { res })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let res = self.ns().map(|ns| ns.del_sockets(&opts, &rooms));
        Box::pin(async move { res })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let res = self.ns().map(|ns| ns.disconnect_sockets(&opts, close));
        Box::pin(async move { res })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        let res = self.ns().map(|ns| ns.fetch_sockets(&opts));
        Box::pin(async move { res })
    }

    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.ns().ok()?.socket_rooms(id)
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        let res = self.ns().map(|ns| ns.rooms());
        Box::pin(async move { res })
    }

    fn server_side_emit(&self, _args: Vec<Value>) -> BoxFuture<'_, Result<(), AdapterError>> {
        // There is no other server to emit to.
        Box::pin(async { Ok(()) })
    }

    fn server_side_emit_with_ack(
        &self,
        _args: Vec<Value>,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
