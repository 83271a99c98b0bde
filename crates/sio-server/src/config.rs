//! Server options.

use std::borrow::Cow;
use std::time::Duration;

use sio_protocol::Limits;
use sio_protocol::socketio::Parser;

/// The transports a server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transports {
    /// HTTP long-polling and WebSocket, with upgrade (the default).
    Both,
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only.
    Websocket,
}

/// Connection state recovery options (socket.io 4.6+ `connectionStateRecovery`).
///
/// With recovery on, every event sent to a client (without ack, not volatile) carries an
/// offset as its last argument, and the server keeps the packets of the last
/// `max_disconnection_duration`. A client that reconnects in time with its private session
/// id (`pid`) and last offset gets back its id, rooms, `data` and the packets it missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected session can be recovered (socket.io default: 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the namespace middlewares (socket.io default: true).
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
        }
    }
}

/// What to do when a socket's outgoing buffer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlowConsumerPolicy {
    /// Close the slow socket's connection (reason `transport error`), logged. The default.
    #[default]
    Disconnect,
    /// Drop the packet that did not fit, logged and counted.
    Drop,
}

/// Every option of a server. Built with [`SocketIoBuilder`](crate::SocketIoBuilder).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The HTTP path, `/socket.io/` by default.
    pub path: Cow<'static, str>,
    /// Engine.io heartbeat interval (25 s).
    pub ping_interval: Duration,
    /// How long the server waits for a pong (20 s).
    pub ping_timeout: Duration,
    /// Largest message or polling body accepted, in bytes (1 MB as socket.io's
    /// `maxHttpBufferSize`).
    pub max_payload: u64,
    /// Transports accepted.
    pub transports: Transports,
    /// How long a connection may stay without joining a namespace (45 s).
    pub connect_timeout: Duration,
    /// How long a transport upgrade may take (10 s).
    pub upgrade_timeout: Duration,
    /// Default timeout of `emit_with_ack` (5 s).
    pub ack_timeout: Duration,
    /// Most packets queued per connection before the slow-consumer policy applies. Half
    /// of it bounds what a socket holds before its CONNECT answer (emits made while the
    /// connection handler runs); past that, packets are dropped (volatile) or refused with
    /// `EmitError::BufferFull`.
    pub max_buffered_packets: usize,
    /// Most bytes queued per connection (handed to engineioxide, not yet taken by its
    /// writer) before the slow-consumer policy applies; 8 MiB by default. A single packet
    /// larger than this still goes out when nothing else is queued. Half of it bounds what
    /// a socket holds before its CONNECT answer, as for `max_buffered_packets`.
    ///
    /// Packets of at most `max_buffered_bytes / max_buffered_packets` bytes (512 B by
    /// default) are bounded by `max_buffered_packets` alone, which keeps them free of any
    /// per-recipient bookkeeping; a connection's queue therefore holds at most
    /// `2 × max_buffered_bytes`.
    pub max_buffered_bytes: usize,
    /// What to do with a slow consumer.
    pub slow_consumer: SlowConsumerPolicy,
    /// Most events of one socket waiting for their handler; a client that sends more
    /// (faster than its handlers complete) is disconnected.
    pub max_pending_events: usize,
    /// The socket.io parser.
    pub parser: Parser,
    /// Decoder limits (attachments, nesting depth; the packet size follows `max_payload`).
    pub limits: Limits,
    /// Connection state recovery, off by default.
    pub recovery: Option<RecoveryConfig>,
    /// Read buffer of each WebSocket connection, in bytes; 1 KiB by default (engineioxide's
    /// is 4 KiB). Every connection keeps it for its lifetime, so it is most of what an idle
    /// socket costs that we control (3 KiB per socket less at 1 KiB than at 4). A frame
    /// larger than the buffer grows it; only bursts of many small frames from one client
    /// take more reads.
    pub ws_read_buffer_size: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            path: Cow::Borrowed("/socket.io/"),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            transports: Transports::Both,
            connect_timeout: Duration::from_millis(45_000),
            upgrade_timeout: Duration::from_millis(10_000),
            ack_timeout: Duration::from_secs(5),
            max_buffered_packets: 16_384,
            max_buffered_bytes: 8 * 1024 * 1024,
            slow_consumer: SlowConsumerPolicy::Disconnect,
            max_pending_events: 1024,
            parser: Parser::default(),
            limits: Limits::default(),
            recovery: None,
            ws_read_buffer_size: 1024,
        }
    }
}
