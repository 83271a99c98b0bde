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
    /// [`RedisConfigBuilder::streams`].
    Streams {
        /// Requests and answers over sharded pub/sub (SPUBLISH, Redis ≥ 7), Node's
        /// `useShardedPubSub`.
        sharded_pubsub: bool,
    },
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// `classic`, `sharded` (dynamic subscriptions), `sharded-static`,
    /// `sharded-dynamic-private`, `streams`, `streams-sharded` (sharded pub/sub beside the
    /// stream).
    fn from_str(s: &str) -> Result<Self, String> {
        let sharded = |subscription_mode| Mode::Sharded { subscription_mode };
        Ok(match s {
            "classic" => Mode::Classic,
            "sharded" | "sharded-dynamic" => sharded(SubscriptionMode::Dynamic),
            "sharded-static" => sharded(SubscriptionMode::Static),
            "sharded-dynamic-private" => sharded(SubscriptionMode::DynamicPrivate),
            "streams" => Mode::Streams {
                sharded_pubsub: false,
            },
            "streams-sharded" => Mode::Streams {
                sharded_pubsub: true,
            },
            other => {
                return Err(format!(
                    "unknown adapter {other:?} (classic, sharded, sharded-static, \
                     sharded-dynamic-private, streams, streams-sharded)"
                ));
            }
        })
    }
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
/// [`Emitter`](crate::Emitter): where Redis is and the adapter's options, with Node's
/// defaults. Made with [`RedisConfig::builder`]; its getters say what it holds.
///
/// ```
/// use std::time::Duration;
/// use sio_adapter_redis::{Mode, RedisConfig};
///
/// let cfg = RedisConfig::builder("redis://127.0.0.1:6379?adapter=streams").build();
/// assert_eq!(cfg.url(), "redis://127.0.0.1:6379");
/// assert_eq!(cfg.mode(), Mode::Streams { sharded_pubsub: false });
/// assert_eq!(cfg.key_prefix(), "socket.io");
/// assert_eq!(cfg.requests_timeout(), Duration::from_secs(5));
/// assert!(cfg.cluster_nodes().is_empty());
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
    /// Why [`RedisConfig::builder`] could not read its URL; connecting then fails with it.
    pub(crate) invalid: Option<String>,
}

