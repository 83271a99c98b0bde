//! @socket.io/redis-emitter 5.1 (Node) drives our adapter; our `Emitter` drives a Node
//! socket.io server; and both emitters publish the same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use sio_adapter_redis::{Emitter, EmitterError, Mode};
use sio_types::{BroadcastOptions, PacketData, SocketId, Value};

fn broadcast_named<'a>(c: &'a Call, name: &str) -> Option<&'a BroadcastOptions> {
    match c {
        Call::Broadcast(p, o) if matches!(&p.data, PacketData::Event { event, .. } if event == name) => {
            Some(o)
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_emitter_drives_our_adapter() {
    init_tracing();
    let prefix = unique_prefix("node-emitter");
    let rust = RustNode::start(
        config(&prefix, Mode::Classic),
        &["r1:room1", "r2:room2", "r3"],
    )
    .await;
    let node = NodeMember::start(&prefix, Mode::Classic, &[]).await;
    let ns = &rust.ns;
    let (r1, r3) = (ns.id_of("r1").to_string(), ns.id_of("r3").to_string());

    node.cmd(json!({"op": "emitterEmit", "rooms": ["room1"], "compress": true, "event": "e-room", "args": ["x", {"$bin": "aa"}]}))
        .await
        .unwrap();
    let c = ns
        .wait_call("emitter room", |c| broadcast_named(c, "e-room").is_some())
        .await;
    let o = broadcast_named(&c, "e-room").unwrap();
    assert_eq!(o.rooms, ["room1"]);
    assert!(o.flags.compress);
    if let Call::Broadcast(p, _) = &c {
        assert_eq!(p.nsp, "/");
        let PacketData::Event { args, .. } = &p.data else {
            unreachable!()
        };
        assert_eq!(args, &vec![Value::from("x"), Value::from(vec![0xaau8])]);
    }

    node.cmd(json!({"op": "emitterEmit", "rooms": [r1], "event": "e-private", "args": []}))
        .await
        .unwrap();
    let c = ns
        .wait_call("emitter socket id", |c| {
            broadcast_named(c, "e-private").is_some()
        })
        .await;
    assert_eq!(
        broadcast_named(&c, "e-private").unwrap().rooms,
        [r1.as_str()]
    );

    node.cmd(json!({"op": "emitterEmit", "except": ["room2"], "volatile": true, "event": "e-all", "args": [1]}))
        .await
        .unwrap();
    let c = ns
        .wait_call("emitter everyone", |c| {
            broadcast_named(c, "e-all").is_some()
        })
        .await;
    let o = broadcast_named(&c, "e-all").unwrap();
    assert!(o.rooms.is_empty());
    assert_eq!(o.except, ["room2"]);
    assert!(o.flags.volatile);

    // A room nobody here is in: dropped before decoding, never reaches the namespace.
    node.cmd(json!({"op": "emitterEmit", "rooms": ["nobody-here"], "event": "e-none", "args": []}))
        .await
        .unwrap();

    node.cmd(json!({"op": "emitterSocketsJoin", "rooms": [r3], "join": "e-joined"}))
        .await
        .unwrap();
    until("r3 joins", WAIT_SECS, || {
        ns.rooms_of("r3").iter().any(|r| r == "e-joined")
    })
    .await;
    node.cmd(json!({"op": "emitterSocketsLeave", "rooms": [r3], "leave": "e-joined"}))
        .await
        .unwrap();
    until("r3 leaves", WAIT_SECS, || {
        !ns.rooms_of("r3").iter().any(|r| r == "e-joined")
    })
    .await;

    node.cmd(json!({"op": "emitterServerSideEmit", "event": "hello", "args": ["z"]}))
        .await
        .unwrap();
    let c = ns
        .wait_call("emitter sse", |c| matches!(c, Call::ServerSideEmit(..)))
        .await;
    assert_eq!(
        c,
        Call::ServerSideEmit(vec![Value::from("hello"), Value::from("z")], false)
    );

    node.cmd(json!({"op": "emitterDisconnectSockets", "rooms": [r3], "close": true}))
        .await
        .unwrap();
    let c = ns
        .wait_call("emitter disconnect", |c| matches!(c, Call::Disconnect(..)))
        .await;
    assert_eq!(
        c,
        Call::Disconnect(
            BroadcastOptions::socket(r3.parse::<SocketId>().unwrap()),
            true
        )
    );
    assert!(
        !ns.calls()
            .iter()
            .any(|c| broadcast_named(c, "e-none").is_some())
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_emitter_drives_node_server() {
    init_tracing();
    let prefix = unique_prefix("rust-emitter");
    let node = NodeMember::start(
        &prefix,
        Mode::Classic,
        &["n1:room1", "n2:room1,room2", "n3"],
    )
    .await;
    let emitter = Emitter::connect(config(&prefix, Mode::Classic))
        .await
        .unwrap();
    let n3 = node.id("n3");

    assert!(matches!(
        emitter.emit("disconnect", vec![]).await,
        Err(EmitterError::Reserved(e)) if e == "disconnect"
    ));

    emitter
        .clone()
        .to("room1")
        .except("room2")
        .compress(true)
        .emit("from-rust", vec![Value::from("v"), Value::from(vec![7u8])])
        .await
        .unwrap();
    emitter
        .clone()
        .to(n3.clone())
        .emit("private", vec![])
        .await
        .unwrap();
    emitter
        .emit("everyone", vec![Value::from(1)])
        .await
        .unwrap();
    for c in ["n1", "n2", "n3"] {
        node.wait_event("everyone", |e| e["client"] == c && e["event"] == "everyone")
            .await;
    }
    assert_eq!(
        node.received("n1", "from-rust"),
        vec![vec![Value::from("v"), Value::from(vec![7u8])]]
    );
    assert!(node.received("n2", "from-rust").is_empty());
    assert!(node.received("n3", "from-rust").is_empty());
    assert_eq!(node.received("n3", "private").len(), 1);
    assert!(node.received("n1", "private").is_empty());

    emitter
        .clone()
        .to(n3.clone())
        .sockets_join(["emitted-room"])
        .await
        .unwrap();
    node.wait_room("n3", "emitted-room", true).await;
    emitter
        .clone()
        .to(n3.clone())
        .sockets_leave(["emitted-room"])
        .await
        .unwrap();
    node.wait_room("n3", "emitted-room", false).await;

    emitter
        .server_side_emit(vec![Value::from("hello"), Value::from("from-emitter")])
        .await
        .unwrap();
    let e = node
        .wait_event("sse", |e| e["type"] == "sse" && e["event"] == "hello")
        .await;
    assert_eq!(e["args"], json!(["from-emitter"]));

    emitter
        .clone()
        .to(n3.clone())
        .disconnect_sockets(false)
        .await
        .unwrap();
    node.wait_event("n3 disconnected", |e| {
        e["type"] == "client-disconnect" && e["client"] == "n3"
    })
    .await;
    assert!(
        node.events()
            .iter()
            .all(|e| e["client"] != "n1" || e["type"] != "client-disconnect")
    );
    node.stop().await;
}

/// Every message either emitter publishes, captured from Redis.
async fn capture(prefix: &str) -> (redis::aio::PubSub, ()) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut ps = client.get_async_pubsub().await.unwrap();
    ps.psubscribe(format!("{prefix}*")).await.unwrap();
    (ps, ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_emitter_publishes_the_node_emitters_bytes() {
    init_tracing();
    let prefix = unique_prefix("emitter-bytes");
    let (mut ps, ()) = capture(&prefix).await;
    let node = NodeMember::start(&prefix, Mode::Classic, &[]).await;
    let emitter = Emitter::connect(config(&prefix, Mode::Classic))
        .await
        .unwrap();

    let cases = [
        json!({"op": "emitterEmit", "event": "a", "args": ["s", 1, 1.5, -3, 300, 70000, 5000000000u64, true, null, {"k": [1, {"$bin": "0001"}]}]}),
        json!({"op": "emitterEmit", "rooms": ["r1"], "compress": true, "event": "b", "args": []}),
        json!({"op": "emitterEmit", "rooms": ["r1", "r2"], "except": ["x"], "volatile": true, "event": "c", "args": ["é"]}),
        json!({"op": "emitterEmit", "nsp": "/admin", "except": ["x", "y"], "event": "d", "args": [{"a": null}]}),
        json!({"op": "emitterSocketsJoin", "rooms": ["r1"], "join": ["j1", "j2"]}),
        json!({"op": "emitterSocketsLeave", "except": ["r1"], "leave": ["j1"]}),
        json!({"op": "emitterDisconnectSockets", "rooms": ["r9"], "close": true}),
        json!({"op": "emitterServerSideEmit", "event": "hello", "args": [1, "two", {"three": 3}]}),
    ];
    let strs = |j: &serde_json::Value| -> Vec<String> {
        j.as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let mut stream = ps.on_message();
    let mut next = async || {
        let m = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap()
            .unwrap();
        (
            m.get_channel_name().to_owned(),
            m.get_payload_bytes().to_vec(),
        )
    };
    let mut node_msgs = Vec::new();
    for case in &cases {
        node.cmd(case.clone()).await.unwrap();
        node_msgs.push(next().await);
    }
    let mut ours = Vec::new();
    for case in &cases {
        let mut e = emitter.of(case["nsp"].as_str().unwrap_or("/"));
        e = e.to_many(strs(&case["rooms"]));
        for x in strs(&case["except"]) {
            e = e.except(x);
        }
        if case["volatile"] == true {
            e = e.volatile();
        }
        if let Some(c) = case["compress"].as_bool() {
            e = e.compress(c);
        }
        let args = || {
            case["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(from_json)
                .collect::<Vec<_>>()
        };
        match case["op"].as_str().unwrap() {
            "emitterEmit" => e
                .emit(case["event"].as_str().unwrap(), args())
                .await
                .unwrap(),
            "emitterSocketsJoin" => e.sockets_join(strs(&case["join"])).await.unwrap(),
            "emitterSocketsLeave" => e.sockets_leave(strs(&case["leave"])).await.unwrap(),
            "emitterDisconnectSockets" => e.disconnect_sockets(true).await.unwrap(),
            "emitterServerSideEmit" => {
                let mut a = vec![Value::from(case["event"].as_str().unwrap())];
                a.extend(args());
                e.server_side_emit(a).await.unwrap()
            }
            _ => unreachable!(),
        }
        ours.push(next().await);
    }
    for ((case, n), o) in cases.iter().zip(&node_msgs).zip(&ours) {
        assert_eq!(n.0, o.0, "channel differs for {case}");
        assert_eq!(
            n.1, o.1,
            "bytes differ for {case}:\nnode {:02x?}\nours {:02x?}",
            n.1, o.1
        );
    }
    node.stop().await;
}
