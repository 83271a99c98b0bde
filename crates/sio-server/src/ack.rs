//! Acknowledgements, both ways.
//!
//! - Client → server: an event that asks for an ack gives its handler an [`AckSender`].
//! - Server → client: `emit_with_ack` registers a pending ack on the socket and waits for
//!   the answer with a timeout held by the caller's future (no task, no timer per socket).
//!   Broadcasts with acks share one ack id per namespace-wide counter, as socket.io does, so
//!   the packet is encoded once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use sio_types::value::to_value;
use sio_types::{AckError, AckId, AckResponse, AckStream, Packet, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::EmitError;
use crate::socket::Socket;

/// The answer channel of one event that asked for an ack. Sending consumes it: an ack is
/// answered at most once. Dropping it without sending leaves the client waiting (its own
/// timeout applies), as in socket.io.
#[derive(Debug)]
pub struct AckSender {
    socket: Socket,
    id: AckId,
}

impl AckSender {
    pub(crate) fn new(socket: Socket, id: AckId) -> Self {
        AckSender { socket, id }
    }

    /// The ack id the client chose.
    pub fn id(&self) -> AckId {
        self.id
    }

    /// Answers with one argument.
    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EmitError> {
        let v = to_value(data)?;
        self.send_args(vec![v])
    }

    /// Answers with these arguments (binary values become attachments).
    pub fn send_args(self, args: Vec<Value>) -> Result<(), EmitError> {
        let packet = Packet::ack(self.socket.ns_path(), self.id, args);
        self.socket.send_packet(&packet, false)
    }
}

pub(crate) enum AckSlot {
    One(oneshot::Sender<AckResponse>),
    Many(mpsc::UnboundedSender<AckResponse>),
}

impl AckSlot {
    fn resolve(self, r: AckResponse) {
        match self {
            AckSlot::One(tx) => {
                let _ = tx.send(r);
            }
            AckSlot::Many(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

/// The acks a socket waits for. Empty maps do not allocate, so idle sockets pay nothing.
#[derive(Default)]
pub(crate) struct PendingAcks {
    map: Mutex<HashMap<AckId, (AckSlot, Instant)>>,
}

impl std::fmt::Debug for PendingAcks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAcks").finish_non_exhaustive()
    }
}

impl PendingAcks {
    pub(crate) fn insert(&self, id: AckId, slot: AckSlot, deadline: Instant) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Entries whose waiter timed out stay until answered; sweep them now and then so a
        // client that never answers cannot grow the map.
        if map.len() >= 64 {
            let now = Instant::now();
            map.retain(|_, (_, d)| *d > now);
        }
        map.insert(id, (slot, deadline));
    }

    /// Resolves a pending ack; false when no such ack is pending.
    pub(crate) fn resolve(&self, id: AckId, args: Vec<Value>) -> bool {
        let slot = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&id)
        };
        match slot {
            Some((slot, _)) => {
                slot.resolve(Ok(args));
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&self, id: AckId) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&id);
    }

    /// Fails every pending ack (the socket disconnected).
    pub(crate) fn fail_all(&self) {
        let drained: Vec<_> = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.drain().map(|(_, (slot, _))| slot).collect()
        };
        for slot in drained {
            slot.resolve(Err(AckError::Disconnected));
        }
    }
}

/// Waits for one ack, removing the pending entry on timeout.
pub(crate) async fn wait_one(
    socket: &Socket,
    id: AckId,
    rx: oneshot::Receiver<AckResponse>,
    timeout: Duration,
) -> AckResponse {
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(AckError::Disconnected),
        Err(_) => {
            socket.inner.acks.remove(id);
            Err(AckError::Timeout)
        }
    }
}

/// A stream of `expected` answers from `rx`; the ones missing at `timeout` yield
/// [`AckError::Timeout`].
pub(crate) fn ack_stream(
    rx: mpsc::UnboundedReceiver<AckResponse>,
    expected: usize,
    timeout: Duration,
) -> AckStream {
    let deadline = Instant::now() + timeout;
    let state = (rx, expected, deadline, false);
    Box::pin(futures_util::stream::unfold(
        state,
        |(mut rx, remaining, deadline, timed_out)| async move {
            if remaining == 0 {
                return None;
            }
            if timed_out {
                return Some((Err(AckError::Timeout), (rx, remaining - 1, deadline, true)));
            }
            tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => Some((r, (rx, remaining - 1, deadline, false))),
                    // Every sender is gone: the sockets disconnected without answering.
                    None => Some((Err(AckError::Disconnected), (rx, remaining - 1, deadline, false))),
                },
                () = tokio::time::sleep_until(deadline) => {
                    Some((Err(AckError::Timeout), (rx, remaining - 1, deadline, true)))
                }
            }
        },
    ))
}
