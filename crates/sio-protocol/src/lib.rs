//! The wire codecs of the sio Socket.IO stack.
//!
//! Depend on `sio-protocol` when you need to read or write socket.io bytes yourself: a
//! custom transport, a load generator, a proxy, a cluster adapter. It does no I/O. Servers and
//! clients should depend on `sio-server` or `sio-client`, which drive these codecs.
//!
//! | module | wire |
//! |---|---|
//! | [`engineio`] | engine.io v4 packets, WebSocket frames, HTTP long-polling payloads, the open packet |
//! | [`socketio`] | socket.io v5 packets: the default parser with binary attachments |
//! | [`msgpack`] | msgpack as notepack.io writes it, and the socket.io msgpack parser |
//! | [`limits`] | the bounds every decoder enforces |
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod engineio;
mod json;
pub mod limits;
#[cfg(feature = "msgpack")]
pub mod msgpack;
pub mod socketio;

pub use limits::Limits;

// Compiles and runs the README's example with the doctests, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
