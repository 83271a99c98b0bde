//! What the engine tells the application: a session opened, a message arrived, it closed.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::session::Session;

/// The application on top of the engine (a Socket.IO server, an echo server, ...).
///
/// Every callback runs on the task that received the input (the WebSocket connection's
/// task, the HTTP request of a poll) and must not block: spawn a task for slow work. The
/// callbacks of one session never run concurrently with each other for the same transport,
/// and `on_close` runs exactly once, last.
pub trait Handler: Send + Sync + Sized + 'static {
    /// What the application keeps per session, in the session itself (one allocation).
    type Data: Default + Send + Sync + 'static;

    /// A session was opened by a handshake (its OPEN packet is already queued).
    fn on_open(&self, session: &Arc<Session<Self>>);

    /// A text or binary message (engine.io packet type `4`) arrived.
    fn on_message(&self, session: &Arc<Session<Self>>, msg: Message<'_>);

    /// The session closed, for `reason`. Nothing more can be sent on it.
    fn on_close(&self, session: &Arc<Session<Self>>, reason: CloseReason);

    /// The session moved from polling to WebSocket ([`Session::transport`] says so already).
    /// Most applications need nothing here; monitoring (socket.io's admin UI) shows it.
    fn on_upgrade(&self, session: &Arc<Session<Self>>) {
        let _ = session;
    }

    /// Whether the handler takes the session's next message now (default: always).
    ///
    /// A transport asks before it reads more from the client. `Pending` stops reading the
    /// session until the handler wakes `cx`: a WebSocket's frames wait in the kernel, so
    /// TCP slows the client down, and a POST is answered once the handler is ready again.
    /// What the server sends keeps flowing. A handler whose work piles up (a Socket.IO
    /// server's event handlers waiting on a database) applies back-pressure this way
    /// instead of buffering without bound or dropping the client. A session that closes
    /// stops waiting by itself: the handler need not watch for that.
    fn poll_ready(&self, session: &Arc<Session<Self>>, cx: &mut Context<'_>) -> Poll<()> {
        let _ = (session, cx);
        Poll::Ready(())
    }
}

/// A handler that sends every message back as it came: the server of the official
/// engine.io protocol test suite (`examples/echo.rs`), and a quick check of a deployment.
///
/// ```
/// let engine = sio_engine::Engine::new(sio_engine::Echo, Default::default());
/// # drop(engine);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    type Data = ();

    fn on_open(&self, _session: &Arc<Session<Self>>) {}

    fn on_message(&self, session: &Arc<Session<Self>>, msg: Message<'_>) {
        // A client that does not read is the bounds' business, not the echo's.
        let _ = session.send(crate::Frame::from(msg));
    }

    fn on_close(&self, _session: &Arc<Session<Self>>, _reason: CloseReason) {}
}

/// An engine.io message from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message (the data after the `4`).
    Text(&'a str),
    /// A binary message (a binary WebSocket frame, or `b` + base64 over polling).
    Binary(Bytes),
}

/// Why a session closed, with the strings engine.io and socket.io report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// `transport close`: the client closed the connection or sent a CLOSE packet, or
    /// the connection dropped (a WebSocket without its close frame included, as in Node).
    TransportClose,
    /// `transport error`: the connection failed (I/O error, protocol violation, two
    /// concurrent polls, a slow consumer closed by the application).
    TransportError,
    /// `ping timeout`: no PONG within `ping_timeout` of a PING.
    PingTimeout,
    /// `parse error`: the client sent something that is not an engine.io packet.
    ParseError,
    /// `forced close`: the application closed the session.
    ForcedClose,
    /// `server shutting down`: the engine closed every session.
    ServerShuttingDown,
}

impl CloseReason {
    /// engine.io's string for this reason.
    ///
    /// ```
    /// assert_eq!(sio_engine::CloseReason::PingTimeout.as_str(), "ping timeout");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerShuttingDown => "server shutting down",
        }
    }

    /// Whether queued packets are still worth writing before the connection goes: a
    /// close the server decided on, not a dead or hostile peer.
    pub(crate) fn is_graceful(self) -> bool {
        matches!(
            self,
            CloseReason::ForcedClose | CloseReason::ServerShuttingDown
        )
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
