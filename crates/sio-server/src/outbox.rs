//! Encoded packets and the way they are queued on a connection.
//!
//! A packet is encoded once into an [`Encoded`]: the engine.io messages that carry it, as
//! reference-counted buffers. A broadcast hands clones of the same buffers to every
//! recipient, so fan-out costs a refcount increment per socket, not an encode.
//!
//! Back-pressure: engineioxide queues at most `max_buffer_size` packet groups per
//! connection. We size that queue from [`ServerConfig::max_buffered_packets`] and treat a
//! full queue as a slow consumer (see [`SlowConsumerPolicy`]). Accounting in bytes is not
//! possible from outside engineioxide without `unsafe` (its text type cannot wrap a
//! buffer whose release we could observe), so the bound is a packet count.
//!
//! [`ServerConfig::max_buffered_packets`]: crate::ServerConfig::max_buffered_packets
//! [`SlowConsumerPolicy`]: crate::SlowConsumerPolicy

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use engineioxide::{DisconnectReason as EioReason, Str};
use sio_protocol::socketio::{Frame, Parser};
use sio_types::Packet;
use tokio::sync::mpsc::error::TrySendError;

use crate::config::SlowConsumerPolicy;
use crate::engine::Conn;
use crate::error::EmitError;

/// One packet, encoded.
#[derive(Clone, Debug)]
pub(crate) enum Encoded {
    /// A text message followed by its binary attachments (default parser).
    Text(Str, Vec<Bytes>),
    /// A binary message (msgpack parser), maybe followed by more binary messages.
    Binary(Bytes, Vec<Bytes>),
}

impl Encoded {
    pub(crate) fn encode(parser: &Parser, packet: &Packet) -> Result<Encoded, EmitError> {
        let frames = parser
            .encode(packet)
            .map_err(|e| EmitError::Encode(e.to_string()))?;
        let mut it = frames.into_iter();
        let first = it
            .next()
            .ok_or_else(|| EmitError::Encode("the encoder produced no frame".into()))?;
        let rest = it
            .map(|f| match f {
                Frame::Binary(b) => b,
                Frame::Text(t) => Bytes::from(t),
            })
            .collect();
        Ok(match first {
            Frame::Text(t) => Encoded::Text(Str::from(t), rest),
            Frame::Binary(b) => Encoded::Binary(b, rest),
        })
    }

    /// Size on the wire, roughly (for logs).
    pub(crate) fn len(&self) -> usize {
        let (first, rest) = match self {
            Encoded::Text(t, r) => (t.len(), r),
            Encoded::Binary(b, r) => (b.len(), r),
        };
        first + rest.iter().map(Bytes::len).sum::<usize>()
    }
}

/// Counters of the slow-consumer policy, shared by the whole server.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) volatile_dropped: AtomicU64,
    pub(crate) full_dropped: AtomicU64,
    pub(crate) slow_disconnected: AtomicU64,
}

/// Queues `enc` on `conn`, applying the slow-consumer policy when its queue is full.
pub(crate) fn write(
    conn: &Arc<Conn>,
    enc: &Encoded,
    volatile: bool,
    policy: SlowConsumerPolicy,
    counters: &Counters,
) -> Result<(), EmitError> {
    let permit = match conn.reserve() {
        Ok(p) => p,
        Err(TrySendError::Closed(())) => return Err(EmitError::Closed),
        Err(TrySendError::Full(())) => {
            if volatile {
                counters.volatile_dropped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            return match policy {
                SlowConsumerPolicy::Drop => {
                    counters.full_dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sid = %conn.id, bytes = enc.len(), "outgoing buffer full, packet dropped");
                    Err(EmitError::BufferFull)
                }
                SlowConsumerPolicy::Disconnect => {
                    counters.slow_disconnected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sid = %conn.id, "outgoing buffer full (slow consumer), closing the connection");
                    conn.data
                        .set_close_reason(crate::socket::DisconnectReason::TransportError);
                    conn.close(EioReason::TransportError);
                    // engineioxide reports the close only once its writer, blocked on the
                    // peer that does not read, lets go: that may be never. Release the
                    // sockets now (from a task: the caller may hold the room index lock).
                    let conn = conn.clone();
                    tokio::spawn(async move {
                        for s in conn.data.sockets() {
                            s.close(crate::socket::DisconnectReason::TransportError);
                        }
                    });
                    Err(EmitError::BufferFull)
                }
            };
        }
    };
    match enc {
        Encoded::Text(t, rest) if rest.is_empty() => permit.emit(t.clone()),
        Encoded::Text(t, rest) => {
            permit.emit_many(t.clone(), rest.iter().cloned().collect::<VecDeque<_>>())
        }
        Encoded::Binary(b, rest) if rest.is_empty() => permit.emit_binary(b.clone()),
        Encoded::Binary(b, rest) => permit.emit_many_binary(b.clone(), rest.clone()),
    }
    Ok(())
}
