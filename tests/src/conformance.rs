//! Harness for the protocol conformance tests (`tests/tests/conformance_*.rs`).
//!
//! Which server is under test comes from the environment variable
//! `SIO_CONFORMANCE_SERVER`: `rust` (the default, the `sio-conformance-server` binary of
//! this crate) or `node` (the reference server on the official socket.io 4.8 package).
//! `SIO_CONFORMANCE_BIN=<path>` runs another Rust server binary with the same contract.
//! Every test starts its own server on a free port and the process is killed when the
//! [`Server`] is dropped, so tests run in parallel.
//!
//! [`engine_echo_server!`](crate::engine_echo_server) starts `sio-engine-echo` instead:
//! a raw sio-engine echo at `/engine.io/`, for the engine.io suite's cases as they are
//! (`conformance_engine_echo.rs`); the same [`Server`] methods talk to it. The
//! engine.io cases both files run are written once, in [`engineio_cases`].
//!
//! ```no_run
//! # async fn demo() {
//! let server = sio_tests::conformance_server!().await;
//! let (sid, open) = server.polling_handshake().await;
//! assert_eq!(open["pingInterval"], 300);
//! # let _ = sid;
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use crate::http::HttpResponse;

pub mod engineio_cases;

/// pingInterval of the conformance contract.
pub const PING_INTERVAL: Duration = Duration::from_millis(300);
/// pingTimeout of the conformance contract.
pub const PING_TIMEOUT: Duration = Duration::from_millis(200);
/// maxPayload of the conformance contract.
pub const MAX_PAYLOAD: u64 = 1_000_000;
/// connectTimeout of the conformance contract.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long to wait for something that should happen before the test gives up. A guard
/// against hanging forever, not a speed requirement: generous on a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Starts the conformance server chosen by `SIO_CONFORMANCE_SERVER`.
///
/// A macro rather than a function because the path of the Rust binary
/// (`CARGO_BIN_EXE_sio-conformance-server`) is only known to integration-test crates,
/// at their compile time.
#[macro_export]
macro_rules! conformance_server {
    () => {
        $crate::conformance::Server::start(option_env!("CARGO_BIN_EXE_sio-conformance-server"))
    };
}

/// Starts `sio-engine-echo`, the raw engine.io echo server of the engine.io suite (path
/// `/engine.io/`, same timings and limits as the conformance contract). Always the Rust
/// binary: `SIO_CONFORMANCE_SERVER` does not apply; `SIO_ENGINE_ECHO_BIN=<path>` runs
/// another build of it.
#[macro_export]
macro_rules! engine_echo_server {
    () => {
        $crate::conformance::Server::start_engine_echo(option_env!("CARGO_BIN_EXE_sio-engine-echo"))
    };
}

/// Which implementation is under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// `sio-conformance-server` (sio-server on sio-engine).
    Rust,
    /// `tests/interop/conformance-server.js` (socket.io 4.8).
    Node,
}

impl Impl {
    /// Reads `SIO_CONFORMANCE_SERVER` (`rust` when unset).
    pub fn from_env() -> Impl {
        match std::env::var("SIO_CONFORMANCE_SERVER").as_deref() {
            Err(_) | Ok("") | Ok("rust") => Impl::Rust,
            Ok("node") => Impl::Node,
            Ok(other) => {
                panic!("SIO_CONFORMANCE_SERVER must be `rust` or `node`, got `{other}`")
            }
        }
    }
}

/// A running conformance server process; killed on drop.
#[derive(Debug)]
pub struct Server {
    kind: Impl,
    addr: SocketAddr,
    /// The engine.io path requests go to (`/socket.io/`, `/engine.io/` for the echo).
    path: &'static str,
    /// When each polling session's handshake request was sent (see [`Heartbeat`]).
    sessions: Mutex<HashMap<String, Instant>>,
    _child: Child,
}

fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

impl Server {
    /// Starts the server chosen by the environment; `rust_bin` is the path of the Rust
    /// binary when it exists (see [`conformance_server!`](crate::conformance_server)).
    pub async fn start(rust_bin: Option<&str>) -> Server {
        let kind = Impl::from_env();
        let cmd = match kind {
            Impl::Rust => {
                // SIO_CONFORMANCE_BIN points the suite at another build of a Rust server
                // (a release build, a bisect), without recompiling the tests.
                let from_env = std::env::var("SIO_CONFORMANCE_BIN").ok();
                let Some(bin) = from_env.as_deref().or(rust_bin) else {
                    panic!(
                        "the `sio-conformance-server` binary of sio-tests does not exist yet; \
                         run with SIO_CONFORMANCE_SERVER=node to test the Node reference"
                    )
                };
                Command::new(bin)
            }
            Impl::Node => {
                let mut c = Command::new("node");
                c.arg(repo_root().join("tests/interop/conformance-server.js"));
                c
            }
        };
        Server::launch(kind, cmd, "/socket.io/").await
    }

