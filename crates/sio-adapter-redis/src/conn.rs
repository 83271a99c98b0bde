//! Redis connections that come back by themselves.
//!
//! Each connection is a `redis` [`ConnectionManager`] speaking RESP3, so that pub/sub
//! messages arrive as push frames on the same multiplexed connection, the manager resends
//! every SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE after a reconnect, and a dropped socket is reported
//! at once (a `Disconnection` push) instead of on the next command. A small monitor task
//! per connection notices the drop, pokes the manager until a PING succeeds again, and
//! records how long the gap lasted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, RedisFuture};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// A connection could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// The URL is not a Redis URL the client understands.
    #[error("invalid Redis URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, password removed.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Redis refused or failed the connection.
    #[error("Redis connection {name:?} to {url} failed: {reason}")]
    Failed {
        /// Which connection: `pub`, `sub` or `emitter`.
        name: &'static str,
        /// The URL, password removed.
        url: String,
        /// What Redis or the network said.
        reason: String,
    },
    /// The connection was not ready in time.
    #[error("Redis connection {name:?} to {url} not ready after {waited:?}")]
    Timeout {
        /// Which connection: `pub`, `sub` or `emitter`.
        name: &'static str,
        /// The URL, password removed.
        url: String,
        /// How long it waited.
        waited: Duration,
    },
}

/// Counters of the connections' outages.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) disconnects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) last_gap_ms: AtomicU64,
    pub(crate) total_gap_ms: AtomicU64,
    pub(crate) dropped_messages: AtomicU64,
}

/// A snapshot of a connection set's health counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// How many times a connection was lost.
    pub disconnects: u64,
    /// How many times a lost connection came back (and resubscribed).
    pub reconnects: u64,
    /// How long the last outage lasted.
    pub last_gap: Option<Duration>,
    /// The sum of all outages.
    pub total_gap: Duration,
    /// Messages received from Redis and dropped because they could not be decoded.
    pub dropped_messages: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ConnectionStats {
        let reconnects = self.reconnects.load(Ordering::Relaxed);
        ConnectionStats {
            disconnects: self.disconnects.load(Ordering::Relaxed),
            reconnects,
            last_gap: (reconnects > 0)
                .then(|| Duration::from_millis(self.last_gap_ms.load(Ordering::Relaxed))),
            total_gap: Duration::from_millis(self.total_gap_ms.load(Ordering::Relaxed)),
            dropped_messages: self.dropped_messages.load(Ordering::Relaxed),
        }
    }
}

/// The URL without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn client_for(url: &str) -> Result<Client, RedisConnectError> {
    let invalid = |reason: String| RedisConnectError::InvalidUrl {
        url: redact(url),
        reason,
    };
    let info = url
        .into_connection_info()
        .map_err(|e| invalid(e.to_string()))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    Client::open(info).map_err(|e| invalid(e.to_string()))
}

/// Where Redis is: one server, or the seed nodes of a Redis Cluster.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl Target {
    /// For messages: the URL, or the first seed node.
    fn shown(&self) -> String {
        match self {
            Target::Single(u) => redact(u),
            Target::Cluster(nodes) => format!(
                "cluster {}",
                nodes.first().map(|u| redact(u)).unwrap_or_default()
            ),
        }
    }
}

/// A connection to one Redis server (reconnecting by itself), or to a Redis Cluster (the
/// `redis` crate's cluster client: commands routed by key or channel slot, the slot map
/// refreshed on MOVED and failovers, subscriptions moved with their slots).
#[derive(Clone)]
pub(crate) enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            RedisConn::Single(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            RedisConn::Single(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

/// A subscription command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubOp {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    SSubscribe,
    SUnsubscribe,
}

impl SubOp {
    fn name(self) -> &'static str {
        match self {
            SubOp::Subscribe => "SUBSCRIBE",
            SubOp::Unsubscribe => "UNSUBSCRIBE",
            SubOp::PSubscribe => "PSUBSCRIBE",
            SubOp::PUnsubscribe => "PUNSUBSCRIBE",
            SubOp::SSubscribe => "SSUBSCRIBE",
            SubOp::SUnsubscribe => "SUNSUBSCRIBE",
        }
    }
}

