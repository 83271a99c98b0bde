//! Shared set-up of the integration tests: a real server on 127.0.0.1 (port 0) with the
//! handlers the Node scripts in `tests/interop/server/` drive, and a way to run them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use sio_server::{ConnectError, ListenHandle, RecoveryConfig, Socket, SocketIo, Value};

/// A guard against hanging forever, not a speed requirement.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Bcast {
    to: Vec<String>,
    except: Vec<String>,
    local: bool,
    volatile: bool,
    compress: bool,
    from_socket: bool,
    count_room: bool,
    event: Option<String>,
    tag: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Later {
    to: Vec<String>,
    tags: Vec<String>,
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::from_iter(pairs)
}

/// The handlers every test namespace has.
pub(crate) async fn common(socket: Socket) {
    socket.on("echo", |socket, args, ack| async move {
        let _ = socket.emit_args("echo-back", args.0.clone());
        if let Some(ack) = ack {
            let _ = ack.send_args(args.into_vec());
        }
    });
    socket.on("transport", |socket, _args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(socket.transport());
        }
    });
    socket.on("nsp", |socket, _args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(socket.ns());
        }
    });
    socket.on("join", |socket, args, ack| async move {
        if let Ok(room) = args.decode::<String>() {
            socket.join(room);
        }
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![]);
        }
    });
    socket.on("whoami", |socket, _args, ack| async move {
        if let Some(ack) = ack {
            let rooms: Vec<Value> = socket
                .rooms()
                .into_iter()
                .map(|r| Value::from(r.into_owned()))
                .collect();
            let _ = ack.send_args(vec![obj(vec![
                ("id", Value::from(socket.id().as_str())),
                ("recovered", Value::from(socket.recovered())),
                ("rooms", Value::Array(rooms)),
            ])]);
        }
    });
    socket.on("bcast", |socket, args, ack| async move {
        let spec: Bcast = match args.decode() {
            Ok(s) => s,
            Err(e) => panic!("bad bcast spec: {e}"),
        };
        let mut op = if spec.from_socket {
            socket.broadcast()
        } else {
            socket.namespace().broadcast()
        };
        for r in &spec.to {
            op = op.to(r.clone());
        }
        for r in &spec.except {
            op = op.except(r.clone());
        }
        if spec.local {
            op = op.local();
        }
        if spec.volatile {
            op = op.volatile();
        }
        op = op.compress(spec.compress);
        let event = spec.event.as_deref().unwrap_or("tag");
        op.emit(event, &spec.tag).await.unwrap();
        let members = if spec.count_room {
            op.fetch_sockets().await.unwrap().len() as i64
        } else {
            -1
        };
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![obj(vec![("members", Value::from(members))])]);
        }
    });
    socket.on("on-disconnect-bcast", |socket, args, ack| async move {
        let later: Later = args.decode().unwrap();
        let ns = socket.namespace();
        socket.on_disconnect(move |_s, _reason| {
            tokio::spawn(async move {
                for tag in later.tags {
                    let mut op = ns.broadcast();
                    for r in &later.to {
                        op = op.to(r.clone());
                    }
                    op.emit("tag", &tag).await.unwrap();
                }
            });
        });
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![]);
        }
    });
    socket.on("ask-me", |socket, _args, ack| async move {
        let res = socket
            .emit_args_with_ack(
                "question",
                vec![Value::from("how much?"), Value::from(vec![1u8, 2, 3])],
                Some(PATIENCE),
            )
            .await;
        let report = match res {
            Ok(args) => {
                let answer = args
                    .get(0)
                    .and_then(|v| v.get("answer"))
                    .and_then(Value::as_i64);
                let bytes = args
                    .get(1)
                    .and_then(Value::as_bytes)
                    .map(|b| b.len() as i64);
                obj(vec![
                    ("ok", Value::from(true)),
                    ("answer", Value::from(answer)),
                    ("bytes", Value::from(bytes)),
                ])
            }
            Err(e) => obj(vec![
                ("ok", Value::from(false)),
                ("error", Value::from(e.to_string())),
            ]),
        };
        if let Some(ack) = ack {
            let _ = ack.send_args(vec![report]);
        }
    });
}

/// A server with `/`, `/custom` and `/private` (middleware: `auth.token == "secret"`).
pub(crate) fn build(recovery: bool) -> SocketIo {
    build_with(recovery, sio_server::Parser::default())
}

pub(crate) fn build_with(recovery: bool, parser: sio_server::Parser) -> SocketIo {
    let mut b = SocketIo::builder().parser(parser);
    if recovery {
        b = b.connection_state_recovery(RecoveryConfig::default());
    }
    let io = b.build();
    io.ns("/", common);
    io.ns("/custom", common);
    let private = io.ns("/private", common);
    private.use_middleware(|socket| async move {
        if socket.auth().get("token").and_then(Value::as_str) == Some("secret") {
            Ok(())
        } else {
            Err(ConnectError {
                message: "not authorized".into(),
                data: Some(Value::from_iter([("code", Value::from(403))])),
            })
        }
    });
    io
}

