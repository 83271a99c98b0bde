//! Connection state recovery across a cluster on the streams adapter: an official
//! socket.io-client 4.8 whose connection drops on one server and that comes back through
//! the "load balancer" (a proxy the test steers) on another gets its id, its rooms and every
//! packet it missed, in order, whichever of sio and Node socket.io 4.8
//! (@socket.io/redis-streams-adapter 0.3.1) held it and takes it back. Plus what Node's
//! adapter is known to miss: a client that got no packet yet, a server that died, a drop
//! long after connecting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value as Json, json};
use sio_adapter_redis::{Mode, RedisAdapterFactory};
use sio_server::{RecoveryConfig, SocketIo};

const WINDOW: Duration = Duration::from_secs(30);
const STREAMS: Mode = Mode::Streams {
    sharded_pubsub: false,
};

/// A server of the cluster, sio or Node.
enum Server {
    Sio {
        io: SocketIo,
        handle: sio_server::ListenHandle,
    },
    Node {
        script: Box<Piped>,
        port: u16,
    },
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sio,
    Node,
}

#[derive(Clone)]
struct Opts {
    window: Duration,
    ping_interval: Option<Duration>,
    /// The Redis URL of the sio servers (a proxy, to cut one off).
    redis: String,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            window: WINDOW,
            ping_interval: None,
            redis: REDIS.to_owned(),
        }
    }
}

impl Server {
    async fn start(kind: Kind, prefix: &str, opts: &Opts) -> Self {
        match kind {
            Kind::Sio => {
                let factory = RedisAdapterFactory::connect(config_at(&opts.redis, prefix, STREAMS))
                    .await
                    .unwrap();
                let mut b = SocketIo::builder()
                    .adapter(factory)
                    .connection_state_recovery(RecoveryConfig {
                        max_disconnection_duration: opts.window,
                        skip_middlewares: true,
                    });
                if let Some(p) = opts.ping_interval {
                    b = b.ping_interval(p).ping_timeout(p * 2);
                }
                let io = b.build();
                io.ns("/", |socket| async move {
                    if socket.recovered() {
                        return;
                    }
                    let rooms = socket.auth().get("rooms").cloned().unwrap_or_default();
                    for r in rooms.as_array().unwrap_or(&[]) {
                        if let Some(r) = r.as_str() {
                            socket.join(r.to_owned());
                        }
                    }
                });
                let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
                Server::Sio { io, handle }
            }
            Kind::Node => {
                let ms = opts.window.as_millis().to_string();
                let (script, ready) =
                    Piped::start("redis/recovery.js", &["server", REDIS, prefix, &ms]).await;
                let port = u16::try_from(ready["port"].as_u64().unwrap()).unwrap();
                Server::Node {
                    script: Box::new(script),
                    port,
                }
            }
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Sio { handle, .. } => handle.local_addr().port(),
            Server::Node { port, .. } => *port,
        }
    }

    /// `io.to(room).emit("ev", n)`, returning once the entry is in the stream: emits of
    /// either kind return once queued, and the test wants the stream in call order.
    async fn emit(&mut self, prefix: &str, room: &str, n: i64) {
        let before = stream_entries(prefix).await.len();
        match self {
            Server::Sio { io, .. } => io.to(room.to_owned()).emit("ev", &n).await.unwrap(),
            Server::Node { script, .. } => {
                script
                    .cmd(json!({"op": "emit", "rooms": [room], "event": "ev", "args": [n]}))
                    .await
                    .unwrap();
            }
        }
        eventually("the entry in the stream", WAIT_SECS, || async {
            (stream_entries(prefix).await.len() > before).then_some(())
        })
        .await;
    }

    async fn stop(self) {
        match self {
            Server::Sio { io, .. } => io.close().await,
            Server::Node { script, .. } => script.stop().await,
        }
    }
}

/// The `ev` numbers client `c` got, and their offsets (the last argument), in order.
fn got(clients: &Piped) -> Vec<(i64, String)> {
    clients
        .events()
        .iter()
        .filter(|e| e["type"] == "recv" && e["event"] == "ev")
        .map(|e| {
            let args = e["args"].as_array().unwrap();
            let offset = args.last().and_then(Json::as_str).unwrap_or_default();
            (args[0].as_i64().unwrap(), offset.to_owned())
        })
        .collect()
}

fn connects(clients: &Piped) -> Vec<Json> {
    clients
        .events()
        .into_iter()
        .filter(|e| e["type"] == "connect")
        .collect()
}

/// A stream entry id, as every offset of this cluster must be.
fn entry_id(offset: &str) -> (u64, u64) {
    let (a, b) = offset.split_once('-').expect("an offset <ms>-<seq>");
    (a.parse().unwrap(), b.parse().unwrap())
}

/// Waits until a session is stored under the test's prefix (Node stores it when it sees
/// the disconnection; the client must not come back before, see redis-streams-adapter #26).
async fn session_stored(prefix: &str) {
    let client = redis::Client::open(REDIS).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    eventually("a stored session", WAIT_SECS, || {
        let mut conn = conn.clone();
        async move {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}:session:*"))
                .query_async(&mut conn)
                .await
                .unwrap();
            (!keys.is_empty()).then_some(())
        }
    })
    .await;
}

struct Case {
    from: Kind,
    to: Kind,
    /// The client gets a packet before the drop (Node needs one: #26).
    packet_first: bool,
    /// How long the client stays connected before the drop.
    linger: Duration,
    /// `from` dies with the drop: it loses Redis first, so it cannot store anything then.
    from_dies: bool,
    /// The client comes back only after the window: it must get a fresh session.
    late: bool,
    opts: Opts,
}

