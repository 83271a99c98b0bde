//! The server helper driven from Rust: the seed's whole server flow against a real server
//! on 127.0.0.1 (port 0), with sio-client's `ClientHelper` and raw socket.io frames.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sio_client::{ClientConfig, ClientHelper, TransportKind};
use sio_server::helper::{HelperError, RoomLimits, SendMessage, ServerHelper};
use sio_server::sio_types::ClientState;
use sio_server::{SocketId, Value};
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Counts {
    client_connected: AtomicUsize,
}

/// A helper with the demo's rules: token `good`, rooms `private-*` refused, room `boom`
/// makes the validator fail, room `panic` makes it panic.
async fn server(ping_ms: u64, auth_ms: u64, counts: Arc<Counts>) -> ServerHelper {
    let c = counts.clone();
    let helper = ServerHelper::builder()
        .identifier("helper-test")
        .listen("127.0.0.1:0".parse().unwrap())
        .ping_interval(Duration::from_millis(ping_ms))
        .authenticate_timeout(Duration::from_millis(auth_ms))
        .room_limits(RoomLimits {
            max_rooms_per_request: 5,
            max_room_name_len: 32,
        })
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .validate_room(|_socket, rooms| async move {
            if rooms.iter().any(|r| r == "boom") {
                return Err("validator failed".into());
            }
            if rooms.iter().any(|r| r == "panic") {
                panic!("validator panicked");
            }
            Ok(rooms
                .into_iter()
                .filter(|r| !r.starts_with("private-"))
                .collect())
        })
        .client_connected(move |socket| {
            let c = c.clone();
            async move {
                c.client_connected.fetch_add(1, Ordering::SeqCst);
                if socket.handshake().auth_str("cc") == Some("panic") {
                    panic!("client_connected panicked");
                }
                if socket.handshake().auth_str("cc") == Some("error") {
                    return Err("client_connected failed".into());
                }
                Ok(())
            }
        })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    helper
        .on("echo", |socket, args, ack| async move {
            let _ = socket.emit_args("echo-back", args.0.clone());
            if let Some(ack) = ack {
                let _ = ack.send_args(args.into_vec());
            }
        })
        .unwrap();
    helper
}

fn url(helper: &ServerHelper) -> String {
    format!("http://{}", helper.local_addr().unwrap())
}

#[derive(Default)]
struct Seen {
    authenticated: Mutex<Vec<Value>>,
    unauthenticated: Mutex<Vec<Value>>,
    events: Mutex<Vec<(String, Value)>>,
}

fn client(helper: &ServerHelper, auth: Value, seen: &Arc<Seen>, auto_auth: bool) -> ClientHelper {
    let (a, b) = (seen.clone(), seen.clone());
    let config = ClientConfig::builder(url(helper))
        .auth(auth)
        .reconnection(false)
        .transports([TransportKind::Websocket])
        .build();
    let h = ClientHelper::builder(config)
        .on_connected(move |h| {
            if auto_auth {
                h.authenticate();
            }
        })
        .on_authenticated(move |_, d| a.authenticated.lock().unwrap().push(d.clone()))
        .on_unauthenticated(move |_, d| b.unauthenticated.lock().unwrap().push(d.clone()))
        .build()
        .unwrap();
    for ev in ["ping", "echo-back", "news"] {
        let s = seen.clone();
        let name = ev.to_owned();
        h.subscribe(
            ev,
            move |d| {
                s.events
                    .lock()
                    .unwrap()
                    .push((name.clone(), d.data().clone()));
                Ok(())
            },
            false,
        );
    }
    h
}

fn token(t: &str) -> Value {
    Value::from_iter([("token", Value::from(t))])
}

fn count(seen: &Seen, ev: &str) -> usize {
    seen.events
        .lock()
        .unwrap()
        .iter()
        .filter(|(e, _)| e == ev)
        .count()
}

fn sid(h: &ClientHelper) -> SocketId {
    h.socket().id().unwrap().parse().unwrap()
}

fn rooms_of(helper: &ServerHelper, id: SocketId) -> Vec<String> {
    let mut r = helper.client(id).map(|c| c.rooms).unwrap_or_default();
    r.sort();
    r
}

