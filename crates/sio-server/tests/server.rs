//! Server behaviour driven by a raw engine.io WebSocket client: bad input, handler panics,
//! ordering around the connection handler, acks, broadcasts, disconnect reasons, slow
//! consumers, dynamic namespaces. Each test runs its own server on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Got, Raw, echo_works, listen, start};
use futures_util::StreamExt;
use sio_server::{AckError, DisconnectReason, EmitError, SlowConsumerPolicy, SocketIo, Value};
use tokio::sync::mpsc;
#[tokio::test]
async fn bad_input_closes_that_connection_only() {
    let (_io, h, _url) = start(false).await;
    let port = h.local_addr().port();
    let (mut healthy, _) = Raw::connect_ns(port, "").await;
    let cases: &[(&str, &str)] = &[
        ("malformed JSON", r#"2["echo""#),
        ("unknown packet type", r#"9["echo"]"#),
        ("event payload not an array", r#"2{"a":1}"#),
        ("empty event", "2[]"),
        ("event name not a string or number", r#"2[{"a":1}]"#),
        ("invalid ack id", r#"2abc["echo"]"#),
        ("ack id out of range", r#"299999999999999999999999["echo"]"#),
        ("CONNECT_ERROR from a client", r#"4{"message":"x"}"#),
        (
            "too many attachments",
            r#"51000000-["echo",{"_placeholder":true,"num":0}]"#,
        ),
        ("invalid CONNECT payload", r#"0"not an object""#),
    ];
    for (n, (what, frame)) in cases.iter().enumerate() {
        eprintln!("case: {what}");
        let (mut victim, _) = Raw::connect_ns(port, "").await;
        victim.send(frame).await;
        victim.expect_closed(what).await;
        echo_works(&mut healthy, n).await;
    }
    // An engine.io message over max_payload (1 MB by default).
    let (mut victim, _) = Raw::connect_ns(port, "").await;
    victim
        .send(&format!(r#"2["echo","{}"]"#, "x".repeat(1_100_000)))
        .await;
    victim.expect_closed("oversized payload").await;
    echo_works(&mut healthy, 100).await;
    // A binary attachment that is announced but arrives as text breaks the packet.
    let (mut victim, _) = Raw::connect_ns(port, "").await;
    victim
        .send(r#"51-["echo",{"_placeholder":true,"num":0}]"#)
        .await;
    victim.send(r#"2["echo","not an attachment"]"#).await;
    victim
        .expect_closed("text frame while an attachment is awaited")
        .await;
    echo_works(&mut healthy, 101).await;
}

#[tokio::test]
async fn broadcast_with_acks_collects_answers_and_timeouts() {
    let (io, h, _url) = start(false).await;
    let port = h.local_addr().port();
    let room = "acks-room";
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut raw, _) = Raw::connect_ns(port, "").await;
        raw.send(&format!(r#"20["join","{room}"]"#)).await;
        assert_eq!(raw.recv_text().await, "30[]");
        clients.push(raw);
    }
    let io2 = io.clone();
    let task = tokio::spawn(async move {
        let stream = io2
            .to(room)
            .timeout(Duration::from_secs(3))
            .emit_with_ack("poll", vec![Value::from("?")])
            .await
            .unwrap();
        stream.collect::<Vec<_>>().await
    });
    for (i, raw) in clients.iter_mut().enumerate() {
        let q = raw.recv_text().await;
        let id: String = q[1..].chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(q, format!(r#"2{id}["poll","?"]"#));
        if i < 2 {
            raw.send(&format!(r#"3{id}[{i}]"#)).await;
        }
    }
    let answers = task.await.unwrap();
    assert_eq!(answers.len(), 3);
    let mut oks: Vec<i64> = answers
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|a| a[0].as_i64().unwrap())
        .collect();
    oks.sort_unstable();
    assert_eq!(oks, vec![0, 1]);
    assert_eq!(
        answers
            .iter()
            .filter(|r| **r == Err(AckError::Timeout))
            .count(),
        1
    );
    // The collected form, everyone answering this time.
    let io2 = io.clone();
    let task = tokio::spawn(async move {
        io2.to(room)
            .emit_with_ack_all("poll2", vec![])
            .await
            .unwrap()
    });
    for raw in clients.iter_mut() {
        let q = raw.recv_text().await;
        let id: String = q[1..].chars().take_while(char::is_ascii_digit).collect();
        raw.send(&format!(r#"3{id}["yes"]"#)).await;
    }
    let all = task.await.unwrap();
    assert_eq!(all, vec![Ok(vec![Value::from("yes")]); 3]);
}

#[tokio::test]
async fn operators_fetch_join_leave_disconnect() {
    let (tx, mut reasons) = mpsc::unbounded_channel();
    let io = SocketIo::builder().build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            socket.join("all");
            // `disconnecting` runs while the socket is still in its rooms.
            socket.on_disconnecting(|s, _reason| {
                let in_rooms = s.rooms().iter().any(|r| r == "all");
                s.extensions().insert(in_rooms);
            });
            socket.on_disconnect(move |s, reason| {
                // Callback panics are caught by the server: report, assert in the test.
                let ok = s.rooms().is_empty() && s.extensions().get::<bool>() == Some(true);
                let _ = tx.send((s.id(), reason, ok));
            });
            common::common(socket).await;
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut a, sid_a) = Raw::connect_ns(port, "").await;
    let (mut b, sid_b) = Raw::connect_ns(port, "").await;

    let all = io.to("all").fetch_sockets().await.unwrap();
    assert_eq!(all.len(), 2);
    io.to(sid_a.clone()).sockets_join(["vip"]).await.unwrap();
    let vip = io.to("vip").fetch_remote_sockets().await.unwrap();
    assert_eq!(vip.len(), 1);
    assert_eq!(vip[0].id().as_str(), sid_a);
    assert!(vip[0].rooms().iter().any(|r| r == "vip"));
    assert_eq!(vip[0].rooms()[0], sid_a.as_str());
    // A fetched socket can be driven from where it was fetched.
    vip[0].emit("direct", &0).await.unwrap();
    assert_eq!(a.recv_text().await, r#"2["direct",0]"#);
    vip[0].join(["vip2"]).await.unwrap();
    assert_eq!(io.to("vip2").fetch_sockets().await.unwrap().len(), 1);
    vip[0].leave(["vip2"]).await.unwrap();
    assert!(io.to("vip2").fetch_sockets().await.unwrap().is_empty());

    io.to("vip").emit("only-vip", &1).await.unwrap();
    assert_eq!(a.recv_text().await, r#"2["only-vip",1]"#);
    io.to("all")
        .except("vip")
        .emit("not-vip", &2)
        .await
        .unwrap();
    assert_eq!(b.recv_text().await, r#"2["not-vip",2]"#);

    io.to("vip").sockets_leave(["vip"]).await.unwrap();
    assert!(io.to("vip").fetch_sockets().await.unwrap().is_empty());

    io.to(sid_b.clone())
        .disconnect_sockets(false)
        .await
        .unwrap();
    assert_eq!(b.recv_text().await, "1");
    let (id, reason, ok) = reasons.recv().await.unwrap();
    assert!(
        ok,
        "disconnecting ran in the rooms, disconnect after leaving them"
    );
    assert_eq!(id.as_str(), sid_b);
    assert_eq!(reason, DisconnectReason::ServerNamespaceDisconnect);
    assert_eq!(reason.as_str(), "server namespace disconnect");

    // The client leaves the namespace, then another one drops its connection.
    a.send("1").await;
    let (_, reason, ok) = reasons.recv().await.unwrap();
    assert!(ok);
    assert_eq!(reason.as_str(), "client namespace disconnect");
    let (mut c, _) = Raw::connect_ns(port, "").await;
    c.close().await;
    let (_, reason, ok) = reasons.recv().await.unwrap();
    assert!(ok);
    assert_eq!(reason.as_str(), "transport close");
    assert_eq!(io.of("/").unwrap().local_len(), 0);
    echo_after_all(port).await;
    // With the in-memory adapter there is no other server: server-side emits reach nobody.
    let ns = io.of("/").unwrap();
    ns.server_side_emit("nobody", vec![Value::from(1)])
        .await
        .unwrap();
    let replies = ns
        .server_side_emit_with_ack("nobody", vec![Value::from(1)], Duration::from_millis(100))
        .await
        .unwrap();
    assert!(replies.is_empty());
}

async fn echo_after_all(port: u16) {
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    echo_works(&mut raw, 0).await;
}

#[tokio::test]
async fn slow_consumer_is_disconnected_and_volatile_drops_are_counted() {
    let (tx, mut reasons) = mpsc::unbounded_channel();
    let io = SocketIo::builder()
        .max_buffered_packets(8)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .build();
    let (sock_tx, mut sockets) = mpsc::unbounded_channel();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        let sock_tx = sock_tx.clone();
        async move {
            socket.on_disconnect(move |_s, reason| {
                let _ = tx.send(reason);
            });
            let _ = sock_tx.send(socket);
        }
    });
    let (_h, port) = listen(&io).await;
    // This client never reads again once connected.
    let (_slow, _) = Raw::connect_ns(port, "").await;
    let socket = sockets.recv().await.unwrap();
    let big = "y".repeat(256 * 1024);
    let mut volatile_sent = 0;
    let mut outcome = Ok(());
    for _ in 0..20_000 {
        // Volatile packets never close the connection, whatever the buffer holds.
        let _ = socket.emit_with_flags(
            "v",
            vec![Value::from(1)],
            sio_server::BroadcastFlags {
                volatile: true,
                ..Default::default()
            },
        );
        volatile_sent += 1;
        outcome = socket.emit("big", &big);
        if outcome.is_err() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        matches!(outcome, Err(EmitError::BufferFull) | Err(EmitError::Closed)),
        "the buffer never filled: {outcome:?}"
    );
    assert_eq!(
        reasons.recv().await.unwrap(),
        DisconnectReason::TransportError
    );
    let stats = io.stats();
    assert_eq!(stats.slow_disconnected, 1);
    assert!(
        stats.volatile_dropped >= 1,
        "{stats:?} after {volatile_sent} volatile emits"
    );
}

#[tokio::test]
async fn dynamic_namespaces_and_unknown_ones() {
    let io = SocketIo::builder().build();
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = counter.clone();
    let dynamic = io.dynamic_ns(
        |path| path.starts_with("/tenant-"),
        move |socket| {
            let c2 = c2.clone();
            async move {
                c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = socket.emit("where", socket.ns());
            }
        },
    );
    dynamic.use_middleware(|socket| async move {
        if socket.ns() == "/tenant-banned" {
            Err(sio_server::ConnectError {
                message: "banned".into(),
                data: None,
            })
        } else {
            Ok(())
        }
    });
    let (_h, port) = listen(&io).await;
    let mut raw = Raw::connect(port, "").await;
    raw.join("/tenant-1").await;
    assert_eq!(raw.recv_text().await, r#"2/tenant-1,["where","/tenant-1"]"#);
    raw.send("0/tenant-banned,").await;
    assert_eq!(
        raw.recv_text().await,
        r#"4/tenant-banned,{"message":"banned"}"#
    );
    raw.send("0/nope,").await;
    assert_eq!(
        raw.recv_text().await,
        r#"4/nope,{"message":"Invalid namespace"}"#
    );
    assert!(io.of("/tenant-1").is_some());
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn handshake_carries_query_auth_and_address() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let io = SocketIo::builder().build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(socket.handshake());
        }
    });
    let (_h, port) = listen(&io).await;
    let mut raw = Raw::connect(port, "&token=abc%20d").await;
    raw.send(r#"0{"user":"ada"}"#).await;
    let _ = raw.recv_text().await;
    let hs = rx.recv().await.unwrap();
    assert_eq!(hs.query.get("token").map(String::as_str), Some("abc d"));
    assert_eq!(hs.auth_str("user"), Some("ada"));
    assert_eq!(hs.address, "127.0.0.1");
    assert!(hs.url.starts_with("/socket.io/?EIO=4&transport=websocket"));
    assert!(hs.header("host").is_some());
    assert!(hs.time.ends_with('Z'));
}

#[tokio::test]
async fn disconnect_with_close_and_server_close() {
    let (tx, mut reasons) = mpsc::unbounded_channel();
    let io = SocketIo::builder().build();
    let handler = move |socket: sio_server::Socket| {
        let tx = tx.clone();
        async move {
            socket.on_disconnect(move |s, reason| {
                let _ = tx.send((s.ns().to_owned(), reason));
            });
            socket.on("bye", |socket, _args, _ack| async move {
                socket.disconnect(true);
            });
        }
    };
    io.ns("/", handler.clone());
    io.ns("/other", handler);
    let (_h, port) = listen(&io).await;

    // `disconnect(true)` leaves every namespace of the connection and closes it.
    let mut raw = Raw::connect(port, "").await;
    raw.join("").await;
    raw.join("/other").await;
    raw.send(r#"2["bye"]"#).await;
    let mut got = Vec::new();
    loop {
        match raw.recv().await {
            Got::Text(t) => got.push(t),
            Got::Closed => break,
            Got::Binary(_) => panic!("unexpected binary"),
        }
    }
    got.sort();
    assert_eq!(got, vec!["1".to_owned(), "1/other,".to_owned()]);
    let mut seen = vec![reasons.recv().await.unwrap(), reasons.recv().await.unwrap()];
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("/".to_owned(), DisconnectReason::ServerNamespaceDisconnect),
            (
                "/other".to_owned(),
                DisconnectReason::ServerNamespaceDisconnect
            ),
        ]
    );

    // Closing the server disconnects everyone with "server shutting down".
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    io.close().await;
    raw.expect_closed("server closed").await;
    let (_, reason) = reasons.recv().await.unwrap();
    assert_eq!(reason.as_str(), "server shutting down");
    assert_eq!(io.of("/").unwrap().local_len(), 0);
}

#[tokio::test]
async fn packets_held_before_the_connect_answer_are_bounded() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Half of the connection's queue may be held before the CONNECT answer.
    let io = SocketIo::builder().max_buffered_packets(8).build();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        async move {
            let results: Vec<_> = (0..6).map(|n| socket.emit("early", &n)).collect();
            let _ = tx.send(results);
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    let results = rx.recv().await.unwrap();
    assert_eq!(results[..4], vec![Ok(()); 4][..]);
    assert_eq!(results[4..], vec![Err(EmitError::BufferFull); 2][..]);
    for n in 0..4 {
        assert_eq!(raw.recv_text().await, format!(r#"2["early",{n}]"#));
    }
    assert_eq!(io.stats().full_dropped, 2);
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}

/// A namespace handler that hands each connected socket to the test, and each
/// disconnect reason.
fn hand_out_sockets(
    io: &SocketIo,
) -> (
    mpsc::UnboundedReceiver<sio_server::Socket>,
    mpsc::UnboundedReceiver<DisconnectReason>,
) {
    let (tx, reasons) = mpsc::unbounded_channel();
    let (sock_tx, sockets) = mpsc::unbounded_channel();
    io.ns("/", move |socket| {
        let tx = tx.clone();
        let sock_tx = sock_tx.clone();
        async move {
            socket.on_disconnect(move |_s, reason| {
                let _ = tx.send(reason);
            });
            let _ = sock_tx.send(socket);
        }
    });
    (sockets, reasons)
}

#[tokio::test]
async fn a_socket_over_its_byte_bound_is_disconnected_and_others_keep_receiving() {
    // The packet bound stays at its default (16,384): only the byte bound can trip here.
    let io = SocketIo::builder()
        .max_buffered_bytes(1024 * 1024)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .build();
    let (mut sockets, mut reasons) = hand_out_sockets(&io);
    // The reason must be logged: capture this test's log (emits run on the test thread).
    let log = LogCapture::default();
    let _log_guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(log.clone())
            .finish(),
    );
    let (_h, port) = listen(&io).await;
    // This client never reads again once connected.
    let (_slow, _) = Raw::connect_ns(port, "").await;
    let slow = sockets.recv().await.unwrap();
    let (mut good, _) = Raw::connect_ns(port, "").await;
    let good_socket = sockets.recv().await.unwrap();
    let big = "z".repeat(64 * 1024);
    let mut outcome = Ok(());
    let mut sent = 0usize;
    // Without a byte bound all of these (64 MiB) would be queued.
    for _ in 0..1000 {
        outcome = slow.emit("big", &big);
        if outcome.is_err() {
            break;
        }
        sent += 1;
        tokio::task::yield_now().await;
    }
    assert_eq!(
        outcome,
        Err(EmitError::BufferFull),
        "the byte bound never tripped after {sent} packets of 64 KiB"
    );
    assert_eq!(
        reasons.recv().await.unwrap(),
        DisconnectReason::TransportError
    );
    assert_eq!(io.stats().slow_disconnected, 1);
    let logged = log.text();
    assert!(
        logged.contains("over max_buffered_bytes (slow consumer), closing the connection"),
        "{logged}"
    );
    // The other socket was not touched.
    good_socket.emit("after", "still here").unwrap();
    assert_eq!(good.recv_text().await, r#"2["after","still here"]"#);
    assert!(good_socket.connected());
}

#[tokio::test]
async fn volatile_packets_past_the_byte_bound_are_dropped_and_counted() {
    let io = SocketIo::builder()
        .max_buffered_bytes(1024 * 1024)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .build();
    let (mut sockets, _reasons) = hand_out_sockets(&io);
    let (_h, port) = listen(&io).await;
    let (_slow, _) = Raw::connect_ns(port, "").await;
    let slow = sockets.recv().await.unwrap();
    let big = "v".repeat(256 * 1024);
    let total = 400u64;
    for _ in 0..total {
        slow.emit_with_flags(
            "v",
            vec![Value::from(big.as_str())],
            sio_server::BroadcastFlags {
                volatile: true,
                ..Default::default()
            },
        )
        .unwrap();
        tokio::task::yield_now().await;
    }
    let stats = io.stats();
    // 100 MiB were offered; the kernel and WebSocket buffers take a few MiB, the queue
    // 1 MiB: the rest must have been dropped, not queued.
    assert!(stats.volatile_dropped >= total / 2, "{stats:?}");
    assert_eq!(stats.slow_disconnected, 0);
    assert!(slow.connected());
}

#[tokio::test]
async fn drop_policy_refuses_and_counts_packets_past_the_byte_bound_but_not_small_ones() {
    let io = SocketIo::builder()
        .max_buffered_bytes(1024 * 1024)
        .slow_consumer(SlowConsumerPolicy::Drop)
        .build();
    let (mut sockets, _reasons) = hand_out_sockets(&io);
    let (_h, port) = listen(&io).await;
    let (_slow, _) = Raw::connect_ns(port, "").await;
    let slow = sockets.recv().await.unwrap();
    // `2["big","…"]` is 64 KiB exactly: 16 of them fill the byte bound to the byte, so the
    // refusals below leave exactly 1 MiB counted.
    let big = "d".repeat(64 * 1024 - r#"2["big",""]"#.len());
    let mut refused = 0u64;
    for _ in 0..1000 {
        match slow.emit("big", &big) {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e, EmitError::BufferFull);
                refused += 1;
            }
        }
        tokio::task::yield_now().await;
    }
    assert!(refused > 0, "the byte bound never tripped");
    // A packet of at most max_buffered_bytes / max_buffered_packets (64 B here) is left to
    // the packet bound, which still has room: it is queued, not refused.
    slow.emit("small", "s").unwrap();
    let stats = io.stats();
    assert_eq!(stats.full_dropped, refused);
    assert_eq!(stats.slow_disconnected, 0);
    assert!(slow.connected());
}

#[tokio::test]
async fn bytes_held_before_the_connect_answer_are_bounded() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Half of the connection's byte bound may be held before the CONNECT answer: two
    // packets of 20 KiB fit in 50,000 bytes, a third does not.
    let io = SocketIo::builder().max_buffered_bytes(100_000).build();
    let chunk = "h".repeat(20 * 1024);
    io.ns("/", move |socket| {
        let tx = tx.clone();
        let chunk = chunk.clone();
        async move {
            let results: Vec<_> = (0..5).map(|_| socket.emit("early", &chunk)).collect();
            let _ = tx.send(results);
        }
    });
    let (_h, port) = listen(&io).await;
    let (mut raw, _) = Raw::connect_ns(port, "").await;
    let results = rx.recv().await.unwrap();
    assert_eq!(results[..2], vec![Ok(()); 2][..]);
    assert_eq!(results[2..], vec![Err(EmitError::BufferFull); 3][..]);
    for _ in 0..2 {
        assert!(raw.recv_text().await.starts_with(r#"2["early","hhh"#));
    }
    assert_eq!(io.stats().full_dropped, 3);
}

/// Rooms named by a runtime string (not only a `&'static str`), counted locally without
/// fetching every member, and a number beyond f64 that Node keeps as Infinity.
#[tokio::test]
async fn rooms_take_any_string_and_count_locally() {
    let (io, h, _url) = start(false).await;
    let port = h.local_addr().port();
    let name = format!("room-{}", sio_server::SocketId::random());
    let (mut a, sid_a) = Raw::connect_ns(port, "").await;
    let (mut b, _) = Raw::connect_ns(port, "").await;
    for c in [&mut a, &mut b] {
        c.send(&format!(r#"20["join","{name}"]"#)).await;
        assert_eq!(c.recv_text().await, "30[]");
    }
    let ns = io.of("/").unwrap();
    assert_eq!(ns.local_room_len(&name), 2);
    assert_eq!(ns.local_room_len(&sid_a), 1, "a socket id is its own room");
    assert_eq!(ns.local_room_len("nobody-here"), 0);
    io.to(name.as_str()).emit("hi", &1).await.unwrap();
    assert_eq!(a.recv_text().await, r#"2["hi",1]"#);
    assert_eq!(b.recv_text().await, r#"2["hi",1]"#);
    io.to(&name).except(&sid_a).emit("hi", &2).await.unwrap();
    assert_eq!(b.recv_text().await, r#"2["hi",2]"#);
    // 1e999999 is Infinity in JavaScript; re-encoded, it is `null` as JSON.stringify writes.
    a.send(r#"2["echo",1e999999]"#).await;
    assert_eq!(a.recv_text().await, r#"2["echo-back",null]"#);
    b.close().await;
    for _ in 0..200 {
        if ns.local_room_len(&name) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(ns.local_room_len(&name), 1);
}
