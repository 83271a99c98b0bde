//! The demo as a process: the real `sio-demo` binary on a free port, its HTTP API driven
//! over TCP, socket.io clients speaking raw engine.io/socket.io frames over WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);
const ADMIN: &str = "test-admin-secret";

/// Unique names per test so parallel tests never share a room.
fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

struct Demo {
    child: Child,
    port: u16,
}

impl Demo {
    async fn start(envs: &[(&str, &str)]) -> Demo {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sio-demo"));
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .env_remove("REDIS_URL")
        .env_remove("ADMIN_TOKEN")
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env("AUTH_TOKENS", "alice,bob")
        .env(
            "SIO_DEMO_WEB_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/web"),
        )
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(WAIT, lines.next_line())
            .await
            .expect("sio-demo did not print its address")
            .unwrap()
            .expect("sio-demo exited before listening");
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Demo { child, port }
    }

    async fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        timeout(WAIT, s.read_to_end(&mut raw))
            .await
            .unwrap()
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Resp {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {ADMIN}");
        let b = body.map(|b| b.to_string()).unwrap_or_default();
        self.http(
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &b,
        )
        .await
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Asserts a JSON error with this status and code, and a message a human can act on.
    fn error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let j = self.json();
        assert_eq!(j["error"], code, "{self:?}");
        assert!(
            j["message"].as_str().is_some_and(|m| m.len() > 10),
            "{self:?}"
        );
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A socket.io client in raw frames: enough to drive the demo's flow exactly.
struct Client {
    ws: Ws,
    id: String,
}

impl Client {
    async fn connect(port: u16, token: &str) -> Client {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let open = next_text(&mut ws).await;
        assert!(open.starts_with('0'), "{open}");
        ws.send(Message::text(format!("40{}", json!({ "token": token }))))
            .await
            .unwrap();
        let mut connected = next_text(&mut ws).await;
        while connected == "2" {
            ws.send(Message::text("3")).await.unwrap();
            connected = next_text(&mut ws).await;
        }
        let sid: Value = serde_json::from_str(&connected[2..]).unwrap();
        let id = sid["sid"].as_str().unwrap().to_owned();
        Client { ws, id }
    }

    async fn emit(&mut self, event: &str, data: Option<Value>) {
        let frame = match data {
            Some(d) => json!([event, d]),
            None => json!([event]),
        };
        self.ws
            .send(Message::text(format!("42{frame}")))
            .await
            .unwrap();
    }

    /// The next event (name and first argument), skipping `ping` events unless asked.
    async fn event(&mut self) -> Option<(String, Value)> {
        loop {
            let text = timeout(WAIT, next_text_or_close(&mut self.ws))
                .await
                .expect("no event in time")?;
            if text == "2" {
                self.ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            if text == "41" {
                return Some(("disconnect".into(), Value::Null));
            }
            let Some(body) = text.strip_prefix("42") else {
                continue;
            };
            let v: Value = serde_json::from_str(body).unwrap();
            return Some((v[0].as_str().unwrap().to_owned(), v[1].clone()));
        }
    }

    async fn expect(&mut self, name: &str) -> Value {
        loop {
            let (n, v) = self
                .event()
                .await
                .unwrap_or_else(|| panic!("closed before {name}"));
            if n == name {
                return v;
            }
            assert!(n == "ping", "expected {name}, got {n} {v}");
        }
    }

    async fn authenticate(&mut self) {
        self.emit("authenticate", None).await;
        let auth = self.expect("authenticated").await;
        assert_eq!(auth["id"], self.id.as_str());
    }
}

async fn next_text(ws: &mut Ws) -> String {
    timeout(WAIT, next_text_or_close(ws))
        .await
        .unwrap()
        .expect("closed")
}

async fn next_text_or_close(ws: &mut Ws) -> Option<String> {
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Text(t)) => return Some(t.to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn api_is_off_without_admin_token_but_healthz_answers() {
    let demo = Demo::start(&[]).await;
    let health = demo.http("GET", "/healthz", &[], "").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    demo.admin("GET", "/api/clients", None)
        .await
        .error(404, "api_disabled");
    demo.admin("POST", "/api/send", Some(json!({"topic": "t", "data": 1})))
        .await
        .error(404, "api_disabled");
    // Whatever else is wrong (method, size), the API is off first.
    demo.admin("GET", "/api/send", None)
        .await
        .error(404, "api_disabled");
    let huge = json!({"topic": "t", "data": "x".repeat(70_000)});
    demo.admin("POST", "/api/send", Some(huge))
        .await
        .error(404, "api_disabled");
    // A blank ADMIN_TOKEN counts as none: it must not make "Bearer " a valid credential.
    let blank = Demo::start(&[("ADMIN_TOKEN", "  ")]).await;
    blank
        .http("GET", "/api/clients", &[("Authorization", "Bearer ")], "")
        .await
        .error(404, "api_disabled");
    // The page and the client bundle are served.
    let page = demo.http("GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/vendor/socket.io.min.js"));
    assert!(page.head.contains("content-type: text/html"));
    assert!(page.body.contains(r#"rel="icon""#));
    for icon in ["/favicon.svg", "/favicon.ico"] {
        let r = demo.http("GET", icon, &[], "").await;
        assert_eq!(r.status, 200, "{icon}");
        assert!(r.head.contains("content-type: image/svg+xml"), "{icon}");
    }
}

#[tokio::test]
async fn api_errors_are_clear_json() {
    let demo = Demo::start(&[("ADMIN_TOKEN", ADMIN)]).await;
    let missing = demo.http("GET", "/api/clients", &[], "").await;
    missing.error(401, "missing_token");
    assert!(
        missing.head.contains("www-authenticate: bearer"),
        "{missing:?}"
    );
    demo.http(
        "GET",
        "/api/clients",
        &[("Authorization", "Bearer nope")],
        "",
    )
    .await
    .error(401, "invalid_token");
    // A prefix of the right token is still wrong.
    demo.http(
        "GET",
        "/api/clients",
        &[("Authorization", "Bearer test-admin")],
        "",
    )
    .await
    .error(401, "invalid_token");
    demo.http(
        "GET",
        "/api/clients",
        &[("Authorization", "Basic dXNlcjpwdw==")],
        "",
    )
    .await
    .error(401, "missing_token");
    demo.http(
        "POST",
        "/api/send",
        &[
            ("Authorization", "Bearer nope"),
            ("Content-Type", "application/json"),
        ],
        r#"{"topic":"t","data":1}"#,
    )
    .await
    .error(401, "invalid_token");
    // The token is taken as sent: no trimming. (The HTTP parser drops a trailing space of
    // a header value, so only the inner one can reach the check.)
    let padded = format!("Bearer  {ADMIN}");
    demo.http("GET", "/api/clients", &[("Authorization", &padded)], "")
        .await
        .error(401, "invalid_token");
    let lower = format!("bearer {ADMIN}");
    assert_eq!(
        demo.http("GET", "/api/clients", &[("Authorization", &lower)], "")
            .await
            .status,
        200
    );
    // Nothing about the request is answered before the token: not its size, not its method.
    let huge_body = json!({"topic": "t", "data": "x".repeat(70_000)}).to_string();
    demo.http(
        "POST",
        "/api/send",
        &[("Content-Type", "application/json")],
        &huge_body,
    )
    .await
    .error(401, "missing_token");
    demo.http("GET", "/api/send", &[], "")
        .await
        .error(401, "missing_token");

    let auth = format!("Bearer {ADMIN}");
    demo.http(
        "POST",
        "/api/send",
        &[("Authorization", &auth)],
        r#"{"topic":"t","data":1}"#,
    )
    .await
    .error(415, "unsupported_media_type");
    let bad_json = demo
        .http(
            "POST",
            "/api/send",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            r#"{"topic": "#,
        )
        .await;
    bad_json.error(400, "invalid_json");
    let no_topic = demo
        .admin("POST", "/api/send", Some(json!({"data": {"x": 1}})))
        .await;
    no_topic.error(400, "invalid_field");
    assert!(
        no_topic.json()["message"]
            .as_str()
            .unwrap()
            .contains("topic")
    );
    demo.admin("POST", "/api/send", Some(json!({"topic": 3, "data": 1})))
        .await
        .error(400, "invalid_field");
    demo.admin("POST", "/api/send", Some(json!({"topic": "t"})))
        .await
        .error(400, "invalid_field");
    demo.admin("POST", "/api/send", Some(json!(["t", 1])))
        .await
        .error(400, "invalid_json");
    demo.admin("GET", "/api/nothing", None)
        .await
        .error(404, "not_found");
    let huge = json!({"topic": "t", "data": "x".repeat(70_000)});
    demo.admin("POST", "/api/send", Some(huge))
        .await
        .error(413, "body_too_large");
    demo.admin("GET", "/api/send", None)
        .await
        .error(405, "method_not_allowed");
}

#[tokio::test]
async fn clients_and_send_follow_the_helper_flow() {
    let demo = Demo::start(&[("ADMIN_TOKEN", ADMIN), ("PING_INTERVAL_MS", "60000")]).await;
    let mut alice = Client::connect(demo.port, "alice").await;
    let waiting = Client::connect(demo.port, "bob").await;

    // Before authenticating: listed as unauthorized, in no room.
    let list = demo.admin("GET", "/api/clients", None).await;
    assert_eq!(list.status, 200, "{list:?}");
    let row = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not in {list}"))
    };
    let l = list.json();
    assert_eq!(row(&l, &alice.id)["state"], "unauthorized");
    assert_eq!(row(&l, &alice.id)["rooms"], json!([]));

    alice.authenticate().await;
    let room = unique("lobby");
    alice
        .emit("join", Some(json!({"rooms": [room, "private-secret"]})))
        .await;
    // Handlers start in arrival order and the demo's join never waits: the answer comes
    // after the join.
    alice
        .ws
        .send(Message::text(r#"421["rooms"]"#))
        .await
        .unwrap();
    loop {
        let t = next_text(&mut alice.ws).await;
        if let Some(ack) = t.strip_prefix("431") {
            let rooms: Value = serde_json::from_str(ack).unwrap();
            let mut want = vec![
                "io-default".to_owned(),
                "io-notification".into(),
                room.clone(),
            ];
            want.sort();
            assert_eq!(rooms, json!([want]));
            break;
        }
    }

    let l = demo.admin("GET", "/api/clients", None).await.json();
    let a = row(&l, &alice.id);
    assert_eq!(a["state"], "authenticated");
    let rooms = a["rooms"].as_array().unwrap();
    assert!(
        rooms.contains(&json!(room)) && rooms.contains(&json!("io-default")),
        "{a}"
    );
    assert!(!rooms.contains(&json!("private-secret")), "{a}");
    assert_eq!(row(&l, &waiting.id)["state"], "unauthorized");

    // To one socket id, to a room, to everyone.
    for (dest, topic) in [
        (Some(alice.id.clone()), "to-id"),
        (Some(room.clone()), "to-room"),
        (None, "to-all"),
    ] {
        let body = match &dest {
            Some(d) => json!({"destination": d, "topic": topic, "data": {"n": 1}}),
            None => json!({"topic": topic, "data": {"n": 1}}),
        };
        let r = demo.admin("POST", "/api/send", Some(body)).await;
        assert_eq!(r.status, 202, "{r:?}");
        assert_eq!(r.json()["status"], "accepted");
        assert_eq!(alice.expect(topic).await, json!({"n": 1}));
    }
    drop(waiting);
}

#[tokio::test]
async fn a_bad_token_is_unauthenticated_then_disconnected() {
    let demo = Demo::start(&[]).await;
    let mut eve = Client::connect(demo.port, "not-a-token").await;
    eve.emit("authenticate", None).await;
    let refused = eve.expect("unauthenticated").await;
    assert!(refused["message"].is_string(), "{refused}");
    match eve.event().await {
        None => {}
        Some((n, _)) => assert_eq!(n, "disconnect"),
    }
}

#[tokio::test]
async fn clients_that_never_authenticate_are_dropped_at_the_timeout() {
    let demo = Demo::start(&[("AUTH_TIMEOUT_MS", "300")]).await;
    let mut idle = Client::connect(demo.port, "alice").await;
    match idle.event().await {
        None => {}
        Some((n, v)) => assert_eq!(n, "disconnect", "{v}"),
    }
}

#[tokio::test]
async fn sigterm_disconnects_clients_and_exits_cleanly() {
    let mut demo = Demo::start(&[]).await;
    let mut c = Client::connect(demo.port, "bob").await;
    c.authenticate().await;
    let pid = demo.child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    match c.event().await {
        None => {}
        Some((n, _)) => assert_eq!(n, "disconnect"),
    }
    let status = timeout(WAIT, demo.child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn help_lists_every_setting() {
    let out = Command::new(env!("CARGO_BIN_EXE_sio-demo"))
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // What the demo is, first; not the rustdoc of its Config type (clap's default).
    assert!(help.starts_with("A ready-to-run sio server"), "{help}");
    assert!(
        !help.contains("```") && !help.contains("use clap"),
        "{help}"
    );
    for var in [
        "PORT",
        "HOST",
        "REDIS_URL",
        "AUTH_TOKENS",
        "AUTH_TIMEOUT_MS",
        "PING_INTERVAL_MS",
        "ADMIN_TOKEN",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing:\n{help}"
        );
    }
    // Tokens are secrets: --help must not echo them from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_sio-demo"))
        .arg("--help")
        .env("ADMIN_TOKEN", "very-secret-value")
        .output()
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("very-secret-value"));
}

/// Two demo processes on one Redis (a key prefix of their own): the API of either lists
/// the clients of both, and a send through one reaches a client of the other (the helper
/// sends through the Redis emitter).
#[tokio::test]
async fn with_redis_two_processes_are_one_cluster() {
    let prefix = unique("sio-demo-test");
    let env = [
        ("ADMIN_TOKEN", ADMIN),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let one = Demo::start(&env).await;
    let two = Demo::start(&env).await;
    let mut a = Client::connect(one.port, "alice").await;
    a.authenticate().await;
    let mut b = Client::connect(two.port, "bob").await;
    b.authenticate().await;

    let list = one.admin("GET", "/api/clients", None).await;
    assert_eq!(list.status, 200, "{list:?}");
    let l = list.json();
    for id in [&a.id, &b.id] {
        let c = l
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} missing from {l}"));
        assert_eq!(c["state"], "authenticated", "{c}");
        assert_eq!(c["rooms"], json!(["io-default", "io-notification"]), "{c}");
    }

    let r = one
        .admin(
            "POST",
            "/api/send",
            Some(json!({"destination": b.id, "topic": "across", "data": "from one"})),
        )
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(b.expect("across").await, json!("from one"));
    let r = two
        .admin(
            "POST",
            "/api/send",
            Some(json!({"destination": "io-default", "topic": "everyone", "data": 2})),
        )
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(a.expect("everyone").await, json!(2));
    assert_eq!(b.expect("everyone").await, json!(2));
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_startup_error() {
    // A port that accepts nothing: bind then drop to learn a free one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let out = timeout(
        Duration::from_secs(60),
        Command::new(env!("CARGO_BIN_EXE_sio-demo"))
            .env("PORT", "0")
            .env("REDIS_URL", &url)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot start the socket.io server"), "{err}");
    assert!(out.stdout.is_empty(), "must not claim to listen");
}