    /// Starts the raw engine.io echo server (see
    /// [`engine_echo_server!`](crate::engine_echo_server)); `bin` is the path of
    /// `sio-engine-echo` when it exists.
    pub async fn start_engine_echo(bin: Option<&str>) -> Server {
        let from_env = std::env::var("SIO_ENGINE_ECHO_BIN").ok();
        let Some(bin) = from_env.as_deref().or(bin) else {
            panic!("the `sio-engine-echo` binary of sio-tests does not exist")
        };
        Server::launch(Impl::Rust, Command::new(bin), "/engine.io/").await
    }

    /// Runs `cmd` under the contract (`PORT`, `LISTENING <port>`, stdin held open).
    async fn launch(kind: Impl, mut cmd: Command, path: &'static str) -> Server {
        cmd.env("PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {kind:?} conformance server: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        // Forward the server's stderr into the test's output (captured per test).
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server] {line}");
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(PATIENCE, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(p) = line.trim().strip_prefix("LISTENING ") {
                    return p.trim().parse::<u16>().ok();
                }
                eprintln!("[server stdout] {line}");
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!("the {kind:?} conformance server never printed `LISTENING <port>`")
        });
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server stdout] {line}");
            }
        });
        Server {
            kind,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            path,
            sessions: Mutex::new(HashMap::new()),
            _child: child,
        }
    }

    /// The implementation under test.
    pub fn kind(&self) -> Impl {
        self.kind
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends one HTTP/1.1 request to `/socket.io/?{query}` (the server's path). An
    /// `Err` means the server closed the connection without a complete response.
    pub async fn request(
        &self,
        method: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<HttpResponse> {
        self.request_with_headers(method, query, &[], body).await
    }

    /// [`Server::request`] with extra request headers (`name`, `value`).
    pub async fn request_with_headers(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<HttpResponse> {
        let path = format!("{}?{query}", self.path);
        tokio::time::timeout(
            PATIENCE,
            crate::http::request(self.addr, method, &path, headers, body),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no response within {PATIENCE:?}"))
    }

    /// `GET /socket.io/?{query}`; panics if the connection fails.
    pub async fn get(&self, query: &str) -> HttpResponse {
        self.request("GET", query, None)
            .await
            .unwrap_or_else(|e| panic!("GET ?{query}: {e}"))
    }

    /// `POST /socket.io/?{query}` with a text body; panics if the connection fails.
    pub async fn post(&self, query: &str, body: &str) -> HttpResponse {
        self.request("POST", query, Some(body.as_bytes()))
            .await
            .unwrap_or_else(|e| panic!("POST ?{query} {body:?}: {e}"))
    }

    /// `GET` on the session `sid` (a long-polling request).
    pub async fn poll(&self, sid: &str) -> HttpResponse {
        self.get(&format!("EIO=4&transport=polling&sid={sid}"))
            .await
    }

    /// `POST` on the session `sid`, expecting `200 ok` (the packets were accepted).
    pub async fn push(&self, sid: &str, body: &str) {
        let res = self
            .post(&format!("EIO=4&transport=polling&sid={sid}"), body)
            .await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "ok"),
            "POST {body:?} was not accepted"
        );
    }

    /// Opens an engine.io session over long-polling; returns its sid and the open
    /// packet's JSON, after checking that the response is exactly one OPEN packet.
    pub async fn polling_handshake(&self) -> (String, Value) {
        let started = Instant::now();
        let res = self.get("EIO=4&transport=polling").await;
        assert_eq!(res.status, 200, "handshake status; body {:?}", res.text());
        let text = res.text();
        let json = text
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("handshake is not an OPEN packet: {text:?}"));
        let open: Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("OPEN payload is not JSON ({e}): {json:?}"));
        let sid = open["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("OPEN without a string sid: {open}"))
            .to_owned();
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid.clone(), started);
        (sid, open)
    }

    /// The heartbeat rule of the polling session `sid` (see [`Heartbeat`]).
    pub fn heartbeat(&self, sid: &str) -> Heartbeat {
        let started = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .copied()
            .unwrap_or_else(|| panic!("no polling handshake recorded for sid {sid}"));
        Heartbeat { started }
    }

    /// The next poll's packets, without the PINGs that were due by then (each is
    /// answered with a PONG, as a client would; see [`Heartbeat`]); polls again when a
    /// poll brought nothing else. A premature PING stays in, so that the case fails.
    pub async fn poll_app(&self, sid: &str) -> Vec<String> {
        let hb = self.heartbeat(sid);
        loop {
            let res = self.poll(sid).await;
            assert_eq!(res.status, 200, "poll failed: {:?}", res.text());
            let text = res.text();
            let mut due = 0;
            let packets: Vec<String> = text
                .split('\u{1e}')
                .filter(|p| {
                    let skip = *p == "2" && hb.is_due();
                    due += usize::from(skip);
                    !skip
                })
                .map(str::to_owned)
                .collect();
            for _ in 0..due {
                self.push(sid, "3").await;
            }
            if !packets.is_empty() {
                return packets;
            }
        }
    }

    /// Opens a WebSocket to `/socket.io/?{query}` (the server's path).
    pub async fn ws(&self, query: &str) -> Ws {
        self.try_ws(query)
            .await
            .unwrap_or_else(|e| panic!("WebSocket ?{query}: {e}"))
    }

    /// Opens a WebSocket, returning the handshake error instead of panicking.
    pub async fn try_ws(&self, query: &str) -> Result<Ws, tungstenite::Error> {
        // A WebSocket that joins a polling session (upgrade) lives on that session's
        // heartbeat; a new one starts its own.
        let started = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sid="))
            .and_then(|sid| {
                self.sessions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(sid)
                    .copied()
            })
            .unwrap_or_else(Instant::now);
        let url = format!("ws://{}{}?{query}", self.addr, self.path);
        let (inner, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|_| panic!("WebSocket ?{query}: no handshake within {PATIENCE:?}"))?;
        Ok(Ws {
            inner,
            closed: false,
            heartbeat: Heartbeat { started },
        })
    }

    /// Opens an engine.io session over WebSocket; returns the socket and the open
    /// packet's JSON, after checking that the first frame is an OPEN packet.
    pub async fn ws_handshake(&self) -> (Ws, Value) {
        let mut ws = self.ws("EIO=4&transport=websocket").await;
        let text = ws.recv_text().await;
        let json = text
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first frame is not an OPEN packet: {text:?}"));
        let open: Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("OPEN payload is not JSON ({e}): {json:?}"));
        (ws, open)
    }

    /// WebSocket session connected to the main namespace: OPEN, `40`, the CONNECT
    /// reply and the `auth` event, each checked.
    pub async fn sio_connect(&self) -> Ws {
        let (mut ws, _) = self.ws_handshake().await;
        ws.send_text("40").await;
        let reply = ws.recv_text().await;
        assert_connect_reply(&reply, "");
        ws.expect_text(r#"42["auth",{}]"#).await;
        ws
    }
}

