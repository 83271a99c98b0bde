//! The sharded and the streams adapter on a Redis Cluster the test starts itself (three
//! masters, a replica each), with two sio nodes and a Node socket.io 4.8 node
//! (node-redis's cluster client): server counts add up every shard's subscribers, messages
//! go every way, and a master killed (its replica promoted) does not lose the cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use sio_adapter_redis::{Mode, RedisConfig, SubscriptionMode};
use sio_types::{Adapter, BroadcastOptions, Packet, PacketData, Value};

fn got(ns: &FakeNs, event: &str) -> bool {
    ns.calls().iter().any(|c| {
        matches!(c, Call::Broadcast(p, _) if matches!(&p.data, PacketData::Event { event: e, .. } if e == event))
    })
}

/// Waits until a client of `port`'s node is blocked in XREAD: Node's reader skips what is
/// appended before its first read.
async fn xread_waiting(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    eventually("Node's stream reader in XREAD", WAIT_SECS, || {
        let mut conn = conn.clone();
        async move {
            let list: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut conn)
                .await
                .unwrap();
            list.lines().any(|l| l.contains("cmd=xread")).then_some(())
        }
    })
    .await;
}

/// Every server hears every other: `a`'s broadcast reaches `b` and (`with_node`) the Node
/// client, the Node server's reaches `a` and `b`. Sent again until heard (a failover may eat the first
/// ones: pub/sub is at most once), within a deadline.
async fn exchange(a: &RustNode, b: &RustNode, node: &NodeMember, tag: &str, with_node: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        let ev = format!("{tag}-from-a-{i}");
        let _ = a
            .adapter
            .broadcast(
                Packet::event("/", ev.clone(), vec![Value::from(1)]),
                BroadcastOptions::default().to("room1"),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let at_b = got(&b.ns, &ev);
        let at_node = !with_node || !node.received("n1", &ev).is_empty();
        if at_b && at_node {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: a's broadcasts never got through (b: {at_b}, Node: {at_node})"
        );
    }
    if !with_node {
        return;
    }
    for i in 0.. {
        let ev = format!("{tag}-from-node-{i}");
        let _ = node
            .cmd(json!({"op": "broadcast", "rooms": ["room1"], "event": ev, "args": [2]}))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (at_a, at_b) = (got(&a.ns, &ev), got(&b.ns, &ev));
        if at_a && at_b {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: Node's broadcasts never got through (a: {at_a}, b: {at_b})"
        );
    }
}

/// SHARDNUMSUB of `channel` on every live node, added up: what a server count must say.
async fn shard_subscribers(cluster: &RedisCluster, channel: &str) -> usize {
    let mut total = 0;
    for url in cluster.urls() {
        let c = redis::Client::open(url.as_str()).unwrap();
        let Ok(mut conn) = c.get_multiplexed_async_connection().await else {
            continue;
        };
        let v: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if let Some(redis::Value::Int(n)) = v.get(1) {
            total += usize::try_from(*n).unwrap();
        }
    }
    total
}

async fn counts(a: &RustNode, b: &RustNode, node: &NodeMember) -> (usize, usize, u64) {
    let node_count = node.cmd(json!({"op": "serverCount"})).await.unwrap();
    (
        a.adapter.server_count().await.unwrap(),
        b.adapter.server_count().await.unwrap(),
        node_count.as_u64().unwrap(),
    )
}

async fn suite(mode: Mode) {
    init_tracing();
    let mut cluster = RedisCluster::start(3).await;
    let urls = cluster.urls();
    let prefix = unique_prefix("rcluster");
    let streams = matches!(mode, Mode::Streams { .. });
    let cfg = configure(
        RedisConfig::builder(&urls[0]).cluster_nodes(urls.clone()),
        &prefix,
        mode,
    )
    .build();
    // What a failover must not lose: the namespace's channel, or the stream.
    let key = if streams {
        prefix.clone()
    } else {
        format!("{prefix}#/#")
    };
    let node = NodeMember::start_with_url(&urls.join(","), &prefix, mode, &["n1:room1"]).await;
    if streams {
        xread_waiting(cluster.master_of(&key).await.unwrap()).await;
    }
    let a = RustNode::start(cfg.clone(), &["a1:room1"]).await;
    let b = RustNode::start(cfg, &["b1:room1"]).await;

    // Counted across the shards (each node counts only its own subscribers).
    assert_eq!(counts(&a, &b, &node).await, (3, 3, 3));
    exchange(&a, &b, &node, "before", true).await;
    let sockets = a
        .adapter
        .fetch_sockets(BroadcastOptions::default())
        .await
        .unwrap();
    let names: Vec<String> = sockets
        .iter()
        .filter_map(|s| {
            s.data
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    for n in ["a1", "b1", "n1"] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }

    // The master of the key dies; its replica takes over.
    let master = cluster.master_of(&key).await.unwrap();
    cluster.kill(master).await;
    eventually("a promoted replica", 20, || async {
        cluster.master_of(&key).await.filter(|m| *m != master)
    })
    .await;
    cluster.wait_ok().await;
    // Node's adapters on node-redis 4.7's cluster client do not come back from a failover
    // of the master they used (the sharded one does not subscribe its channels on the new
    // master, the streams one neither reads nor writes the stream): only sio is checked.
    exchange(&a, &b, &node, "after", false).await;
    // Ours count what the shards say (every live node's subscribers), both sio nodes in.
    // Node's count is not asked: node-redis keeps asking the dead master, and hangs.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let truth = shard_subscribers(&cluster, &format!("{prefix}#/#")).await;
        let c = (
            a.adapter.server_count().await.ok(),
            b.adapter.server_count().await.ok(),
        );
        if truth >= 2 && c == (Some(truth), Some(truth)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server counts after failover: {c:?}, the shards say {truth}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The namespace's own channel (a broadcast to everyone) works between the sio nodes.
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        let ev = format!("everyone-{i}");
        let _ = a
            .adapter
            .broadcast(
                Packet::event("/", ev.clone(), vec![]),
                BroadcastOptions::default(),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if got(&b.ns, &ev) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a's broadcasts to all never reached b"
        );
    }
    node.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_on_redis_cluster() {
    suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_on_redis_cluster() {
    suite(Mode::Streams {
        sharded_pubsub: true,
    })
    .await;
}
