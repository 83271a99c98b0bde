//! Errors of the server API.

pub use sio_types::{AckError, AdapterError};

/// An emit that could not be queued.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EmitError {
    /// The event name is one socket.io reserves (`connect`, `disconnect`, ...).
    #[error("{0:?} is a reserved event name and cannot be emitted")]
    Reserved(String),
    /// The arguments could not be converted or encoded.
    #[error("could not encode the packet: {0}")]
    Encode(String),
    /// The socket's outgoing buffer is full; the socket is being disconnected (slow consumer).
    #[error("the socket's outgoing buffer is full")]
    BufferFull,
    /// The socket is disconnected.
    #[error("the socket is disconnected")]
    Closed,
    /// The cluster adapter failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

impl From<sio_types::ValueError> for EmitError {
    fn from(e: sio_types::ValueError) -> Self {
        EmitError::Encode(e.to_string())
    }
}

impl From<EmitError> for AckError {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::Adapter(a) => AckError::Adapter(a),
            EmitError::Closed => AckError::Disconnected,
            other => AckError::Send(other.to_string()),
        }
    }
}
