//! Connection state recovery (socket.io 4.6+), kept in this process.
//!
//! Wire contract, as socket.io does it:
//! - the CONNECT answer carries a private session id: `{"sid": .., "pid": ..}`;
//! - every event sent to clients without ack and not volatile gets an offset appended as its
//!   last argument (the client remembers the last one it saw);
//! - a client that reconnects sends `{pid, offset}` in its CONNECT auth payload; when the
//!   session is known, not expired, and the offset is still in the packet log, the socket
//!   gets its old id, rooms and `data` back, and every logged packet after the offset that
//!   its rooms would have received.
//!
//! Sessions and packets older than `max_disconnection_duration` are pruned as new ones
//! arrive, so memory stays bounded by the traffic of that window.
//!
//! When the namespace's adapter keeps sessions for the cluster ([`Adapter::keeps_sessions`],
//! the Redis Streams adapter), none of that is kept here: offsets are the cluster log's
//! (the same on every server), a socket's session is leased to the adapter from its
//! connection on and refreshed while it lives, and a reconnecting client is looked up there,
//! so it may resume on any server, even one that never saw it.
//!
//! [`Adapter::keeps_sessions`]: sio_types::Adapter::keeps_sessions

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sio_types::{BroadcastOptions, Packet, PacketData, PersistedSession, Room, SocketId, Value};
use tokio::time::Instant;

use crate::config::RecoveryConfig;
use crate::namespace::NamespaceInner;
use crate::socket::{NewSocket, Socket};

/// What a disconnected socket leaves behind.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) sid: SocketId,
    pub(crate) pid: Box<str>,
    pub(crate) rooms: Vec<Room>,
    pub(crate) data: Value,
}

/// A session restored, with the packets it missed.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) session: Session,
    pub(crate) missed: Vec<Packet>,
}

struct Logged {
    offset: Box<str>,
    at: Instant,
    opts: BroadcastOptions,
    packet: Packet,
}

#[derive(Default)]
struct State {
    sessions: HashMap<Box<str>, (Session, Instant)>,
    packets: VecDeque<Logged>,
}

/// The recovery store of one namespace.
pub(crate) struct RecoveryStore {
    cfg: RecoveryConfig,
    prefix: String,
    next: AtomicU64,
    state: Mutex<State>,
}

impl std::fmt::Debug for RecoveryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryStore")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl RecoveryStore {
    pub(crate) fn new(cfg: RecoveryConfig) -> Self {
        // Offsets must not repeat across restarts of this process within the window, or a
        // client could resume from a stale offset: prefix them with a random id.
        let prefix = SocketId::random().as_str()[..8].to_owned();
        RecoveryStore {
            cfg,
            prefix,
            next: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn config(&self) -> &RecoveryConfig {
        &self.cfg
    }

    /// A fresh private session id.
    pub(crate) fn new_pid(&self) -> Box<str> {
        SocketId::random().as_str().into()
    }

    /// Whether `packet` is logged (events without ack, not volatile); if so returns the
    /// packet with its offset appended.
    pub(crate) fn record(&self, packet: &Packet, opts: &BroadcastOptions) -> Option<Packet> {
        if !logged(packet, opts) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let offset = format!("{}-{n:x}", self.prefix);
        let stamped = with_offset(packet, &offset)?;
        let now = Instant::now();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st
            .packets
            .front()
            .is_some_and(|p| now.duration_since(p.at) > self.cfg.max_disconnection_duration)
        {
            st.packets.pop_front();
        }
        st.packets.push_back(Logged {
            offset: offset.into_boxed_str(),
            at: now,
            opts: opts.clone(),
            packet: stamped.clone(),
        });
        Some(stamped)
    }

    /// Keeps the session of a socket that disconnected for a recoverable reason.
    pub(crate) fn persist(&self, session: Session) {
        let now = Instant::now();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let max = self.cfg.max_disconnection_duration;
        st.sessions
            .retain(|_, (_, at)| now.duration_since(*at) <= max);
        st.sessions.insert(session.pid.clone(), (session, now));
    }

    /// Restores a session, or `None` when it is unknown, expired, or the offset is gone.
    pub(crate) fn restore(&self, pid: &str, offset: &str) -> Option<Restored> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (session, at) = st.sessions.remove(pid)?;
        if at.elapsed() > self.cfg.max_disconnection_duration {
            return None;
        }
        let Some(index) = st.packets.iter().position(|p| &*p.offset == offset) else {
            // Put it back: the client may retry, and Node keeps it too.
            st.sessions.insert(session.pid.clone(), (session, at));
            return None;
        };
        let sid_room: Room = Room::Owned(session.sid.as_str().to_owned());
        let missed = st
            .packets
            .iter()
            .skip(index + 1)
            .filter(|p| includes(&session.rooms, &sid_room, &p.opts))
            .map(|p| p.packet.clone())
            .collect();
        Some(Restored { session, missed })
    }
}