/// The options of [`Mode::Streams`], with `@socket.io/redis-streams-adapter`'s defaults
/// (the channel prefix is [`RedisConfig::key_prefix`]).
///
/// ```
/// use sio_adapter_redis::{Mode, RedisConfig, StreamsOptions};
///
/// let cfg = RedisConfig::builder("redis://127.0.0.1:6379")
///     .mode(Mode::Streams { sharded_pubsub: false })
///     .streams(StreamsOptions { stream_count: 4, ..StreamsOptions::default() })
///     .build();
/// assert_eq!(cfg.streams().stream_name, "socket.io");
/// assert_eq!(cfg.streams().max_len, 10_000);
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
    /// A builder for the Redis at `url`, with Node's defaults: key prefix `socket.io`,
    /// requests timeout 5 s, responses on the shared channel, classic mode.
    ///
    /// The URL takes everything the `redis` crate accepts
    /// (`redis://[user:password@]host[:port][/db]`, `rediss://…` for TLS with cargo feature
    /// `tls`, `redis+unix:///path`), and may also name the adapter and, with several
    /// comma-separated hosts, a Redis Cluster:
    /// `redis://[user:password@]host[:port][,host[:port]...][/db][?adapter=<mode>]`, `<mode>`
    /// one of [`Mode`]'s names (`classic`, the default, `sharded`, `sharded-static`,
    /// `sharded-dynamic-private`, `streams`, `streams-sharded`). Every seed node of a
    /// cluster gets the first one's scheme, credentials and database. A URL this cannot
    /// read fails when connecting, as any invalid URL does.
    ///
    /// ```
    /// use sio_adapter_redis::{Mode, RedisConfig};
    ///
    /// let cfg = RedisConfig::builder("redis://:pw@10.0.0.1:7000,10.0.0.2:7001?adapter=streams").build();
    /// assert_eq!(cfg.mode(), Mode::Streams { sharded_pubsub: false });
    /// assert_eq!(
    ///     cfg.cluster_nodes(),
    ///     ["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7001"]
    /// );
    /// assert_eq!(RedisConfig::builder("redis://127.0.0.1").build().mode(), Mode::Classic);
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisConfigBuilder {
        let url: String = url.into();
        let (base, mode) = match split_adapter(&url) {
            Ok(v) => v,
            Err(reason) => {
                let mut config = RedisConfig::defaults(url);
                config.invalid = Some(reason);
                return RedisConfigBuilder { config };
            }
        };
        let nodes = cluster_nodes(&base);
        let builder = RedisConfigBuilder {
            config: RedisConfig::defaults(base),
        };
        let builder = if nodes.len() > 1 {
            builder.cluster_nodes(nodes)
        } else {
            builder
        };
        builder.mode(mode)
    }

    /// A builder starting from these options.
    pub fn into_builder(self) -> RedisConfigBuilder {
        RedisConfigBuilder { config: self }
    }

    fn defaults(url: String) -> Self {
        RedisConfig {
            url,
            cluster: Vec::new(),
            key_prefix: "socket.io".into(),
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
            mode: Mode::Classic,
            connect_timeout: Duration::from_secs(5),
            max_message_size: 64 * 1024 * 1024,
            streams: StreamsOptions::default(),
            fire_and_forget: false,
            invalid: None,
        }
    }

    /// The Redis URL (the first seed node's, for a cluster), without `?adapter=`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The seed nodes of a Redis Cluster configuration (empty for one server).
    pub fn cluster_nodes(&self) -> &[String] {
        &self.cluster
    }

    /// The channel prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long cluster requests wait for the other servers.
    pub fn requests_timeout(&self) -> Duration {
        self.requests_timeout
    }

    /// Whether requests are answered on the requester's own response channel.
    pub fn publish_on_specific_response_channel(&self) -> bool {
        self.publish_on_specific_response_channel
    }

    /// The protocol mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How long each connection may take to become ready at start-up.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The largest message accepted from Redis.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The options of [`Mode::Streams`].
    pub fn streams(&self) -> &StreamsOptions {
        &self.streams
    }

    /// Whether broadcasts return once queued rather than once Redis took them.
    pub fn fire_and_forget(&self) -> bool {
        self.fire_and_forget
    }

    /// Where to connect; the reason [`builder`](Self::builder) could not read its URL.
    pub(crate) fn target(&self) -> Result<crate::conn::Target, crate::RedisConnectError> {
        if let Some(reason) = &self.invalid {
            return Err(crate::RedisConnectError::InvalidUrl {
                url: crate::conn::redact(&self.url),
                reason: reason.clone(),
            });
        }
        Ok(if self.cluster.is_empty() {
            crate::conn::Target::Single(self.url.clone())
        } else {
            crate::conn::Target::Cluster(self.cluster.clone())
        })
    }

    pub(crate) fn limits(&self) -> sio_protocol::Limits {
        sio_protocol::Limits {
            max_packet_size: self.max_message_size,
            ..sio_protocol::Limits::default()
        }
    }
}

/// Builds a [`RedisConfig`], from [`RedisConfig::builder`]`(url)`.
///
/// ```
/// use std::time::Duration;
/// use sio_adapter_redis::{Mode, RedisConfig, SubscriptionMode};
///
/// let cfg = RedisConfig::builder("redis://:secret@127.0.0.1:6379/2")
///     .key_prefix("my-app")
///     .requests_timeout(Duration::from_secs(2))
///     .mode(Mode::Sharded { subscription_mode: SubscriptionMode::Static })
///     .build();
/// assert_eq!(cfg.key_prefix(), "my-app");
/// assert_eq!(cfg.requests_timeout(), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug)]
pub struct RedisConfigBuilder {
    config: RedisConfig,
}