impl Case {
    fn new(from: Kind, to: Kind) -> Self {
        Case {
            from,
            to,
            packet_first: true,
            linger: Duration::ZERO,
            from_dies: false,
            late: false,
            opts: Opts::default(),
        }
    }
}

/// The client connects to `from` in room `r1`, drops, misses packets from both servers,
/// and comes back on `to`: recovered, same id, every missed packet of its rooms in order.
async fn resume(case: Case) {
    init_tracing();
    let prefix = unique_prefix("recovery");
    // The Redis of `from` goes through a proxy when it is to die.
    let redis_proxy = Proxy::start(6379).await;
    let from_opts = Opts {
        redis: if case.from_dies {
            format!("redis://127.0.0.1:{}", redis_proxy.port)
        } else {
            case.opts.redis.clone()
        },
        ..case.opts.clone()
    };
    let mut a = Server::start(case.from, &prefix, &from_opts).await;
    let mut b = Server::start(case.to, &prefix, &case.opts).await;
    let proxy = Proxy::start(a.port()).await;
    let (clients, _) = Piped::start("redis/recovery.js", &["clients"]).await;
    let sid = clients
        .cmd(json!({"op": "connect", "name": "c", "port": proxy.port, "rooms": ["r1"]}))
        .await
        .unwrap();
    let mut expected = Vec::new();
    if case.packet_first {
        a.emit(&prefix, "r1", 1).await;
        clients
            .wait_event("first packet", |e| {
                e["type"] == "recv" && e["event"] == "ev"
            })
            .await;
        expected.push(1);
    }
    tokio::time::sleep(case.linger).await;

    if case.from_dies {
        redis_proxy.refuse(true);
        redis_proxy.cut();
    }
    // The connection drops; the balancer sends the client elsewhere, once it is allowed back.
    proxy.refuse(true);
    proxy.move_to(b.port());
    clients
        .wait_event("drop", |e| e["type"] == "disconnect")
        .await;
    if let Kind::Node = case.from {
        session_stored(&prefix).await;
    }
    if case.late {
        // Longer than the window: the session (and its lease) are gone.
        tokio::time::sleep(case.opts.window * 2 + Duration::from_millis(300)).await;
        proxy.refuse(false);
        until("reconnection", WAIT_SECS, || connects(&clients).len() >= 2).await;
        let back = connects(&clients).swap_remove(1);
        assert_eq!(back["recovered"], false);
        assert_ne!(back["sid"], sid, "a new id");
        return;
    }
    if case.from_dies {
        b.emit(&prefix, "r1", 2).await;
        b.emit(&prefix, "r1", 3).await;
    } else {
        a.emit(&prefix, "r1", 2).await;
        b.emit(&prefix, "r1", 3).await;
        a.emit(&prefix, "elsewhere", 4).await;
    }
    b.emit(&prefix, "r1", 5).await;
    expected.extend([2, 3, 5]);
    proxy.refuse(false);

    until("reconnection", WAIT_SECS, || connects(&clients).len() >= 2).await;
    let back = connects(&clients).swap_remove(1);
    assert_eq!(
        back["recovered"],
        true,
        "not recovered: {:#?}",
        clients.events()
    );
    assert_eq!(back["sid"], sid, "same id");
    // Its rooms came back with it: a new packet to r1 reaches it on its new server.
    b.emit(&prefix, "r1", 6).await;
    expected.push(6);
    until("every packet", WAIT_SECS, || {
        got(&clients).len() >= expected.len()
    })
    .await;
    let got = got(&clients);
    let numbers: Vec<i64> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, expected, "missed packets, in order, exactly once");
    let offsets: Vec<(u64, u64)> = got.iter().map(|(_, o)| entry_id(o)).collect();
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "offsets grow: {got:?}"
    );
    clients.stop().await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_to_sio() {
    resume(Case::new(Kind::Sio, Kind::Sio)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_to_sio() {
    resume(Case::new(Kind::Node, Kind::Sio)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_to_node() {
    resume(Case::new(Kind::Sio, Kind::Node)).await;
}

/// Node's adapter needs a first packet for the client to have an offset (#26); here a
/// session is resumed from where it began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_to_sio_before_any_packet() {
    resume(Case {
        packet_first: false,
        ..Case::new(Kind::Sio, Kind::Sio)
    })
    .await;
}

/// Node's adapter stores a session only when its server sees the disconnection (#27); here
/// it is leased to Redis from the connection on, so the server may die.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_server_that_held_the_socket_died() {
    resume(Case {
        from_dies: true,
        ..Case::new(Kind::Sio, Kind::Sio)
    })
    .await;
}

/// The drop comes after several heartbeats (Node's adapter failed past a pingInterval: #48).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_to_sio_long_after_connecting() {
    resume(Case {
        linger: Duration::from_millis(1200),
        opts: Opts {
            ping_interval: Some(Duration::from_millis(200)),
            ..Opts::default()
        },
        ..Case::new(Kind::Sio, Kind::Sio)
    })
    .await;
}

/// Past `maxDisconnectionDuration` the client gets a new session, on any server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_a_fresh_session() {
    resume(Case {
        late: true,
        opts: Opts {
            window: Duration::from_millis(600),
            ..Opts::default()
        },
        ..Case::new(Kind::Sio, Kind::Sio)
    })
    .await;
}
