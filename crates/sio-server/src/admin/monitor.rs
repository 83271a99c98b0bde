//! What the admin page is told: the server's hooks turned into admin events, queued in
//! order and emitted to the admin namespace (through its adapter, so to every server's
//! admin sockets), and the stats message every interval.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sio_types::{Room, SocketId, SocketInfo, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::wire::{self, ADMIN_KEY, Aggregate, object, string};
use super::{AdminOptions, Mode};
use crate::SocketIo;
use crate::engine::Conn;
use crate::io::ServerInner;
use crate::namespace::{Namespace, NamespaceInner};
use crate::observe::Observer;
use crate::socket::{DisconnectReason, Socket};

/// Admin events waiting to be emitted. Bounded: a server far busier than a development
/// page can follow drops the excess (counted, logged) rather than grow.
const QUEUE: usize = 16_384;

type Note = (&'static str, Vec<Value>);

/// The server's hooks, as the admin page wants them.
pub(super) struct Monitor {
    verbose: bool,
    admin_nsp: String,
    notes: mpsc::Sender<Note>,
    dropped: AtomicU64,
    events: Mutex<Aggregate>,
    traffic: Traffic,
    clients: AtomicI64,
    polling: AtomicI64,
}

impl Monitor {
    /// Starts the publisher and the stats ticker of the admin namespace `ns`.
    pub(super) fn start(
        io: &SocketIo,
        ns: &Namespace,
        options: &AdminOptions,
        server_id: Arc<str>,
    ) -> Arc<Monitor> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let monitor = Arc::new(Monitor {
            verbose: options.mode == Mode::Development,
            admin_nsp: options.namespace.clone(),
            notes: tx,
            dropped: AtomicU64::new(0),
            events: Mutex::default(),
            traffic: Traffic::default(),
            clients: AtomicI64::new(i64::try_from(io.connection_count()).unwrap_or(i64::MAX)),
            polling: AtomicI64::new(0),
        });
        // Weak references only: the server owns the monitor (through its hooks), so the
        // tasks must not keep the server alive; they end when it is dropped.
        tokio::spawn(publish(Arc::downgrade(&ns.inner), rx));
        tokio::spawn(tick(
            Arc::downgrade(&io.inner),
            Arc::downgrade(&monitor),
            options.stats_interval,
            server_id,
        ));
        monitor
    }

    fn note(&self, event: &'static str, args: Vec<Value>) {
        if self.notes.try_send((event, args)).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n + 1,
                    "admin UI events dropped: the server emits more than the admin namespace can publish (use production mode)"
                );
            }
        }
    }

    fn count(&self, kind: &'static str, sub: Option<&'static str>) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(kind, sub, 1);
    }

    /// Whether the page is told about this namespace's events (never its own).
    fn watches(&self, socket: &Socket) -> bool {
        self.verbose && socket.ns() != self.admin_nsp
    }

    fn stats(&self, io: &ServerInner, server_id: &str, host: &str, started: Instant) -> Value {
        let aggregated = {
            let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
            self.traffic.drain_into(&mut events);
            events.drain()
        };
        let namespaces = io
            .namespace_list()
            .into_iter()
            .map(|ns| {
                object([
                    ("name", string(ns.path())),
                    ("socketsCount", Value::from(ns.local_len() as u64)),
                ])
            })
            .collect();
        object([
            ("serverId", string(server_id)),
            ("hostname", string(host)),
            ("pid", Value::from(u64::from(std::process::id()))),
            ("uptime", Value::from(started.elapsed().as_secs_f64())),
            (
                "clientsCount",
                Value::from(self.clients.load(Ordering::Relaxed).max(0)),
            ),
            (
                "pollingClientsCount",
                Value::from(self.polling.load(Ordering::Relaxed).max(0)),
            ),
            ("aggregatedEvents", aggregated),
            ("namespaces", Value::Array(namespaces)),
        ])
    }
}

/// Emits the queued admin events in order.
async fn publish(admin: Weak<NamespaceInner>, mut notes: mpsc::Receiver<Note>) {
    while let Some((event, args)) = notes.recv().await {
        let Some(inner) = admin.upgrade() else { return };
        let ns = Namespace { inner };
        if let Err(e) = ns.broadcast().emit_args(event, args).await {
            tracing::debug!(event, error = %e, "admin UI event not published");
        }
    }
}

/// Sends the server's stats now and every `every`, until the server is dropped.
async fn tick(server: Weak<ServerInner>, monitor: Weak<Monitor>, every: Duration, id: Arc<str>) {
    let started = Instant::now();
    // Read once: the host name does not change while the server runs.
    let host = wire::hostname();
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let (Some(io), Some(m)) = (server.upgrade(), monitor.upgrade()) else {
            return;
        };
        let stats = m.stats(&io, &id, &host, started);
        m.note("server_stats", vec![stats]);
    }
}

/// A local socket as the page lists it.
pub(super) fn local_socket(socket: &Socket) -> Value {
    let mut data = socket.data();
    decorate(socket, &mut data);
    let info = SocketInfo {
        id: socket.id(),
        handshake: socket.handshake(),
        rooms: socket.rooms(),
        data,
    };
    wire::socket(info, socket.ns())
}

fn decorate(socket: &Socket, data: &mut Value) {
    let details = wire::admin_details(socket.inner.conn.id().as_str(), socket.transport());
    match data {
        Value::Object(m) => {
            m.insert(ADMIN_KEY.to_owned(), details);
        }
        Value::Null => *data = object([(ADMIN_KEY, details)]),
        // Not an object: nowhere to put them; the page shows the socket without them.
        _ => {}
    }
}

