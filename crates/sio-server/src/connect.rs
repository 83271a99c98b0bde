//! The CONNECT of a namespace, owned here from the packet to the first event: which
//! namespace, a recovered session or a new one, the adapter ready, the middlewares, the
//! socket in the room table, the packets it missed, the connection handler, the CONNECT
//! answer, then the events that arrived meanwhile. A refusal at any step answers
//! CONNECT_ERROR and leaves nothing behind.
//!
//! The socket's own parts of the sequence (holding emits until the answer, holding
//! events back until the flow is done) are `Socket` methods; the namespace's (room table, recovery) are
//! `NamespaceInner`'s. This module is the only place that calls them in order.

use std::sync::Arc;

use sio_types::{ConnectError, Packet, Room, Value};

use crate::engine::Conn;
use crate::handler::run_guarded;
use crate::io::ServerInner;
use crate::namespace::NamespaceInner;
use crate::outbox;
use crate::socket::Socket;

/// A CONNECT packet for namespace `nsp` arrived on `conn`.
pub(crate) fn on_connect_packet(
    server: &ServerInner,
    nsp: &str,
    auth: Option<Value>,
    conn: &Arc<Conn>,
) {
    if conn.data().socket(nsp).is_some() {
        tracing::debug!(sid = %conn.id(), nsp, "already connected to this namespace, CONNECT ignored");
        return;
    }
    let Some(ns) = server.get_or_create_ns(nsp) else {
        let packet = Packet::connect_error(nsp, ConnectError::invalid_namespace());
        outbox::write_unsocketed(conn, &packet, &server.config, &server.counters);
        return;
    };
    conn.set_idle(false);
    // socket.io's handshake.auth is `{}` when the client sent no payload.
    let auth = match auth {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v) => v,
    };
    ns.accept(conn.clone(), auth);
}

impl NamespaceInner {
    /// Runs the connect flow of a new socket: adapter ready, middlewares, table entry,
    /// connection handler, then the CONNECT answer, then the events that arrived meanwhile.
    pub(crate) async fn run_connect(
        self: Arc<Self>,
        socket: Socket,
        restored_rooms: Option<Vec<Room>>,
        missed: Vec<Packet>,
    ) {
        if let Err(e) = self.ready().await {
            tracing::error!(nsp = %self.path, error = %e, "adapter failed to initialize");
            self.refuse(
                &socket,
                ConnectError {
                    message: "Server unavailable".into(),
                    data: None,
                },
            );
            return;
        }
        let skip = socket.recovered()
            && self
                .recovery
                .as_ref()
                .is_some_and(|r| r.config().skip_middlewares);
        if !skip {
            let middlewares = self
                .handlers
                .middlewares
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            for mw in middlewares {
                match run_guarded("middleware", mw(socket.clone())).await {
                    Some(Ok(())) => {}
                    Some(Err(err)) => return self.refuse(&socket, err),
                    None => {
                        return self.refuse(
                            &socket,
                            ConnectError {
                                message: "middleware error".into(),
                                data: None,
                            },
                        );
                    }
                }
                if socket.is_closed() {
                    return;
                }
            }
        }
        if !self.insert_socket(&socket, restored_rooms.unwrap_or_default()) {
            return;
        }
        if let Some(o) = self.counters.watch.get() {
            o.socket_connected(&socket);
        }
        for p in &missed {
            let _ = socket.send_packet(p, false);
        }
        let handler = self
            .handlers
            .connect
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(h) = handler {
            run_guarded("connection", h(socket.clone())).await;
        }
        crate::recovery::on_connected(&socket);
        let mut payload = sio_types::value::Map::new();
        payload.insert("sid".into(), Value::String(socket.id().as_str().to_owned()));
        if let Some(pid) = &socket.inner.pid {
            payload.insert("pid".into(), Value::String(pid.to_string()));
        }
        let connect = Packet::connect(self.path.clone(), Some(Value::Object(payload)));
        if let Err(e) = socket.finish_connect(&connect) {
            tracing::debug!(sid = %socket.id(), error = %e, "CONNECT answer could not be sent");
            return;
        }
        socket.start_early_events();
    }

    fn refuse(&self, socket: &Socket, err: ConnectError) {
        tracing::debug!(nsp = %self.path, message = %err.message, "namespace connection refused");
        let packet = Packet::connect_error(self.path.clone(), err);
        crate::outbox::write_unsocketed(&socket.inner.conn, &packet, &self.config, &self.counters);
        socket.discard_early_events();
        crate::engine::remove_socket(&socket.inner.conn, socket);
        socket.close(crate::socket::DisconnectReason::ServerNamespaceDisconnect);
    }

    /// Creates the socket of a CONNECT packet and starts its connect flow; first, when the
    /// adapter keeps recovery sessions and the client presents one, looks it up there.
    pub(crate) fn accept(self: &Arc<Self>, conn: Arc<Conn>, auth: Value) {
        if crate::recovery::restores_through_adapter(self, &auth) {
            let ns = self.clone();
            tokio::spawn(async move {
                let start = crate::recovery::start_clustered(&ns, auth).await;
                ns.start_socket(conn, start);
            });
            return;
        }
        let start = crate::recovery::start_local(self, auth);
        self.start_socket(conn, start);
    }

    fn start_socket(self: &Arc<Self>, conn: Arc<Conn>, start: crate::recovery::Start) {
        let crate::recovery::Start {
            new,
            rooms,
            missed,
            offset,
        } = start;
        let socket = Socket::new(self.clone(), conn, new);
        crate::recovery::on_created(&socket, offset);
        socket.inner.conn.data().add_socket(socket.clone());
        // Middlewares and connection handlers rarely wait: run the flow here when they
        // don't. Their panics are caught inside; one outside them is ours, logged.
        crate::handler::run_inline(
            "connect flow",
            self.clone().run_connect(socket.clone(), rooms, missed),
        );
    }
}
