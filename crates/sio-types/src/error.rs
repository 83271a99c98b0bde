//! Errors shared by every layer of the stack.

use std::time::Duration;

/// A string that is not a usable [`SocketId`](crate::SocketId).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string is empty.
    #[error("socket id is empty")]
    Empty,
    /// The string is longer than ids may be.
    #[error("socket id is {len} bytes long, at most {max} are allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The string holds a character that is not printable ASCII.
    #[error("socket id contains {0:?}, only printable ASCII is allowed")]
    InvalidChar(char),
}

/// A string that names no [`ClientState`](crate::ClientState).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a client state (expected unauthorized, authenticating or authenticated)")]
pub struct StateError(pub String);

/// A conversion between typed data and [`Value`](crate::Value) failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValueError {
    /// The value had another shape than the type expects.
    #[error("expected {expected}, found {found}")]
    Mismatch {
        /// What the type wanted.
        expected: String,
        /// The kind of value that was there.
        found: &'static str,
    },
    /// An object key was not a string.
    #[error("object keys must be strings, found {0}")]
    KeyNotString(&'static str),
    /// An error raised by a `Serialize` or `Deserialize` implementation.
    #[error("{0}")]
    Custom(String),
}

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

/// An [`Adapter`](crate::Adapter) operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// Not every server answered a cluster request in time. The message is socket.io's.
    #[error(
        "timeout reached while waiting for {request} response ({received} of {expected} servers answered within {waited:?})"
    )]
    Timeout {
        /// Which request: `allRooms`, `fetchSockets`, `serverSideEmit`, ...
        request: &'static str,
        /// How many servers answered.
        received: usize,
        /// How many were expected to.
        expected: usize,
        /// How long the request waited.
        waited: Duration,
    },
    /// Not every server answered a server-side emit in time; the answers that did arrive are
    /// kept, as Node's `serverSideEmitWithAck` hands them to its callback next to the error.
    /// The message is socket.io's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sio_types::{AdapterError, Value};
    ///
    /// let err = AdapterError::PartialTimeout {
    ///     request: "serverSideEmit",
    ///     received: vec![vec![Value::from("pong")]],
    ///     expected: 2,
    ///     waited: Duration::from_secs(5),
    /// };
    /// assert_eq!(err.to_string(), "timeout reached: only 1 responses received out of 2");
    /// ```
    #[error(
        "timeout reached: only {} responses received out of {expected}",
        .received.len()
    )]
    PartialTimeout {
        /// Which request: `serverSideEmit`.
        request: &'static str,
        /// The answers that arrived, one per server, each the arguments of its ack.
        received: Vec<Vec<crate::Value>>,
        /// How many servers were expected to answer.
        expected: usize,
        /// How long the request waited.
        waited: Duration,
    },
    /// The namespace or the adapter is closed.
    #[error("adapter is closed")]
    Closed,
    /// The transport between servers (Redis, ...) failed.
    #[error("adapter transport error: {0}")]
    Transport(String),
    /// A message could not be encoded for the other servers.
    #[error("could not encode cluster message: {0}")]
    Encode(String),
    /// The operation is not supported by this adapter.
    #[error("{0} is not supported by this adapter")]
    Unsupported(&'static str),
}

/// Waiting for an acknowledgement failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AckError {
    /// No ack arrived in time.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before it answered.
    #[error("socket disconnected before acknowledging")]
    Disconnected,
    /// The packet could not be sent (the socket's buffer is full, or it is closing).
    #[error("packet could not be sent: {0}")]
    Send(String),
    /// The ack's arguments did not fit the expected type.
    #[error("ack arguments have an unexpected shape: {0}")]
    Decode(#[from] ValueError),
    /// The cluster adapter failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}
