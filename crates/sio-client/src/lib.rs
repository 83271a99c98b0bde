//! A Socket.IO client for tokio, wire-compatible with socket.io 4.x servers, and the sio
//! client helper (authenticate flow, subscriptions, rooms).
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`ClientConfig`] and its [`ClientConfigBuilder`]: URL, path, query, headers, auth, transports, auto-connect, reconnection, retries |
//! | [`manager`] | [`Manager`]: one engine.io connection, namespaces multiplexed over it, reconnection; its [`ManagerEvent`]s (`open`, `close`, `upgrade`, `reconnect_attempt`, ...) and the transport in use; [`Flushed`], awaited after a disconnect or close |
//! | [`socket`] | [`Socket`]: emit, acks both ways, handlers, catch-all listeners, volatile emits, buffering, at-least-once retries; [`DisconnectReason`] with socket.io-client's strings |
//! | [`helper`] | [`ClientHelper`]: the seed's `SocketIOClientHelper`, made with [`ClientHelperBuilder`]; [`EventContext`] for its subscriptions |
//! | [`error`] | [`Error`] and [`HelperError`] |
//!
//! The engine.io layer speaks protocol v4 over HTTP long-polling and WebSocket and upgrades
//! polling to WebSocket by default, as socket.io-client does, with Nagle's algorithm off on
//! every connection as Node sets it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sio_client::Error> {
//! use sio_client::{ClientConfig, TransportKind, Value};
//!
//! let socket = ClientConfig::builder("http://127.0.0.1:3000")
//!     .transports([TransportKind::Websocket])
//!     .auth(Value::from_iter([("token", "secret")]))
//!     .build()
//!     .connect()
//!     .await?;
//! socket.on("news", |ev| println!("news: {:?}", ev.args));
//! let reply = socket.emit_with_ack("echo", vec![Value::from("hi")]).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
mod engine;
pub mod error;
pub mod helper;
pub mod manager;
pub mod socket;

pub use config::{ClientConfig, ClientConfigBuilder, TransportKind};
pub use error::{Error, HelperError};
pub use helper::{ClientHelper, ClientHelperBuilder, EventContext};
pub use manager::{Flushed, Manager, ManagerEvent};
pub use sio_protocol::Limits;
pub use sio_protocol::socketio::Parser;
pub use sio_types::{ClientState, Value};
pub use socket::{AckSender, DisconnectReason, Event, FlaggedEmit, HandlerId, Socket};
