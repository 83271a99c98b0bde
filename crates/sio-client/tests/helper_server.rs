//! The client helper against our own server helper (`sio_server::ServerHelper`) on
//! 127.0.0.1: the seed's whole flow with both halves written in Rust — authenticate, default
//! rooms, `join` / `leave` through `validate_room`, pings, application events both ways,
//! `unauthenticated`, the auth timeout, the server's shutdown and a restart on the same port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, wait_until};
use sio_client::{ClientConfig, ClientHelper, ClientState, DisconnectReason, TransportKind, Value};
use sio_server::SocketId;
use sio_server::helper::{SendMessage, ServerHelper};

/// A server helper with the demo's rules: token `good`; rooms named `private-*` refused.
/// Application events: `chat` is answered with `chat-back` (same payload) and an ack.
async fn start_server(addr: SocketAddr, ping: Duration, auth_timeout: Duration) -> ServerHelper {
    let helper = ServerHelper::builder()
        .identifier("clientflow")
        .listen(addr)
        .ping_interval(ping)
        .authenticate_timeout(auth_timeout)
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .validate_room(|_socket, rooms| async move {
            Ok(rooms
                .into_iter()
                .filter(|r| !r.starts_with("private-"))
                .collect())
        })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    helper
        .on("chat", |socket, args, ack| async move {
            let _ = socket.emit_args("chat-back", args.0.clone());
            if let Some(ack) = ack {
                let _ = ack.send_args(args.into_vec());
            }
        })
        .unwrap();
    helper
}

/// The same server again on `addr` (a restart): the port a shut-down listener held may
/// take a moment to be bindable again.
async fn restart_server(addr: SocketAddr, ping: Duration) -> ServerHelper {
    for _ in 0..100 {
        let helper = ServerHelper::builder()
            .identifier("clientflow-restarted")
            .listen(addr)
            .ping_interval(ping)
            .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
            .build()
            .unwrap();
        if helper.configure().await.is_ok() {
            return helper;
        }
        helper.shutdown().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not listen on {addr} again");
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn url(server: &ServerHelper) -> String {
    format!("http://{}", server.local_addr().unwrap())
}

fn token(t: &str) -> Value {
    Value::from_iter([("token", Value::from(t))])
}

/// What the helper's callbacks and subscriptions saw.
#[derive(Default)]
struct Seen {
    connected: AtomicUsize,
    authenticated: Mutex<Vec<Value>>,
    unauthenticated: Mutex<Vec<Value>>,
    disconnected: Mutex<Vec<DisconnectReason>>,
    errors: AtomicUsize,
    events: Mutex<Vec<(String, Value)>>,
}

impl Seen {
    fn count(&self, event: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| e == event)
            .count()
    }

    fn data(&self, event: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| e == event)
            .map(|(_, d)| d.clone())
            .collect()
    }
}