impl Observer for Monitor {
    fn connection_opened(&self, conn: &Arc<Conn>) {
        self.count("rawConnection", None);
        self.clients.fetch_add(1, Ordering::Relaxed);
        if conn.transport() == sio_engine::TransportKind::Polling {
            self.polling.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn connection_upgraded(&self, conn: &Arc<Conn>) {
        self.polling.fetch_sub(1, Ordering::Relaxed);
        if !self.verbose {
            return;
        }
        for s in conn.data().sockets() {
            self.note(
                "socket_updated",
                vec![object([
                    ("id", string(s.id().as_str())),
                    ("nsp", string(s.ns())),
                    ("transport", string(s.transport())),
                ])],
            );
        }
    }

    fn connection_closed(&self, reason: &'static str, polling: bool) {
        self.count("rawDisconnection", Some(reason));
        self.clients.fetch_sub(1, Ordering::Relaxed);
        if polling {
            self.polling.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn packet_in(&self, bytes: usize) {
        self.traffic.add(Flow::In, 1, bytes);
    }

    fn packet_out(&self, frames: usize, bytes: usize) {
        self.traffic.add(Flow::Out, frames, bytes);
    }

    fn socket_connected(&self, socket: &Socket) {
        if self.verbose {
            self.note("socket_connected", vec![local_socket(socket), wire::now()]);
        }
    }

    fn socket_disconnected(&self, socket: &Socket, reason: DisconnectReason) {
        if self.verbose {
            self.note(
                "socket_disconnected",
                vec![
                    string(socket.ns()),
                    string(socket.id().as_str()),
                    string(reason.as_str()),
                    wire::now(),
                ],
            );
        }
    }

    fn socket_data(&self, socket: &Socket) {
        if !self.verbose {
            return;
        }
        let data = match socket.data() {
            Value::Object(mut m) => {
                m.shift_remove(ADMIN_KEY);
                Value::Object(m)
            }
            Value::Null => object([]),
            other => other,
        };
        self.note(
            "socket_updated",
            vec![object([
                ("id", string(socket.id().as_str())),
                ("nsp", string(socket.ns())),
                ("data", data),
            ])],
        );
    }

    fn room_joined(&self, nsp: &str, room: &Room, id: SocketId) {
        if self.verbose {
            self.note(
                "room_joined",
                vec![
                    string(nsp),
                    string(room.as_ref()),
                    string(id.as_str()),
                    wire::now(),
                ],
            );
        }
    }

    fn room_left(&self, nsp: &str, room: &Room, id: SocketId) {
        if self.verbose {
            self.note(
                "room_left",
                vec![
                    string(nsp),
                    string(room.as_ref()),
                    string(id.as_str()),
                    wire::now(),
                ],
            );
        }
    }

    fn event_received(&self, socket: &Socket, event: &str, args: &[Value]) {
        if self.watches(socket) {
            self.note("event_received", event_note(socket, event, args));
        }
    }

    fn event_sent(&self, socket: &Socket, event: &str, args: &[Value]) {
        if self.watches(socket) {
            self.note("event_sent", event_note(socket, event, args));
        }
    }

    fn decorate_data(&self, socket: &Socket, data: &mut Value) {
        decorate(socket, data);
    }
}

fn event_note(socket: &Socket, event: &str, args: &[Value]) -> Vec<Value> {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(string(event));
    all.extend_from_slice(args);
    vec![
        string(socket.ns()),
        string(socket.id().as_str()),
        Value::Array(all),
        wire::now(),
    ]
}

#[derive(Clone, Copy)]
enum Flow {
    In = 0,
    Out = 2,
}

/// Packets and bytes in and out per second, counted without a lock: they are counted
/// for every packet of every client, where the other admin counts are per connection.
/// Four one-second slots, so a slot is reused only seconds after the stats took it.
#[derive(Default)]
struct Traffic {
    slots: [Slot; 4],
    /// Serializes the rare slot reuse with the stats' drain.
    turn: Mutex<()>,
}

#[derive(Default)]
struct Slot {
    second: AtomicI64,
    /// packetsIn, bytesIn, packetsOut, bytesOut
    values: [AtomicU64; 4],
}

const TRAFFIC_KINDS: [&str; 4] = ["packetsIn", "bytesIn", "packetsOut", "bytesOut"];

impl Traffic {
    fn add(&self, flow: Flow, packets: usize, bytes: usize) {
        let second = crate::handshake::now_ms().div_euclid(1000);
        let slot = &self.slots[second.rem_euclid(4) as usize];
        if slot.second.load(Ordering::Acquire) != second {
            let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
            if slot.second.load(Ordering::Acquire) != second {
                // Counts of a second the stats did not take yet are dropped: that second
                // ended at least three seconds ago, past any stats interval in use.
                for v in &slot.values {
                    v.store(0, Ordering::Relaxed);
                }
                slot.second.store(second, Ordering::Release);
            }
        }
        let i = flow as usize;
        slot.values[i].fetch_add(packets as u64, Ordering::Relaxed);
        slot.values[i + 1].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Moves the counts so far into `into`, the current second's too (its later counts
    /// go out with the next stats, under the same timestamp, as Node's do).
    fn drain_into(&self, into: &mut Aggregate) {
        let _turn = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        for slot in &self.slots {
            let second = slot.second.load(Ordering::Acquire);
            for (kind, v) in TRAFFIC_KINDS.iter().zip(&slot.values) {
                let n = v.swap(0, Ordering::Relaxed);
                if n > 0 {
                    into.push_at(second * 1000, kind, None, n);
                }
            }
        }
    }
}
