//! Volatile emits, the compress flag and the catch-all listeners against the official
//! socket.io 4.8 Node server (`tests/interop/client/server.js`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NodeServer, wait_until};
use sio_client::{ClientConfig, ClientConfigBuilder, Manager, TransportKind, Value};
use tokio::sync::mpsc;

fn cfg(server: &NodeServer) -> ClientConfigBuilder {
    ClientConfig::builder(server.url())
        .transports([TransportKind::Websocket])
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
        .ack_timeout(Duration::from_secs(5))
}

/// The event names the server's socket received so far, `flags:received` included.
async fn received(socket: &sio_client::Socket) -> Vec<String> {
    // Not through the retry queue, where it would wait behind unacknowledged emits.
    let r = socket
        .emit_with_ack_timeout("flags:received", vec![], Duration::from_secs(5))
        .await
        .unwrap();
    let Value::Array(names) = &r[0] else {
        panic!("not a list: {r:?}")
    };
    names
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn volatile_emit_while_disconnected_is_dropped_and_a_normal_one_is_buffered() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server).build().connect().await.unwrap();
    let outgoing = Arc::new(Mutex::new(Vec::new()));
    let o = outgoing.clone();
    socket.on_any_outgoing(move |event, _| o.lock().unwrap().push(event.to_owned()));

    // Connected: a volatile emit goes out like any other.
    socket
        .compress(false)
        .volatile()
        .emit("flags:live", vec![Value::from(1)])
        .unwrap();
    assert_eq!(received(&socket).await, ["flags:live", "flags:received"]);

    // Emitting from the disconnect handler is deterministic: the socket is disconnected and
    // cannot reconnect before the handler returns.
    let s = socket.clone();
    socket.on_disconnect(move |_| {
        s.volatile()
            .emit("flags:volatile", vec![Value::from(2)])
            .unwrap();
        s.emit("flags:normal", vec![Value::from(3)]).unwrap();
    });
    let first_id = socket.id().unwrap();
    socket.emit("drop", vec![]).unwrap();
    wait_until("reconnected", 10, || {
        socket.connected() && socket.id().as_deref() != Some(first_id.as_str())
    })
    .await;

    assert_eq!(received(&socket).await, ["flags:normal", "flags:received"]);
    assert_eq!(
        *outgoing.lock().unwrap(),
        [
            "flags:live",
            "flags:received",
            "drop",
            "flags:normal",
            "flags:received"
        ],
        "a dropped volatile emit never reaches the outgoing listeners"
    );
}

#[tokio::test]
async fn volatile_emit_before_the_first_connection_is_dropped() {
    let server = NodeServer::start("client/server.js", &[]).await;
    // Retries would queue a normal emit; a volatile one bypasses them.
    let manager = Manager::new(cfg(&server).retries(2).build()).unwrap();
    let socket = manager.socket("/");
    socket
        .volatile()
        .emit("flags:volatile", vec![Value::from(1)])
        .unwrap();
    socket
        .volatile()
        .emit_serde("flags:volatile", &[1, 2])
        .unwrap();
    let dropped = socket
        .volatile()
        .emit_with_ack("echo-ack", vec![Value::from("lost")])
        .await;
    assert!(
        matches!(
            dropped,
            Err(sio_client::Error::Ack(sio_types::AckError::Send(_)))
        ),
        "{dropped:?}"
    );
    socket.emit("flags:normal", vec![]).unwrap();
    socket.connect();
    assert!(socket.wait_connected(Duration::from_secs(10)).await);
    let reply = socket
        .volatile()
        .compress(false)
        .emit_with_ack("echo-ack", vec![Value::from("kept")])
        .await
        .unwrap();
    assert_eq!(reply, [Value::from("kept")]);
    let names = received(&socket).await;
    assert!(
        !names.iter().any(|n| n == "flags:volatile")
            && names.iter().filter(|n| *n == "echo-ack").count() == 1,
        "volatile emit was delivered: {names:?}"
    );
    assert!(names.iter().any(|n| n == "flags:normal"), "{names:?}");
    assert!(matches!(
        socket.volatile().emit("connect", vec![]),
        Err(sio_client::Error::ReservedEvent(_))
    ));
}