/// A client helper on `url`; with `auto_auth` it authenticates on each (re)connection, as
/// the seed's applications do from the connected callback.
fn client(url: String, tok: &str, seen: &Arc<Seen>, auto_auth: bool) -> ClientHelper {
    let config = ClientConfig::builder(url)
        .transports([TransportKind::Websocket])
        .auth(token(tok))
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(400))
        .ack_timeout(Duration::from_secs(5))
        .build();
    let (a, b, c, d, e) = (
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
        seen.clone(),
    );
    let helper = ClientHelper::builder(config)
        .on_connected(move |h| {
            a.connected.fetch_add(1, Ordering::SeqCst);
            if auto_auth {
                h.authenticate();
            }
        })
        .on_authenticated(move |_, data| b.authenticated.lock().unwrap().push(data.clone()))
        .on_unauthenticated(move |_, data| c.unauthenticated.lock().unwrap().push(data.clone()))
        .on_disconnected(move |_, reason| d.disconnected.lock().unwrap().push(reason.clone()))
        .on_error(move |_, _| {
            e.errors.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    // `ping` already has the helper's own (debug log) handler: a duplicate is wanted here.
    for event in ["ping", "chat-back", "news"] {
        let s = seen.clone();
        let name = event.to_owned();
        helper.subscribe(
            event,
            move |ctx| {
                s.events
                    .lock()
                    .unwrap()
                    .push((name.clone(), ctx.data().clone()));
                Ok(())
            },
            false,
        );
    }
    helper
}

fn sid(h: &ClientHelper) -> SocketId {
    h.socket().id().unwrap().parse().unwrap()
}

/// The client's rooms as the server helper's registry has them, sorted.
fn server_rooms(server: &ServerHelper, id: SocketId) -> Vec<String> {
    let mut rooms = server.client(id).map(|c| c.rooms).unwrap_or_default();
    rooms.sort();
    rooms
}

#[tokio::test]
async fn client_helper_authenticates_joins_rooms_pings_and_exchanges_events_with_server_helper() {
    let server = start_server(
        any_port(),
        Duration::from_millis(150),
        Duration::from_secs(30),
    )
    .await;
    let seen = Arc::new(Seen::default());
    let c = client(url(&server), "good", &seen, true);
    // A second authenticated client, to tell a room emit from a broadcast.
    let other_seen = Arc::new(Seen::default());
    let other = client(url(&server), "good", &other_seen, true);

    // Good token: the authenticated callback with {id, time}, and the state.
    wait_until("authenticated", 10, || {
        c.state() == ClientState::Authenticated
    })
    .await;
    wait_until("other authenticated", 10, || {
        other.state() == ClientState::Authenticated
    })
    .await;
    let id = sid(&c);
    let auth = seen.authenticated.lock().unwrap()[0].clone();
    assert_eq!(auth.get("id").and_then(Value::as_str), Some(id.as_str()));
    let time = auth.get("time").and_then(Value::as_str).unwrap();
    assert!(time.ends_with('Z'), "an ISO 8601 UTC time: {time}");
    assert_eq!(seen.connected.load(Ordering::SeqCst), 1);
    assert!(seen.unauthenticated.lock().unwrap().is_empty());

    // The server side: both registered and authenticated, default rooms joined.
    assert_eq!(server.clients().len(), 2);
    assert!(
        server
            .clients()
            .iter()
            .all(|s| s.state == ClientState::Authenticated)
    );
    assert_eq!(server.client(id).unwrap().state, ClientState::Authenticated);
    assert_eq!(server_rooms(&server, id), ["io-default", "io-notification"]);

    // join_rooms / leave_rooms go through validate_room: `a` allowed, `private-x` refused.
    c.join_rooms(&["a", "private-x"]);
    wait_until("joined a", 5, || server_rooms(&server, id).len() == 3).await;
    // The refused room is not joined late: the acked event after it starts after the join,
    // whose validation never waits here.
    c.socket()
        .emit_with_ack("chat", vec![Value::from("sync")])
        .await
        .unwrap();
    assert_eq!(
        server_rooms(&server, id),
        ["a", "io-default", "io-notification"]
    );

    // Pings: the first one at authentication, then the interval's.
    wait_until("three pings", 10, || seen.count("ping") >= 3).await;
    assert!(
        seen.data("ping")
            .iter()
            .all(|p| p.get("time").and_then(Value::as_str).is_some())
    );

    // Client → server through the helper's emit; server → client through `chat-back`,
    // received by a helper subscription.
    c.emit(
        "chat",
        vec![Value::from_iter([("text", Value::from("hello"))])],
    )
    .unwrap();
    wait_until("chat-back", 5, || seen.count("chat-back") >= 2).await;
    assert_eq!(
        seen.data("chat-back")[1],
        Value::from_iter([("text", Value::from("hello"))])
    );

    // Server → client through the server helper's send: to the socket id, to room `a`
    // (only `c` is in it), to everyone.
    assert!(
        server
            .send(SendMessage::new("news", "by-id").to(id.as_str()))
            .await
            .unwrap()
    );
    assert!(
        server
            .send(SendMessage::new("news", "by-room").to("a"))
            .await
            .unwrap()
    );
    assert!(
        server
            .send(SendMessage::new("news", "everyone"))
            .await
            .unwrap()
    );
    wait_until("three news", 5, || seen.count("news") >= 3).await;
    wait_until("one news for the other", 5, || {
        other_seen.count("news") >= 1
    })
    .await;
    assert_eq!(
        seen.data("news"),
        [
            Value::from("by-id"),
            Value::from("by-room"),
            Value::from("everyone")
        ]
    );
    // Events of one connection arrive in order: once `chat-back` answers, any stray
    // room or id emit to `other` would have arrived before it.
    other.emit("chat", vec![Value::from("sync")]).unwrap();
    wait_until("other chat-back", 5, || other_seen.count("chat-back") >= 1).await;
    assert_eq!(other_seen.data("news"), [Value::from("everyone")]);

    // Leaving a room also goes through the server.
    c.leave_rooms(&["a"]);
    wait_until("left a", 5, || server_rooms(&server, id).len() == 2).await;
    assert_eq!(server_rooms(&server, id), ["io-default", "io-notification"]);

    // The client helper's shutdown: it leaves, the server forgets it, the state resets.
    c.shutdown();
    wait_until("client gone from the server", 5, || {
        server.client(id).is_none()
    })
    .await;
    assert_eq!(c.state(), ClientState::Unauthorized);
    assert!(!c.is_connected());
    assert_eq!(server.clients().len(), 1);
    other.shutdown();
    server.shutdown().await;
}

#[tokio::test]
async fn client_helper_with_a_bad_token_is_unauthenticated_by_server_helper() {
    let server = start_server(any_port(), Duration::from_secs(30), Duration::from_secs(30)).await;
    let seen = Arc::new(Seen::default());
    let c = client(url(&server), "bad", &seen, true);
    wait_until("unauthenticated", 10, || {
        !seen.unauthenticated.lock().unwrap().is_empty()
    })
    .await;
    let data = seen.unauthenticated.lock().unwrap()[0].clone();
    assert!(
        data.get("message").and_then(Value::as_str).is_some(),
        "{data:?}"
    );
    wait_until("disconnected by the server", 10, || !c.is_connected()).await;
    assert_eq!(c.state(), ClientState::Unauthorized);
    assert!(seen.authenticated.lock().unwrap().is_empty());
    assert_eq!(
        seen.disconnected.lock().unwrap().as_slice(),
        [DisconnectReason::IoServerDisconnect]
    );
    wait_until("registry empty", 5, || server.clients().is_empty()).await;
    c.shutdown();
    server.shutdown().await;
}

#[tokio::test]
async fn client_helper_that_never_authenticates_is_dropped_at_server_helper_auth_timeout() {
    let server = start_server(
        any_port(),
        Duration::from_secs(30),
        Duration::from_millis(600),
    )
    .await;
    let seen = Arc::new(Seen::default());
    let c = client(url(&server), "good", &seen, false);
    wait_until("connected", 10, || c.is_connected()).await;
    let id = sid(&c);
    assert_eq!(c.state(), ClientState::Unauthorized);
    assert_eq!(server.client(id).unwrap().state, ClientState::Unauthorized);
    // Not authenticated: room requests and application events are ignored.
    c.join_rooms(&["a"]);
    c.emit("chat", vec![Value::from("x")]).unwrap();
    wait_until("dropped at the auth timeout", 10, || !c.is_connected()).await;
    assert!(server.client(id).is_none());
    assert_eq!(
        seen.disconnected.lock().unwrap().as_slice(),
        [DisconnectReason::IoServerDisconnect]
    );
    assert_eq!(seen.count("chat-back"), 0);
    assert!(seen.authenticated.lock().unwrap().is_empty());
    assert_eq!(c.state(), ClientState::Unauthorized);
    c.shutdown();
    server.shutdown().await;
}

#[tokio::test]
async fn server_helper_shutdown_then_restart_client_helper_reconnects_and_authenticates_again() {
    let ping = Duration::from_secs(30);
    let server = start_server(any_port(), ping, Duration::from_secs(30)).await;
    let addr = server.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let c = client(url(&server), "good", &seen, true);
    wait_until("authenticated", 10, || {
        c.state() == ClientState::Authenticated
    })
    .await;
    let first = sid(&c);

    // The server helper's shutdown disconnects every client: the client sees it.
    server.shutdown().await;
    wait_until("disconnect seen", 10, || {
        !seen.disconnected.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        seen.disconnected.lock().unwrap()[0],
        DisconnectReason::IoServerDisconnect
    );
    assert!(!c.is_connected());
    assert_eq!(c.state(), ClientState::Unauthorized);

    // As socket.io-client documents for `io server disconnect`, the application asks to
    // connect again; with the server down the manager retries with backoff.
    c.connect();
    wait_until("failed attempts while the server is down", 10, || {
        seen.errors.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(!c.is_connected());

    // Restarted on the same port: reconnected, and authenticated again through the helper.
    let restarted = restart_server(addr, ping).await;
    wait_until("authenticated again", 20, || {
        seen.authenticated.lock().unwrap().len() >= 2
    })
    .await;
    assert_eq!(c.state(), ClientState::Authenticated);
    assert!(seen.connected.load(Ordering::SeqCst) >= 2);
    let second = sid(&c);
    assert_ne!(first, second);
    let auth = seen.authenticated.lock().unwrap()[1].clone();
    assert_eq!(
        auth.get("id").and_then(Value::as_str),
        Some(second.as_str())
    );
    let snap = eventually("registered on the restarted server", 5, || {
        let s = restarted.client(second);
        async move { s.filter(|s| s.state == ClientState::Authenticated) }
    })
    .await;
    let mut rooms = snap.rooms;
    rooms.sort();
    assert_eq!(rooms, ["io-default", "io-notification"]);
    c.shutdown();
    restarted.shutdown().await;
}
