//! Encoded packets and the way they are queued on a connection.
//!
//! A packet is encoded once into an [`Encoded`]: the engine.io frames that carry it, as
//! reference-counted buffers. A broadcast hands clones of the same buffers to every
//! recipient, so encoding is not repeated, and nothing is copied, per socket.
//!
//! Back-pressure is the engine's: each session counts the bytes and packets queued and not
//! yet handed to its transport, and refuses a packet past
//! [`max_buffered_bytes`](sio_engine::EngineConfig::max_buffered_bytes) or
//! [`max_buffered_packets`](sio_engine::EngineConfig::max_buffered_packets). What happens
//! then is the [`SlowConsumerPolicy`]'s.
//!
//! [`SlowConsumerPolicy`]: crate::SlowConsumerPolicy

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sio_engine::{CloseReason, Frame, SendError};
use sio_protocol::socketio::{self, Parser};
use sio_types::Packet;

use crate::config::SlowConsumerPolicy;
use crate::engine::Conn;
use crate::error::EmitError;

/// One packet, encoded: its frames (a text or msgpack message, then its attachments).
#[derive(Clone, Debug)]
pub(crate) struct Encoded(Arc<[Frame]>);

impl Encoded {
    pub(crate) fn encode(parser: &Parser, packet: &Packet) -> Result<Encoded, EmitError> {
        let frames = parser
            .encode_for_engine(packet)
            .map_err(|e| EmitError::Encode(e.to_string()))?;
        let frames: Result<Arc<[Frame]>, EmitError> = frames
            .into_iter()
            .map(|f| match f {
                socketio::Frame::Binary(b) => Ok(Frame::binary(b)),
                socketio::Frame::Text(t) => Frame::prefixed_message(t)
                    .ok_or_else(|| EmitError::Encode("text frame without its `4`".into())),
            })
            .collect();
        let frames = frames?;
        if frames.is_empty() {
            return Err(EmitError::Encode("the encoder produced no frame".into()));
        }
        Ok(Encoded(frames))
    }

    /// Size of the frames' payloads, what the byte bounds count.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(Frame::len).sum()
    }
}

/// Counters of the slow-consumer policy, shared by the whole server.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) volatile_dropped: AtomicU64,
    pub(crate) full_dropped: AtomicU64,
    pub(crate) slow_disconnected: AtomicU64,
    /// The monitor told of every packet counted here (and of sockets, rooms, events):
    /// it rides along because everything that writes or routes a packet holds this.
    pub(crate) watch: crate::observe::Watch,
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
        tracing::debug!(sid = %conn.id(), error = %e, "packet to the connection not sent");
    }
}

/// Queues `enc` on `conn`, applying the slow-consumer policy when the session's queue is
/// at its bounds.
pub(crate) fn write(
    conn: &Arc<Conn>,
    enc: &Encoded,
    volatile: bool,
    policy: SlowConsumerPolicy,
    counters: &Counters,
) -> Result<(), EmitError> {
    match conn.send_many(&enc.0) {
        Ok(()) => {
            if let Some(o) = counters.watch.get() {
                o.packet_out(enc.0.len(), enc.len());
            }
            Ok(())
        }
        Err(SendError::Closed) => Err(EmitError::Closed),
        Err(SendError::Full {
            queued_bytes,
            queued_packets,
            over_bytes,
        }) => {
            if volatile {
                counters.volatile_dropped.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let len = enc.len();
            match policy {
                SlowConsumerPolicy::Drop => {
                    counters.full_dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(sid = %conn.id(), bytes = len, queued_bytes, queued_packets, "outgoing buffer full, packet dropped");
                    Err(EmitError::BufferFull)
                }
                SlowConsumerPolicy::Disconnect => {
                    counters.slow_disconnected.fetch_add(1, Ordering::Relaxed);
                    if over_bytes {
                        tracing::warn!(sid = %conn.id(), queued_bytes, queued_packets, bytes = len, "outgoing buffer over max_buffered_bytes (slow consumer), closing the connection");
                    } else {
                        tracing::warn!(sid = %conn.id(), queued_bytes, queued_packets, bytes = len, "outgoing buffer over max_buffered_packets (slow consumer), closing the connection");
                    }
                    // The engine ends the session from its own task: the caller may hold
                    // the room index lock, which closing the sockets takes.
                    conn.close(CloseReason::TransportError);
                    Err(EmitError::BufferFull)
                }
            }
        }
    }
}