fn includes(rooms: &[Room], own: &Room, opts: &BroadcastOptions) -> bool {
    let member = |r: &Room| r == own || rooms.contains(r);
    let included = opts.rooms.is_empty() || opts.rooms.iter().any(member);
    let excluded = opts.except.iter().any(member);
    included && !excluded
}

// ------------------------------------------------------------------------------------------
// Routing: this process's store, or the adapter's when it keeps sessions for the cluster.

/// What a connecting socket starts with: its identity, and (when recovered) its rooms and
/// the packets it missed.
pub(crate) struct Start {
    pub(crate) new: NewSocket,
    pub(crate) rooms: Option<Vec<Room>>,
    pub(crate) missed: Vec<Packet>,
    /// Where a recovered session began in the cluster's log.
    pub(crate) offset: Option<String>,
}

impl Start {
    fn fresh(auth: Value, pid: Option<Box<str>>) -> Self {
        Start {
            new: NewSocket {
                id: SocketId::random(),
                pid,
                auth,
                data: Value::Null,
                recovered: false,
            },
            rooms: None,
            missed: Vec::new(),
            offset: None,
        }
    }
}

/// Whether recovery goes through the adapter (it keeps sessions for the whole cluster).
fn clustered(ns: &NamespaceInner) -> bool {
    ns.recovery.is_some() && ns.adapter.keeps_sessions()
}

fn credentials(auth: &Value) -> (Option<&str>, Option<&str>) {
    (
        auth.get("pid").and_then(Value::as_str),
        auth.get("offset").and_then(Value::as_str),
    )
}

/// Whether a CONNECT must wait for the adapter to look its session up.
pub(crate) fn restores_through_adapter(ns: &NamespaceInner, auth: &Value) -> bool {
    clustered(ns) && credentials(auth).0.is_some()
}

/// The start of a socket from this process's store (or a fresh one).
pub(crate) fn start_local(ns: &NamespaceInner, auth: Value) -> Start {
    let Some(rec) = &ns.recovery else {
        return Start::fresh(auth, None);
    };
    if clustered(ns) {
        return Start::fresh(auth, Some(rec.new_pid()));
    }
    let restored = match credentials(&auth) {
        (Some(pid), Some(offset)) => rec.restore(pid, offset),
        _ => None,
    };
    match restored {
        Some(r) => Start {
            new: NewSocket {
                id: r.session.sid,
                pid: Some(r.session.pid),
                auth,
                data: r.session.data,
                recovered: true,
            },
            rooms: Some(r.session.rooms),
            missed: r.missed,
            offset: None,
        },
        None => Start::fresh(auth, Some(rec.new_pid())),
    }
}

/// The start of a socket whose session the adapter may know: any server of the cluster may
/// have kept it. Unlike Node, a client without an offset (it got no packet yet) is resumed
/// from the offset its session began at.
pub(crate) async fn start_clustered(ns: &NamespaceInner, auth: Value) -> Start {
    let Some(rec) = &ns.recovery else {
        return Start::fresh(auth, None);
    };
    let (pid, offset) = credentials(&auth);
    let restored = match pid {
        Some(pid) => ns.adapter.restore_session(pid, offset).await,
        None => Ok(None),
    };
    match restored {
        Ok(Some(r)) => {
            let sid = r.session.sid;
            // Node's sessions list the socket's own room; the table adds it by itself.
            let rooms = r
                .session
                .rooms
                .into_iter()
                .filter(|room| &**room != sid.as_str())
                .collect();
            Start {
                new: NewSocket {
                    id: sid,
                    pid: Some(r.session.pid.into_boxed_str()),
                    auth,
                    data: r.session.data,
                    recovered: true,
                },
                rooms: Some(rooms),
                missed: r.missed,
                offset: r.session.offset,
            }
        }
        Ok(None) => Start::fresh(auth, Some(rec.new_pid())),
        Err(e) => {
            tracing::warn!(nsp = %ns.path, error = %e, "recovery session lookup failed");
            Start::fresh(auth, Some(rec.new_pid()))
        }
    }
}

/// Where a socket's session began in the cluster's log (in its extensions).
#[derive(Clone)]
struct StartOffset(Arc<str>);

/// A socket was created from `start`: with the adapter keeping sessions, remember where its
/// session begins in the cluster's log (a recovered one keeps its old start).
pub(crate) fn on_created(socket: &Socket, start: Option<String>) {
    let ns = &socket.inner.ns;
    if !clustered(ns) {
        return;
    }
    if let Some(o) = start.or_else(|| ns.adapter.current_offset()) {
        socket.extensions().insert(StartOffset(o.into()));
    }
}

