//! How a socket's events reach their handlers, driven by a raw engine.io WebSocket
//! client: arrival order and handlers that wait, events held during the connect flow,
//! floods, panics, acks both ways, reserved names, argument decoding and attachments.
//! Each test runs its own server on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Got, Raw, echo_works, listen, start};
use sio_server::{AckError, DisconnectReason, EmitError, SocketIo, Value};
use tokio::sync::mpsc;

#[tokio::test]
async fn panicking_handler_hurts_nobody() {
    let io = SocketIo::builder().build();
    io.ns("/", |socket| async move {
        socket.on("boom", |_s, _a, _ack| async move {
            panic!("handler failure on purpose");
        });
        common::common(socket).await;
    });
    let (_h, port) = listen(&io).await;
    let (mut a, _) = Raw::connect_ns(port, "").await;
    let (mut b, _) = Raw::connect_ns(port, "").await;
    a.send(r#"2["boom"]"#).await;
    // The same socket keeps handling its next events, and so does another one.
    echo_works(&mut a, 1).await;
    echo_works(&mut b, 2).await;
}

#[tokio::test]
async fn connection_handler_runs_before_the_connect_answer_and_events_wait() {
    let io = SocketIo::builder().build();
    io.ns("/", |socket| async move {
        let _ = socket.emit("hello", "from the connection handler");
        // An async step before the handlers are registered: what the client sends now
        // must wait, not be lost.
        tokio::time::sleep(Duration::from_millis(200)).await;
        socket.on("authenticate", |socket, args, _ack| async move {
            let _ = socket.emit_args("authenticated", args.into_vec());
        });
    });
    let (_h, port) = listen(&io).await;
    let mut raw = Raw::connect(port, "").await;
    // CONNECT and the first event in the same instant, before any answer.
    raw.send("0").await;
    raw.send(r#"2["authenticate",{"token":"t"}]"#).await;
    let first = raw.recv_text().await;
    assert!(
        first.starts_with(r#"0{"sid":"#),
        "CONNECT answer first, got {first}"
    );
    assert_eq!(
        raw.recv_text().await,
        r#"2["hello","from the connection handler"]"#
    );
    assert_eq!(raw.recv_text().await, r#"2["authenticated",{"token":"t"}]"#);
}

#[tokio::test]
async fn handlers_start_in_arrival_order_and_one_that_waits_holds_nothing_back() {
    let io = SocketIo::builder().build();
    let release = Arc::new(tokio::sync::Notify::new());
    // A namespace-level handler, shared by every socket of the namespace.
    let ns = io.ns("/", |_socket| async move {});
    ns.on("n", move |socket, args, _ack| {
        let release = release.clone();
        async move {
            let n = args.get(0).and_then(Value::as_i64).unwrap_or(-1);
            // Before the first `.await`: in arrival order.
            let _ = socket.emit("started", &n);
            match n {
                // Waits until the last event arrived: the 48 in between must not wait
                // behind it (as listeners in Node).
                0 => release.notified().await,
                49 => release.notify_one(),
                _ => tokio::task::yield_now().await,
            }
            let _ = socket.emit("done", &n);
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    for n in 0..50 {
        raw.send(&format!(r#"2["n",{n}]"#)).await;
    }
    let mut frames = Vec::new();
    for _ in 0..100 {
        frames.push(raw.recv_text().await);
    }
    let started: Vec<String> = frames
        .iter()
        .filter(|f| f.starts_with(r#"2["started""#))
        .cloned()
        .collect();
    let in_order: Vec<String> = (0..50).map(|n| format!(r#"2["started",{n}]"#)).collect();
    assert_eq!(started, in_order);
    let pos = |f: &str| frames.iter().position(|x| x == f).unwrap();
    assert!(pos(r#"2["done",0]"#) > pos(r#"2["started",49]"#));
    for n in 1..50 {
        assert!(frames.contains(&format!(r#"2["done",{n}]"#)), "done {n}");
    }
}

#[tokio::test]
async fn events_sent_during_the_connect_flow_start_after_it_in_order() {
    let io = SocketIo::builder().build();
    io.ns("/", |socket| async move {
        // The handlers are registered only after this wait: events sent meanwhile wait.
        tokio::time::sleep(Duration::from_millis(100)).await;
        socket.on("n", |socket, args, _ack| async move {
            let _ = socket.emit_args("n-back", args.into_vec());
        });
    });
    let (_h, port) = listen(&io).await;
    let mut raw = Raw::connect(port, "").await;
    raw.send("0").await;
    for n in 0..20 {
        raw.send(&format!(r#"2["n",{n}]"#)).await;
    }
    assert!(raw.recv_text().await.starts_with(r#"0{"sid":"#));
    for n in 0..20 {
        assert_eq!(raw.recv_text().await, format!(r#"2["n-back",{n}]"#));
    }
}

#[tokio::test]
async fn emit_with_ack_answers_times_out_and_fails_on_disconnect() {
    let (tx, mut rx) = mpsc::unbounded_channel::<Result<Vec<Value>, AckError>>();
    // Long enough for a loaded machine to answer in time; only the timeout case waits it.
    let io = SocketIo::builder()
        .ack_timeout(Duration::from_millis(1500))
        .build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("ask", move |socket, _args, _ack| {
                let tx = tx.clone();
                async move {
                    let r = socket.emit_with_ack("q", &1).await;
                    let _ = tx.send(r.map(|a| a.into_vec()));
                }
            });
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut raw, _) = Raw::connect_ns(port, "").await;

    raw.send(r#"2["ask"]"#).await;
    let q = raw.recv_text().await;
    let id: String = q[1..].chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(q, format!(r#"2{id}["q",1]"#));
    raw.send(&format!(r#"3{id}["a",2]"#)).await;
    let r = rx.recv().await.unwrap().unwrap();
    assert_eq!(r, vec![Value::from("a"), Value::from(2)]);

    raw.send(r#"2["ask"]"#).await;
    let _ = raw.recv_text().await; // not answered
    assert_eq!(rx.recv().await.unwrap(), Err(AckError::Timeout));

    raw.send(r#"2["ask"]"#).await;
    let _ = raw.recv_text().await;
    raw.send("1").await; // leaves the namespace before answering
    assert_eq!(rx.recv().await.unwrap(), Err(AckError::Disconnected));
}

#[tokio::test]
async fn reserved_events_are_refused() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = SocketIo::builder().build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            for ev in [
                "connect",
                "connect_error",
                "disconnect",
                "disconnecting",
                "newListener",
                "removeListener",
            ] {
                let _ = tx.send(socket.emit(ev, &1));
            }
            let _ = tx.send(socket.emit("fine", &1));
        }
    });
    let (_h, port) = listen(&io).await;
    let (_raw, _) = Raw::connect_ns(port, "").await;
    for ev in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert_eq!(
            rx.recv().await.unwrap(),
            Err(EmitError::Reserved(ev.into()))
        );
    }
    assert_eq!(rx.recv().await.unwrap(), Ok(()));
    assert!(matches!(
        io.emit("disconnect", &1).await,
        Err(EmitError::Reserved(_))
    ));
}

#[tokio::test]
async fn binary_arguments_round_trip_through_attachments() {
    let (_io, h, _url) = start(false).await;
    let port = h.local_addr().port();
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    raw.send(r#"51-["echo",{"_placeholder":true,"num":0},"x"]"#)
        .await;
    raw.send_binary(vec![1, 2, 3]).await;
    assert_eq!(
        raw.recv_text().await,
        r#"51-["echo-back",{"_placeholder":true,"num":0},"x"]"#
    );
    match raw.recv().await {
        Got::Binary(b) => assert_eq!(b, vec![1, 2, 3]),
        _ => panic!("expected the attachment"),
    }
}

#[tokio::test]
async fn a_client_whose_handlers_never_finish_is_no_longer_read_and_the_heartbeat_closes_it() {
    let (tx, mut reasons) = mpsc::unbounded_channel();
    let io = SocketIo::builder()
        .max_pending_events(16)
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(300))
        .build();
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = started.clone();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        let started = started.clone();
        async move {
            socket.on_disconnect(move |_s, reason| {
                let _ = tx.send(reason);
            });
            // Never completes while the test runs: each one stays pending.
            socket.on("slow", move |_s, _a, _ack| {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::future::pending::<()>()
            });
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut flood, _) = Raw::connect_ns(port, "").await;
    for _ in 0..100 {
        flood.send(r#"2["slow"]"#).await;
    }
    // The flood answers PINGs, but the server reads none of it past the 16th event.
    flood.expect_closed("handlers that never finish").await;
    assert_eq!(reasons.recv().await.unwrap(), DisconnectReason::PingTimeout);
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 16);
    // The server still serves others (a namespace connection is answered).
    let (mut other, _) = Raw::connect_ns(port, "").await;
    other.send("0/nope,").await;
    assert_eq!(
        other.recv_text().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn a_burst_to_handlers_that_wait_is_slowed_down_not_dropped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // 16 events may be pending; the burst is 500, each handler waits before answering.
    let io = SocketIo::builder().max_pending_events(16).build();
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, m) = (running.clone(), most.clone());
    io.ns("/", move |socket| {
        let (r, m) = (r.clone(), m.clone());
        async move {
            socket.on("wait", move |_s, args, ack| {
                let (r, m) = (r.clone(), m.clone());
                async move {
                    m.fetch_max(r.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    if let Some(ack) = ack {
                        let _ = ack.send_args(args.into_vec());
                    }
                }
            });
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut burst, _) = Raw::connect_ns(port, "").await;
    burst
        .send_burst((0..500).map(|i| format!(r#"2{i}["wait",{i}]"#)))
        .await;
    let mut acked = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let f = burst.recv_text().await;
        let (id, body) = f[1..].split_once('[').unwrap();
        assert_eq!(format!("[{body}"), format!("[{id}]"));
        acked.insert(id.parse::<u32>().unwrap());
    }
    assert_eq!(acked, (0..500).collect());
    assert!(most.load(Ordering::SeqCst) <= 16, "at most 16 at once");
    assert!(
        most.load(Ordering::SeqCst) > 1,
        "handlers that wait overlap"
    );
    assert_eq!(io.of("/").unwrap().local_len(), 1);
}

#[tokio::test]
async fn a_burst_to_handlers_that_do_not_wait_is_handled_whole_past_the_event_bound() {
    // 16 events may wait; the burst is 2,000. Handlers that finish without waiting run as
    // the frames are read, so nothing waits and nobody is disconnected.
    let io = SocketIo::builder().max_pending_events(16).build();
    io.ns("/", |socket| async move {
        socket.on("inc", |_s, args, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send_args(args.into_vec());
            }
        });
    });
    let (_h, port) = listen(&io).await;
    let (mut burst, _) = Raw::connect_ns(port, "").await;
    burst
        .send_burst((0..2000).map(|i| format!(r#"2{i}["inc",{i}]"#)))
        .await;
    for i in 0..2000 {
        assert_eq!(burst.recv_text().await, format!("3{i}[{i}]"));
    }
    assert_eq!(io.of("/").unwrap().local_len(), 1);
}

#[tokio::test]
async fn handler_arguments_decode_to_serde_types_with_binary() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Upload {
        name: String,
        file: bytes::Bytes,
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = SocketIo::builder().build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            socket.on("upload", move |_s, args, _ack| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(args.decode::<(Upload, u32)>());
                }
            });
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    raw.send(r#"51-["upload",{"name":"a.bin","file":{"_placeholder":true,"num":0}},7]"#)
        .await;
    raw.send_binary(vec![0xde, 0xad]).await;
    let (upload, n) = rx.recv().await.unwrap().unwrap();
    assert_eq!(
        upload,
        Upload {
            name: "a.bin".into(),
            file: bytes::Bytes::from_static(&[0xde, 0xad]),
        }
    );
    assert_eq!(n, 7);
    // A shape that does not fit is an error for the handler, not a crash.
    raw.send(r#"2["upload","not an upload"]"#).await;
    assert!(rx.recv().await.unwrap().is_err());
}