/// Which listener saw which event with which arguments.
type Seen = (&'static str, String, Vec<Value>);

#[tokio::test]
async fn on_any_sees_every_event_and_off_any_stops_it() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let manager = Manager::new(cfg(&server).build()).unwrap();
    let socket = manager.socket("/");
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let l = log.clone();
    let second = socket.on_any(move |event, args| {
        l.lock()
            .unwrap()
            .push(("second", event.to_owned(), args.to_vec()))
    });
    let l = log.clone();
    let first = socket.prepend_any(move |event, args| {
        l.lock()
            .unwrap()
            .push(("first", event.to_owned(), args.to_vec()))
    });
    let (done_tx, mut done) = mpsc::unbounded_channel();
    socket.on("flags:done", move |ev| {
        let _ = done_tx.send(ev.args);
    });
    socket.connect();
    assert!(socket.wait_connected(Duration::from_secs(10)).await);

    let burst = |tag: &'static str| {
        let socket = socket.clone();
        async move {
            socket
                .emit_with_ack("flags:burst", vec![Value::from(tag)])
                .await
                .unwrap();
        }
    };
    burst("t1").await;
    let args = tokio::time::timeout(Duration::from_secs(5), done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(args, [Value::from("t1")]);
    let names: Vec<(&str, String)> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(who, n, _)| (*who, n.clone()))
        .collect();
    let mut expected = Vec::new();
    for n in [
        "recovered",
        "welcome",
        "flags:one",
        "flags:two",
        "flags:done",
    ] {
        expected.push(("first", n.to_owned()));
        expected.push(("second", n.to_owned()));
    }
    assert_eq!(names, expected);
    let one = log.lock().unwrap()[4].2.clone();
    assert_eq!(
        one,
        [
            Value::from("t1"),
            Value::from(1),
            Value::from_iter([("k", "v")])
        ]
    );
    assert!(log.lock().unwrap()[6].2.is_empty(), "flags:two has no args");

    // Removing one listener leaves the other.
    assert_eq!(socket.off_any(Some(second)), 1);
    assert_eq!(socket.off_any(Some(second)), 0);
    log.lock().unwrap().clear();
    burst("t2").await;
    tokio::time::timeout(Duration::from_secs(5), done.recv())
        .await
        .unwrap()
        .unwrap();
    let whos: Vec<&str> = log.lock().unwrap().iter().map(|e| e.0).collect();
    assert_eq!(whos, ["first", "first", "first"]);

    // `None` removes every catch-all; the event handlers still run.
    assert_eq!(socket.off_any(None), 1);
    log.lock().unwrap().clear();
    burst("t3").await;
    let args = tokio::time::timeout(Duration::from_secs(5), done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(args, [Value::from("t3")]);
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
    assert!(!socket.off(first), "already removed by off_any(None)");
}

#[tokio::test]
async fn off_removes_catch_all_listeners_by_id() {
    let server = NodeServer::start("client/server.js", &[]).await;
    let socket = cfg(&server).build().connect().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let id = socket.on_any_outgoing(move |event, _| s.lock().unwrap().push(event.to_owned()));
    let s = seen.clone();
    let early = socket
        .prepend_any_outgoing(move |event, _| s.lock().unwrap().push(format!("early {event}")));
    socket.emit("flags:a", vec![]).unwrap();
    received(&socket).await;
    assert!(socket.off(id));
    socket.emit("flags:b", vec![]).unwrap();
    received(&socket).await;
    assert_eq!(socket.off_any_outgoing(None), 1);
    socket.emit("flags:c", vec![]).unwrap();
    received(&socket).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "early flags:a",
            "flags:a",
            "early flags:received",
            "flags:received",
            "early flags:b",
            "early flags:received",
        ]
    );
    assert!(!socket.off(early));
}
