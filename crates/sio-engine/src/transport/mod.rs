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

/// A packet from the client, whatever carried it. Returns the reason when the packet
/// ended the session (the transport stops reading); a close the handler decided is seen by
/// the transport's writer side instead, like any other.
pub(crate) fn receive<H: Handler>(
    session: &Arc<Session<H>>,
    packet: Incoming<'_>,
) -> Option<CloseReason> {
    let handler = &session.engine.handler;
    match packet {
        Incoming::Message(msg) => handler.on_message(session, msg),
        Incoming::Packet(Packet::Message(text)) => {
            handler.on_message(session, Message::Text(&text));
        }
        Incoming::Packet(Packet::Binary(data)) => {
            handler.on_message(session, Message::Binary(data));
        }
        Incoming::Packet(Packet::Pong(_)) => session.on_pong(),
        Incoming::Packet(Packet::Close) => {
            tracing::debug!(sid = %session.id(), "client closed the session");
            session.close_now(CloseReason::TransportClose, PollEnd::Noop);
            return Some(CloseReason::TransportClose);
        }
        Incoming::Packet(Packet::Open(_)) => {
            tracing::debug!(sid = %session.id(), "OPEN from a client, closing");
            session.close_now(CloseReason::ParseError, PollEnd::Close);
            return Some(CloseReason::ParseError);
        }
        // PING (a v3 client), UPGRADE outside an upgrade, NOOP: nothing to do.
        Incoming::Packet(Packet::Ping(_) | Packet::Upgrade | Packet::Noop) => {}
    }
    None
}

/// What a transport read.
pub(crate) enum Incoming<'a> {
    /// A message, not copied out of the transport's buffer.
    Message(Message<'a>),
    /// Any other packet.
    Packet(Packet),
}
