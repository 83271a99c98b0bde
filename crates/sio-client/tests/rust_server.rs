//! sio-client against sio-server, in process: the interop scenarios with our own server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, wait_until};
use sio_client::{ClientConfig, ClientConfigBuilder, Manager, TransportKind, Value};
use sio_server::{ListenHandle, SocketIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::from_iter(pairs.iter().map(|(k, v)| (*k, v.clone())))
}

async fn on_connection(socket: sio_server::Socket, seen: Arc<Mutex<HashMap<String, i64>>>) {
    socket.on("echo-ack", |_s, args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send_args(args.into_vec());
        }
    });
    socket.on("transport", |s, _args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![Value::from(s.transport())]);
        }
    });
    socket.on("send-binary", |s, _args, ack| async move {
        let _ = s.emit_args(
            "binary",
            vec![
                Value::from(vec![1u8, 2, 3]),
                obj(&[("n", Value::from(vec![4u8]))]),
            ],
        );
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![]);
        }
    });
    socket.on("ask-client", |s, args, ack| async move {
        let reply = s
            .emit_args_with_ack("question", args.into_vec(), Some(Duration::from_secs(5)))
            .await;
        if let Some(ack) = ack {
            let v = match reply {
                Ok(a) => Value::Array(a.into_vec()),
                Err(e) => Value::from(e.to_string()),
            };
            let _ = ack.send_args(vec![v]);
        }
    });
    socket.on("store", move |_s, args, ack| {
        let seen = seen.clone();
        async move {
            let id = args
                .get(0)
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let n = {
                let mut m = seen.lock().unwrap();
                let n = m.entry(id).or_insert(0);
                *n += 1;
                *n
            };
            // The first arrival is not acknowledged: the client must send it again.
            if n > 1
                && let Some(ack) = ack
            {
                let _ = ack.send_args(vec![Value::from("stored"), Value::from(n)]);
            }
        }
    });
}

struct RustServer {
    io: SocketIo,
    handle: ListenHandle,
    seen: Arc<Mutex<HashMap<String, i64>>>,
}

impl RustServer {
    async fn start(msgpack: bool) -> RustServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), msgpack).await
    }

    /// A server on `addr`; a port just released by a stopped server is retried for a while.
    async fn start_on(addr: SocketAddr, msgpack: bool) -> RustServer {
        let mut b = SocketIo::builder()
            .ping_interval(Duration::from_secs(2))
            .ping_timeout(Duration::from_secs(2));
        if msgpack {
            b = b.parser(sio_client::Parser::Msgpack);
        }
        let io = b.build();
        let seen: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
        for nsp in ["/", "/admin"] {
            let seen = seen.clone();
            io.ns(nsp, move |socket| on_connection(socket, seen.clone()));
        }
        let mut tries = 0;
        let handle = loop {
            match io.listen(addr).await {
                Ok(h) => break h,
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot listen on {addr}: {e}"),
            }
        };
        RustServer { io, handle, seen }
    }

    fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

impl Drop for RustServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        let _ = &self.io;
    }
}

fn cfg(url: String) -> ClientConfigBuilder {
    ClientConfig::builder(url)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(300))
        .ack_timeout(Duration::from_secs(5))
}

async fn scenario(socket: &sio_client::Socket) {
    let payload = vec![
        Value::from("é"),
        Value::from(7),
        obj(&[
            ("b", Value::from(vec![0u8, 255])),
            ("list", Value::Array(vec![Value::Null])),
        ]),
        Value::from(vec![9u8; 100]),
    ];
    assert_eq!(
        socket
            .emit_with_ack("echo-ack", payload.clone())
            .await
            .unwrap(),
        payload
    );

    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = socket.on("binary", move |ev| {
        let _ = tx.send(ev.args);
    });
    socket.emit_with_ack("send-binary", vec![]).await.unwrap();
    let args = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        args,
        vec![
            Value::from(vec![1u8, 2, 3]),
            obj(&[("n", Value::from(vec![4u8]))])
        ]
    );
    socket.off(id);

    let id = socket.on("question", |mut ev| {
        let n: i64 = ev.arg(0).unwrap();
        ev.ack(vec![Value::from(n * 2), Value::from(vec![1u8])]);
    });
    let r = socket
        .emit_with_ack("ask-client", vec![Value::from(21)])
        .await
        .unwrap();
    assert_eq!(
        r,
        vec![Value::Array(vec![Value::from(42), Value::from(vec![1u8])])]
    );
    socket.off(id);
}

