//! Cluster requests that nobody answers time out with socket.io's errors; responses go to
//! the requester's own channel when `publishOnSpecificResponseChannel` is on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use sio_adapter_redis::{Mode, SubscriptionMode};
use sio_types::{Adapter, AdapterError, BroadcastOptions, Packet, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_requests_time_out_with_socket_io_messages() {
    init_tracing();
    let prefix = unique_prefix("timeouts");
    let cfg = builder(&prefix, Mode::Classic)
        .requests_timeout(Duration::from_millis(400))
        .build();
    let node = RustNode::start(cfg, &["r1:room1"]).await;
    // A silent member: subscribed to the request channel, never answering.
    let client = redis::Client::open(REDIS).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent
        .subscribe(format!("{prefix}-request#/#"))
        .await
        .unwrap();
    let a = &node.adapter;
    assert_eq!(a.server_count().await.unwrap(), 2);

    let err = a.all_rooms().await.unwrap_err();
    assert!(
        matches!(
            err,
            AdapterError::Timeout {
                request: "allRooms",
                received: 0,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("timeout reached while waiting for allRooms response"),
        "{err}"
    );
    let err = a
        .fetch_sockets(BroadcastOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("timeout reached while waiting for fetchSockets response"),
        "{err}"
    );
    let err = a
        .server_side_emit_with_ack(vec![Value::from("x")], Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            AdapterError::PartialTimeout {
                request: "serverSideEmit",
                received,
                expected: 1,
                ..
            } if received.is_empty()
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "timeout reached: only 0 responses received out of 1"
    );
    // A broadcast with acks still yields the local answers, and ends at its timeout.
    let acks: Vec<_> = a
        .broadcast_with_ack(
            Packet::event("/", "ask", vec![]),
            BroadcastOptions::default().to("room1"),
            Duration::from_millis(400),
        )
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].as_ref().unwrap(), &vec![Value::from("r1-ack")]);
    // Nothing above was counted as malformed. (Whether the pending entries were removed is
    // not visible from here: an answer to an unknown request id is ignored either way.)
    assert_eq!(node.factory.stats().dropped_messages, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_use_the_specific_channel_when_asked() {
    init_tracing();
    let prefix = unique_prefix("specific");
    let cfg = builder(&prefix, Mode::Classic)
        .publish_on_specific_response_channel(true)
        .build();
    let a = RustNode::start(cfg.clone(), &["a1"]).await;
    let b = RustNode::start(cfg, &["b1:room"]).await;
    let client = redis::Client::open(REDIS).unwrap();
    let mut spy = client.get_async_pubsub().await.unwrap();
    spy.psubscribe(format!("{prefix}-response#*"))
        .await
        .unwrap();

    let found = a
        .adapter
        .fetch_sockets(BroadcastOptions::default().to("room"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, b.ns.id_of("b1"));
    let msg = tokio::time::timeout(WAIT, spy.on_message().next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        msg.get_channel_name(),
        format!("{prefix}-response#/#{}#", a.adapter.uid())
    );
}

/// Three servers, one of which never acknowledges: the caller gets the one answer that
/// arrived together with socket.io's timeout error, as Node's `serverSideEmitWithAck` does.
async fn partial_answers_survive_a_timeout(mode: Mode, name: &str) {
    init_tracing();
    let prefix = unique_prefix(name);
    let cfg = || {
        builder(&prefix, mode)
            .requests_timeout(Duration::from_secs(5))
            .build()
    };
    let caller = RustNode::start(cfg(), &[]).await;
    let answering = RustNode::start(cfg(), &[]).await;
    let silent = RustNode::start(cfg(), &[]).await;
    silent
        .ns
        .silent
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(caller.adapter.server_count().await.unwrap(), 3);

    let err = caller
        .adapter
        .server_side_emit_with_ack(vec![Value::from("ping")], Duration::from_millis(800))
        .await
        .unwrap_err();
    match &err {
        AdapterError::PartialTimeout {
            request,
            received,
            expected,
            ..
        } => {
            assert_eq!(*request, "serverSideEmit");
            assert_eq!(received, &vec![vec![Value::from("rust-answer")]]);
            assert_eq!(*expected, 2);
        }
        other => panic!("expected a partial timeout, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "timeout reached: only 1 responses received out of 2"
    );
    // Both peers did get the emit; only one answered.
    for node in [&answering, &silent] {
        node.ns
            .wait_call("server-side emit", |c| {
                matches!(c, Call::ServerSideEmit(args, true) if args == &vec![Value::from("ping")])
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_answers_survive_a_timeout_classic() {
    partial_answers_survive_a_timeout(Mode::Classic, "partial-classic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_answers_survive_a_timeout_sharded() {
    partial_answers_survive_a_timeout(
        Mode::Sharded {
            subscription_mode: SubscriptionMode::Dynamic,
        },
        "partial-sharded",
    )
    .await;
}
