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

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sio_types::{BroadcastOptions, Packet, PacketData, Room, SocketId, Value};
use tokio::time::Instant;

use crate::config::RecoveryConfig;

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
        let PacketData::Event {
            event,
            args,
            ack: None,
        } = &packet.data
        else {
            return None;
        };
        if opts.flags.volatile {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let offset = format!("{}-{n:x}", self.prefix);
        let mut args = args.clone();
        args.push(Value::String(offset.clone()));
        let stamped = Packet::event(packet.nsp.clone(), event.clone(), args);
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
