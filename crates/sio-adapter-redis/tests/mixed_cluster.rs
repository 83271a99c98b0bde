//! One Node socket.io 4.8 server (+ @socket.io/redis-adapter 8.3) and two sio-server
//! instances with our adapter on one Redis, with official socket.io-client clients on every
//! node.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::collections::HashSet;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use sio_adapter_redis::{Mode, RedisAdapterFactory, SubscriptionMode};
use sio_server::SocketIo;
use sio_types::Value;

async fn rust_server(prefix: &str, mode: Mode) -> (SocketIo, sio_server::ListenHandle) {
    let factory = RedisAdapterFactory::connect(config(prefix, mode))
        .await
        .unwrap();
    let io = SocketIo::builder().adapter(factory).build();
    io.ns("/", |socket| async move {
        let auth = socket.auth().clone();
        if let Some(rooms) = auth.get("rooms").and_then(Value::as_array) {
            socket.join_many(rooms.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        let name = auth.get("name").cloned().unwrap_or_default();
        socket.set_data(Value::from_iter([("name", name)]));
    });
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    (io, handle)
}

async fn mixed(mode: Mode) {
    init_tracing();
    let prefix = unique_prefix("mixed");
    let (a, ha) = rust_server(&prefix, mode).await;
    let (b, hb) = rust_server(&prefix, mode).await;
    let (pa, pb) = (ha.local_addr().port(), hb.local_addr().port());
    let a1 = format!("a1@{pa}:room1");
    let b1 = format!("b1@{pb}:room2");
    let b2 = format!("b2@{pb}:room1");
    let node = NodeMember::start(&prefix, mode, &["n1:room1", &a1, &b1, &b2]).await;
    let everyone = ["n1", "a1", "b1", "b2"];

    assert_eq!(
        node.cmd(json!({"op": "serverCount"})).await.unwrap(),
        json!(3)
    );

    // From Node: room1 with binary, reaching clients of all three servers.
    node.cmd(json!({"op": "broadcast", "rooms": ["room1"], "event": "from-node", "args": ["x", {"$bin": "0a0b"}]}))
        .await
        .unwrap();
    // From Rust server A: room1 except room2; from B: one socket id on the Node server.
    a.to("room1")
        .except("room2")
        .emit("from-a", &"y")
        .await
        .unwrap();
    b.to(node.id("n1")).emit("from-b", &1).await.unwrap();
    a.emit("marker", &()).await.unwrap();
    // Node's sharded adapter awaits its SPUBLISH before delivering to its own clients, so
    // n1 may see A's marker (through Redis) before Node's own `from-node`: wait for it.
    for c in ["n1", "a1", "b2"] {
        node.wait_event("from-node", |e| {
            e["client"] == c && e["event"] == "from-node"
        })
        .await;
    }
    for c in everyone {
        node.wait_event("marker", |e| e["client"] == c && e["event"] == "marker")
            .await;
    }
    // A and B publish on connections of their own, and a broadcast does not wait for
    // Redis (as in Node): B's `from-b` may reach Redis after A's marker.
    node.wait_event("from-b", |e| e["client"] == "n1" && e["event"] == "from-b")
        .await;
    for c in ["n1", "a1", "b2"] {
        assert_eq!(
            node.received(c, "from-node"),
            vec![vec![Value::from("x"), Value::from(vec![10u8, 11])]],
            "{c}"
        );
        assert_eq!(node.received(c, "from-a").len(), 1, "{c}");
    }
    assert!(node.received("b1", "from-node").is_empty());
    assert!(node.received("b1", "from-a").is_empty());
    assert_eq!(node.received("n1", "from-b").len(), 1);
    assert!(node.received("a1", "from-b").is_empty());

    // fetch_sockets from Rust and from Node see every client of the cluster.
    let ids: HashSet<String> = everyone.iter().map(|c| node.id(c)).collect();
    let from_a: HashSet<String> = a
        .fetch_sockets()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(from_a, ids);
    let from_node = node.cmd(json!({"op": "fetchSockets"})).await.unwrap();
    let from_node: HashSet<String> = from_node
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(from_node, ids);

    // Broadcast with acks from a Rust server: real clients on all three servers answer.
    let stream = a
        .to("room1")
        .timeout(std::time::Duration::from_secs(3))
        .emit_with_ack("ask", vec![Value::from(1)])
        .await
        .unwrap();
    let acks: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .unwrap();
    let mut acks: Vec<String> = acks
        .into_iter()
        .map(|r| r.unwrap()[0].as_str().unwrap().to_owned())
        .collect();
    acks.sort();
    assert_eq!(acks, ["a1-ack", "b2-ack", "n1-ack"]);
    // ... and from the Node server.
    let got = node
        .cmd(json!({"op": "broadcastWithAck", "rooms": ["room1"], "timeout": 3000, "event": "ask", "args": [2]}))
        .await
        .unwrap();
    let mut got: Vec<String> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["a1-ack", "b2-ack", "n1-ack"]);

    // A join made from Rust server A for a socket of server B, then a Node broadcast to
    // that room; and our Emitter reaching clients of every server.
    a.to(node.id("b1")).sockets_join(["joined"]).await.unwrap();
    let emitter = sio_adapter_redis::Emitter::connect(config(&prefix, Mode::Classic))
        .await
        .unwrap();
    // Broadcast until b1 gets one: it is in the room once a broadcast to it arrives.
    eventually("b1 in room joined", WAIT_SECS, || async {
        node.cmd(json!({"op": "broadcast", "rooms": ["joined"], "event": "to-joined", "args": []}))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        (!node.received("b1", "to-joined").is_empty()).then_some(())
    })
    .await;
    if mode == Mode::Classic {
        emitter
            .to("room1")
            .emit("from-emitter", vec![])
            .await
            .unwrap();
        for c in ["n1", "a1", "b2"] {
            node.wait_event("emitter", |e| {
                e["client"] == c && e["event"] == "from-emitter"
            })
            .await;
        }
    }

    // Node disconnects a client of Rust server A.
    let a1_id = node.id("a1");
    node.cmd(json!({"op": "disconnectSockets", "rooms": [a1_id]}))
        .await
        .unwrap();
    node.wait_event("a1 disconnected", |e| {
        e["type"] == "client-disconnect" && e["client"] == "a1"
    })
    .await;

    node.stop().await;
    ha.shutdown();
    hb.shutdown();
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_classic() {
    mixed(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_sharded() {
    mixed(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_streams() {
    mixed(Mode::Streams {
        sharded_pubsub: false,
    })
    .await;
}
