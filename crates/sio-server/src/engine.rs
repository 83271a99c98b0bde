//! The bridge to sio-engine: one [`EngineHandler`] per server receives every engine.io
//! session, decodes socket.io packets and routes them to namespaces and sockets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use sio_engine::{CloseReason, Handler, Message, Session};
use sio_protocol::socketio::Decoder;
use sio_types::{Packet, PacketData};

use crate::io::ServerInner;
use crate::socket::{DisconnectReason, IncomingEvent, Socket};

/// An engine.io connection of this server.
pub(crate) type Conn = Session<EngineHandler>;

/// What the server keeps per engine.io connection. Public only because the engine's
/// handler trait names it; it has no public API.
#[derive(Default)]
pub struct ConnData {
    decoder: Mutex<Option<Decoder>>,
    sockets: RwLock<Vec<Socket>>,
    /// Events of this connection not done yet: held during a connect flow, or handled by
    /// a handler that is waiting. At `max_pending_events` the connection is not read.
    pending: AtomicUsize,
    /// The transport waiting for `pending` to drop below the bound.
    reader: AtomicWaker,
}

impl std::fmt::Debug for ConnData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnData").finish_non_exhaustive()
    }
}

impl ConnData {
    pub(crate) fn sockets(&self) -> Vec<Socket> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn socket(&self, nsp: &str) -> Option<Socket> {
        self.sockets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|s| s.ns() == nsp)
            .cloned()
    }

    pub(crate) fn add_socket(&self, socket: Socket) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(socket);
    }

    /// One more event of this connection is pending.
    pub(crate) fn hold(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// `n` pending events are done; wakes the reader if it waits for that.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.pending.fetch_sub(n, Ordering::AcqRel);
            self.reader.wake();
        }
    }

    /// Removes `socket`; returns whether the connection has no namespace left.
    fn remove(&self, socket: &Socket) -> bool {
        let mut v = self.sockets.write().unwrap_or_else(|e| e.into_inner());
        v.retain(|s| s != socket);
        v.is_empty()
    }
}

/// Leaves `socket`'s namespace on its connection. A connection left without a namespace
/// gets the connect timeout again (the engine's idle deadline): a client that never joins
/// another namespace does not keep its connection for free, unlike in socket.io.
pub(crate) fn remove_socket(conn: &Arc<Conn>, socket: &Socket) {
    if conn.data().remove(socket) {
        conn.set_idle(true);
    }
}

/// The engine.io handler of a server. Public only because the tower types name it.
#[derive(Clone)]
pub struct EngineHandler {
    pub(crate) server: Arc<ServerInner>,
}

impl std::fmt::Debug for EngineHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandler").finish_non_exhaustive()
    }
}

fn map_reason(r: CloseReason) -> DisconnectReason {
    match r {
        CloseReason::TransportClose => DisconnectReason::TransportClose,
        CloseReason::TransportError => DisconnectReason::TransportError,
        CloseReason::ParseError => DisconnectReason::ParseError,
        CloseReason::PingTimeout => DisconnectReason::PingTimeout,
        CloseReason::ForcedClose => DisconnectReason::ForcedClose,
        CloseReason::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
    }
}

impl EngineHandler {
    /// Closes a connection because of bad input, logging why.
    fn reject(&self, conn: &Arc<Conn>, why: &dyn std::fmt::Display) {
        tracing::warn!(sid = %conn.id(), reason = %why, "closing connection: invalid packet");
        conn.close(CloseReason::ParseError);
    }

    fn on_packet(&self, packet: Packet, conn: &Arc<Conn>) {
        let data = conn.data();
        match packet.data {
            PacketData::Connect(auth) => {
                crate::connect::on_connect_packet(&self.server, &packet.nsp, auth, conn)
            }
            PacketData::Disconnect => {
                if let Some(s) = data.socket(&packet.nsp) {
                    s.close(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            PacketData::Event { event, args, ack } => match data.socket(&packet.nsp) {
                Some(s) => s.on_event(IncomingEvent { event, args, ack }),
                None => {
                    tracing::debug!(sid = %conn.id(), nsp = %packet.nsp, "event for a namespace the client has not joined")
                }
            },
            PacketData::Ack { id, args } => match data.socket(&packet.nsp) {
                Some(s) => {
                    if !s.inner.acks.resolve(id, args) {
                        tracing::debug!(sid = %s.id(), id, "ack for no pending emit (late or unknown), ignored");
                    }
                }
                None => {
                    tracing::debug!(sid = %conn.id(), nsp = %packet.nsp, "ack for a namespace the client has not joined")
                }
            },
            PacketData::ConnectError(_) => {
                self.reject(conn, &"CONNECT_ERROR is a server-to-client packet");
            }
        }
    }
}

impl Handler for EngineHandler {
    type Data = ConnData;

    fn on_open(&self, conn: &Arc<Conn>) {
        if let Some(o) = self.server.counters.watch.get() {
            o.connection_opened(conn);
        }
    }

    fn on_upgrade(&self, conn: &Arc<Conn>) {
        if let Some(o) = self.server.counters.watch.get() {
            o.connection_upgraded(conn);
        }
    }

    /// Stops reading a connection with `max_pending_events` events pending: a client whose
    /// handlers wait (on Redis, a database) is slowed down by TCP instead of buffered
    /// without bound or dropped. One whose handlers never finish stops answering PINGs
    /// and is closed by the heartbeat.
    fn poll_ready(&self, conn: &Arc<Conn>, cx: &mut Context<'_>) -> Poll<()> {
        let d = conn.data();
        let max = self.server.config.max_pending_events;
        if d.pending.load(Ordering::Acquire) < max {
            return Poll::Ready(());
        }
        d.reader.register(cx.waker());
        // Checked again after registering, so a release in between is not missed.
        if d.pending.load(Ordering::Acquire) < max {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn on_message(&self, conn: &Arc<Conn>, msg: Message<'_>) {
        if let Some(o) = self.server.counters.watch.get() {
            o.packet_in(match &msg {
                Message::Text(t) => t.len(),
                Message::Binary(b) => b.len(),
            });
        }
        let result = {
            let mut guard = conn
                .data()
                .decoder
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let dec = guard
                .get_or_insert_with(|| self.server.config.parser.decoder(self.server.limits()));
            match msg {
                Message::Text(t) => dec.decode_text(t),
                Message::Binary(b) => dec.decode_binary(b),
            }
        };
        match result {
            Ok(Some(packet)) => self.on_packet(packet, conn),
            Ok(None) => {}
            Err(e) => self.reject(conn, &e),
        }
    }

    fn on_close(&self, conn: &Arc<Conn>, reason: CloseReason) {
        if let Some(o) = self.server.counters.watch.get() {
            o.connection_closed(
                reason.as_str(),
                conn.transport() == sio_engine::TransportKind::Polling,
            );
        }
        let data = conn.data();
        let reason = map_reason(reason);
        let sockets = std::mem::take(&mut *data.sockets.write().unwrap_or_else(|e| e.into_inner()));
        for s in sockets {
            s.close(reason);
        }
        data.decoder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}