/// Checks a CONNECT reply (`40{"sid":"..."}`, with `/nsp,` after `40` for a namespace
/// other than `/`): the payload is an object whose only key is a string `sid`.
/// Returns the socket id.
pub fn assert_connect_reply(reply: &str, nsp_prefix: &str) -> String {
    let head = format!("40{nsp_prefix}");
    let json = reply
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("expected a CONNECT reply starting {head:?}, got {reply:?}"));
    let v: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("CONNECT payload is not JSON ({e}): {reply:?}"));
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("CONNECT payload is not an object: {reply:?}"));
    let keys: Vec<&String> = obj.keys().collect();
    assert_eq!(keys, ["sid"], "CONNECT payload keys in {reply:?}");
    obj["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("sid is not a string in {reply:?}"))
        .to_owned()
}

/// Checks an OPEN packet's JSON: exactly the five keys, with the contract's values.
pub fn assert_open_packet(open: &Value, upgrades: &[&str]) {
    let obj = open
        .as_object()
        .unwrap_or_else(|| panic!("OPEN payload is not an object: {open}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ],
        "OPEN keys in {open}"
    );
    assert!(
        open["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "sid in {open}"
    );
    assert_eq!(
        open["upgrades"],
        serde_json::json!(upgrades),
        "upgrades in {open}"
    );
    assert_eq!(
        open["pingInterval"],
        serde_json::json!(PING_INTERVAL.as_millis() as u64)
    );
    assert_eq!(
        open["pingTimeout"],
        serde_json::json!(PING_TIMEOUT.as_millis() as u64)
    );
    assert_eq!(open["maxPayload"], serde_json::json!(MAX_PAYLOAD));
}

/// Tells a heartbeat that was due from one that was not.
///
/// The cases check protocol sequences, not heartbeats; on a loaded machine a case can
/// take longer than a pingInterval and a PING lands in the middle of a sequence. The
/// harness then answers it and goes on, as a client would, but only if the PING could
/// be legitimate: a server may send its first PING no earlier than one pingInterval
/// after the handshake, which it received after `started` (taken before the request
/// was sent), so any PING seen earlier than that is premature and is left in the
/// sequence, where it fails the case. On an idle machine no case runs that long and
/// nothing is ever skipped.
#[derive(Clone, Copy, Debug)]
pub struct Heartbeat {
    started: Instant,
}

impl Heartbeat {
    /// Whether a PING seen now could have been sent on time.
    pub fn is_due(&self) -> bool {
        self.started.elapsed() >= PING_INTERVAL
    }
}

/// What a WebSocket delivered next.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// The connection is closed (close frame, EOF or reset).
    Closed,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Text(t) => write!(f, "Text({t:?})"),
            Frame::Binary(b) => write!(f, "Binary({b:?})"),
            Frame::Closed => f.write_str("Closed"),
        }
    }
}

