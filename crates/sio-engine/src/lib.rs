//! An engine.io protocol v4 server: the transport layer under a Socket.IO server.
//!
//! Depend on `sio-engine` when you need engine.io itself: a server that speaks engine.io
//! to `engine.io-client` without socket.io on top, a custom protocol over its sessions, or
//! a Socket.IO implementation of your own. A Socket.IO application should depend on
//! `sio-server`, which is built on this crate and re-exports what its users need.
//!
//! It knows nothing of socket.io: it hands the [`Handler`] each session's opening, its
//! text and binary messages and its close, and queues what the handler sends.
//!
//! | module | what it holds |
//! |---|---|
//! | [`engine`] | [`Engine`]: the session table, request routing, handshakes |
//! | [`handler`] | [`Handler`], the [`Message`]s it receives, [`CloseReason`], the [`Echo`] handler |
//! | [`session`] | [`Session`]: one client, its outgoing queue and its bounds |
//! | [`frame`] | [`Frame`]: an engine.io packet encoded once, shared by every recipient |
//! | [`transport`] | HTTP long-polling and WebSocket, behind one seam |
//! | `heartbeat` | one timer task per engine for every session's PING, PONG and deadlines |
//! | [`config`] | [`EngineConfig`] and its builder, [`Cors`], [`Cookie`] |
//! | [`service`] | [`EngineService`] / [`EngineLayer`]: under axum, hyper or any tower stack |
//! | [`listen`] | [`listen`](listen::listen): the engine's own hyper listener |
//! | [`request`] | what a request carries: [`RemoteAddr`] |
//! | [`error`] | [`SendError`] and the HTTP errors engine.io answers with |
//!
//! A raw echo server (the contract of the official engine.io protocol test suite; the
//! library has it as [`Echo`]):
//!
//! ```no_run
//! use std::sync::Arc;
//! use sio_engine::{CloseReason, Engine, EngineConfig, Frame, Handler, Message, Session};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Data = ();
//!     fn on_open(&self, _session: &Arc<Session<Self>>) {}
//!     fn on_message(&self, session: &Arc<Session<Self>>, msg: Message<'_>) {
//!         // Text back as text, binary as binary.
//!         let _ = session.send(Frame::from(msg));
//!     }
//!     fn on_close(&self, _session: &Arc<Session<Self>>, _reason: CloseReason) {}
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let engine = Engine::new(Echo, EngineConfig::builder().path("/engine.io/").build());
//! let server = sio_engine::listen::listen(engine.service(), "127.0.0.1:3000".parse().unwrap()).await?;
//! println!("listening on {}", server.local_addr());
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! As Node's engine.io 6.6 wherever the protocol leaves room: the first PING goes out one
//! `ping_interval` after the handshake, a session that does not answer a PING within
//! `ping_timeout` closes (`ping timeout`) whether or not the PING could be written, one GET
//! at a time per polling session, upgrades with the `probe` / NOOP / UPGRADE exchange under
//! `upgrade_timeout`, packets queued before a server-side close are delivered first.
//! `docs/compatibility.md` in the repository lists what differs.
//!
//! # Cost
//!
//! A WebSocket session is one task (its connection's), a polling session none. Every
//! heartbeat and deadline of an engine is driven by one task from FIFO queues (each lane
//! has one fixed delay, so pushing at the tail keeps it sorted). A session's outgoing queue
//! allocates on the first packet, is bounded in bytes and packets, and is written with as
//! few system calls as the transport allows: every frame queued is written before a flush.
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
pub mod engine;
pub mod error;
pub mod frame;
pub mod handler;
mod heartbeat;
pub mod listen;
pub mod request;
pub mod service;
pub mod session;
pub mod transport;

pub use config::{Cookie, Cors, EngineConfig, EngineConfigBuilder, Refusal, Transports};
pub use engine::Engine;
pub use error::{ErrorCode, SendError};
pub use frame::Frame;
pub use handler::{CloseReason, Echo, Handler, Message};
pub use request::RemoteAddr;
pub use service::{EngineLayer, EngineService, NotFound, ResponseBody};
pub use session::{Session, Sid};
pub use transport::TransportKind;
