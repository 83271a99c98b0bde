//! The server helper in cluster mode, on a real Redis: `configure()` opens the `pub`, `sub`
//! and `emitter` connections, `send` reaches a socket id, a room and everyone on this and
//! another helper instance, and a bad or silent Redis gives an error naming the connection
//! within the configured connect timeout. Run with `--features redis`.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sio_adapter_redis::{RedisConfig, RedisConnectError};
use sio_server::helper::{HelperError, SendMessage, ServerHelper};
use sio_server::sio_types::ClientState;
use tokio_tungstenite::tungstenite::Message;

/// A key prefix no other test (or run) shares.
fn prefix(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "sio-helper-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn helper(config: RedisConfig) -> Result<ServerHelper, HelperError> {
    let h = ServerHelper::builder()
        .identifier("redis-test")
        .listen("127.0.0.1:0".parse().unwrap())
        .redis(config)
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .validate_room(|_s, rooms| async move { Ok(rooms) })
        .build()?;
    h.configure().await?;
    Ok(h)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw client, authenticated; returns its socket id.
async fn authenticated_client(h: &ServerHelper, rooms: &[&str]) -> (Ws, String) {
    let u = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        h.local_addr().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(u).await.unwrap();
    ws.send(Message::text("40{\"token\":\"good\"}"))
        .await
        .unwrap();
    ws.send(Message::text("42[\"authenticate\"]"))
        .await
        .unwrap();
    let mut id = String::new();
    while let Some(f) = next_frame(&mut ws).await {
        if let Some(body) = f.strip_prefix("40") {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            id = v["sid"].as_str().unwrap().to_owned();
        } else if f.starts_with("42[\"authenticated\"") {
            break;
        }
    }
    if !rooms.is_empty() {
        let req = serde_json::json!(["join", {"rooms": rooms}]);
        ws.send(Message::text(format!("42{req}"))).await.unwrap();
        let sid = id.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !rooms.iter().all(|r| {
            h.client(sid)
                .is_some_and(|c| c.rooms.contains(&(*r).to_owned()))
        }) {
            assert!(Instant::now() < deadline, "join timed out");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    (ws, id)
}

async fn next_frame(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.ok()?;
            }
            Ok(Message::Text(t)) => return Some(t.as_str().to_owned()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// The `news` payloads a client receives until `count` of them arrived (bounded).
async fn news(ws: &mut Ws, count: usize) -> Vec<String> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        while got.len() < count {
            let f = next_frame(ws).await.expect("closed");
            if let Some(body) = f.strip_prefix("42") {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                if v[0] == "news" {
                    got.push(v[1].as_str().unwrap().to_owned());
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only got {got:?}"));
    got
}

/// The messages of `got` that are in `of`, in arrival order.
fn only<'a>(got: &'a [String], of: &[&str]) -> Vec<&'a str> {
    got.iter()
        .map(String::as_str)
        .filter(|m| of.contains(m))
        .collect()
}

#[tokio::test]
async fn send_reaches_an_id_a_room_and_everyone_across_two_helpers() {
    let p = prefix("send");
    let cfg = RedisConfig::builder("redis://127.0.0.1:6379")
        .key_prefix(p)
        .build();
    let h1 = helper(cfg.clone()).await.unwrap();
    let h2 = helper(cfg).await.unwrap();
    let (mut a, a_id) = authenticated_client(&h1, &["blue"]).await;
    let (mut b, b_id) = authenticated_client(&h2, &["blue", "green"]).await;
    let (mut c, _c_id) = authenticated_client(&h2, &[]).await;

    // By id, from either side.
    h1.send(SendMessage::new("news", "to-b").to(b_id.clone()))
        .await
        .unwrap();
    h2.send(SendMessage::new("news", "to-a").to(a_id.clone()))
        .await
        .unwrap();
    // By room: a (h1) and b (h2) are in blue, only b in green.
    h1.send(SendMessage::new("news", "blue").to("blue"))
        .await
        .unwrap();
    h2.send(SendMessage::new("news", "green").to("green"))
        .await
        .unwrap();
    // Everyone.
    h1.send(SendMessage::new("news", "all")).await.unwrap();

    // Each helper's messages arrive in the order it sent them; between the two helpers
    // (two Redis connections) there is no order, as with Node's emitter.
    let from_h1 = ["to-b", "blue", "all"];
    let got_a = news(&mut a, 3).await;
    assert_eq!(only(&got_a, &from_h1), ["blue", "all"]);
    assert!(got_a.contains(&"to-a".to_owned()), "{got_a:?}");
    let got_b = news(&mut b, 4).await;
    assert_eq!(only(&got_b, &from_h1), ["to-b", "blue", "all"]);
    assert!(got_b.contains(&"green".to_owned()), "{got_b:?}");
    assert_eq!(news(&mut c, 1).await, ["all"]);

    // The cluster view lists every client with its state, from either helper.
    let mut all = h1.cluster_clients().await.unwrap();
    all.sort_by_key(|c| c.id.as_str().to_owned());
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|c| c.state == ClientState::Authenticated));
    let b_snap = all.iter().find(|c| c.id.as_str() == b_id).unwrap();
    let mut rooms = b_snap.rooms.clone();
    rooms.sort();
    assert_eq!(rooms, ["blue", "green", "io-default", "io-notification"]);
    assert_eq!(h1.clients().len(), 1);
    assert_eq!(h2.clients().len(), 2);

    h1.shutdown().await;
    h2.shutdown().await;
    assert_eq!(h1.live_tasks() + h2.live_tasks(), 0);
}

/// A private redis-server on a free port, so its client count is ours alone.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        OwnRedis { child, port }
    }

    /// Clients connected, the `redis-cli` asking excluded.
    fn clients(&self) -> usize {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "client", "list"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .filter(|l| l.contains("id=") && !l.contains("cmd=client|list"))
            .count()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn configure_opens_three_connections_and_shutdown_closes_them() {
    let redis = OwnRedis::start().await;
    assert_eq!(redis.clients(), 0);
    let h = helper(
        RedisConfig::builder(format!("redis://127.0.0.1:{}", redis.port))
            .key_prefix(prefix("three"))
            .build(),
    )
    .await
    .unwrap();
    assert_eq!(redis.clients(), 3, "pub, sub and emitter");
    h.shutdown().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.clients() != 0 {
        assert!(
            Instant::now() < deadline,
            "connections still open: {}",
            redis.clients()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_bad_url_is_a_named_error() {
    let err = helper(RedisConfig::builder("http://127.0.0.1:6379").build())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HelperError::Redis(RedisConnectError::InvalidUrl { .. })
        ),
        "{err:?}"
    );
    // Nothing listens on a just-freed port: refused, named.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = helper(
        RedisConfig::builder(format!("redis://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_secs(2))
            .build(),
    )
    .await
    .unwrap_err();
    match &err {
        HelperError::Redis(
            RedisConnectError::Failed { name, .. } | RedisConnectError::Timeout { name, .. },
        ) => {
            assert!(["pub", "sub", "emitter"].contains(name), "{err}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_redis_that_never_answers_times_out_with_the_connection_named() {
    // Accepts connections and never writes a byte back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let err = helper(
        RedisConfig::builder(format!("redis://127.0.0.1:{port}"))
            .connect_timeout(timeout)
            .build(),
    )
    .await
    .unwrap_err();
    // The bound is the API's promise (each connection within its timeout, in parallel),
    // checked with slack for a busy machine.
    assert!(
        started.elapsed() < timeout * 4,
        "took {:?}",
        started.elapsed()
    );
    match &err {
        // sio-adapter-redis reports its own deadline as `Timeout`, the redis crate's
        // connection timeout as `Failed` with reason "timed out": both name the connection.
        HelperError::Redis(RedisConnectError::Timeout { name, .. }) => {
            assert!(["pub", "sub", "emitter"].contains(name), "{err}");
            assert!(err.to_string().contains(name));
        }
        HelperError::Redis(RedisConnectError::Failed { name, reason, .. }) => {
            assert!(["pub", "sub", "emitter"].contains(name), "{err}");
            assert!(reason.contains("timed out"), "{err}");
            assert!(err.to_string().contains(name));
        }
        other => panic!("unexpected {other:?}"),
    }
    hold.abort();
}