/// A raw WebSocket client.
#[derive(Debug)]
pub struct Ws {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
    closed: bool,
    heartbeat: Heartbeat,
}

impl Ws {
    /// Sends a text frame. Sending on a connection the server already closed is not an
    /// error here: what the server does next is what the tests check.
    pub async fn send_text(&mut self, text: &str) {
        let _ = self.inner.send(Message::text(text)).await;
    }

    /// Sends a binary frame (same error policy as [`Ws::send_text`]).
    pub async fn send_binary(&mut self, data: &[u8]) {
        let _ = self.inner.send(Message::binary(data.to_vec())).await;
    }

    /// The next text or binary frame, or [`Frame::Closed`]; WebSocket-level ping/pong
    /// frames are skipped, engine.io packets are not. Panics after [`PATIENCE`].
    pub async fn recv(&mut self) -> Frame {
        if self.closed {
            return Frame::Closed;
        }
        let next = tokio::time::timeout(PATIENCE, async {
            loop {
                match self.inner.next().await {
                    Some(Ok(Message::Text(t))) => return Frame::Text(t.as_str().to_owned()),
                    Some(Ok(Message::Binary(b))) => return Frame::Binary(b.to_vec()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Frame::Closed,
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no WebSocket frame within {PATIENCE:?}"));
        if next == Frame::Closed {
            self.closed = true;
        }
        next
    }

    /// The next frame of the case's sequence: like [`Ws::recv`], except that a PING
    /// that was due is answered and skipped (see [`Heartbeat`]).
    pub async fn recv_app(&mut self) -> Frame {
        loop {
            match self.recv().await {
                Frame::Text(t) if t == "2" && self.heartbeat.is_due() => self.send_text("3").await,
                other => return other,
            }
        }
    }

    /// The next frame of the sequence ([`Ws::recv_app`]), which must be text.
    pub async fn recv_text(&mut self) -> String {
        match self.recv_app().await {
            Frame::Text(t) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Asserts the next frame of the sequence ([`Ws::recv_app`]) is exactly
    /// `expected` (text).
    pub async fn expect_text(&mut self, expected: &str) {
        assert_eq!(self.recv_app().await, Frame::Text(expected.to_owned()));
    }

    /// Asserts the next frame of the sequence ([`Ws::recv_app`]) is exactly
    /// `expected` (binary).
    pub async fn expect_binary(&mut self, expected: &[u8]) {
        assert_eq!(self.recv_app().await, Frame::Binary(expected.to_vec()));
    }

    /// Asserts the very next frame is an engine.io PING (`2`) and answers it.
    pub async fn expect_ping(&mut self) {
        assert_eq!(
            self.recv().await,
            Frame::Text("2".into()),
            "expected a PING"
        );
        self.send_text("3").await;
    }

    /// Asserts the server closes the connection. engine.io PINGs on the way are
    /// allowed (and not answered), and so is one engine.io CLOSE packet (`1`) right
    /// before the transport closes; any other frame fails the test. Returns how many
    /// PINGs came first.
    pub async fn expect_close(&mut self) -> usize {
        self.wait_close(false).await
    }

    /// Like [`Ws::expect_close`] but answers each PING, so that the close cannot be a
    /// ping timeout. Returns how many PINGs were answered.
    pub async fn expect_close_answering_pings(&mut self) -> usize {
        self.wait_close(true).await
    }

    async fn wait_close(&mut self, answer_pings: bool) -> usize {
        // One deadline for the whole wait: a server that keeps pinging and never
        // closes must fail the test, not keep it alive forever.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut pings = 0;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("the server did not close the connection within {PATIENCE:?}")
                });
            match frame {
                Frame::Closed => return pings,
                Frame::Text(t) if t == "2" => {
                    pings += 1;
                    if answer_pings {
                        self.send_text("3").await;
                    }
                }
                Frame::Text(t) if t == "1" => {
                    let after = self.recv().await;
                    assert_eq!(after, Frame::Closed, "frame after an engine.io CLOSE");
                    return pings;
                }
                other => {
                    panic!("expected the server to close the connection, got {other:?}")
                }
            }
        }
    }

    /// Closes our side.
    pub async fn close(mut self) {
        let _ = self.inner.close(None).await;
    }
}

/// A socket.io placeholder object for attachment `num`.
pub fn placeholder(num: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{num}}}"#)
}
