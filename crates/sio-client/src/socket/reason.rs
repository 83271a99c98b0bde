//! Why a socket or its connection closed.

use std::fmt;

use crate::error::Error;

/// Why a socket or its connection closed, as socket.io-client 4.8 names it: [`Display`](fmt::Display)
/// and [`as_str`](Self::as_str) give exactly its string (`"transport close"`, ...), so code
/// and logs ported from JavaScript compare the same; the error behind a
/// [`TransportError`](Self::TransportError) or [`ParseError`](Self::ParseError) is kept
/// apart, in [`description`](Self::description) (socket.io-client's second argument).
///
/// ```
/// use sio_client::{DisconnectReason, Error};
///
/// let r = DisconnectReason::TransportError(Error::Transport("connection reset".into()));
/// assert_eq!(r.to_string(), "transport error");
/// assert!(r.description().is_some());
/// assert_eq!(DisconnectReason::ForcedClose.as_str(), "forced close");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server disconnected the socket (`io server disconnect`); no reconnection.
    IoServerDisconnect,
    /// [`Socket::disconnect`](crate::Socket::disconnect) was called (`io client disconnect`).
    IoClientDisconnect,
    /// The connection was closed on purpose (`forced close`): [`Manager::close`], or the
    /// last socket of a manager left. Sockets only see it from [`Manager::close`].
    ///
    /// [`Manager::close`]: crate::Manager::close
    ForcedClose,
    /// The server sent nothing within pingInterval + pingTimeout (`ping timeout`).
    PingTimeout,
    /// The connection was closed (`transport close`): the server closed the session, or
    /// the WebSocket's TCP connection ended, which is also how a server process that died
    /// shows over WebSocket, as in socket.io-client.
    TransportClose,
    /// The transport failed (`transport error`): a polling request failed (a dead server,
    /// over polling), the WebSocket broke the protocol.
    TransportError(Error),
    /// The server sent something that could not be decoded (`parse error`).
    ParseError(Error),
}

impl DisconnectReason {
    /// socket.io-client's string for the reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::IoServerDisconnect => "io server disconnect",
            DisconnectReason::IoClientDisconnect => "io client disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError(_) => "transport error",
            DisconnectReason::ParseError(_) => "parse error",
        }
    }

    /// The error behind the reason, when there is one.
    pub fn description(&self) -> Option<&Error> {
        match self {
            DisconnectReason::TransportError(e) | DisconnectReason::ParseError(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
