//! Encoded packets and the way they are queued on a connection.
//!
//! A packet is encoded once into an [`Encoded`]: the engine.io messages that carry it, as
//! reference-counted buffers. A broadcast hands clones of the same buffers to every
//! recipient, so encoding is not repeated per socket.
//!
//! Back-pressure is counted in bytes: each connection knows how many bytes it has handed
//! to engineioxide that engineioxide's writer has not yet taken out of its queue (the
//! WebSocket writer copies a frame into tungstenite's bounded write buffer, the polling
//! writer into a response body, and then lets our buffer go). Past
//! [`ServerConfig::max_buffered_bytes`] the connection is a slow consumer (see
//! [`SlowConsumerPolicy`]). engineioxide's own queue still bounds the packet count
//! ([`ServerConfig::max_buffered_packets`]); whichever bound is hit first applies.
//!
//! Small packets are not counted: a packet of at most `max_buffered_bytes /
//! max_buffered_packets` bytes (512 B by default) is bounded by the packet count alone, so
//! a connection never holds more than `2 × max_buffered_bytes` (counted packets up to the
//! byte bound, small ones up to the packet bound). The small ones are most of a chat's or a
//! game's traffic, and they then cost each recipient no allocation at all: a broadcast hands
//! every recipient a clone of the same buffer.
//!
//! How the release of a counted packet is observed: its frames are handed to engineioxide as
//! [`Bytes`] built with [`Bytes::from_owner`] around a [`Tracked`] owner that shares the
//! broadcast's one buffer and subtracts its length from the connection's counter when
//! engineioxide drops it: one small owner allocation per recipient, never a copy.
//!
//! [`ServerConfig::max_buffered_bytes`]: crate::ServerConfig::max_buffered_bytes
//! [`ServerConfig::max_buffered_packets`]: crate::ServerConfig::max_buffered_packets
//! [`SlowConsumerPolicy`]: crate::SlowConsumerPolicy

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

    /// Size of the frames' payloads, what the byte bound counts.
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
    /// [`ServerConfig::max_buffered_bytes`](crate::ServerConfig::max_buffered_bytes).
    pub(crate) max_bytes: usize,
    /// Packets up to this size are bounded by the packet count alone (module docs).
    pub(crate) uncounted: usize,
}

impl Counters {
    pub(crate) fn new(config: &crate::config::ServerConfig) -> Counters {
        Counters {
            max_bytes: config.max_buffered_bytes,
            uncounted: config.max_buffered_bytes / config.max_buffered_packets.max(1),
            ..Counters::default()
        }
    }
}

/// What one connection has queued in engineioxide and not yet seen written out.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Bytes queued and not yet released by engineioxide's writer.
    bytes: Arc<AtomicUsize>,
}

impl Pending {
    fn queued(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// A handle on a shared frame, counted until engineioxide releases it.
    fn track(&self, b: &Bytes) -> Bytes {
        self.bytes.fetch_add(b.len(), Ordering::AcqRel);
        Bytes::from_owner(Tracked {
            data: b.clone(),
            bytes: self.bytes.clone(),
        })
    }

    /// [`Pending::track`] for a text frame. engineioxide's `Str` has no safe constructor
    /// from a `Bytes` (the safe ones copy), and a copy per recipient was the largest cost of
    /// a broadcast.
    #[allow(unsafe_code)]
    fn track_text(&self, t: &Str) -> Str {
        let tracked = self.track(&Bytes::from(t.clone()));
        // SAFETY: `tracked` holds the same bytes as `t`, a `Str`, so they are valid UTF-8.
        unsafe { Str::from_bytes_unchecked(tracked) }
    }
}

/// Owner of a frame handed to engineioxide: its drop is the writer's release.
struct Tracked {
    data: Bytes,
    bytes: Arc<AtomicUsize>,
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.bytes.fetch_sub(self.data.len(), Ordering::AcqRel);
    }
}

/// Encodes and queues a packet that goes to the connection itself rather than through a
/// socket (a CONNECT_ERROR): nothing waits for it, so a failure is only logged.
pub(crate) fn write_unsocketed(
    conn: &Arc<Conn>,
    packet: &Packet,
    config: &crate::config::ServerConfig,
    counters: &Counters,
) {
    let sent = Encoded::encode(&config.parser, packet)
        .and_then(|enc| write(conn, &enc, false, config.slow_consumer, counters));
    if let Err(e) = sent {
        tracing::debug!(sid = %conn.id, error = %e, "packet to the connection not sent");
    }
}

/// Queues `enc` on `conn`, applying the slow-consumer policy when its queue is full (in
/// packets) or holds more than `counters.max_bytes` bytes.
pub(crate) fn write(
    conn: &Arc<Conn>,
    enc: &Encoded,
    volatile: bool,
    policy: SlowConsumerPolicy,
    counters: &Counters,
) -> Result<(), EmitError> {
    let pending = &conn.data.outbox;
    let len = enc.len();
    // Small packets are left to the packet bound (module docs).
    let counted = len > counters.uncounted;
    let queued = if counted { pending.queued() } else { 0 };
    // A packet alone larger than the bound still goes out when nothing is queued: the
    // bound is about a consumer falling behind, not about packet size (max_payload is).
    let over_bytes = counted && queued > 0 && queued.saturating_add(len) > counters.max_bytes;
    let permit = if over_bytes {
        Err(TrySendError::Full(()))
    } else {
        conn.reserve()
    };
    let permit = match permit {
        Ok(p) => p,
        Err(TrySendError::Closed(())) => return Err(EmitError::Closed),
        Err(TrySendError::Full(())) => {
            return full(conn, len, queued, over_bytes, volatile, policy, counters);
        }
    };
    let text = |t: &Str| {
        if counted {
            pending.track_text(t)
        } else {
            t.clone()
        }
    };
    let bin = |b: &Bytes| if counted { pending.track(b) } else { b.clone() };
    match enc {
        Encoded::Text(t, rest) if rest.is_empty() => permit.emit(text(t)),
        Encoded::Text(t, rest) => permit.emit_many(text(t), rest.iter().map(bin).collect()),
        Encoded::Binary(b, rest) if rest.is_empty() => permit.emit_binary(bin(b)),
        Encoded::Binary(b, rest) => permit.emit_many_binary(bin(b), rest.iter().map(bin).collect()),
    }
    Ok(())
}

/// The slow-consumer policy, for a packet of `len` bytes that did not fit: `queued` bytes
/// were counted on the connection and `over_bytes` says whether the byte bound (rather than
/// the packet bound) refused it.
fn full(
    conn: &Arc<Conn>,
    len: usize,
    queued: usize,
    over_bytes: bool,
    volatile: bool,
    policy: SlowConsumerPolicy,
    counters: &Counters,
) -> Result<(), EmitError> {
    if volatile {
        counters.volatile_dropped.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    match policy {
        SlowConsumerPolicy::Drop => {
            counters.full_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(sid = %conn.id, bytes = len, queued_bytes = queued, "outgoing buffer full, packet dropped");
            Err(EmitError::BufferFull)
        }
        SlowConsumerPolicy::Disconnect => {
            counters.slow_disconnected.fetch_add(1, Ordering::Relaxed);
            if over_bytes {
                tracing::warn!(sid = %conn.id, queued_bytes = queued, bytes = len, max_buffered_bytes = counters.max_bytes, "outgoing buffer over max_buffered_bytes (slow consumer), closing the connection");
            } else {
                tracing::warn!(sid = %conn.id, queued_bytes = queued, "outgoing buffer over max_buffered_packets (slow consumer), closing the connection");
            }
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
    }
}
