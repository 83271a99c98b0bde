//! Our adapter and a Node socket.io 4.8 server with @socket.io/redis-adapter 8.3 on one
//! Redis, in both directions, classic and sharded. Needs Redis on 127.0.0.1:6379 and the
//! npm packages in tests/interop/node_modules.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use sio_adapter_redis::{Mode, SubscriptionMode};
use sio_types::{Adapter, BroadcastOptions, Packet, PacketData, Room, SocketId, Value};

fn event_of(c: &Call) -> Option<(&Packet, &BroadcastOptions)> {
    match c {
        Call::Broadcast(p, o) => Some((p, o)),
        _ => None,
    }
}

fn is_event(p: &Packet, name: &str) -> bool {
    matches!(&p.data, PacketData::Event { event, .. } if event == name)
}

fn args(p: &Packet) -> Vec<Value> {
    match &p.data {
        PacketData::Event { args, .. } => args.clone(),
        _ => vec![],
    }
}

async fn suite(mode: Mode) {
    init_tracing();
    let prefix = unique_prefix(common::mode_arg(mode));
    let rust = RustNode::start(config(&prefix, mode), &["r1:room1", "r2:room2", "r3"]).await;
    let node = NodeMember::start(&prefix, mode, &["n1:room1", "n2:room1,room2", "n3"]).await;
    let (a, ns) = (&rust.adapter, &rust.ns);
    let r1 = ns.id_of("r1").to_string();
    let r3 = ns.id_of("r3").to_string();
    let n3 = node.id("n3");

    assert_eq!(a.server_count().await.unwrap(), 2);
    assert_eq!(
        node.cmd(json!({"op": "serverCount"})).await.unwrap(),
        json!(2)
    );

    // Node -> Rust: a room broadcast with except and binary arguments.
    node.cmd(
        json!({"op": "broadcast", "rooms": ["room1"], "except": ["room2"], "event": "ev1",
        "args": ["a", {"$bin": "0102ff"}, 3, {"nested": {"$bin": "00"}}]}),
    )
    .await
    .unwrap();
    let c = ns
        .wait_call("node room broadcast", |c| {
            event_of(c).is_some_and(|(p, _)| is_event(p, "ev1"))
        })
        .await;
    let (p, o) = event_of(&c).unwrap();
    assert_eq!(p.nsp, "/");
    assert_eq!(
        args(p),
        vec![
            Value::from("a"),
            Value::from(vec![1u8, 2, 255]),
            Value::from(3),
            Value::from_iter([("nested", Value::from(vec![0u8]))]),
        ]
    );
    assert_eq!(o.rooms, ["room1"]);
    assert_eq!(o.except, ["room2"]);

    // Node -> Rust: to one socket id.
    node.cmd(json!({"op": "broadcast", "rooms": [r1], "event": "ev-private", "args": [1]}))
        .await
        .unwrap();
    let c = ns
        .wait_call("node private message", |c| {
            event_of(c).is_some_and(|(p, _)| is_event(p, "ev-private"))
        })
        .await;
    assert_eq!(event_of(&c).unwrap().1.rooms, [r1.as_str()]);

    // Node -> Rust: everyone, with flags.
    node.cmd(json!({"op": "broadcast", "event": "ev-all", "args": []}))
        .await
        .unwrap();
    let c = ns
        .wait_call("node broadcast to all", |c| {
            event_of(c).is_some_and(|(p, _)| is_event(p, "ev-all"))
        })
        .await;
    assert!(event_of(&c).unwrap().1.rooms.is_empty());

    // Rust -> Node clients: room1 except room2, binary argument.
    let opts = BroadcastOptions::default().to("room1").except("room2");
    a.broadcast(
        Packet::event(
            "/",
            "ev2",
            vec![Value::from("b"), Value::from(vec![3u8, 4])],
        ),
        opts,
    )
    .await
    .unwrap();
    node.wait_event("n1 gets ev2", |e| {
        e["client"] == "n1" && e["event"] == "ev2"
    })
    .await;
    assert_eq!(
        node.received("n1", "ev2"),
        vec![vec![Value::from("b"), Value::from(vec![3u8, 4])]]
    );
    // Rust -> one Node socket id, then to everyone as a marker that earlier ones are done.
    a.broadcast(
        Packet::event("/", "ev3", vec![Value::from(true)]),
        BroadcastOptions::default().to(n3.clone()),
    )
    .await
    .unwrap();
    a.broadcast(
        Packet::event("/", "marker", vec![]),
        BroadcastOptions::default(),
    )
    .await
    .unwrap();
    for c in ["n1", "n2", "n3"] {
        node.wait_event("marker", |e| e["client"] == c && e["event"] == "marker")
            .await;
    }
    assert!(
        node.received("n2", "ev2").is_empty(),
        "except room2 not honoured"
    );
    assert!(node.received("n3", "ev2").is_empty(), "room1 not honoured");
    assert_eq!(node.received("n3", "ev3").len(), 1);
    assert!(node.received("n1", "ev3").is_empty());

    // fetch_sockets, both ways.
    let found = a
        .fetch_sockets(BroadcastOptions::default().to("room1"))
        .await
        .unwrap();
    let ids: HashSet<String> = found.iter().map(|s| s.id.to_string()).collect();
    let want: HashSet<String> = [r1.clone(), node.id("n1"), node.id("n2")].into();
    assert_eq!(ids, want);
    let n1 = found
        .iter()
        .find(|s| s.id.as_str() == node.id("n1"))
        .unwrap();
    assert!(n1.rooms.iter().any(|r| r == "room1"));
    assert_eq!(n1.data.get("name").and_then(Value::as_str), Some("n1"));
    assert_eq!(
        n1.handshake.auth.get("name").and_then(Value::as_str),
        Some("n1")
    );
    let from_node = node
        .cmd(json!({"op": "fetchSockets", "rooms": ["room1"]}))
        .await
        .unwrap();
    let r1_info = from_node
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == r1.as_str())
        .unwrap_or_else(|| panic!("r1 missing from {from_node}"));
    assert_eq!(r1_info["data"]["name"], "r1");
    assert_eq!(from_node.as_array().unwrap().len(), 3);

    // sockets_join, both ways.
    a.add_sockets(
        BroadcastOptions::default().to(n3.clone()),
        vec![Room::from("joined-by-rust")],
    )
    .await
    .unwrap();
    node.wait_room("n3", "joined-by-rust", true).await;
    node.cmd(json!({"op": "socketsJoin", "rooms": [r3], "join": "joined-by-node"}))
        .await
        .unwrap();
    until("r3 joins", WAIT_SECS, || {
        ns.rooms_of("r3").iter().any(|r| r == "joined-by-node")
    })
    .await;
    assert!(!ns.rooms_of("r1").iter().any(|r| r == "joined-by-node"));
    node.cmd(json!({"op": "socketsLeave", "rooms": [r3], "leave": "joined-by-node"}))
        .await
        .unwrap();
    until("r3 leaves", WAIT_SECS, || {
        !ns.rooms_of("r3").iter().any(|r| r == "joined-by-node")
    })
    .await;

    // all_rooms: classic only (the sharded Node adapter has no such request).
    let rooms = a.all_rooms().await.unwrap();
    if mode == Mode::Classic {
        for r in ["room1", "room2", "joined-by-rust", n3.as_str(), r1.as_str()] {
            assert!(rooms.iter().any(|x| x == r), "{r} missing from {rooms:?}");
        }
        let node_rooms = node.cmd(json!({"op": "allRooms"})).await.unwrap();
        for r in ["room1", "room2", r1.as_str()] {
            assert!(
                node_rooms.as_array().unwrap().iter().any(|x| x == r),
                "{r} missing from {node_rooms}"
            );
        }
    } else {
        assert!(!rooms.iter().any(|x| x == n3.as_str()));
    }

    // server-side emits, both ways, with and without ack.
    a.server_side_emit(vec![Value::from("hello"), Value::from("x")])
        .await
        .unwrap();
    let e = node
        .wait_event("node sse", |e| e["type"] == "sse" && e["event"] == "hello")
        .await;
    assert_eq!(e["args"], json!(["x"]));
    let answers = a
        .server_side_emit_with_ack(
            vec![Value::from("sse-ack"), Value::from(1)],
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(answers, vec![vec![Value::from("node-answer")]]);
    node.cmd(json!({"op": "serverSideEmit", "event": "hello", "args": ["y", {"$bin": "09"}]}))
        .await
        .unwrap();
    let c = ns
        .wait_call("rust sse", |c| matches!(c, Call::ServerSideEmit(a, false) if a.first() == Some(&Value::from("hello"))))
        .await;
    if let Call::ServerSideEmit(args, _) = c {
        assert_eq!(args[1], Value::from("y"));
    }
    let got = node
        .cmd(json!({"op": "serverSideEmitWithAck", "event": "sse-ack", "args": [2]}))
        .await
        .unwrap();
    assert_eq!(got, json!(["rust-answer"]));

    // broadcast with acks, both ways.
    let stream = a
        .broadcast_with_ack(
            Packet::event("/", "ask", vec![Value::from(1)]),
            BroadcastOptions::default().to("room1"),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    let acks: Vec<_> = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .unwrap();
    let acks: HashSet<String> = acks
        .into_iter()
        .map(|r| r.unwrap()[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        acks,
        ["r1-ack", "n1-ack", "n2-ack"].map(String::from).into()
    );
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
    assert_eq!(got, ["n1-ack", "n2-ack", "r1-ack"]);
    assert!(
        ns.calls()
            .iter()
            .any(|c| matches!(c, Call::BroadcastWithAck(p, _) if is_event(p, "ask")))
    );

    // disconnect_sockets, both ways.
    a.disconnect_sockets(BroadcastOptions::default().to(n3.clone()), false)
        .await
        .unwrap();
    node.wait_event("n3 disconnected", |e| {
        e["type"] == "client-disconnect" && e["client"] == "n3"
    })
    .await;
    node.cmd(json!({"op": "disconnectSockets", "rooms": [r3], "close": true}))
        .await
        .unwrap();
    // (Our own disconnect of n3 above was recorded locally first, with close = false.)
    let c = ns
        .wait_call("rust disconnect", |c| {
            matches!(c, Call::Disconnect(_, true))
        })
        .await;
    assert_eq!(
        c,
        Call::Disconnect(
            BroadcastOptions::socket(r3.parse::<SocketId>().unwrap()),
            true
        )
    );

    assert_eq!(rust.factory.stats().dropped_messages, 0);
    if let Mode::Streams { .. } = mode {
        // Both sides wrote their broadcasts and room changes into the one stream.
        let entries = stream_entries(&prefix).await;
        let writers: HashSet<&str> = entries
            .iter()
            .filter(|e| e["type"] == "3")
            .map(|e| e["uid"].as_str())
            .collect();
        assert!(
            writers.contains(a.uid()),
            "no broadcast of ours in {entries:?}"
        );
        assert_eq!(writers.len(), 2, "broadcasts of both servers: {entries:?}");
        assert!(
            entries.iter().any(|e| e["type"] == "4"),
            "socketsJoin is logged"
        );
    }
    node.stop().await;
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_cluster_with_node() {
    suite(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_cluster_with_node() {
    suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_static_cluster_with_node() {
    suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::Static,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_private_cluster_with_node() {
    suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::DynamicPrivate,
    })
    .await;
}

/// Dynamic mode subscribes a room's own channel when the server reports the room created,
/// and drops it when the room is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_dynamic_room_channels_follow_room_hooks() {
    init_tracing();
    let prefix = unique_prefix("dyn-rooms");
    let mode = Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    };
    let a = RustNode::start(config(&prefix, mode), &["r1"]).await;
    let b = RustNode::start(config(&prefix, mode), &[]).await;
    let channel = format!("{prefix}#/#late#");
    let numsub = || async {
        let client = redis::Client::open(REDIS).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let r: Vec<redis::Value> = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(&channel)
            .query_async(&mut c)
            .await
            .unwrap();
        match r.get(1) {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("unexpected SHARDNUMSUB reply {other:?}"),
        }
    };
    assert_eq!(numsub().await, 0);

    let late = Room::from("late");
    let r1 = BroadcastOptions::socket(a.ns.id_of("r1"));
    sio_types::LocalNamespace::add_sockets(&*a.ns, &r1, std::slice::from_ref(&late));
    a.adapter.on_room_created(&late);
    eventually("the room channel subscribed", WAIT_SECS, || async {
        (numsub().await == 1).then_some(())
    })
    .await;
    b.adapter
        .broadcast(
            Packet::event("/", "to-late", vec![]),
            BroadcastOptions::default().to("late"),
        )
        .await
        .unwrap();
    a.ns.wait_call("room channel message", |c| {
        event_of(c).is_some_and(|(p, _)| is_event(p, "to-late"))
    })
    .await;

    sio_types::LocalNamespace::del_sockets(&*a.ns, &r1, std::slice::from_ref(&late));
    a.adapter.on_room_deleted(&late);
    eventually("the room channel unsubscribed", WAIT_SECS, || async {
        (numsub().await == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_cluster_with_node() {
    suite(Mode::Streams {
        sharded_pubsub: false,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_sharded_pubsub_cluster_with_node() {
    suite(Mode::Streams {
        sharded_pubsub: true,
    })
    .await;
}
