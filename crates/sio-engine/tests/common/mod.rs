//! Shared set-up of sio-engine's integration tests: an echo [`Handler`] that records every
//! session's opening and close, an engine on its own listener (127.0.0.1, port 0), a raw
//! HTTP/1.1 client and a WebSocket client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use sio_engine::listen::ListenHandle;
use sio_engine::{
    CloseReason, Engine, EngineConfig, EngineConfigBuilder, Frame, Handler, Message, Session, Sid,
};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long to wait for something that should happen before a test gives up: a guard
/// against hanging forever on a loaded 2-core machine, not a speed requirement.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

/// A ping interval / timeout long enough never to fire during a test that is not about
/// heartbeats.
pub(crate) const LONG: Duration = Duration::from_secs(30);

/// engine.io's ASCII record separator between polling packets.
pub(crate) const SEP: char = '\u{1e}';

/// What the handler saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Open(Sid, Instant),
    Close(Sid, CloseReason, Instant),
}

pub(crate) type OpenHook = Arc<dyn Fn(&Arc<Session<Recorder>>) + Send + Sync>;

/// An echo handler (text comes back as text, binary as binary, as `examples/echo.rs`)
/// that records `on_open` and `on_close` with the time they ran, and takes messages only
/// while its [`Gate`] is open (its `poll_ready`).
pub(crate) struct Recorder {
    log: watch::Sender<Vec<Event>>,
    on_open: Option<OpenHook>,
    pub(crate) gate: Gate,
}

/// Whether the [`Recorder`] takes messages (open by default): the handler's back-pressure.
#[derive(Default)]
pub(crate) struct Gate {
    shut: AtomicBool,
    waker: AtomicWaker,
}

impl Gate {
    /// Stops taking messages.
    pub(crate) fn shut(&self) {
        self.shut.store(true, Ordering::SeqCst);
    }

    /// Takes messages again, waking the transport that waits.
    pub(crate) fn open(&self) {
        self.shut.store(false, Ordering::SeqCst);
        self.waker.wake();
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.shut.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.shut.load(Ordering::SeqCst) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl Recorder {
    pub(crate) fn new(on_open: Option<OpenHook>) -> Recorder {
        Recorder {
            log: watch::Sender::new(Vec::new()),
            on_open,
            gate: Gate::default(),
        }
    }

    fn record(&self, e: Event) {
        self.log.send_modify(|log| log.push(e));
    }
}

impl Handler for Recorder {
    type Data = ();

    fn on_open(&self, session: &Arc<Session<Self>>) {
        if let Some(hook) = &self.on_open {
            hook(session);
        }
        self.record(Event::Open(session.id(), Instant::now()));
    }

    fn on_message(&self, session: &Arc<Session<Self>>, msg: Message<'_>) {
        let _ = session.send(Frame::from(msg));
    }

    fn on_close(&self, session: &Arc<Session<Self>>, reason: CloseReason) {
        self.record(Event::Close(session.id(), reason, Instant::now()));
    }

    fn poll_ready(&self, _session: &Arc<Session<Self>>, cx: &mut Context<'_>) -> Poll<()> {
        self.gate.poll(cx)
    }
}

/// The builder every test starts from: the default options with heartbeats that do not
/// fire during the test (each test sets what it is about).
pub(crate) fn config() -> EngineConfigBuilder {
    EngineConfig::builder()
        .ping_interval(LONG)
        .ping_timeout(LONG)
}

/// An engine of a [`Recorder`] on its own listener.
pub(crate) struct TestServer {
    pub(crate) engine: Engine<Recorder>,
    pub(crate) addr: SocketAddr,
    listener: Option<ListenHandle>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            l.shutdown();
        }
    }
}

impl TestServer {
    /// An engine with these options, served by `sio_engine::listen::listen`.
    pub(crate) async fn start(config: EngineConfigBuilder) -> TestServer {
        TestServer::start_with(config, None).await
    }

