//! The shared vocabulary of the sio Socket.IO stack.
//!
//! Depend on `sio-types` when you write something that plugs into sio without running a
//! server or a client: a cluster adapter, a codec, a tool that reads packets. It has no I/O
//! and no async runtime. Applications should depend on `sio-server` or `sio-client`
//! instead, which re-export what they need from here.
//!
//! | module | what it holds |
//! |---|---|
//! | [`id`] | [`SocketId`], the 20-character id every socket gets |
//! | [`state`] | [`ClientState`]: `unauthorized`, `authenticating`, `authenticated` |
//! | [`constants`] | the helper's event names, default rooms and timings |
//! | [`handshake`] | [`Handshake`], what the server knows of a client when it connects |
//! | [`value`] | [`Value`], JSON-like payloads that carry binary natively |
//! | [`packet`] | [`Packet`], the socket.io v5 packet model |
//! | [`broadcast`] | [`BroadcastOptions`] and [`BroadcastFlags`] |
//! | [`adapter`] | the [`Adapter`] trait that spreads broadcasts over a cluster |
//! | [`error`] | the error enums shared by every layer |
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
pub mod broadcast;
pub mod constants;
pub mod error;
pub mod handshake;
pub mod id;
pub mod packet;
pub mod state;
pub mod value;

pub use adapter::{
    AckResponse, AckStream, Adapter, AdapterFactory, LocalAcks, LocalAdapter, LocalAdapterFactory,
    LocalNamespace, PersistedSession, RestoredSession, ServerSideReply, SocketInfo,
};
pub use broadcast::{BroadcastFlags, BroadcastOptions, IntoRoom, Room};
/// `Value::Binary` holds [`bytes::Bytes`]: re-exported so building one needs no extra
/// dependency.
pub use bytes;
pub use error::{AckError, AdapterError, IdError, StateError, ValueError};
pub use handshake::Handshake;
pub use id::SocketId;
pub use packet::{AckId, ConnectError, Packet, PacketData, PacketType};
pub use state::ClientState;
pub use value::Value;
