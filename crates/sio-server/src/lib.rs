//! A Socket.IO v5 server on [`sio_engine`] (sio's own engine.io v4 server),
//! wire-compatible with the official `socket.io-client` 4.x and with Node servers in a
//! cluster.
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
//! | `admin` | the official Socket.IO Admin UI's protocol: `admin::instrument` (feature `admin`) |
//! | `observe` | the seam through which a monitor (the admin UI) sees the server (internal) |
//! | `connect` | the CONNECT sequence of a namespace, in one place (internal) |
//! | `recovery` | connection state recovery (internal; options: [`RecoveryConfig`]) |
//! | [`config`] | [`ServerConfig`] and its parts, the engine's [`Cors`](config::Cors), [`Cookie`](config::Cookie), [`Transports`] |
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
//! answer; events the client sends meanwhile are held back and handled afterwards, in order.
//! Event handlers start in arrival order and run until their first `.await` in that order;
//! one that waits does not hold back later events (as in Node).
//!
//! # Connections without a namespace
//!
//! A connection must join a namespace within
//! [`connect_timeout`](SocketIoBuilder::connect_timeout) (45 s), and the timeout starts
//! again when it leaves its last namespace: a client whose sockets were all disconnected
//! (by an authentication timeout, say) cannot keep its connection by answering PINGs. It
//! is closed with the reason `forced close`. [`SocketIo::connection_count`] counts the
//! open connections, with or without a namespace.
//!
//! # Slow consumers
//!
//! Each connection queues at most [`max_buffered_bytes`](SocketIoBuilder::max_buffered_bytes)
//! bytes (8 MiB) and [`max_buffered_packets`](SocketIoBuilder::max_buffered_packets)
//! packets (16,384), counted exactly by the engine from the moment a packet is queued until
//! the connection's transport takes it: a client that stops reading reaches the bounds once
//! the kernel and WebSocket write buffers are full. A packet that would pass a bound is
//! refused whole (one packet larger than the byte bound still goes out when nothing is
//! queued). Volatile packets are then dropped (counted in [`SocketIo::stats`]) and other
//! packets trigger the [`SlowConsumerPolicy`]: by default the connection is closed with a
//! logged warning (reason `transport error`). Independently, a client that stops reading
//! stops answering PINGs and is closed after `ping_interval` + `ping_timeout` (reason
//! `ping timeout`).
//!
//! Broadcasts are encoded once; every recipient queues the same buffers.
//!
//! # CORS, cookie, compression
//!
//! They are builder options applied by the engine, in the own-listener mode as under
//! axum: [`cors`](SocketIoBuilder::cors) (preflights included),
//! [`cookie`](SocketIoBuilder::cookie) (the `io` cookie for sticky sessions),
//! [`http_compression`](SocketIoBuilder::http_compression) (gzip or deflate of polling
//! responses from 1 KiB on, the default) and
//! [`allow_request`](SocketIoBuilder::allow_request).
//!
//! # Differences from socket.io 4.8
//!
//! The repository's `docs/compatibility.md` lists what differs from Node's socket.io and
//! engine.io, and the tests that pin each behaviour.
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ack;
#[cfg(feature = "admin")]
pub mod admin;
pub mod config;
mod connect;
mod engine;
pub mod error;
pub mod extensions;
pub mod handler;
pub mod handshake;
pub mod helper;
pub mod io;
pub mod namespace;
mod observe;
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
/// `Value::Binary` holds [`bytes::Bytes`]: re-exported so building one needs no extra
/// dependency.
pub use sio_types::bytes;
pub use sio_types::{
    AckError, AdapterError, BroadcastFlags, ConnectError, Handshake, IntoRoom, Room, SocketId,
    Value,
};
