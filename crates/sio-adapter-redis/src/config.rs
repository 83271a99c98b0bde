//! How to reach Redis and which protocol flavour to speak.

use std::time::Duration;

/// Which of `@socket.io/redis-adapter`'s two adapters to be compatible with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `createAdapter`: PUBLISH/PSUBSCRIBE, requests 0–9. Also what the emitters speak.
    #[default]
    Classic,
    /// `createShardedAdapter` (Redis ≥ 7): SPUBLISH/SSUBSCRIBE, cluster messages 1–13.
    Sharded {
        /// Which room channels get their own subscription.
        subscription_mode: SubscriptionMode,
    },
    /// `@socket.io/redis-streams-adapter` 0.3: cluster messages 1–13 appended to a Redis
    /// stream that every server reads from where it left off (so a Redis blip loses
    /// nothing), short-lived requests and answers over pub/sub, connection state recovery
    /// sessions kept in Redis (so a client may resume on another server). Its options are
    /// [`RedisConfig::streams`].
    Streams {
        /// Requests and answers over sharded pub/sub (SPUBLISH, Redis ≥ 7), Node's
        /// `useShardedPubSub`.
        sharded_pubsub: bool,
    },
}

/// The sharded adapter's `subscriptionMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// Only the namespace channel and this node's response channel.
    Static,
    /// Plus one channel per public room (not socket-id rooms). Node's default.
    #[default]
    Dynamic,
    /// Plus one channel per room, socket-id rooms included.
    DynamicPrivate,
}

/// The configuration of a [`RedisAdapterFactory`](crate::RedisAdapterFactory) or an
/// [`Emitter`](crate::Emitter): one Redis URL and the adapter's options, with Node's
/// defaults.
///
/// The URL takes everything the `redis` crate accepts: `redis://[user:password@]host[:port][/db]`,
/// `rediss://…` for TLS (cargo feature `tls`), `redis+unix:///path`.
///
/// ```
/// use std::time::Duration;
/// use sio_adapter_redis::{Mode, RedisConfig, SubscriptionMode};
///
/// let cfg = RedisConfig::new("redis://:secret@127.0.0.1:6379/2")
///     .key_prefix("my-app")
///     .requests_timeout(Duration::from_secs(2))
///     .mode(Mode::Sharded { subscription_mode: SubscriptionMode::Static });
/// assert_eq!(cfg.get_key_prefix(), "my-app");
/// assert_eq!(RedisConfig::new("redis://127.0.0.1").get_requests_timeout(), Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct RedisConfig {
    pub(crate) url: String,
    /// The seed nodes of a Redis Cluster; empty for one server at `url`.
    pub(crate) cluster: Vec<String>,
    pub(crate) key_prefix: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) publish_on_specific_response_channel: bool,
    pub(crate) mode: Mode,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) streams: StreamsOptions,
    pub(crate) fire_and_forget: bool,
}

/// The options of [`Mode::Streams`], with `@socket.io/redis-streams-adapter`'s defaults
/// (the channel prefix is [`RedisConfig::key_prefix`]).
///
/// ```
/// use std::time::Duration;
/// use sio_adapter_redis::{Mode, RedisConfig, StreamsOptions};
///
/// let cfg = RedisConfig::new("redis://127.0.0.1:6379")
///     .mode(Mode::Streams { sharded_pubsub: false })
///     .streams(StreamsOptions { stream_count: 4, ..StreamsOptions::default() });
/// assert_eq!(cfg.get_streams().stream_name, "socket.io");
/// assert_eq!(cfg.get_streams().max_len, 10_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamsOptions {
    /// The stream's key (`streamName`, default `socket.io`).
    pub stream_name: String,
    /// How many streams namespaces are spread over (`streamCount`, default 1); with more
    /// than one, namespace `n` uses `<stream_name>-<hash(n) % count>`, as Node computes it.
    pub stream_count: u32,
    /// Approximate length the stream is trimmed to (`maxLen`, `MAXLEN ~`, default 10 000).
    /// It bounds how long a disconnected client can be recovered when traffic is heavy.
    pub max_len: u64,
    /// Entries read per XREAD (`readCount`, default 100).
    pub read_count: u32,
    /// How long one XREAD blocks (`blockTimeInMs`, default 5 s).
    pub block_time: Duration,
    /// Key prefix of recovery sessions (`sessionKeyPrefix`, default `sio:session:`).
    pub session_key_prefix: String,
    /// Never write msgpack into the stream, JSON only (`onlyPlaintext`, default false).
    pub only_plaintext: bool,
}

