//! Redis blips under the streams adapter: connections killed (`CLIENT KILL`) and Redis
//! paused (`CLIENT PAUSE`) while two servers broadcast to each other. Every broadcast
//! arrives exactly once, in order per sender. Uses a redis-server of its own (its clients
//! are killed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::Duration;

use common::*;
use sio_adapter_redis::{Mode, RedisConfig, StreamsOptions};
use sio_types::{Adapter, BroadcastOptions, Packet, PacketData, Value};

const PER_SENDER: i64 = 400;

/// The numbers of the `event` broadcasts a namespace received, in order.
fn numbers(ns: &FakeNs, event: &str) -> Vec<i64> {
    ns.calls()
        .iter()
        .filter_map(|c| match c {
            Call::Broadcast(p, _) => match &p.data {
                PacketData::Event { event: e, args, .. } if e == event => args[0].as_i64(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

async fn admin(url: &str, args: &[&str]) {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.exec_async(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_blips_lose_nothing() {
    init_tracing();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let _redis = start_redis(port).await;
    let prefix = unique_prefix("blips");
    let cfg = RedisConfig::builder(url.clone())
        .key_prefix(&prefix)
        .mode(Mode::Streams {
            sharded_pubsub: false,
        })
        .streams(StreamsOptions {
            stream_name: prefix.clone(),
            block_time: Duration::from_millis(500),
            ..StreamsOptions::default()
        })
        .build();
    let a = RustNode::start(cfg.clone(), &["a1:room"]).await;
    let b = RustNode::start(cfg, &["b1:room"]).await;

    let send_all = |node: &RustNode, event: &'static str| {
        let adapter = node.adapter.clone();
        async move {
            let mut failed = 0;
            for n in 0..PER_SENDER {
                let p = Packet::event("/", event, vec![Value::from(n)]);
                if adapter
                    .broadcast(p, BroadcastOptions::default().to("room"))
                    .await
                    .is_err()
                {
                    failed += 1;
                }
                // Spread over the blips below.
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            failed
        }
    };
    let blips = async {
        let mut kills = 0;
        let mut pauses = 0;
        for i in 0..8 {
            tokio::time::sleep(Duration::from_millis(120)).await;
            if i % 2 == 0 {
                admin(&url, &["CLIENT", "KILL", "TYPE", "normal"]).await;
                kills += 1;
            } else {
                admin(&url, &["CLIENT", "PAUSE", "150", "ALL"]).await;
                pauses += 1;
            }
        }
        (kills, pauses)
    };
    let (from_a, from_b, (kills, pauses)) =
        tokio::join!(send_all(&a, "from-a"), send_all(&b, "from-b"), blips);
    assert_eq!(
        (from_a, from_b),
        (0, 0),
        "no broadcast failed through the blips"
    );
    assert_eq!((kills, pauses), (4, 4));

    let all: Vec<i64> = (0..PER_SENDER).collect();
    until("every broadcast of a at b", WAIT_SECS, || {
        numbers(&b.ns, "from-a").len() >= all.len()
    })
    .await;
    until("every broadcast of b at a", WAIT_SECS, || {
        numbers(&a.ns, "from-b").len() >= all.len()
    })
    .await;
    // Exactly once, in order (no more arrive late either).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(numbers(&b.ns, "from-a"), all);
    assert_eq!(numbers(&a.ns, "from-b"), all);
    let stats = a.factory.stats();
    assert!(stats.disconnects >= 4, "the kills were felt: {stats:?}");
    eprintln!(
        "{PER_SENDER} broadcasts per server through {kills} CLIENT KILLs and {pauses} CLIENT PAUSEs: \
         all delivered once, in order; a's connections: {stats:?}"
    );
}