pub(crate) async fn start(recovery: bool) -> (SocketIo, ListenHandle, String) {
    start_with(recovery, sio_server::Parser::default()).await
}

pub(crate) async fn start_with(
    recovery: bool,
    parser: sio_server::Parser,
) -> (SocketIo, ListenHandle, String) {
    let io = build_with(recovery, parser);
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://127.0.0.1:{}", handle.local_addr().port());
    (io, handle, url)
}

/// Runs `tests/interop/server/<script>` with `args`; panics with its output unless it
/// exits 0. Returns its stdout.
/// Listens on a free port of 127.0.0.1.
pub(crate) async fn listen(io: &SocketIo) -> (ListenHandle, u16) {
    let h = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let port = h.local_addr().port();
    (h, port)
}

/// Checks that the `echo` handler of [`common`] still answers `raw`.
pub(crate) async fn echo_works(raw: &mut Raw, n: usize) {
    raw.send(&format!(r#"2["echo","still here {n}"]"#)).await;
    assert_eq!(
        raw.recv_text().await,
        format!(r#"2["echo-back","still here {n}"]"#)
    );
}

pub(crate) async fn node(script: &str, args: &[&str]) -> String {
    sio_tests::node::script(&format!("server/{script}"), args).await
}

/// A raw engine.io WebSocket client: it speaks the wire format by hand, so tests can send
/// what no well-behaved client would. Pings are answered as they come.
pub(crate) struct Raw {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

pub(crate) enum Got {
    Text(String),
    Binary(Vec<u8>),
    Closed,
}

impl Raw {
    pub(crate) async fn connect(port: u16, query: &str) -> Raw {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket{query}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut raw = Raw { ws };
        match raw.recv().await {
            Got::Text(t) => assert!(t.starts_with("0{"), "expected the open packet, got {t}"),
            _ => panic!("expected the open packet"),
        }
        raw
    }

    /// Connects and joins the namespace `nsp` (`""` for `/`), returning the socket id.
    pub(crate) async fn connect_ns(port: u16, nsp: &str) -> (Raw, String) {
        let mut raw = Raw::connect(port, "").await;
        let sid = raw.join(nsp).await;
        (raw, sid)
    }

    pub(crate) async fn join(&mut self, nsp: &str) -> String {
        let prefix = if nsp.is_empty() {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("0{prefix}")).await;
        let t = self.recv_text().await;
        let body = t
            .strip_prefix(&format!("0{prefix}"))
            .unwrap_or_else(|| panic!("expected CONNECT for {nsp:?}, got {t}"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["sid"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn send(&mut self, text: &str) {
        use futures_util::SinkExt;
        let msg = tokio_tungstenite::tungstenite::Message::text(format!("4{text}"));
        let _ = self.ws.send(msg).await;
    }

    /// Writes all `texts` (socket.io packets) and flushes once, so the server reads them
    /// in as few reads as the kernel allows: a burst.
    pub(crate) async fn send_burst(&mut self, texts: impl IntoIterator<Item = String>) {
        use futures_util::SinkExt;
        for t in texts {
            let msg = tokio_tungstenite::tungstenite::Message::text(format!("4{t}"));
            let _ = self.ws.feed(msg).await;
        }
        let _ = self.ws.flush().await;
    }

    /// Closes the WebSocket properly (close frame).
    pub(crate) async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }

    pub(crate) async fn send_raw(&mut self, text: &str) {
        use futures_util::SinkExt;
        let _ = self
            .ws
            .send(tokio_tungstenite::tungstenite::Message::text(
                text.to_owned(),
            ))
            .await;
    }

    pub(crate) async fn send_binary(&mut self, data: Vec<u8>) {
        use futures_util::SinkExt;
        let _ = self
            .ws
            .send(tokio_tungstenite::tungstenite::Message::binary(data))
            .await;
    }

    /// The next engine.io packet that is not a ping; `Closed` once the server closed.
    pub(crate) async fn recv(&mut self) -> Got {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("nothing from the server within PATIENCE");
            match next {
                Some(Ok(Message::Text(t))) => {
                    let t = t.as_str();
                    if t == "2" {
                        let _ = self.ws.send(Message::text("3")).await;
                        continue;
                    }
                    // The close packet comes right before the WebSocket closes.
                    if t == "1" {
                        continue;
                    }
                    return Got::Text(t.strip_prefix('4').unwrap_or(t).to_owned());
                }
                Some(Ok(Message::Binary(b))) => return Got::Binary(b.to_vec()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Got::Closed,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub(crate) async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Got::Text(t) => t,
            Got::Binary(b) => panic!("expected text, got {} binary bytes", b.len()),
            Got::Closed => panic!("expected text, the connection closed"),
        }
    }

    /// Waits until the server closes the connection; fails if a message arrives first.
    pub(crate) async fn expect_closed(&mut self, why: &str) {
        match self.recv().await {
            Got::Closed => {}
            Got::Text(t) => panic!("{why}: expected the connection to close, got {t}"),
            Got::Binary(_) => panic!("{why}: expected the connection to close, got binary"),
        }
    }
}