fn session_of(socket: &Socket, pid: &str, rooms: Vec<Room>) -> PersistedSession {
    let own = Room::Owned(socket.id().as_str().to_owned());
    // Node's sessions list the socket's own room first; a Node server restores it as is.
    let mut all = Vec::with_capacity(rooms.len() + 1);
    all.push(own.clone());
    all.extend(rooms.into_iter().filter(|r| *r != own));
    PersistedSession {
        sid: socket.id(),
        pid: pid.to_owned(),
        rooms: all,
        data: socket.data(),
        offset: socket
            .extensions()
            .get::<StartOffset>()
            .map(|o| o.0.to_string()),
    }
}

/// The socket is connected (its handler ran): with the adapter keeping sessions, its
/// session goes to the cluster now and is refreshed while it lives, so that it can be
/// resumed elsewhere even if this server dies without saying goodbye (Node persists it only
/// on disconnect).
pub(crate) fn on_connected(socket: &Socket) {
    let ns = socket.inner.ns.clone();
    let (Some(rec), Some(pid)) = (&ns.recovery, socket.inner.pid.clone()) else {
        return;
    };
    if !ns.adapter.keeps_sessions() {
        return;
    }
    let ttl = rec.config().max_disconnection_duration;
    let socket = socket.clone();
    tokio::spawn(async move {
        loop {
            if socket.is_closed() {
                return;
            }
            let session = session_of(&socket, &pid, socket.rooms());
            if let Err(e) = ns.adapter.persist_session(session, ttl).await {
                tracing::debug!(sid = %socket.id(), error = %e, "recovery session lease not stored");
            }
            // Refreshed at half its life, so it never lapses while the socket lives.
            tokio::time::sleep((ttl / 2).max(std::time::Duration::from_millis(100))).await;
        }
    });
}

/// An event for one socket: with recovery on, through the namespace so that it gets an
/// offset (through the adapter when it keeps the cluster's log, as Node's `socket.emit`).
pub(crate) fn emit(ns: &NamespaceInner, packet: Packet, opts: BroadcastOptions) {
    if !clustered(ns) {
        return ns.deliver(&packet, &opts);
    }
    // Such an adapter queues the broadcast as it is called, so call order is kept without
    // waiting here; the socket's share is delivered whatever happens to the cluster's copy,
    // and a failure is the adapter's to log.
    drop(ns.adapter.broadcast(packet, opts));
}

/// The socket left: its session is kept (here, or by the adapter for the cluster) when
/// the reason allows recovery, and dropped from the cluster otherwise.
pub(crate) fn on_closed(socket: &Socket, recoverable: bool, rooms: Option<Vec<Room>>) {
    let ns = socket.inner.ns.clone();
    let (Some(rec), Some(pid)) = (&ns.recovery, socket.inner.pid.clone()) else {
        return;
    };
    if !ns.adapter.keeps_sessions() {
        if recoverable {
            rec.persist(Session {
                sid: socket.id(),
                pid,
                rooms: rooms.unwrap_or_default(),
                data: socket.data(),
            });
        }
        return;
    }
    let session = session_of(socket, &pid, rooms.unwrap_or_default());
    let ttl = rec.config().max_disconnection_duration;
    tokio::spawn(async move {
        let done = if recoverable {
            ns.adapter.persist_session(session, ttl).await
        } else {
            ns.adapter.forget_session(&pid).await
        };
        if let Err(e) = done {
            tracing::warn!(nsp = %ns.path, error = %e, "recovery session not updated");
        }
    });
}

/// Whether recovery keeps `packet`: events without ack, not volatile.
fn logged(packet: &Packet, opts: &BroadcastOptions) -> bool {
    matches!(&packet.data, PacketData::Event { ack: None, .. }) && !opts.flags.volatile
}

/// `packet` with `offset` appended to its arguments.
fn with_offset(packet: &Packet, offset: &str) -> Option<Packet> {
    let PacketData::Event {
        event,
        args,
        ack: None,
    } = &packet.data
    else {
        return None;
    };
    let mut args = args.clone();
    args.push(Value::String(offset.to_owned()));
    Some(Packet::event(packet.nsp.clone(), event.clone(), args))
}

/// The packet as the selected sockets get it: with recovery on, a logged event carries its
/// offset last, the cluster's when the adapter gave one, else one of this process's store
/// (which keeps the packet), none when the adapter keeps the log but this packet is not in
/// it (a `local` broadcast).
pub(crate) fn stamp(
    ns: &NamespaceInner,
    packet: &Packet,
    opts: &BroadcastOptions,
    offset: Option<&str>,
) -> Option<Packet> {
    let rec = ns.recovery.as_ref()?;
    match offset {
        Some(o) if logged(packet, opts) => with_offset(packet, o),
        Some(_) => None,
        None if ns.adapter.keeps_sessions() => None,
        None => rec.record(packet, opts),
    }
}
