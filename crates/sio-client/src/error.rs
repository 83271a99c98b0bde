//! Errors of the client and of its helper.

use sio_types::{AckError, ValueError};

/// What went wrong in the client.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot be used (bad URL, bad header, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The transport failed: connection refused, HTTP error, WebSocket error.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server sent something the engine.io or socket.io decoder refused.
    #[error("protocol error from server: {0}")]
    Protocol(String),
    /// The server sent a payload larger than allowed.
    #[error("payload of {size} bytes from server exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// Bytes announced or received (`limit + 1` when the server announced no length).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The server refused the namespace connection (a CONNECT_ERROR packet).
    #[error("namespace {nsp} refused the connection: {message}")]
    ConnectRefused {
        /// The namespace.
        nsp: String,
        /// The server's message.
        message: String,
    },
    /// The buffer of emits waiting for a connection is full.
    #[error("send buffer is full ({0} packets waiting for a connection)")]
    BufferFull(usize),
    /// The event name is reserved by socket.io and cannot be emitted.
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
    /// The client was closed.
    #[error("client is closed")]
    Closed,
    /// An acknowledgement failed.
    #[error(transparent)]
    Ack(#[from] AckError),
    /// Encoding or decoding a payload failed.
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// An error of the client helper carrying an HTTP-like status, as the seed's errors do
/// (`"Topic is required to emit"`, status 400).
///
/// ```
/// use sio_client::HelperError;
///
/// let e = HelperError::topic_required();
/// assert_eq!(e.status, 400);
/// assert_eq!(e.to_string(), "Topic is required to emit");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HelperError {
    /// The status code (400 for the caller's mistakes).
    pub status: u16,
    /// The seed's message.
    pub message: String,
}

impl HelperError {
    /// `"Invalid socket client state to emit"`, status 400: emitting while not connected.
    pub fn invalid_state() -> Self {
        HelperError {
            status: 400,
            message: "Invalid socket client state to emit".into(),
        }
    }

    /// `"Topic is required to emit"`, status 400: emitting with an empty topic.
    pub fn topic_required() -> Self {
        HelperError {
            status: 400,
            message: "Topic is required to emit".into(),
        }
    }

    /// Any other failure while emitting, status 500.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        HelperError {
            status: 500,
            message: e.to_string(),
        }
    }
}