impl RedisConn {
    /// Runs `op` on `channels`; both connection kinds replay subscriptions after a
    /// reconnection. Sharded ones go one by one: each channel may live on another shard.
    pub(crate) async fn subscription(
        &mut self,
        op: SubOp,
        channels: &[String],
    ) -> Result<(), redis::RedisError> {
        match self {
            RedisConn::Single(c) => {
                if matches!(op, SubOp::SSubscribe | SubOp::SUnsubscribe) {
                    for ch in channels {
                        redis::cmd(op.name()).arg(ch).exec_async(c).await?;
                    }
                    return Ok(());
                }
                redis::cmd(op.name()).arg(channels).exec_async(c).await
            }
            RedisConn::Cluster(c) => {
                for ch in channels {
                    match op {
                        SubOp::Subscribe => c.subscribe(ch).await?,
                        SubOp::Unsubscribe => c.unsubscribe(ch).await?,
                        SubOp::PSubscribe => c.psubscribe(ch).await?,
                        SubOp::PUnsubscribe => c.punsubscribe(ch).await?,
                        SubOp::SSubscribe => c.ssubscribe(ch).await?,
                        SubOp::SUnsubscribe => c.sunsubscribe(ch).await?,
                    }
                }
                Ok(())
            }
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }
}

/// One managed connection and its monitor.
pub(crate) struct Managed {
    pub(crate) conn: RedisConn,
    monitor: Option<JoinHandle<()>>,
}

impl Drop for Managed {
    fn drop(&mut self) {
        if let Some(m) = &self.monitor {
            m.abort();
        }
    }
}

/// Opens connection `name`, ready (a PING answered) within `timeout`. Push frames other
/// than disconnections go to `pushes`.
pub(crate) async fn connect(
    target: &Target,
    name: &'static str,
    timeout: Duration,
    counters: Arc<Counters>,
    pushes: Option<mpsc::UnboundedSender<PushInfo>>,
) -> Result<Managed, RedisConnectError> {
    connect_with(
        target,
        name,
        timeout,
        counters,
        pushes,
        Duration::from_secs(5),
    )
    .await
}

/// [`connect`], with commands that may take up to `response_timeout` (a blocking XREAD).
pub(crate) async fn connect_with(
    target: &Target,
    name: &'static str,
    timeout: Duration,
    counters: Arc<Counters>,
    pushes: Option<mpsc::UnboundedSender<PushInfo>>,
    response_timeout: Duration,
) -> Result<Managed, RedisConnectError> {
    let url = match target {
        Target::Single(url) => url.as_str(),
        Target::Cluster(nodes) => {
            return connect_cluster(nodes, name, timeout, pushes, response_timeout).await;
        }
    };
    let client = client_for(url)?;
    // The redis crate's own connection and response timeouts are also a Redis that did not
    // answer, so they are reported as `Timeout` like the deadline here.
    let failed = |e: redis::RedisError| {
        if e.is_timeout() {
            RedisConnectError::Timeout {
                name,
                url: redact(url),
                waited: timeout,
            }
        } else {
            RedisConnectError::Failed {
                name,
                url: redact(url),
                reason: e.to_string(),
            }
        }
    };
    let timed_out = || RedisConnectError::Timeout {
        name,
        url: redact(url),
        waited: timeout,
    };
    let started = Instant::now();
    // A first plain connection, without the manager's retries, so that a wrong password or
    // a refused port is reported as such instead of as a timeout.
    let probe = tokio::time::timeout(timeout, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| timed_out())?
        .map_err(failed)?;
    drop(probe);

    let lost = Arc::new(Notify::new());
    let lost_tx = lost.clone();
    let sender = move |info: PushInfo| -> Result<(), redis::aio::SendError> {
        if info.kind == PushKind::Disconnection {
            lost_tx.notify_one();
        }
        if let Some(p) = &pushes {
            // A closed receiver only means the adapter is gone.
            let _ = p.send(info);
        }
        Ok(())
    };
    let config = ConnectionManagerConfig::new()
        .set_push_sender(sender)
        .set_automatic_resubscription()
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(400))
        .set_number_of_retries(6)
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(response_timeout));
    let remaining = timeout.saturating_sub(started.elapsed());
    let mut conn =
        tokio::time::timeout(remaining, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| timed_out())?
            .map_err(failed)?;
    let remaining = timeout.saturating_sub(started.elapsed());
    let pong: Result<String, _> =
        tokio::time::timeout(remaining, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(|_| timed_out())?;
    pong.map_err(failed)?;

    let monitor = tokio::spawn(monitor(name, conn.clone(), lost, counters));
    Ok(Managed {
        conn: RedisConn::Single(conn),
        monitor: Some(monitor),
    })
}