impl RedisConfigBuilder {
    /// A Redis Cluster, from some of its nodes' URLs (the others are discovered); the
    /// first is also the [`url`](RedisConfig::url). Commands are routed by key or channel
    /// slot, server counts add up every node's subscribers (NUMSUB and SHARDNUMSUB only
    /// count a node's own), and failovers are followed. Several hosts in the URL given to
    /// [`RedisConfig::builder`] say the same.
    ///
    /// ```
    /// use sio_adapter_redis::{Mode, RedisConfig, SubscriptionMode};
    ///
    /// let cfg = RedisConfig::builder("redis://10.0.0.1:7000")
    ///     .cluster_nodes(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
    ///     .mode(Mode::Sharded { subscription_mode: SubscriptionMode::Dynamic })
    ///     .build();
    /// assert_eq!(cfg.cluster_nodes().len(), 2);
    /// ```
    pub fn cluster_nodes<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        if let Some(first) = nodes.first() {
            self.config.url = first.clone();
        }
        self.config.cluster = nodes;
        self
    }

    /// Whether an adapter's broadcasts (and [`Emitter::emit`](crate::Emitter::emit)) return
    /// once queued, as Node's adapters do, rather than once Redis took them (default: off).
    ///
    /// Off, `Ok` means Redis took the message and an error means it may not have: nothing
    /// is reported sent that was lost. Concurrent broadcasts still share round trips, and a
    /// sio server's handler waiting for its broadcast does not hold back its socket's later
    /// events. On, a broadcast queued just before Redis becomes unreachable is reported
    /// sent and lost (once the outage is noticed, callers wait and get the error). The
    /// streams adapter sends an XADD again through a blip either way.
    pub fn fire_and_forget(mut self, on: bool) -> Self {
        self.config.fire_and_forget = on;
        self
    }

    /// The options of [`Mode::Streams`] (ignored by the other modes).
    pub fn streams(mut self, options: StreamsOptions) -> Self {
        self.config.streams = options;
        self
    }

    /// The channel prefix (Node's `key` option, `channelPrefix` for the sharded adapter).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// How long cluster requests (`fetch_sockets`, `all_rooms`, server-side emits with ack)
    /// wait for the other servers (Node's `requestsTimeout`).
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.config.requests_timeout = timeout;
        self
    }

    /// Answer requests on the requester's own response channel (Node's
    /// `publishOnSpecificResponseChannel`); every server of a cluster should agree on it.
    pub fn publish_on_specific_response_channel(mut self, on: bool) -> Self {
        self.config.publish_on_specific_response_channel = on;
        self
    }

    /// Classic, sharded or streams protocol (what `?adapter=` of the URL named, if any,
    /// until set here).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.config.mode = mode;
        self
    }

    /// How long each connection may take to become ready at start-up (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Largest message accepted from Redis; larger ones are dropped unread (default 64 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// The configuration.
    pub fn build(self) -> RedisConfig {
        self.config
    }
}

/// Takes `adapter=<mode>` out of a URL's query.
fn split_adapter(url: &str) -> Result<(String, Mode), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Mode::Classic));
    };
    let mut mode = Mode::Classic;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("adapter=") {
            Some(name) => mode = name.parse()?,
            None => kept.push(pair),
        }
    }
    let base = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((base, mode))
}

/// `scheme://[auth@]h1,h2[/db][?query]` as one URL per host.
fn cluster_nodes(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![url.to_owned()];
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (auth, hosts) = match authority.rsplit_once('@') {
        Some((a, h)) => (format!("{a}@"), h),
        None => (String::new(), authority),
    };
    hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("{scheme}://{auth}{h}{tail}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_adapter_and_the_cluster() {
        let c = RedisConfig::builder("redis://h:1/2?protocol=resp3&adapter=sharded-static").build();
        assert_eq!(c.url(), "redis://h:1/2?protocol=resp3");
        assert_eq!(
            c.mode(),
            Mode::Sharded {
                subscription_mode: SubscriptionMode::Static
            }
        );
        assert!(c.cluster_nodes().is_empty());
        let c = RedisConfig::builder("rediss://u:p@a:1,b:2/0?adapter=streams-sharded").build();
        assert_eq!(c.url(), "rediss://u:p@a:1/0");
        assert_eq!(
            c.cluster_nodes(),
            ["rediss://u:p@a:1/0", "rediss://u:p@b:2/0"]
        );
        assert_eq!(
            c.mode(),
            Mode::Streams {
                sharded_pubsub: true
            }
        );
        let plain = RedisConfig::builder("redis://h").build();
        assert_eq!(
            (plain.mode(), plain.key_prefix()),
            (Mode::Classic, "socket.io")
        );
        assert!(!plain.fire_and_forget());
        let bad = RedisConfig::builder("redis://h?adapter=nope").build();
        assert!(bad.invalid.as_deref().is_some_and(|r| r.contains("nope")));
    }
}