#[tokio::test]
async fn authenticate_rooms_pings_handlers_and_send() {
    let counts = Arc::new(Counts::default());
    let helper = server(150, 10_000, counts.clone()).await;
    let seen = Arc::new(Seen::default());
    let c = client(&helper, token("good"), &seen, true);
    sio_tests::wait::until("authenticated", 10, || {
        c.state() == ClientState::Authenticated
    })
    .await;
    let id = sid(&c);

    // authenticated {id, time}, registry entry, default rooms, client_connected once.
    let auth = seen.authenticated.lock().unwrap()[0].clone();
    assert_eq!(auth.get("id").and_then(Value::as_str), Some(id.as_str()));
    let time = auth.get("time").and_then(Value::as_str).unwrap();
    assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    let snap = helper.client(id).unwrap();
    assert_eq!(snap.state, ClientState::Authenticated);
    assert_eq!(rooms_of(&helper, id), ["io-default", "io-notification"]);
    sio_tests::wait::until("client_connected", 5, || {
        counts.client_connected.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(helper.clients().len(), 1);

    // The first ping and the interval's.
    sio_tests::wait::until("three pings", 10, || count(&seen, "ping") >= 3).await;
    let ping = seen
        .events
        .lock()
        .unwrap()
        .iter()
        .find(|(e, _)| e == "ping")
        .unwrap()
        .1
        .clone();
    assert!(ping.get("time").and_then(Value::as_str).is_some());

    // join / leave through validate_room.
    c.join_rooms(&["a", "private-x", "b"]);
    sio_tests::wait::until("joined a and b", 5, || rooms_of(&helper, id).len() == 4).await;
    assert_eq!(
        rooms_of(&helper, id),
        ["a", "b", "io-default", "io-notification"]
    );
    c.leave_rooms(&["a", "io-notification"]);
    sio_tests::wait::until("left", 5, || rooms_of(&helper, id).len() == 2).await;
    assert_eq!(rooms_of(&helper, id), ["b", "io-default"]);

    // Application handler, with ack.
    let back = c
        .socket()
        .emit_with_ack("echo", vec![Value::from("hi")])
        .await
        .unwrap();
    assert_eq!(back, vec![Value::from("hi")]);

    // send: by id, by room, to everyone; callback after the emit; seed no-op rules.
    let called = Arc::new(AtomicUsize::new(0));
    let cb = called.clone();
    let sent = helper
        .send(
            SendMessage::new("news", "by-id")
                .to(id.as_str())
                .log(true)
                .callback(move || {
                    cb.fetch_add(1, Ordering::SeqCst);
                }),
        )
        .await
        .unwrap();
    assert!(sent);
    helper
        .send(SendMessage::new("news", "by-room").to("b"))
        .await
        .unwrap();
    helper
        .send(SendMessage::new("news", "not-in-room").to("a"))
        .await
        .unwrap();
    helper
        .send(SendMessage::new("news", "everyone"))
        .await
        .unwrap();
    assert!(
        !helper
            .send(SendMessage::new("news", Value::Null))
            .await
            .unwrap()
    );
    assert!(!helper.send(SendMessage::new("news", "")).await.unwrap());
    assert!(!helper.send(SendMessage::new("", "x")).await.unwrap());
    sio_tests::wait::until("three news", 5, || count(&seen, "news") >= 3).await;
    sio_tests::wait::until("callback", 5, || called.load(Ordering::SeqCst) == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let news: Vec<Value> = seen
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|(e, _)| e == "news")
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(
        news,
        [
            Value::from("by-id"),
            Value::from("by-room"),
            Value::from("everyone")
        ]
    );

    // A second authenticate is ignored: no second `authenticated`, no second client_connected.
    c.socket().emit("authenticate", vec![]).unwrap();
    let back = c
        .socket()
        .emit_with_ack("echo", vec![Value::from(1)])
        .await
        .unwrap();
    assert_eq!(back, vec![Value::from(1)]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.authenticated.lock().unwrap().len(), 1);
    assert_eq!(counts.client_connected.load(Ordering::SeqCst), 1);

    // A handler registered later reaches authenticated clients already there.
    helper
        .on("late", |socket, _args, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(socket.id().as_str());
            }
        })
        .unwrap();
    let back = c.socket().emit_with_ack("late", vec![]).await.unwrap();
    assert_eq!(back, vec![Value::from(id.as_str())]);

    assert!(helper.live_timers() >= 1);
    assert_eq!(helper.live_tasks(), 1);
    helper.shutdown().await;
    assert!(helper.clients().is_empty());
    assert_eq!(helper.live_timers(), 0);
    assert_eq!(helper.live_tasks(), 0);
    sio_tests::wait::until("client disconnected", 5, || !c.is_connected()).await;
    helper.shutdown().await;
    assert!(helper.is_shut_down());
    c.shutdown();
}