async fn transport_of(socket: &sio_client::Socket) -> String {
    let r = socket.emit_with_ack("transport", vec![]).await.unwrap();
    r[0].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn websocket_polling_and_upgrade() {
    let server = RustServer::start(false).await;
    let ws = cfg(server.url())
        .transports([TransportKind::Websocket])
        .build()
        .connect()
        .await
        .unwrap();
    assert_eq!(transport_of(&ws).await, "websocket");
    scenario(&ws).await;

    let polling = cfg(server.url())
        .transports([TransportKind::Polling])
        .build()
        .connect()
        .await
        .unwrap();
    assert_eq!(transport_of(&polling).await, "polling");
    scenario(&polling).await;

    let upgraded = cfg(server.url()).build().connect().await.unwrap();
    eventually("upgrade to websocket", 10, || {
        let s = upgraded.clone();
        async move { (transport_of(&s).await == "websocket").then_some(()) }
    })
    .await;
    scenario(&upgraded).await;
}

#[tokio::test]
async fn two_namespaces_and_msgpack() {
    let server = RustServer::start(true).await;
    let manager = Manager::new(
        cfg(server.url())
            .transports([TransportKind::Websocket])
            .parser(sio_client::Parser::Msgpack)
            .build(),
    )
    .unwrap();
    let main = manager.socket("/");
    let admin = manager.socket("/admin");
    main.connect();
    admin.connect();
    wait_until("both connected", 10, || {
        main.connected() && admin.connected()
    })
    .await;
    assert_ne!(main.id(), admin.id());
    scenario(&main).await;
    scenario(&admin).await;
}

/// A TCP relay whose live connections can be cut, to drop a connection mid-session.
struct Relay {
    port: u16,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Relay { port, conns }
    }

    fn cut(&self) {
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

#[tokio::test]
async fn retries_across_a_dropped_connection() {
    let server = RustServer::start(false).await;
    let relay = Relay::start(server.addr()).await;
    let socket = cfg(format!("http://127.0.0.1:{}", relay.port))
        .transports([TransportKind::Websocket])
        .retries(5)
        .ack_timeout(Duration::from_millis(700))
        .build()
        .connect()
        .await
        .unwrap();
    let disconnects = Arc::new(Mutex::new(0));
    let d = disconnects.clone();
    socket.on_disconnect(move |_| *d.lock().unwrap() += 1);
    let emit = {
        let socket = socket.clone();
        tokio::spawn(async move {
            socket
                .emit_with_ack("store", vec![obj(&[("id", Value::from("rust-1"))])])
                .await
        })
    };
    // Wait for the first (unacknowledged) arrival, then cut the connection under it.
    wait_until("first arrival", 10, || {
        server.seen.lock().unwrap().get("rust-1") == Some(&1)
    })
    .await;
    relay.cut();
    let r = tokio::time::timeout(Duration::from_secs(20), emit)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r[0], Value::from("stored"));
    assert!(r[1].as_i64().unwrap() >= 2);
    assert!(
        *disconnects.lock().unwrap() >= 1,
        "the connection was dropped"
    );
    assert!(socket.connected());
}

#[tokio::test]
async fn a_restarted_server_is_reconnected_with_backoff() {
    let server = RustServer::start(false).await;
    let addr = server.addr();
    let socket = cfg(server.url())
        .transports([TransportKind::Websocket])
        .build()
        .connect()
        .await
        .unwrap();
    let first = socket.id().unwrap();
    let connects = Arc::new(Mutex::new(0));
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0));
    let (c, r, e) = (connects.clone(), reasons.clone(), errors.clone());
    socket.on_connect(move || *c.lock().unwrap() += 1);
    socket.on_disconnect(move |reason| r.lock().unwrap().push(reason.clone()));
    socket.on_error(move |_| *e.lock().unwrap() += 1);

    // Stopped: the server closes its connections without a DISCONNECT packet, so the
    // client keeps reconnecting (and failing while nothing listens).
    server.io.close().await;
    drop(server);
    wait_until("disconnected", 10, || !socket.connected()).await;
    wait_until("failed attempts while down", 10, || {
        *errors.lock().unwrap() >= 2
    })
    .await;
    assert!(!socket.connected());

    let restarted = RustServer::start_on(addr, false).await;
    wait_until("reconnected", 20, || socket.connected()).await;
    assert_eq!(*connects.lock().unwrap(), 1);
    assert_ne!(socket.id().unwrap(), first);
    assert_eq!(
        reasons.lock().unwrap().as_slice(),
        [sio_client::DisconnectReason::TransportClose]
    );
    scenario(&socket).await;
    drop(restarted);
}