/// A Redis Cluster connection from its seed nodes, ready (a PING answered) within `timeout`.
async fn connect_cluster(
    nodes: &[String],
    name: &'static str,
    timeout: Duration,
    pushes: Option<mpsc::UnboundedSender<PushInfo>>,
    response_timeout: Duration,
) -> Result<Managed, RedisConnectError> {
    let shown = Target::Cluster(nodes.to_vec()).shown();
    let failed = |e: redis::RedisError| RedisConnectError::Failed {
        name,
        url: shown.clone(),
        reason: e.to_string(),
    };
    let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .use_protocol(ProtocolVersion::RESP3)
        .connection_timeout(Duration::from_secs(1))
        .response_timeout(response_timeout);
    if let Some(p) = pushes {
        builder = builder.push_sender(p);
    }
    let client = builder.build().map_err(|e| RedisConnectError::InvalidUrl {
        url: shown.clone(),
        reason: e.to_string(),
    })?;
    let timed_out = || RedisConnectError::Timeout {
        name,
        url: shown.clone(),
        waited: timeout,
    };
    let mut conn = tokio::time::timeout(timeout, client.get_async_connection())
        .await
        .map_err(|_| timed_out())?
        .map_err(failed)?;
    let pong: Result<String, _> =
        tokio::time::timeout(timeout, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(|_| timed_out())?;
    pong.map_err(failed)?;
    Ok(Managed {
        conn: RedisConn::Cluster(conn),
        monitor: None,
    })
}

async fn monitor(
    name: &'static str,
    mut conn: ConnectionManager,
    lost: Arc<Notify>,
    counters: Arc<Counters>,
) {
    loop {
        lost.notified().await;
        let since = Instant::now();
        counters.disconnects.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(connection = name, "Redis connection lost, reconnecting");
        // The manager reconnects on its own, but gives up after a few attempts; every failed
        // PING starts a new round. A successful PING means the new connection also replayed
        // its subscriptions (the manager does that before handing the connection out).
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let ping = tokio::time::timeout(
                Duration::from_secs(1),
                redis::cmd("PING").query_async::<String>(&mut conn),
            )
            .await;
            if matches!(ping, Ok(Ok(_))) {
                break;
            }
        }
        let gap = since.elapsed();
        let ms = u64::try_from(gap.as_millis()).unwrap_or(u64::MAX);
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        counters.last_gap_ms.store(ms, Ordering::Relaxed);
        counters.total_gap_ms.fetch_add(ms, Ordering::Relaxed);
        tracing::warn!(connection = name, gap_ms = ms, "Redis connection back");
        // A disconnection reported while we were pinging is the one we just recovered from.
        let _ = tokio::time::timeout(Duration::ZERO, lost.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://:pw@h:1/2"), "redis://***@h:1/2");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(matches!(
            client_for("http://nope"),
            Err(RedisConnectError::InvalidUrl { .. })
        ));
    }
}