#[tokio::test]
async fn a_bad_token_gets_unauthenticated_then_disconnect() {
    let counts = Arc::new(Counts::default());
    let helper = server(30_000, 10_000, counts.clone()).await;
    let seen = Arc::new(Seen::default());
    let c = client(&helper, token("bad"), &seen, true);
    sio_tests::wait::until("unauthenticated", 10, || {
        !seen.unauthenticated.lock().unwrap().is_empty()
    })
    .await;
    let data = seen.unauthenticated.lock().unwrap()[0].clone();
    assert!(data.get("message").and_then(Value::as_str).is_some());
    sio_tests::wait::until("disconnected", 10, || !c.is_connected()).await;
    sio_tests::wait::until("registry empty", 5, || helper.clients().is_empty()).await;
    assert_eq!(c.state(), ClientState::Unauthorized);
    assert_eq!(counts.client_connected.load(Ordering::SeqCst), 0);
    sio_tests::wait::until("timers gone", 5, || helper.live_timers() == 0).await;
    helper.shutdown().await;
    c.shutdown();
}

#[tokio::test]
async fn events_of_unauthenticated_sockets_never_reach_app_handlers_and_timeout_drops_them() {
    let counts = Arc::new(Counts::default());
    let helper = server(30_000, 800, counts.clone()).await;
    let seen = Arc::new(Seen::default());
    let c = client(&helper, token("good"), &seen, false);
    sio_tests::wait::until("connected", 10, || c.is_connected()).await;
    let id = sid(&c);
    assert_eq!(helper.client(id).unwrap().state, ClientState::Unauthorized);
    c.socket().emit("echo", vec![Value::from("x")]).unwrap();
    c.join_rooms(&["a"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count(&seen, "echo-back"), 0);
    assert!(rooms_of(&helper, id).is_empty());
    // Authenticate timeout: dropped.
    sio_tests::wait::until("dropped at the timeout", 10, || !c.is_connected()).await;
    assert!(helper.client(id).is_none());
    assert_eq!(count(&seen, "echo-back"), 0);
    sio_tests::wait::until("timers gone", 5, || helper.live_timers() == 0).await;
    helper.shutdown().await;
    c.shutdown();
}

/// A raw websocket socket.io client: open, CONNECT with `auth`, then frames as they come.
struct Raw {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Raw {
    async fn connect(helper: &ServerHelper, auth: &str) -> (Raw, String) {
        let u = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            helper.local_addr().unwrap()
        );
        let (ws, _) = tokio_tungstenite::connect_async(u).await.unwrap();
        let mut raw = Raw { ws };
        let open = raw.next().await.unwrap();
        assert!(open.starts_with('0'), "{open}");
        raw.send(&format!("40{auth}")).await;
        let connect = raw.next().await.unwrap();
        assert!(connect.starts_with("40{"), "{connect}");
        let sid: serde_json::Value = serde_json::from_str(&connect[2..]).unwrap();
        (raw, sid["sid"].as_str().unwrap().to_owned())
    }

    async fn send(&mut self, frame: &str) {
        self.ws.send(Message::text(frame.to_owned())).await.unwrap();
    }

    /// The next text frame; engine.io pings are answered on the way.
    async fn next(&mut self) -> Option<String> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) if t.as_str() == "2" => self.send("3").await,
                Ok(Message::Text(t)) => return Some(t.as_str().to_owned()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The namespace DISCONNECT packet (`41`), with no ping before it.
    async fn expect_disconnect(&mut self) {
        let fut = async {
            while let Some(f) = self.next().await {
                if f == "41" {
                    return;
                }
                assert!(!f.contains("\"ping\""), "no ping after the disconnect: {f}");
            }
            panic!("closed without a DISCONNECT packet");
        };
        tokio::time::timeout(Duration::from_secs(5), fut)
            .await
            .unwrap();
    }

    /// The next event frame named `event`, within `secs`.
    async fn expect_event(&mut self, event: &str, secs: u64) -> serde_json::Value {
        let fut = async {
            while let Some(f) = self.next().await {
                if let Some(body) = f.strip_prefix("42") {
                    let v: serde_json::Value = serde_json::from_str(body).unwrap();
                    if v[0] == event {
                        return v[1].clone();
                    }
                }
            }
            panic!("closed before {event}");
        };
        tokio::time::timeout(Duration::from_secs(secs), fut)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_authenticate_sent_with_the_connect_is_never_lost() {
    let helper = server(30_000, 10_000, Arc::default()).await;
    for _ in 0..20 {
        let u = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            helper.local_addr().unwrap()
        );
        let (ws, _) = tokio_tungstenite::connect_async(u).await.unwrap();
        let mut raw = Raw { ws };
        raw.next().await.unwrap();
        // CONNECT and authenticate in the same instant, before any answer.
        raw.send("40{\"token\":\"good\"}").await;
        raw.send("42[\"authenticate\"]").await;
        let v = raw.expect_event("authenticated", 10).await;
        assert!(v["id"].is_string());
    }
    helper.shutdown().await;
}

#[tokio::test]
async fn bad_room_requests_are_ignored_and_the_connection_kept() {
    let helper = server(30_000, 10_000, Arc::default()).await;
    let (mut raw, id) = Raw::connect(&helper, "{\"token\":\"good\"}").await;
    let id: SocketId = id.parse().unwrap();
    raw.send("42[\"authenticate\"]").await;
    raw.expect_event("authenticated", 10).await;
    let bad = [
        "42[\"join\"]",
        "42[\"join\",\"a\"]",
        "42[\"join\",[\"a\"]]",
        "42[\"join\",{\"rooms\":\"a\"}]",
        "42[\"join\",{\"rooms\":[1,2]}]",
        "42[\"join\",{\"rooms\":[\"\"]}]",
        "42[\"join\",{\"rooms\":[\"a\",null]}]",
        "42[\"join\",{\"rooms\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}]",
        "42[\"join\",{\"rooms\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]}]",
        "42[\"join\",{\"rooms\":[\"a\",\"boom\"]}]",
        "42[\"join\",{\"rooms\":[\"a\",\"panic\"]}]",
        "42[\"leave\",{\"rooms\":{}}]",
        "42[\"leave\",{\"rooms\":[\"boom\",\"io-default\"]}]",
    ];
    for frame in bad {
        raw.send(frame).await;
    }
    // Handlers start in arrival order and none of the above waits: once `echo` answers,
    // all of them ran.
    raw.send("421[\"echo\",\"still here\"]").await;
    let ack = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = raw.next().await.unwrap();
            if let Some(body) = f.strip_prefix("431") {
                return body.to_owned();
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(ack, "[\"still here\"]");
    assert_eq!(rooms_of(&helper, id), ["io-default", "io-notification"]);
    // A good request still works afterwards.
    raw.send("42[\"join\",{\"rooms\":[\"a\"]}]").await;
    sio_tests::wait::until("joined a", 5, || {
        rooms_of(&helper, id).contains(&"a".to_owned())
    })
    .await;
    helper.shutdown().await;
}

#[tokio::test]
async fn client_connected_errors_and_panics_are_caught() {
    let counts = Arc::new(Counts::default());
    let helper = server(30_000, 10_000, counts.clone()).await;
    for cc in ["panic", "error"] {
        let (mut raw, _) =
            Raw::connect(&helper, &format!("{{\"token\":\"good\",\"cc\":\"{cc}\"}}")).await;
        raw.send("42[\"authenticate\"]").await;
        raw.expect_event("authenticated", 10).await;
        raw.send("421[\"echo\",1]").await;
        let f = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let f = raw.next().await.unwrap();
                if f.starts_with("431") {
                    return f;
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(f, "431[1]");
    }
    sio_tests::wait::until("both calls", 5, || {
        counts.client_connected.load(Ordering::SeqCst) == 2
    })
    .await;
    sio_tests::wait::until("no task left but the timer task", 5, || {
        helper.live_tasks() == 1
    })
    .await;
    helper.shutdown().await;
}

#[tokio::test]
async fn ping_and_disconnect_by_hand() {
    let helper = server(30_000, 10_000, Arc::default()).await;
    let (mut raw, id) = Raw::connect(&helper, "{\"token\":\"good\"}").await;
    let id: SocketId = id.parse().unwrap();
    let socket = helper.socket(id).unwrap();
    // ignore_auth: an unauthenticated client gets its ping...
    helper.ping(&socket, true);
    let v = raw.expect_event("ping", 5).await;
    assert!(v["time"].is_string());
    // ...without it, it is disconnected instead.
    helper.ping(&socket, false);
    assert!(helper.client(id).is_none());
    raw.expect_disconnect().await;

    let (mut raw, id) = Raw::connect(&helper, "{\"token\":\"good\"}").await;
    let id: SocketId = id.parse().unwrap();
    raw.send("42[\"authenticate\"]").await;
    raw.expect_event("authenticated", 10).await;
    let socket = helper.socket(id).unwrap();
    helper.ping(&socket, false);
    raw.expect_event("ping", 5).await;
    helper.disconnect(&socket);
    assert!(helper.client(id).is_none());
    raw.expect_disconnect().await;
    sio_tests::wait::until("timers gone", 5, || helper.live_timers() == 0).await;
    // Unknown sockets: silently ignored.
    helper.ping(&socket, false);
    helper.disconnect(&socket);
    helper.shutdown().await;
}

#[tokio::test]
async fn before_configure_and_bad_arguments() {
    let helper = ServerHelper::builder()
        .authenticate(|_| async { true })
        .build()
        .unwrap();
    let err = helper.on("x", |_, _, _| async {}).unwrap_err();
    assert_eq!(err.to_string(), "[on] IOServer is not initialized yet!");
    assert!(matches!(
        helper.send(SendMessage::new("t", "d")).await,
        Err(HelperError::NotInitialized("send"))
    ));
    assert!(matches!(helper.io(), Err(HelperError::NotInitialized(_))));
    assert!(helper.layer().is_err());
    helper.configure().await.unwrap();
    assert!(matches!(
        helper.configure().await,
        Err(HelperError::AlreadyConfigured)
    ));
    assert_eq!(
        helper.on("", |_, _, _| async {}).unwrap_err().to_string(),
        "[on] Invalid topic to start binding handler"
    );
    assert_eq!(
        helper.on_handler("chat", None).unwrap_err().to_string(),
        "[on] Invalid event handler | topic: chat"
    );
    for own in ["authenticate", "join", "leave"] {
        assert!(matches!(
            helper.on(own, |_, _, _| async {}),
            Err(HelperError::ReservedTopic(t)) if t == own
        ));
    }
    helper.on("chat", |_, _, _| async {}).unwrap();
    // No listener asked: the layer is what the application mounts.
    assert!(helper.local_addr().is_none());
    assert!(helper.layer().is_ok());
    // Without Redis, send is local and needs no client to succeed.
    assert!(helper.send(SendMessage::new("t", "d")).await.unwrap());
    helper.shutdown().await;
    helper.shutdown().await;
    assert!(matches!(
        helper.configure().await,
        Err(HelperError::ShutDown)
    ));
    assert_eq!(helper.live_tasks(), 0);
}

#[tokio::test]
async fn mounted_as_a_layer_under_axum() {
    let helper = ServerHelper::builder()
        .identifier("axum")
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .layer(helper.layer().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let u = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (ws, _) = tokio_tungstenite::connect_async(u).await.unwrap();
    let mut raw = Raw { ws };
    raw.next().await.unwrap();
    raw.send("40{\"token\":\"good\"}").await;
    raw.send("42[\"authenticate\"]").await;
    raw.expect_event("authenticated", 10).await;
    assert_eq!(helper.clients().len(), 1);
    assert_eq!(helper.clients()[0].state, ClientState::Authenticated);
    helper.shutdown().await;
    server.abort();
}

#[tokio::test]
async fn connect_and_authenticate_handlers_called_by_hand() {
    let counts = Arc::new(Counts::default());
    let helper = server(30_000, 10_000, counts.clone()).await;
    // A token the authenticate function would refuse: the application vouches instead.
    let (mut raw, id) = Raw::connect(&helper, "{\"token\":\"other\"}").await;
    let id: SocketId = id.parse().unwrap();
    let socket = helper.socket(id).unwrap();
    assert_eq!(helper.client(id).unwrap().state, ClientState::Unauthorized);
    // onClientConnect on a known socket: a no-op, the entry is untouched.
    helper.handle_connection(socket.clone());
    assert_eq!(helper.clients().len(), 1);
    assert_eq!(helper.client(id).unwrap().state, ClientState::Unauthorized);
    // onClientAuthenticated by hand: the whole success path.
    helper.authenticate_client(&socket);
    raw.expect_event("ping", 5).await;
    let v = raw.expect_event("authenticated", 5).await;
    assert_eq!(v["id"], id.as_str());
    assert_eq!(helper.client(id).unwrap().state, ClientState::Authenticated);
    assert_eq!(rooms_of(&helper, id), ["io-default", "io-notification"]);
    sio_tests::wait::until("client_connected", 5, || {
        counts.client_connected.load(Ordering::SeqCst) == 1
    })
    .await;
    // The auth timeout was disarmed, the ping interval armed: one timer.
    sio_tests::wait::until("one timer", 5, || helper.live_timers() == 1).await;
    raw.send("421[\"echo\",\"ok\"]").await;
    let f = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let f = raw.next().await.unwrap();
            if f.starts_with("431") {
                return f;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(f, "431[\"ok\"]");
    helper.shutdown().await;
    assert_eq!(helper.live_timers(), 0);
}
