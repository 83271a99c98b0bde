//! A Socket.IO v5 server on [engineioxide], wire-compatible with the official
//! `socket.io-client` 4.x and with Node servers in a cluster.
//!
//! | module | what it holds |
//! |---|---|
//! | [`io`] | [`SocketIo`], its builder and `listen(addr)` |
//! | [`service`] | [`SocketIoLayer`] / [`SocketIoService`]: under axum, hyper or any tower stack |
//! | [`namespace`] | [`Namespace`]: sockets of one path, rooms, middlewares |
//! | [`socket`] | [`Socket`]: handlers, emits, acks, rooms, disconnect reasons |
//! | [`handler`] | [`Args`] and handler signatures |
//! | [`operators`] | [`BroadcastOperator`]: `to`, `except`, `local`, `volatile`, ... |
//! | [`ack`] | [`AckSender`], acks both ways |
//! | [`helper`] | [`ServerHelper`]: the seed's authenticate / rooms / ping helper |
//! | [`handshake`] | how the handshake is built, [`RemoteAddr`](handshake::RemoteAddr) |
//! | `recovery` | connection state recovery (internal; options: [`RecoveryConfig`]) |
//! | [`config`] | [`ServerConfig`] and its parts |
//! | [`extensions`] | per-socket typed state |
//! | [`error`] | [`EmitError`] and re-exported ack/adapter errors |
//!
//! ```no_run
//! use sio_server::SocketIo;
//!
//! # async fn run() -> std::io::Result<()> {
//! let io = SocketIo::builder().build();
//! io.ns("/", |socket| async move {
//!     socket.on("message", |socket, args, _ack| async move {
//!         let _ = socket.emit_args("message-back", args.into_vec());
//!     });
//! });
//! let handle = io.listen("127.0.0.1:3000".parse().unwrap()).await?;
//! # drop(handle); Ok(()) }
//! ```
//!
//! # Ordering and the connection handler
//!
//! A namespace's connection handler runs to completion before the client gets its CONNECT
//! answer; events the client sends meanwhile are queued and handled afterwards, in order.
//! Events of one socket are handled one at a time; acks are not queued.
//!
//! # Slow consumers
//!
//! Each connection queues at most [`ServerConfig::max_buffered_bytes`] bytes (8 MiB by
//! default: what engineioxide's writer has not yet taken, so a client that stops reading
//! reaches it once the kernel and WebSocket write buffers are full) and at most
//! [`ServerConfig::max_buffered_packets`] packets. When a socket's queue is full, volatile
//! packets are dropped (counted in [`SocketIo::stats`]) and other packets trigger the
//! [`SlowConsumerPolicy`]: by default the connection is closed with a logged warning
//! (reason `transport error`). To count text frames, each recipient gets its own copy of
//! a text frame (engineioxide's `Str` cannot share a buffer whose release we could observe
//! without `unsafe`); binary frames stay shared.
//!
//! # Compression
//!
//! engineioxide 0.17 negotiates no WebSocket permessage-deflate, so the `compress` flag
//! does not change this server's WebSocket frames (it is carried to the cluster, where
//! Node servers honour it). Polling responses can be compressed by the HTTP stack: mount
//! [`SocketIo::layer`] under `tower_http::compression::CompressionLayer`.
//!
//! # CORS
//!
//! Use `tower_http::cors::CorsLayer` around [`SocketIo::layer`]; see
//! `examples/axum_echo.rs`.
//!
//! # Known differences from socket.io 4.8
//!
//! They come from engineioxide 0.17.9, the engine.io layer, and are pinned by tests:
//!
//! - the first engine.io PING goes out right after the handshake (socket.io waits one
//!   ping interval), see `docs/compatibility.md`;
//! - when the server closes a WebSocket session (ping timeout, bad packet, connect
//!   timeout, `disconnect(true)`) it sends an engine.io CLOSE packet (`1`) first;
//! - a WebSocket dropped without a close frame is reported as `transport error` (socket.io
//!   says `transport close`); a proper close is `transport close`;
//! - idle memory: a bare engineioxide WebSocket connection measured here costs about
//!   25 KiB of RSS; this crate adds about 1.5 KiB per socket (two rooms joined).
//!
//! And from this crate's choices:
//!
//! - outgoing buffers are bounded (in bytes and packets, see *Slow consumers*), where
//!   Node buffers without bound;
//! - connection state recovery keeps sessions in the process that served them: a client
//!   recovers when it reconnects to the same server;
//! - a handler that never completes holds back the later events of its socket (they are
//!   handled in order); past [`ServerConfig::max_pending_events`] the client is
//!   disconnected.
#![deny(missing_docs)]

pub mod ack;
pub mod config;
mod engine;
pub mod error;
pub mod extensions;
pub mod handler;
pub mod handshake;
pub mod helper;
pub mod io;
pub mod namespace;
pub mod operators;
mod outbox;
mod recovery;
pub mod service;
pub mod socket;

pub use ack::AckSender;
pub use config::{RecoveryConfig, ServerConfig, SlowConsumerPolicy, Transports};
pub use engine::{ConnData, EngineHandler};
pub use error::EmitError;
pub use extensions::Extensions;
pub use handler::Args;
pub use helper::{ServerHelper, ServerHelperBuilder};
pub use io::{DynamicNamespace, SocketIo, SocketIoBuilder, Stats};
pub use namespace::Namespace;
pub use operators::{BroadcastOperator, RemoteSocket};
pub use service::{SocketIoLayer, SocketIoService};
pub use sio_engine::listen::ListenHandle;
pub use socket::{DisconnectReason, Socket};

pub use sio_protocol::socketio::Parser;
pub use sio_types;
pub use sio_types::{
    AckError, AdapterError, BroadcastFlags, ConnectError, Handshake, Room, SocketId, Value,
};
