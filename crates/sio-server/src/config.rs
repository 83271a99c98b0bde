//! Server options.

use std::time::Duration;

use sio_engine::EngineConfig;
pub use sio_engine::config::{Cookie, Cors, CorsOrigin, Refusal, Transports};
use sio_protocol::Limits;
use sio_protocol::socketio::Parser;

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
    /// The engine.io options: path (`/socket.io/`), heartbeat, `max_payload`, transports,
    /// upgrades, CORS, cookie, compression, outgoing bounds. Set through the builder.
    pub engine: EngineConfig,
    /// How long a connection may stay without a namespace (45 s): after the handshake, and
    /// again after it left its last namespace.
    pub connect_timeout: Duration,
    /// Default timeout of `emit_with_ack` (5 s).
    pub ack_timeout: Duration,
    /// What to do with a slow consumer: a socket whose connection has
    /// `engine.max_buffered_bytes` or `engine.max_buffered_packets` queued.
    pub slow_consumer: SlowConsumerPolicy,
    /// Most events of one connection pending at once (handled by a waiting handler, or held
    /// back while a connect flow runs); at the bound the connection is not read until one
    /// is done.
    pub max_pending_events: usize,
    /// The socket.io parser.
    pub parser: Parser,
    /// Decoder limits (attachments, nesting depth; the packet size follows `max_payload`).
    pub limits: Limits,
    /// Connection state recovery, off by default.
    pub recovery: Option<RecoveryConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            engine: EngineConfig::builder().path("/socket.io/").build(),
            connect_timeout: Duration::from_millis(45_000),
            ack_timeout: Duration::from_secs(5),
            slow_consumer: SlowConsumerPolicy::Disconnect,
            max_pending_events: 1024,
            parser: Parser::default(),
            limits: Limits::default(),
            recovery: None,
        }
    }
}
