//! An event from the server as a handler receives it, and the answer to its ack.

use serde::de::DeserializeOwned;
use sio_types::{AckId, Packet, Value, ValueError};
use tokio::sync::mpsc;

use crate::error::Error;
use crate::manager::Cmd;

/// An event the server sent, as a handler receives it.
#[derive(Debug)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The arguments after the name.
    pub args: Vec<Value>,
    pub(super) ack: Option<AckSender>,
}

impl Event {
    /// Argument `i`, decoded into `T` with serde.
    ///
    /// A missing argument decodes from `null`, so `Option<T>` handles absent ones.
    pub fn arg<T: DeserializeOwned>(&self, i: usize) -> Result<T, ValueError> {
        sio_types::value::from_value(self.args.get(i).cloned().unwrap_or(Value::Null))
    }

    /// All the arguments decoded at once, as a tuple, a `Vec` or a struct of sequence form:
    /// `let (name, avatar): (String, bytes::Bytes) = ev.decode()?;`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        sio_types::value::from_value(Value::Array(self.args.clone()))
    }

    /// Whether the server waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the answer handle, to answer later (from another task).
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Answers the server's ack with `args`. Returns `false` when the server did not ask for
    /// one or it was already answered.
    pub fn ack(&mut self, args: Vec<Value>) -> bool {
        match self.ack.take() {
            Some(a) => a.send(args).is_ok(),
            None => false,
        }
    }
}

/// Answers one ack the server asked for (`socket.emitWithAck` on the server side).
#[derive(Debug)]
pub struct AckSender {
    pub(super) nsp: String,
    pub(super) id: AckId,
    pub(super) cmd: mpsc::UnboundedSender<Cmd>,
}

impl AckSender {
    /// Sends the answer.
    pub fn send(self, args: Vec<Value>) -> Result<(), Error> {
        self.cmd
            .send(Cmd::Send(Packet::ack(self.nsp, self.id, args)))
            .map_err(|_| Error::Closed)
    }
}