impl Default for StreamsOptions {
    fn default() -> Self {
        StreamsOptions {
            stream_name: "socket.io".into(),
            stream_count: 1,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".into(),
            only_plaintext: false,
        }
    }
}

impl RedisConfig {
    /// A configuration for the Redis server at `url`, with Node's defaults: key prefix
    /// `socket.io`, requests timeout 5 s, responses on the shared channel, classic mode.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            cluster: Vec::new(),
            key_prefix: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            mode: Mode::Classic,
            connect_timeout: Duration::from_secs(5),
            max_message_size: 64 * 1024 * 1024,
            streams: StreamsOptions::default(),
            fire_and_forget: false,
        }
    }

    /// Broadcasts (and emitter emits) return once queued instead of once Redis took them,
    /// as Node's adapters and emitter do (default: off). A caller that awaits each
    /// broadcast then pays no round trip, but one queued just before Redis becomes
    /// unreachable is reported sent and lost; once the outage is noticed, callers wait and
    /// get the error again. Off, a broadcast's `Ok` means Redis took it; concurrent
    /// broadcasts still share round trips.
    pub fn fire_and_forget(mut self, on: bool) -> Self {
        self.fire_and_forget = on;
        self
    }

    /// A configuration for a Redis Cluster, from some of its nodes' URLs (the others are
    /// discovered), with the same defaults as [`new`](Self::new). Commands are routed by
    /// key or channel slot, server counts add up every node's subscribers (NUMSUB and
    /// SHARDNUMSUB only count a node's own), and failovers are followed.
    ///
    /// ```
    /// use sio_adapter_redis::{Mode, RedisConfig, SubscriptionMode};
    ///
    /// let cfg = RedisConfig::cluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .mode(Mode::Sharded { subscription_mode: SubscriptionMode::Dynamic });
    /// assert_eq!(cfg.get_cluster_nodes().len(), 2);
    /// ```
    pub fn cluster<S: Into<String>>(nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        let mut cfg = RedisConfig::new(nodes.first().cloned().unwrap_or_default());
        cfg.cluster = nodes;
        cfg
    }

    /// The seed nodes of a Redis Cluster configuration (empty for one server).
    pub fn get_cluster_nodes(&self) -> &[String] {
        &self.cluster
    }

    pub(crate) fn target(&self) -> crate::conn::Target {
        if self.cluster.is_empty() {
            crate::conn::Target::Single(self.url.clone())
        } else {
            crate::conn::Target::Cluster(self.cluster.clone())
        }
    }

    /// The options of [`Mode::Streams`] (ignored by the other modes).
    pub fn streams(mut self, options: StreamsOptions) -> Self {
        self.streams = options;
        self
    }

    /// The options of [`Mode::Streams`].
    pub fn get_streams(&self) -> &StreamsOptions {
        &self.streams
    }

    /// The channel prefix (Node's `key` option, `channelPrefix` for the sharded adapter).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long cluster requests (`fetch_sockets`, `all_rooms`, server-side emits with ack)
    /// wait for the other servers (Node's `requestsTimeout`).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Answer requests on the requester's own response channel (Node's
    /// `publishOnSpecificResponseChannel`); every server of a cluster should agree on it.
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> Self {
        self.publish_on_specific_response_channel = on;
        self
    }

    /// Classic, sharded or streams protocol.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How long each connection may take to become ready at start-up.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Largest message accepted from Redis; larger ones are dropped unread (default 64 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The Redis URL.
    pub fn get_url(&self) -> &str {
        &self.url
    }

    /// The channel prefix.
    pub fn get_key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The requests timeout.
    pub fn get_requests_timeout(&self) -> Duration {
        self.requests_timeout
    }

    /// The protocol mode.
    pub fn get_mode(&self) -> Mode {
        self.mode
    }

    pub(crate) fn limits(&self) -> sio_protocol::Limits {
        sio_protocol::Limits {
            max_packet_size: self.max_message_size,
            ..sio_protocol::Limits::default()
        }
    }
}