    /// [`TestServer::start`] with a hook run at the start of every `on_open`.
    pub(crate) async fn start_with(
        config: EngineConfigBuilder,
        on_open: Option<OpenHook>,
    ) -> TestServer {
        let engine = Engine::new(Recorder::new(on_open), config.build());
        let listener = sio_engine::listen::listen(engine.service(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        TestServer {
            engine,
            addr: listener.local_addr(),
            listener: Some(listener),
        }
    }

    /// A server for an engine served by someone else (axum) at `addr`.
    pub(crate) fn external(engine: Engine<Recorder>, addr: SocketAddr) -> TestServer {
        TestServer {
            engine,
            addr,
            listener: None,
        }
    }

    /// The engine's path with `query`.
    pub(crate) fn target(&self, query: &str) -> String {
        format!("{}?{query}", self.engine.config().path)
    }

    /// One HTTP request to the engine's path.
    pub(crate) async fn request(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        http(self.addr, method, &self.target(query), headers, body).await
    }

    /// `GET ?{query}`.
    pub(crate) async fn get_query(&self, query: &str) -> Resp {
        self.request("GET", query, &[], None).await
    }

    /// A polling GET on session `sid`.
    pub(crate) async fn get(&self, sid: &str) -> Resp {
        self.get_query(&poll_query(sid)).await
    }

    /// A polling GET on session `sid` with extra headers.
    pub(crate) async fn get_with(&self, sid: &str, headers: &[(&str, &str)]) -> Resp {
        self.request("GET", &poll_query(sid), headers, None).await
    }

    /// A polling POST of `body` on session `sid`.
    pub(crate) async fn post(&self, sid: &str, body: &[u8]) -> Resp {
        self.request("POST", &poll_query(sid), &[], Some(body))
            .await
    }

    /// A polling POST that must be accepted (`200 ok`).
    pub(crate) async fn push(&self, sid: &str, body: &str) {
        let res = self.post(sid, body.as_bytes()).await;
        assert_eq!(
            (res.status, res.text().as_str()),
            (200, "ok"),
            "POST {body:?} on {sid}"
        );
    }

    /// Opens a session over polling: its sid, the OPEN packet's JSON and the response.
    pub(crate) async fn handshake(&self) -> (String, Value, Resp) {
        self.handshake_with(&[]).await
    }

    /// [`TestServer::handshake`] with extra request headers.
    pub(crate) async fn handshake_with(&self, headers: &[(&str, &str)]) -> (String, Value, Resp) {
        let res = self
            .request("GET", "EIO=4&transport=polling", headers, None)
            .await;
        assert_eq!(res.status, 200, "handshake: {:?}", res.text());
        let open = open_packet(&res.text());
        let sid = open["sid"].as_str().unwrap().to_owned();
        (sid, open, res)
    }

    /// The open session `sid`.
    pub(crate) fn session(&self, sid: &str) -> Arc<Session<Recorder>> {
        self.engine
            .session(&sid.parse().unwrap())
            .unwrap_or_else(|| panic!("session {sid} is not open"))
    }

    /// The WebSocket URL of `query`.
    pub(crate) fn ws_url(&self, query: &str) -> String {
        format!("ws://{}{}", self.addr, self.target(query))
    }

    /// Opens a WebSocket (`query` without the path), returning the handshake's error.
    pub(crate) async fn try_ws(
        &self,
        query: &str,
    ) -> Result<(Ws, http::Response<Option<Vec<u8>>>), tungstenite::Error> {
        let url = self.ws_url(query);
        tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("no WebSocket handshake answer")
    }

    /// Opens a WebSocket; panics if the handshake fails.
    pub(crate) async fn ws(&self, query: &str) -> Ws {
        self.try_ws(query).await.unwrap().0
    }

    /// Opens a session over WebSocket: the socket and the OPEN packet's JSON.
    pub(crate) async fn ws_handshake(&self) -> (Ws, Value) {
        let mut ws = self.ws("EIO=4&transport=websocket").await;
        let open = open_packet(&ws_text(&mut ws).await);
        (ws, open)
    }

    fn log(&self) -> watch::Receiver<Vec<Event>> {
        self.engine.handler().log.subscribe()
    }

    /// Every event recorded so far.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.log().borrow().clone()
    }

    /// Waits for the close of session `sid`: its reason and when `on_close` ran.
    pub(crate) async fn closed(&self, sid: &str) -> (CloseReason, Instant) {
        let sid: Sid = sid.parse().unwrap();
        let find = |log: &[Event]| {
            log.iter().find_map(|e| match e {
                Event::Close(s, r, at) if *s == sid => Some((*r, *at)),
                _ => None,
            })
        };
        let mut rx = self.log();
        tokio::time::timeout(PATIENCE, rx.wait_for(|log| find(log).is_some()))
            .await
            .unwrap_or_else(|_| panic!("session {sid} did not close within {PATIENCE:?}"))
            .map(|log| find(&log).unwrap())
            .unwrap()
    }

    /// The close of `sid` if it already happened.
    pub(crate) fn close_of(&self, sid: &str) -> Option<CloseReason> {
        let sid: Sid = sid.parse().unwrap();
        self.events().into_iter().find_map(|e| match e {
            Event::Close(s, r, _) if s == sid => Some(r),
            _ => None,
        })
    }

    /// Waits for the `n`th session to open (1-based): its sid.
    pub(crate) async fn opened(&self, n: usize) -> Sid {
        let nth = |log: &[Event]| {
            log.iter()
                .filter_map(|e| match e {
                    Event::Open(s, _) => Some(*s),
                    _ => None,
                })
                .nth(n - 1)
        };
        let mut rx = self.log();
        tokio::time::timeout(PATIENCE, rx.wait_for(|log| nth(log).is_some()))
            .await
            .unwrap_or_else(|_| panic!("session #{n} did not open within {PATIENCE:?}"))
            .map(|log| nth(&log).unwrap())
            .unwrap()
    }

    /// Asserts that `sid` is unknown now: a GET on it gets engine.io's 400 `Session ID unknown`.
    pub(crate) async fn assert_gone(&self, sid: &str) {
        let res = self.get(sid).await;
        assert_engine_error(&res, 400, 1, "Session ID unknown");
    }

    /// Asserts a polling session echoes: POST `4{text}`, the next GET is `4{text}`.
    pub(crate) async fn assert_polling_echo(&self, sid: &str, text: &str) {
        self.push(sid, &format!("4{text}")).await;
        let res = self.get(sid).await;
        assert_eq!(
            (res.status, res.text()),
            (200, format!("4{text}")),
            "echo on {sid}"
        );
    }
}

/// The query of a polling request on `sid`.
pub(crate) fn poll_query(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// The JSON of an OPEN packet (`0{...}`).
pub(crate) fn open_packet(text: &str) -> Value {
    let json = text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an OPEN packet: {text:?}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("OPEN is not JSON ({e}): {json:?}"))
}

/// Asserts an engine.io error answer: this status and exactly `{"code":..,"message":..}`.
pub(crate) fn assert_engine_error(res: &Resp, status: u16, code: u64, message: &str) {
    assert_eq!(res.status, status, "status of {:?}", res.text());
    let body: Value = serde_json::from_slice(&res.body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {:?}", res.text()));
    assert_eq!(
        body,
        serde_json::json!({ "code": code, "message": message }),
        "error body"
    );
}

// ---- HTTP ------------------------------------------------------------------------------

/// The workspace's raw HTTP/1.1 client (`sio_tests::http`).
pub(crate) use sio_tests::http::HttpResponse as Resp;

/// [`sio_tests::http::request`] that panics when no complete response comes in time (a
/// panicking server task drops the connection).
pub(crate) async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Resp {
    let what = format!("{method} {}", &target[..target.len().min(120)]);
    tokio::time::timeout(
        PATIENCE,
        sio_tests::http::request(addr, method, target, headers, body),
    )
    .await
    .unwrap_or_else(|_| panic!("{what}: no response within {PATIENCE:?}"))
    .unwrap_or_else(|e| panic!("{what}: {e}"))
}

// ---- WebSocket -------------------------------------------------------------------------

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a WebSocket delivered next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Got {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame, EOF or a reset.
    Closed,
}

/// The next text or binary frame (WebSocket pings and pongs skipped), or `Closed`.
pub(crate) async fn ws_next(ws: &mut Ws) -> Got {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(t))) => return Got::Text(t.as_str().to_owned()),
                Some(Ok(WsMessage::Binary(b))) => return Got::Binary(b.to_vec()),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => return Got::Closed,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no WebSocket frame within {PATIENCE:?}"))
}

