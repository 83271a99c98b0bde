//! The client helper against a Node socket.io 4.8 server with the seed's server semantics
//! (`tests/interop/client/seed-server.js`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NodeServer, eventually, wait_until};
use sio_client::helper::SubscribeHandler;
use sio_client::{
    ClientConfig, ClientHelper, ClientHelperBuilder, ClientState, HelperError, TransportKind, Value,
};
use tokio::sync::mpsc;

fn config(server: &NodeServer, token: &str) -> ClientConfig {
    ClientConfig::builder(server.url())
        .transports([TransportKind::Websocket])
        .auth(Value::from_iter([("token", token)]))
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(400))
        .ack_timeout(Duration::from_secs(5))
        .build()
}

async fn rooms(h: &ClientHelper) -> Vec<String> {
    let r = h.socket().emit_with_ack("rooms", vec![]).await.unwrap();
    r[0].as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[derive(Default)]
struct Seen {
    connected: AtomicUsize,
    authenticated: Mutex<Vec<Value>>,
    unauthenticated: Mutex<Vec<Value>>,
    disconnected: AtomicUsize,
}

fn options(config: ClientConfig, seen: &Arc<Seen>) -> ClientHelperBuilder {
    let (a, b, c, d) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    ClientHelper::builder(config)
        .on_connected(move |h| {
            a.connected.fetch_add(1, Ordering::SeqCst);
            h.authenticate();
        })
        .on_authenticated(move |_, data| b.authenticated.lock().unwrap().push(data.clone()))
        .on_unauthenticated(move |_, data| c.unauthenticated.lock().unwrap().push(data.clone()))
        .on_disconnected(move |_, _| {
            d.disconnected.fetch_add(1, Ordering::SeqCst);
        })
}

#[tokio::test]
async fn authenticates_joins_rooms_and_reauthenticates_after_server_restart() {
    let mut server = NodeServer::start("client/seed-server.js", &[("PING_MS", "200")]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(config(&server, "good"), &seen).build().unwrap();
    wait_until("authenticated", 10, || {
        helper.state() == ClientState::Authenticated
    })
    .await;
    let auth = seen.authenticated.lock().unwrap()[0].clone();
    assert_eq!(
        auth.get("id").and_then(Value::as_str),
        helper.socket().id().as_deref()
    );
    assert!(
        auth.get("time")
            .and_then(Value::as_str)
            .unwrap()
            .ends_with('Z')
    );

    assert_eq!(rooms(&helper).await, ["io-default", "io-notification"]);
    helper.join_rooms(&["r1", "r2"]);
    eventually("rooms joined", 5, || {
        let h = helper.clone();
        async move { (rooms(&h).await.len() == 4).then_some(()) }
    })
    .await;
    helper.leave_rooms(&["r1"]);
    eventually("room left", 5, || {
        let h = helper.clone();
        async move { (rooms(&h).await == ["io-default", "io-notification", "r2"]).then_some(()) }
    })
    .await;

    // The server's `ping` events reach subscribers too (the helper logs them at debug).
    let (tx, mut rx) = mpsc::unbounded_channel();
    helper
        .subscribe("ping", move |ctx| Ok(tx.send(ctx.data().clone())?), false)
        .unwrap();
    let ping = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(ping.get("time").is_some());

    // Restart the server: the client reconnects with backoff and authenticates again.
    server.restart().await;
    wait_until("authenticated again", 20, || {
        seen.authenticated.lock().unwrap().len() >= 2
    })
    .await;
    assert!(seen.connected.load(Ordering::SeqCst) >= 2);
    assert!(seen.disconnected.load(Ordering::SeqCst) >= 1);
    assert_eq!(helper.state(), ClientState::Authenticated);
    assert_eq!(rooms(&helper).await, ["io-default", "io-notification"]);
    helper.shutdown().await;
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_and_disconnected() {
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(config(&server, "bad"), &seen).build().unwrap();
    wait_until("unauthenticated", 10, || {
        !seen.unauthenticated.lock().unwrap().is_empty()
    })
    .await;
    let data = seen.unauthenticated.lock().unwrap()[0].clone();
    assert_eq!(
        data.get("message").and_then(Value::as_str),
        Some("Invalid token")
    );
    wait_until("disconnected by the server", 10, || !helper.is_connected()).await;
    assert_eq!(helper.state(), ClientState::Unauthorized);
    assert!(seen.authenticated.lock().unwrap().is_empty());
}

#[tokio::test]
async fn emit_subscribe_unsubscribe_and_shutdown() {
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(config(&server, "good"), &seen).build().unwrap();

    // Not connected yet or any more: the seed's 400.
    let not_connected = ClientHelper::builder(
        ClientConfig::builder("http://127.0.0.1:9")
            .reconnection(false)
            .build(),
    )
    .build()
    .unwrap();
    let e = not_connected
        .emit("message", vec![Value::from(1)])
        .unwrap_err();
    assert_eq!(e, HelperError::invalid_state());
    assert_eq!(
        (e.status, e.message.as_str()),
        (400, "Invalid socket client state to emit")
    );
    not_connected.join_rooms(&["x"]); // warns, no panic
    not_connected.authenticate(); // no-op
    assert_eq!(not_connected.state(), ClientState::Unauthorized);

    wait_until("authenticated", 10, || {
        helper.state() == ClientState::Authenticated
    })
    .await;
    let e = helper.emit("", vec![Value::Null]).unwrap_err();
    assert_eq!(
        (e.status, e.to_string()),
        (400, "Topic is required to emit".to_owned())
    );
    // authenticate() only acts from `unauthorized`.
    helper.authenticate();
    assert_eq!(helper.state(), ClientState::Authenticated);

    // A panicking and a failing handler are caught; later events still arrive.
    let calls = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let c = calls.clone();
    let first = helper
        .subscribe(
            "message-back",
            move |ctx| {
                c.fetch_add(1, Ordering::SeqCst);
                let v = ctx.data();
                if *v == Value::from("panic") {
                    panic!("handler bug");
                }
                Err(format!("failing on {v:?}").into())
            },
            true,
        )
        .unwrap();
    // ignore_duplicate: a second handler is not added; without it, it is.
    assert!(helper.subscribe("message-back", |_| Ok(()), true).is_none());
    let tx2 = tx.clone();
    let second = helper
        .subscribe(
            "message-back",
            move |ctx| Ok(tx2.send(ctx.data().clone())?),
            false,
        )
        .unwrap();
    helper.emit("message", vec![Value::from("panic")]).unwrap();
    helper.emit("message", vec![Value::from("fail")]).unwrap();
    for expected in ["panic", "fail"] {
        let v = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v, Value::from(expected));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Unsubscribe one handler, then all; unsubscribing again is a no-op.
    helper.unsubscribe("message-back", Some(first));
    helper.emit("message", vec![Value::from("after")]).unwrap();
    let v = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, Value::from("after"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let _ = second;
    helper.unsubscribe_many(["message-back", "never-subscribed"]);
    helper.unsubscribe("message-back", None);
    assert_eq!(helper.socket().listener_count("message-back"), 0);

    // subscribe_many registers each; typed handlers decode the payload.
    let got = Arc::new(Mutex::new(Vec::new()));
    let (g1, g2) = (got.clone(), got.clone());
    let handlers: Vec<(String, SubscribeHandler)> = vec![
        (
            "a".into(),
            Arc::new(move |ctx| {
                g1.lock().unwrap().push(ctx.data().clone());
                Ok(())
            }),
        ),
        (
            "message-back".into(),
            Arc::new(move |ctx| {
                g2.lock().unwrap().push(ctx.data().clone());
                Ok(())
            }),
        ),
    ];
    let ids = helper.subscribe_many(handlers, true);
    assert!(ids.iter().all(|(_, id)| id.is_some()));
    helper.emit("message", vec![Value::from("many")]).unwrap();
    wait_until("subscribe_many handler", 5, || {
        got.lock().unwrap().len() == 1
    })
    .await;

    // disconnect() keeps handlers and state; connect() comes back.
    helper.disconnect().await;
    assert!(!helper.is_connected());
    assert_eq!(helper.socket().listener_count("message-back"), 1);
    helper.connect();
    wait_until("authenticated after connect()", 10, || {
        helper.state() == ClientState::Authenticated && helper.is_connected()
    })
    .await;

    // shutdown(): listeners removed, disconnected, state reset.
    helper.shutdown().await;
    assert!(!helper.is_connected());
    assert_eq!(helper.state(), ClientState::Unauthorized);
    assert_eq!(helper.socket().listener_count("message-back"), 0);
    assert_eq!(helper.socket().listener_count("authenticated"), 0);
    assert!(!helper.socket().active());
}

#[tokio::test]
async fn typed_and_async_subscriptions() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Auth {
        id: String,
        time: String,
    }
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(config(&server, "good"), &seen).build().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Typed: the `authenticated` payload decodes into a struct (the helper's own handler is
    // there already, so duplicates must be allowed).
    helper
        .subscribe_typed::<Auth, _>("authenticated", move |auth, _| Ok(tx.send(auth)?), false)
        .unwrap();
    // A payload of the wrong shape is logged and skipped, later events still arrive.
    let (num_tx, mut num_rx) = mpsc::unbounded_channel();
    helper
        .subscribe_typed::<i64, _>("message-back", move |n, _| Ok(num_tx.send(n)?), true)
        .unwrap();
    // Async: the future runs on its own task; its failure is logged.
    let (async_tx, mut async_rx) = mpsc::unbounded_channel();
    helper
        .subscribe_async(
            "message-back",
            move |ctx| {
                let tx = async_tx.clone();
                async move {
                    tokio::task::yield_now().await;
                    tx.send(ctx.data().clone())?;
                    Err("async failure after sending".into())
                }
            },
            false,
        )
        .unwrap();
    let auth = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(auth.id.as_str()), helper.socket().id().as_deref());
    assert!(auth.time.ends_with('Z'));
    helper
        .emit("message", vec![Value::from("not a number")])
        .unwrap();
    helper.emit("message", vec![Value::from(7)]).unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), num_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 7);
    // Each async handler runs on its own task, so the two may finish in either order.
    let mut got = Vec::new();
    for _ in 0..2 {
        let v = tokio::time::timeout(Duration::from_secs(5), async_rx.recv())
            .await
            .unwrap()
            .unwrap();
        got.push(v);
    }
    assert!(got.contains(&Value::from("not a number")), "{got:?}");
    assert!(got.contains(&Value::from(7)), "{got:?}");
    helper.shutdown().await;
}

/// The helper does not remember rooms (as the seed's client and socket.io-client): after a
/// reconnection only the rooms joined again in `on_authenticated` are back.
#[tokio::test]
async fn rooms_are_not_rejoined_unless_on_authenticated_asks() {
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let helper = ClientHelper::builder(config(&server, "good"))
        .on_connected(|h| h.authenticate())
        .on_authenticated(|h, _| h.join_rooms(&["always"]))
        .build()
        .unwrap();
    let with_always = ["always", "io-default", "io-notification"];
    eventually("authenticated, in `always`", 10, || {
        let h = helper.clone();
        async move {
            (h.state() == ClientState::Authenticated && rooms(&h).await == with_always)
                .then_some(())
        }
    })
    .await;
    helper.join_rooms(&["once"]);
    eventually("in `once`", 5, || {
        let h = helper.clone();
        async move { (rooms(&h).await.contains(&"once".to_owned())).then_some(()) }
    })
    .await;
    let first_id = helper.socket().id();
    helper.emit("drop", vec![]).unwrap();
    eventually(
        "reconnected and authenticated again, in `always` only",
        10,
        || {
            let h = helper.clone();
            let first_id = first_id.clone();
            async move {
                let again = h.is_connected()
                    && h.socket().id() != first_id
                    && h.state() == ClientState::Authenticated;
                (again && rooms(&h).await == with_always).then_some(())
            }
        },
    )
    .await;
    helper.shutdown().await;
}

/// An acked emit with several arguments, decoded with serde; a subscription that answers
/// the server's ack and leaves a room through its context, with no helper captured.
#[tokio::test]
async fn acked_emits_and_handlers_acting_through_their_context() {
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(config(&server, "good"), &seen).build().unwrap();
    wait_until("authenticated", 10, || {
        helper.state() == ClientState::Authenticated
    })
    .await;
    let (sum, count): (i64, usize) = helper
        .emit_with_ack("sum", vec![Value::from(1), Value::from(2), Value::from(39)])
        .await
        .unwrap();
    assert_eq!((sum, count), (42, 3));

    helper.join_rooms(&["r1"]);
    helper
        .subscribe(
            "question",
            |mut ctx| {
                assert_eq!(ctx.name(), "question");
                let asked: String = ctx.arg(0)?;
                assert!(ctx.reply(vec![Value::from(format!("answer to {asked}"))]));
                ctx.helper().leave_rooms(&["r1"]);
                Ok(())
            },
            true,
        )
        .unwrap();
    let (answer,): (String,) = helper.emit_with_ack("ask", vec![]).await.unwrap();
    assert_eq!(answer, "answer to q?");
    eventually("r1 left from the handler", 5, || {
        let h = helper.clone();
        async move { (rooms(&h).await == ["io-default", "io-notification"]).then_some(()) }
    })
    .await;
    // Not connected: the seed's 400, before anything is sent.
    helper.disconnect().await;
    let e = helper
        .emit_with_ack::<Vec<Value>>("sum", vec![])
        .await
        .unwrap_err();
    assert_eq!(e, HelperError::invalid_state());
}

/// With `auto_connect(false)` the helper is built without connecting (its socket is not
/// even trying), and `connect()` starts the usual flow.
#[tokio::test]
async fn auto_connect_off_waits_for_connect() {
    let server = NodeServer::start("client/seed-server.js", &[]).await;
    let seen = Arc::new(Seen::default());
    let helper = options(
        config(&server, "good")
            .into_builder()
            .auto_connect(false)
            .build(),
        &seen,
    )
    .build()
    .unwrap();
    assert!(!helper.socket().active());
    assert!(!helper.is_connected());
    assert_eq!(helper.manager().transport(), None);
    helper.connect();
    wait_until("authenticated after connect()", 10, || {
        helper.state() == ClientState::Authenticated
    })
    .await;
    assert_eq!(seen.connected.load(Ordering::SeqCst), 1);
    assert_eq!(helper.manager().transport(), Some(TransportKind::Websocket));
    helper.shutdown().await;
}
