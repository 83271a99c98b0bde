//! Broadcasts return without waiting for Redis, so their order on the wire is the order of
//! one queue: a burst of broadcasts and then a request that does wait must reach the other
//! servers exactly in call order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use common::*;
use sio_adapter_redis::{Mode, SubscriptionMode};
use sio_types::{Adapter, BroadcastOptions, Packet, PacketData, Value};

async fn burst_then_request(mode: Mode) {
    init_tracing();
    let prefix = unique_prefix("ordering");
    let a = RustNode::start(config(&prefix, mode), &[]).await;
    let b = RustNode::start(config(&prefix, mode), &["r1:room1"]).await;
    const N: i64 = 500;
    for i in 0..N {
        // Alternating targets: in sharded dynamic mode these are different channels.
        let opts = if i % 2 == 0 {
            BroadcastOptions::default().to("room1")
        } else {
            BroadcastOptions::default()
        };
        a.adapter
            .broadcast(Packet::event("/", "n", vec![Value::from(i)]), opts)
            .await
            .unwrap();
    }
    a.adapter
        .server_side_emit(vec![Value::from("after")])
        .await
        .unwrap();
    b.ns.wait_call("the request after the burst", |c| {
        matches!(c, Call::ServerSideEmit(..))
    })
    .await;
    let seen: Vec<i64> =
        b.ns.calls()
            .into_iter()
            .take_while(|c| !matches!(c, Call::ServerSideEmit(..)))
            .filter_map(|c| match c {
                Call::Broadcast(
                    Packet {
                        data: PacketData::Event { args, .. },
                        ..
                    },
                    _,
                ) => args.first()?.as_i64(),
                _ => None,
            })
            .collect();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_burst_then_request_arrive_in_order() {
    burst_then_request(Mode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_burst_then_request_arrive_in_order() {
    burst_then_request(Mode::Sharded {
        subscription_mode: SubscriptionMode::Dynamic,
    })
    .await;
}
