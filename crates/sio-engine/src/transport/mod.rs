//! The transports: how a session's packets travel.
//!
//! Every transport meets a session at the same seam, in `session.rs`. There are two
//! kinds of transport: request-driven (polling: a waiting GET takes what is queued with
//! `poll_get`) and streams (WebSocket: one task takes what is queued with `stream_take`
//! and writes it). Both register a waker when nothing is queued, and hand what arrives to
//! `receive`; a stream can also be the target of an upgrade (`on_probe`,
//! `complete_upgrade`). A new stream transport (WebTransport) is one more module here and
//! one more [`TransportKind`]; sessions, heartbeats and the handler do not change.

use std::sync::Arc;

use sio_protocol::engineio::Packet;

use crate::handler::{CloseReason, Handler, Message};
use crate::session::{PollEnd, Session};

pub(crate) mod polling;
pub(crate) mod websocket;

/// A transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// Whether the transport holds a connection whose task writes the session's packets
    /// itself (WebSocket; WebTransport would be one), rather than answering requests.
    pub(crate) fn is_stream(self) -> bool {
        !matches!(self, TransportKind::Polling)
    }

    /// engine.io's name: `polling` or `websocket`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// A packet from the client, whatever carried it. Returns `false` once the session is
/// closing (the transport stops reading).
pub(crate) fn receive<H: Handler>(session: &Arc<Session<H>>, packet: Incoming<'_>) -> bool {
    match packet {
        Incoming::Message(msg) => {
            session.engine.handler.on_message(session, msg);
        }
        Incoming::Packet(Packet::Pong(_)) => session.on_pong(),
        Incoming::Packet(Packet::Close) => {
            tracing::debug!(sid = %session.id(), "client closed the session");
            session.close_now(CloseReason::TransportClose, PollEnd::Noop);
            return false;
        }
        Incoming::Packet(Packet::Message(text)) => {
            session
                .engine
                .handler
                .on_message(session, Message::Text(&text));
        }
        Incoming::Packet(Packet::Binary(data)) => {
            session
                .engine
                .handler
                .on_message(session, Message::Binary(data));
        }
        Incoming::Packet(Packet::Open(_)) => {
            tracing::debug!(sid = %session.id(), "OPEN from a client, closing");
            session.close_now(CloseReason::ParseError, PollEnd::Close);
            return false;
        }
        // PING (a v3 client), UPGRADE outside an upgrade, NOOP: nothing to do.
        Incoming::Packet(Packet::Ping(_) | Packet::Upgrade | Packet::Noop) => {}
    }
    !session.is_closed()
}

/// What a transport read.
pub(crate) enum Incoming<'a> {
    /// A message, not copied out of the transport's buffer.
    Message(Message<'a>),
    /// Any other packet.
    Packet(Packet),
}
