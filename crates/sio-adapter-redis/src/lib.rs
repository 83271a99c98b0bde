//! A Redis cluster adapter and emitter for the sio Socket.IO stack, wire-compatible with the
//! official Node packages: a Rust server and a Node socket.io server on one Redis (or one
//! Redis Cluster) act as one cluster.
//!
//! | Node package | here |
//! |---|---|
//! | `@socket.io/redis-adapter` 8.x `createAdapter` | [`RedisAdapterFactory`] with [`Mode::Classic`] |
//! | `@socket.io/redis-adapter` 8.x `createShardedAdapter` | [`RedisAdapterFactory`] with [`Mode::Sharded`] |
//! | `@socket.io/redis-streams-adapter` 0.3 `createAdapter` | [`RedisAdapterFactory`] with [`Mode::Streams`] ([`StreamsOptions`]) |
//! | `@socket.io/redis-emitter` 5.x | [`Emitter`] (feature `emitter`, on by default) |
//!
//! Inside, one module per concept:
//!
//! - `cluster`: socket.io-adapter's `ClusterAdapter` protocol (messages 1–13, request ids,
//!   gathering answers, server counts), written once for every transport;
//! - `classic`: `createAdapter`'s own protocol (requests 0–9);
//! - `sharded`, `streams`: transports under `cluster` (sharded pub/sub; a stream plus
//!   pub/sub, and the recovery sessions);
//! - `adapter`: the factory, the shared connections and the routing of what Redis pushes;
//! - `conn`: connections (one server or a Redis Cluster) that come back by themselves;
//! - `publisher`: the one ordered, batched way out to Redis; `wire`: Node's shapes.
//!
//! The factory opens two connections (`pub` and `sub`) shared by the adapters of every
//! namespace (and, in streams mode, one reader per stream); the emitter opens its own
//! (`emitter`). Each must answer within the configured connect timeout, else
//! [`RedisConnectError`] names the connection and the reason. After Redis restarts they
//! reconnect and resubscribe by themselves; outages are logged and counted
//! ([`ConnectionStats`]). Messages that cannot be decoded (foreign publishers, corrupt
//! msgpack, unknown request types) are logged, counted and dropped.
//!
//! msgpack is `sio_protocol::msgpack` (notepack.io's rules); JSON follows `JSON.stringify`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use sio_adapter_redis::{Mode, RedisAdapterFactory, RedisConfig, SubscriptionMode};
//!
//! let config = RedisConfig::builder("redis://127.0.0.1:6379")
//!     .mode(Mode::Sharded { subscription_mode: SubscriptionMode::Dynamic })
//!     .build();
//! let factory = RedisAdapterFactory::connect(config).await?;
//! // give `factory` to the server: it implements `sio_types::AdapterFactory`
//! # let _ = factory; Ok(()) }
//! ```
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs`: badges for what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod adapter;
mod classic;
mod cluster;
mod config;
mod conn;
#[cfg(feature = "emitter")]
mod emitter;
mod publisher;
mod sharded;
mod streams;
mod wire;

pub use adapter::{RedisAdapter, RedisAdapterFactory};
pub use config::{Mode, RedisConfig, RedisConfigBuilder, StreamsOptions, SubscriptionMode};
pub use conn::{ConnectionStats, RedisConnectError};
#[cfg(feature = "emitter")]
pub use emitter::{EMITTER_UID, Emitter, EmitterError, RESERVED_EVENTS};