/// The seed's server semantics hand-written on plain sio-server (the same flow against the
/// real `ServerHelper` is in `helper_server.rs`): `authenticate`
/// checks `auth.token`, then `authenticated {id, time}`, default rooms, join/leave, a ping;
/// a bad token gets `unauthenticated` and a disconnect.
async fn seed_connection(socket: sio_server::Socket) {
    socket.on("authenticate", |s, _args, _ack| async move {
        if s.auth().get("token").and_then(Value::as_str) == Some("good") {
            s.join_many(sio_types::constants::room::DEFAULTS);
            s.on("join", |s, args, _ack| async move {
                let rooms: Vec<String> = args
                    .get(0)
                    .and_then(|v| v.get("rooms"))
                    .map(|r| sio_types::value::from_value(r.clone()).unwrap())
                    .unwrap_or_default();
                s.join_many(rooms);
            });
            s.on("leave", |s, args, _ack| async move {
                let rooms: Vec<String> = args
                    .get(0)
                    .and_then(|v| v.get("rooms"))
                    .map(|r| sio_types::value::from_value(r.clone()).unwrap())
                    .unwrap_or_default();
                for r in rooms {
                    s.leave(r);
                }
            });
            s.on("rooms", |s, _args, ack| async move {
                let id = s.id().as_str().to_owned();
                let mut rooms: Vec<String> = s
                    .rooms()
                    .into_iter()
                    .map(|r| r.into_owned())
                    .filter(|r| *r != id)
                    .collect();
                rooms.sort();
                if let Some(ack) = ack {
                    let _ = ack.send_args(vec![Value::Array(
                        rooms.into_iter().map(Value::from).collect(),
                    )]);
                }
            });
            let _ = s.emit_args(
                "ping",
                vec![obj(&[("time", Value::from("2026-01-01T00:00:00.000Z"))])],
            );
            let _ = s.emit_args(
                "authenticated",
                vec![obj(&[
                    ("id", Value::from(s.id().as_str())),
                    ("time", Value::from("2026-01-01T00:00:00.000Z")),
                ])],
            );
        } else {
            let _ = s.emit_args(
                "unauthenticated",
                vec![obj(&[("message", Value::from("Invalid token"))])],
            );
            s.disconnect(false);
        }
    });
}

#[tokio::test]
async fn helper_flow_against_sio_server() {
    use sio_client::{ClientHelper, ClientState};

    let io = SocketIo::builder().build();
    io.ns("/", seed_connection);
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{}", handle.local_addr());

    let pings = Arc::new(Mutex::new(0));
    let p = pings.clone();
    let helper = ClientHelper::builder(
        cfg(url.clone())
            .auth(obj(&[("token", Value::from("good"))]))
            .build(),
    )
    .on_connected(|h| h.authenticate())
    .build()
    .unwrap();
    helper.subscribe(
        "ping",
        move |_| {
            *p.lock().unwrap() += 1;
            Ok(())
        },
        false,
    );
    wait_until("authenticated", 10, || {
        helper.state() == ClientState::Authenticated
    })
    .await;
    let rooms = |h: ClientHelper| async move {
        let r = h.socket().emit_with_ack("rooms", vec![]).await.unwrap();
        r[0].as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rooms(helper.clone()).await,
        ["io-default", "io-notification"]
    );
    helper.join_rooms(&["a"]);
    eventually("joined", 5, || {
        let h = helper.clone();
        async move { (rooms(h).await.len() == 3).then_some(()) }
    })
    .await;
    helper.leave_rooms(&["io-default"]);
    eventually("left", 5, || {
        let h = helper.clone();
        async move { (rooms(h).await == ["a", "io-notification"]).then_some(()) }
    })
    .await;
    assert_eq!(*pings.lock().unwrap(), 1);
    helper.shutdown();
    wait_until("shut down", 5, || !helper.is_connected()).await;
    assert_eq!(helper.state(), ClientState::Unauthorized);

    let refused = Arc::new(Mutex::new(None));
    let r = refused.clone();
    let bad = ClientHelper::builder(cfg(url).auth(obj(&[("token", Value::from("bad"))])).build())
        .on_connected(|h| h.authenticate())
        .on_unauthenticated(move |_, data| *r.lock().unwrap() = Some(data.clone()))
        .build()
        .unwrap();
    wait_until("unauthenticated", 10, || refused.lock().unwrap().is_some()).await;
    wait_until("disconnected by the server", 10, || !bad.is_connected()).await;
    assert_eq!(bad.state(), ClientState::Unauthorized);
    handle.shutdown();
}
