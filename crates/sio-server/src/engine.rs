//! The bridge to engineioxide: one [`EngineHandler`] per server receives every engine.io
//! connection, decodes socket.io packets and routes them to namespaces and sockets.

use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use engineioxide::handler::EngineIoHandler;
use engineioxide::{DisconnectReason as EioReason, Str};
use sio_protocol::socketio::Decoder;
use sio_types::{ConnectError, Packet, PacketData};

use crate::io::ServerInner;
use crate::outbox;
use crate::socket::{DisconnectReason, QueuedEvent, Socket};

/// An engine.io connection of this server.
pub(crate) type Conn = engineioxide::Socket<ConnData>;

/// What the server keeps per engine.io connection. Public only because engineioxide's
/// handler trait names it; it has no public API.
#[derive(Default)]
pub struct ConnData {
    decoder: Mutex<Option<Decoder>>,
    sockets: RwLock<Vec<Socket>>,
    connect_timer: Mutex<Option<tokio::task::AbortHandle>>,
    close_reason: Mutex<Option<DisconnectReason>>,
    pub(crate) outbox: crate::outbox::Pending,
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

    fn socket(&self, nsp: &str) -> Option<Socket> {
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

    pub(crate) fn remove_socket(&self, socket: &Socket) {
        self.sockets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| s != socket);
    }

    /// The reason to report when this connection closes, set by whoever closes it.
    pub(crate) fn set_close_reason(&self, reason: DisconnectReason) {
        let mut r = self.close_reason.lock().unwrap_or_else(|e| e.into_inner());
        r.get_or_insert(reason);
    }

    /// Stops the connect-timeout task: the first CONNECT and the close both end it.
    fn cancel_connect_timer(&self) {
        if let Some(t) = self
            .connect_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            t.abort();
        }
    }

    fn take_close_reason(&self) -> Option<DisconnectReason> {
        self.close_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
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

fn map_reason(r: &EioReason) -> DisconnectReason {
    match r {
        EioReason::TransportClose => DisconnectReason::TransportClose,
        EioReason::MultipleHttpPollingError | EioReason::TransportError => {
            DisconnectReason::TransportError
        }
        EioReason::PacketParsingError => DisconnectReason::ParseError,
        EioReason::HeartbeatTimeout => DisconnectReason::PingTimeout,
        EioReason::ClosingServer => DisconnectReason::ServerShuttingDown,
    }
}

impl EngineHandler {
    /// Closes a connection because of bad input, logging why.
    fn reject(&self, conn: &Arc<Conn>, why: &dyn std::fmt::Display) {
        tracing::warn!(sid = %conn.id, reason = %why, "closing connection: invalid packet");
        conn.data.set_close_reason(DisconnectReason::ParseError);
        conn.close(EioReason::PacketParsingError);
    }

    fn on_packet(&self, packet: Packet, conn: Arc<Conn>) {
        match packet.data {
            PacketData::Connect(auth) => self.on_connect_packet(&packet.nsp, auth, conn),
            PacketData::Disconnect => {
                if let Some(s) = conn.data.socket(&packet.nsp) {
                    s.close(DisconnectReason::ClientNamespaceDisconnect);
                }
            }
            PacketData::Event { event, args, ack } => match conn.data.socket(&packet.nsp) {
                Some(s) => s.enqueue(QueuedEvent { event, args, ack }),
                None => {
                    tracing::debug!(sid = %conn.id, nsp = %packet.nsp, "event for a namespace the client has not joined")
                }
            },
            PacketData::Ack { id, args } => match conn.data.socket(&packet.nsp) {
                Some(s) => {
                    if !s.inner.acks.resolve(id, args) {
                        tracing::debug!(sid = %s.id(), id, "ack for no pending emit (late or unknown), ignored");
                    }
                }
                None => {
                    tracing::debug!(sid = %conn.id, nsp = %packet.nsp, "ack for a namespace the client has not joined")
                }
            },
            PacketData::ConnectError(_) => {
                self.reject(&conn, &"CONNECT_ERROR is a server-to-client packet");
            }
        }
    }

    fn on_connect_packet(&self, nsp: &str, auth: Option<sio_types::Value>, conn: Arc<Conn>) {
        conn.data.cancel_connect_timer();
        if conn.data.socket(nsp).is_some() {
            tracing::debug!(sid = %conn.id, nsp, "already connected to this namespace, CONNECT ignored");
            return;
        }
        let Some(ns) = self.server.get_or_create_ns(nsp) else {
            let packet = Packet::connect_error(nsp, ConnectError::invalid_namespace());
            outbox::write_unsocketed(&conn, &packet, &self.server.config, &self.server.counters);
            return;
        };
        // socket.io's handshake.auth is `{}` when the client sent no payload.
        let auth = match auth {
            None | Some(sio_types::Value::Null) => sio_types::Value::Object(Default::default()),
            Some(v) => v,
        };
        ns.accept(conn, auth);
    }

    fn decode_and_route(&self, conn: Arc<Conn>, input: Input) {
        let result = {
            let mut guard = conn.data.decoder.lock().unwrap_or_else(|e| e.into_inner());
            let dec = guard
                .get_or_insert_with(|| self.server.config.parser.decoder(self.server.limits()));
            match input {
                Input::Text(t) => dec.decode_text(t.as_str()),
                Input::Binary(b) => dec.decode_binary(b),
            }
        };
        match result {
            Ok(Some(packet)) => self.on_packet(packet, conn),
            Ok(None) => {}
            Err(e) => self.reject(&conn, &e),
        }
    }
}

enum Input {
    Text(Str),
    Binary(Bytes),
}

impl EngineIoHandler for EngineHandler {
    type Data = ConnData;

    fn on_connect(self: Arc<Self>, conn: Arc<Conn>) {
        let timeout = self.server.config.connect_timeout;
        let weak = Arc::downgrade(&conn);
        // One short-lived task per connection, aborted by the first CONNECT packet: idle
        // connected sockets keep no timer.
        let task = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(conn) = weak.upgrade()
                && conn
                    .data
                    .sockets
                    .read()
                    .map(|s| s.is_empty())
                    .unwrap_or(true)
            {
                tracing::debug!(sid = %conn.id, "no namespace joined within the connect timeout, closing");
                conn.close(EioReason::TransportClose);
            }
        });
        *conn
            .data
            .connect_timer
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    }

    fn on_disconnect(&self, conn: Arc<Conn>, reason: EioReason) {
        conn.data.cancel_connect_timer();
        let reason = conn
            .data
            .take_close_reason()
            .unwrap_or_else(|| map_reason(&reason));
        let sockets =
            std::mem::take(&mut *conn.data.sockets.write().unwrap_or_else(|e| e.into_inner()));
        for s in sockets {
            s.close(reason);
        }
        conn.data
            .decoder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    fn on_message(self: &Arc<Self>, msg: Str, conn: Arc<Conn>) {
        self.decode_and_route(conn, Input::Text(msg));
    }

    fn on_binary(self: &Arc<Self>, data: Bytes, conn: Arc<Conn>) {
        self.decode_and_route(conn, Input::Binary(data));
    }
}
