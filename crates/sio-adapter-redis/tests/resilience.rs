//! Garbage on the adapter's channels, and Redis killed and restarted under the adapter.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::{Duration, Instant};

use common::*;
use sio_adapter_redis::{
    Emitter, Mode, RedisAdapterFactory, RedisConfig, RedisConnectError, SubscriptionMode,
};
use sio_types::{Adapter, BroadcastOptions, Packet, PacketData};

fn is_broadcast_of(c: &Call, name: &str) -> bool {
    matches!(c, Call::Broadcast(p, _) if matches!(&p.data, PacketData::Event { event, .. } if event == name))
}

async fn publish(cmd: &str, channel: &str, payload: &[u8]) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd(cmd)
        .arg(channel)
        .arg(payload)
        .exec_async(&mut c)
        .await
        .unwrap();
}

const GARBAGE: [&[u8]; 8] = [
    b"\xc1",                 // never-used msgpack byte
    b"\x93\xa7emitter",      // truncated array
    b"\x92\x01\x02",         // valid msgpack, wrong shape
    b"\x91\x01\x02",         // trailing bytes
    b"{not json",            // broken JSON
    b"{\"type\":99}",        // unknown type
    b"{\"type\":7}",         // broadcast request without requestId
    b"\xdd\xff\xff\xff\xff", // array claiming 4 billion elements
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_garbage_is_dropped_and_traffic_continues() {
    init_tracing();
    let prefix = unique_prefix("garbage");
    let node = RustNode::start(config(&prefix, Mode::Classic), &["r1:room1"]).await;
    let channels = [
        format!("{prefix}#/#"),
        format!("{prefix}#/#room1#"),
        format!("{prefix}-request#/#"),
        format!("{prefix}-response#/#"),
        format!("{prefix}-response#/#{}#", node.adapter.uid()),
    ];
    for ch in &channels {
        for g in GARBAGE {
            publish("PUBLISH", ch, g).await;
        }
    }
    let emitter = Emitter::connect(config(&prefix, Mode::Classic))
        .await
        .unwrap();
    emitter
        .to("room1")
        .emit("after-garbage", vec![])
        .await
        .unwrap();
    node.ns
        .wait_call("traffic after garbage", |c| {
            is_broadcast_of(c, "after-garbage")
        })
        .await;
    // Responses to unknown requests are ignored, not errors; everything else is counted.
    assert!(node.factory.stats().dropped_messages >= 3 * GARBAGE.len() as u64 - 2);
    assert_eq!(
        node.ns.calls().len(),
        1,
        "garbage reached the namespace: {:?}",
        node.ns.calls()
    );
    // Garbage for a room nobody here is in is not even decoded, so not counted either.
    let counted = node.factory.stats().dropped_messages;
    for g in GARBAGE {
        publish("PUBLISH", &format!("{prefix}#/#no-such-room#"), g).await;
    }
    emitter
        .to("room1")
        .emit("after-more", vec![])
        .await
        .unwrap();
    node.ns
        .wait_call("traffic after more garbage", |c| {
            is_broadcast_of(c, "after-more")
        })
        .await;
    assert_eq!(node.factory.stats().dropped_messages, counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_garbage_is_dropped_and_traffic_continues() {
    init_tracing();
    let prefix = unique_prefix("garbage-sharded");
    let mode = Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    };
    let a = RustNode::start(config(&prefix, mode), &["r1:room1"]).await;
    let b = RustNode::start(config(&prefix, mode), &[]).await;
    for ch in [
        format!("{prefix}#/#"),
        format!("{prefix}#/#room1#"),
        format!("{prefix}#/#{}#", a.adapter.uid()),
    ] {
        for g in GARBAGE {
            publish("SPUBLISH", &ch, g).await;
        }
    }
    b.adapter
        .broadcast(
            Packet::event("/", "after-garbage", vec![]),
            BroadcastOptions::default().to("room1"),
        )
        .await
        .unwrap();
    a.ns.wait_call("traffic after garbage", |c| {
        is_broadcast_of(c, "after-garbage")
    })
    .await;
    assert!(a.factory.stats().dropped_messages >= 2 * GARBAGE.len() as u64);
    assert_eq!(a.ns.calls().len(), 1, "{:?}", a.ns.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_name_the_connection() {
    // Nothing listens on this port (bound, then released).
    let port = free_port();
    let err = RedisAdapterFactory::connect(
        RedisConfig::builder(format!("redis://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_secs(2))
            .build(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            RedisConnectError::Failed { .. } | RedisConnectError::Timeout { .. }
        ),
        "{msg}"
    );
    assert!(msg.contains("\"pub\"") || msg.contains("\"sub\""), "{msg}");
    assert!(
        RedisAdapterFactory::connect(RedisConfig::builder("nope://x").build())
            .await
            .is_err()
    );

    // A password-protected Redis: the wrong password is reported as such, the right one
    // (with a database number) works.
    let port = free_port();
    let mut redis = start_redis_with(port, &["--requirepass", "s3cret"]).await;
    let err =
        Emitter::connect(RedisConfig::builder(format!("redis://:wrong@127.0.0.1:{port}")).build())
            .await
            .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("\"emitter\"") && !msg.contains("wrong"),
        "{msg}"
    );
    let ok = RedisAdapterFactory::connect(
        RedisConfig::builder(format!("redis://:s3cret@127.0.0.1:{port}/3")).build(),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
    drop(ok);
    redis.kill().await.unwrap();
    let _ = redis.wait().await;
}

async fn restart_suite(mode: Mode) {
    init_tracing();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    let prefix = unique_prefix("restart");
    let cfg = RedisConfig::builder(url.clone())
        .key_prefix(&prefix)
        .mode(mode)
        .build();
    let a = RustNode::start(cfg.clone(), &["r1:room1"]).await;
    let b = RustNode::start(cfg.clone(), &[]).await;
    let emitter = Emitter::connect(cfg).await.unwrap();
    let send = |name: String| {
        b.adapter.broadcast(
            Packet::event("/", name, vec![]),
            BroadcastOptions::default().to("room1"),
        )
    };
    send("before".into()).await.unwrap();
    a.ns.wait_call("before restart", |c| is_broadcast_of(c, "before"))
        .await;

    redis.kill().await.unwrap();
    let _ = redis.wait().await;
    // During the outage: errors, never panics. A broadcast does not wait for Redis while
    // Redis takes messages, but once the outage is noticed (or a write failed) it waits
    // and reports the failure instead of queueing its message to be lost.
    let noticed = Instant::now();
    while send("during".into()).await.is_ok() {
        assert!(
            noticed.elapsed() < Duration::from_secs(5),
            "broadcasts still succeed 5 s into the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut redis = start_redis(port).await;
    let restarted = Instant::now();

    // Probe until a broadcast makes it through both adapters' connections.
    let mut i = 0;
    loop {
        let name = format!("probe-{i}");
        let _ = send(name.clone()).await;
        if tokio::time::timeout(
            Duration::from_millis(100),
            a.ns.wait_call("probe", |c| is_broadcast_of(c, &name)),
        )
        .await
        .is_ok()
        {
            break;
        }
        i += 1;
        assert!(
            restarted.elapsed() < Duration::from_secs(2),
            "adapter not back 2 s after Redis restarted; stats {:?}",
            a.factory.stats()
        );
    }
    // After recovery every broadcast arrives, and the emitter's connection is back too.
    for n in 0..20 {
        send(format!("after-{n}")).await.unwrap();
    }
    if mode == Mode::Classic {
        eventually("the emitter back", WAIT_SECS, || async {
            emitter.to("room1").emit("from-emitter", vec![]).await.ok()
        })
        .await;
        a.ns.wait_call("emitter after restart", |c| {
            is_broadcast_of(c, "from-emitter")
        })
        .await;
        assert!(emitter.stats().disconnects >= 1, "{:?}", emitter.stats());
    }
    for n in 0..20 {
        let name = format!("after-{n}");
        a.ns.wait_call("after restart", |c| is_broadcast_of(c, &name))
            .await;
    }
    let stats = a.factory.stats();
    assert!(stats.disconnects >= 1 && stats.reconnects >= 1, "{stats:?}");
    assert!(stats.last_gap.is_some());
    a.adapter.close().await.unwrap();
    b.adapter.close().await.unwrap();
    drop((a, b));
    redis.kill().await.unwrap();
    let _ = redis.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_survives_redis_restart() {
    restart_suite(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_survives_redis_restart() {
    restart_suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_is_a_timeout() {
    // Accepts connections and never writes a byte back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let err = RedisAdapterFactory::connect(
        RedisConfig::builder(format!("redis://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_millis(1500))
            .build(),
    )
    .await
    .unwrap_err();
    hold.abort();
    // Whether our deadline or the redis crate's own timeout fires first, it is a timeout.
    match &err {
        RedisConnectError::Timeout { name, .. } => {
            assert!(["pub", "sub"].contains(name), "{err}");
        }
        other => panic!("expected RedisConnectError::Timeout, got {other:?}"),
    }
}

/// Broadcasts from `b` until `a` hears one again, once both servers' connections are back
/// and settled (each reconnection replaces a connection and its subscriptions: what is
/// published meanwhile is pub/sub's own loss, not a false success).
async fn probe(a: &RustNode, b: &RustNode, round: usize) {
    let started = Instant::now();
    let settled = |n: &RustNode| {
        let s = n.factory.stats();
        s.disconnects > 0 && s.reconnects == s.disconnects
    };
    until("both servers' connections settled", WAIT_SECS, || {
        settled(a) && settled(b)
    })
    .await;
    for i in 0.. {
        let name = format!("probe-{round}-{i}");
        let _ = b
            .adapter
            .broadcast(
                Packet::event("/", name.clone(), vec![]),
                BroadcastOptions::default().to("room1"),
            )
            .await;
        if tokio::time::timeout(
            Duration::from_millis(100),
            a.ns.wait_call("probe", |c| is_broadcast_of(c, &name)),
        )
        .await
        .is_ok()
        {
            return;
        }
        assert!(started.elapsed() < WAIT, "cluster not back");
    }
}

/// No false success (the default, confirmed publishes): Redis killed (-9) twice and paused once
/// while a server broadcasts.
/// Every broadcast whose call returned `Ok` reaches the other server; the ones that could
/// not be confirmed return an error; the sending server's own sockets get every one.
async fn outage_suite(mode: Mode) {
    init_tracing();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    let prefix = unique_prefix("outage");
    let cfg = RedisConfig::builder(url.clone())
        .key_prefix(&prefix)
        .mode(mode)
        .requests_timeout(Duration::from_secs(2))
        .build();
    let a = RustNode::start(cfg.clone(), &["r1:room1"]).await;
    let b = RustNode::start(cfg.clone(), &["r2:room1"]).await;
    // The emitter (the helper's classic `send`) in the same mode.
    let emitter = Emitter::connect(cfg).await.unwrap();
    let send = |name: String| {
        b.adapter.broadcast(
            Packet::event("/", name, vec![]),
            BroadcastOptions::default().to("room1"),
        )
    };
    let (mut confirmed, mut refused) = (Vec::new(), Vec::new());
    let mut n = 0;
    for round in 0..2 {
        for _ in 0..5 {
            let name = format!("send-{n}");
            n += 1;
            send(name.clone()).await.unwrap();
            // Redis taking a publish is not its subscribers having it: killed right after,
            // it may never push it. Those before the outage are let through first.
            a.ns.wait_call("before the outage", |c| is_broadcast_of(c, &name))
                .await;
            confirmed.push(name);
        }
        redis.kill().await.unwrap();
        let _ = redis.wait().await;
        assert!(
            emitter.to("room1").emit("lost", vec![]).await.is_err(),
            "an emit Redis did not take is an error"
        );
        // Each send is awaited, so none is in flight when Redis comes back (a publish
        // accepted before the other server resubscribed would be pub/sub's own loss).
        for _ in 0..10 {
            let name = format!("send-{n}");
            n += 1;
            match send(name.clone()).await {
                Ok(()) => confirmed.push(name),
                Err(_) => refused.push(name),
            }
        }
        redis = start_redis(port).await;
        probe(&a, &b, round).await;
    }
    // Paused, Redis keeps the connections: sends wait, then go through.
    let admin = redis::Client::open(url.as_str()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(400)
        .arg("WRITE")
        .exec_async(&mut admin)
        .await
        .unwrap();
    for _ in 0..5 {
        let name = format!("send-{n}");
        n += 1;
        send(name.clone()).await.unwrap();
        confirmed.push(name);
    }
    for name in &confirmed {
        a.ns.wait_call(&format!("confirmed broadcast {name}"), |c| {
            is_broadcast_of(c, name)
        })
        .await;
    }
    let local = b.ns.calls();
    for name in confirmed.iter().chain(&refused) {
        assert!(
            local.iter().any(|c| is_broadcast_of(c, name)),
            "the sending server's own sockets got {name}"
        );
    }
    assert_eq!(
        refused.len(),
        20,
        "every send during the outages was refused"
    );
    assert_eq!(confirmed.len(), n - 20);
    eprintln!(
        "{mode:?}: {} sends, {} confirmed and delivered, {} refused during 2 outages",
        n,
        confirmed.len(),
        refused.len()
    );
    drop((a, b, emitter));
    redis.kill().await.unwrap();
    let _ = redis.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_reports_what_redis_did_not_take() {
    outage_suite(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_reports_what_redis_did_not_take() {
    outage_suite(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}