/// The next frame, which must be text.
pub(crate) async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Got::Text(t) => t,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Sends a text frame; a connection the server closed is not an error here.
pub(crate) async fn ws_send(ws: &mut Ws, text: &str) {
    let _ = ws.send(WsMessage::text(text)).await;
}

/// Sends a binary frame (same policy as [`ws_send`]).
pub(crate) async fn ws_send_binary(ws: &mut Ws, data: &[u8]) {
    let _ = ws.send(WsMessage::binary(data.to_vec())).await;
}

/// Asserts a WebSocket session echoes `4{text}`.
pub(crate) async fn assert_ws_echo(ws: &mut Ws, text: &str) {
    ws_send(ws, &format!("4{text}")).await;
    assert_eq!(ws_next(ws).await, Got::Text(format!("4{text}")));
}

/// The status of a refused WebSocket handshake.
pub(crate) fn refused_status<T: std::fmt::Debug>(r: Result<T, tungstenite::Error>) -> u16 {
    match r {
        Err(tungstenite::Error::Http(res)) => res.status().as_u16(),
        other => panic!("expected the WebSocket handshake to be refused, got {other:?}"),
    }
}

/// The sid of an OPEN packet's JSON.
pub(crate) fn sid_of(open: &Value) -> String {
    open["sid"].as_str().unwrap().to_owned()
}
