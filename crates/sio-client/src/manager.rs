//! The manager: owns one engine.io connection, multiplexes namespaces over it and
//! reconnects with exponential backoff.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_protocol::engineio;
use sio_protocol::socketio::{Decoder, Frame};
use sio_types::{Packet, PacketData};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::config::{ClientConfig, Endpoint};
use crate::engine::{self, Engine, EngineEvent};
use crate::error::Error;
use crate::socket::{DisconnectReason, Socket, SocketInner, lock};

/// What sockets ask of the connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Connect this namespace (registering it if new).
    Connect(Arc<SocketInner>),
    /// Send a packet (sockets only send while connected; others are buffered again).
    Send(Packet),
    /// Send a volatile packet if its socket is still connected, else drop it.
    SendVolatile(Packet),
    /// Leave this namespace.
    Disconnect(String),
    /// Close everything and end the task.
    Close,
}

impl fmt::Debug for SocketInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketInner")
            .field("nsp", &self.nsp)
            .finish()
    }
}

/// Closes the connection when the last [`Manager`] and [`Socket`] handle is dropped.
#[derive(Debug)]
pub(crate) struct CloseGuard {
    cmd: mpsc::UnboundedSender<Cmd>,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        let _ = self.cmd.send(Cmd::Close);
    }
}

type Sockets = Arc<Mutex<HashMap<String, Arc<SocketInner>>>>;

/// One connection to a server, shared by the sockets of several namespaces.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, Manager};
///
/// let manager = Manager::new(ClientConfig::new("http://127.0.0.1:3000"))?;
/// let main = manager.socket("/");
/// let admin = manager.socket("/admin");
/// main.connect();
/// admin.connect(); // same engine.io connection
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    config: Arc<ClientConfig>,
    cmd: mpsc::UnboundedSender<Cmd>,
    sockets: Sockets,
    guard: Arc<CloseGuard>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.config.url)
            .finish()
    }
}

impl Manager {
    /// Starts the connection task. Nothing is opened until a socket connects. Must be called
    /// inside a tokio runtime.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let endpoint = config.endpoint()?;
        Ok(Self::start(config, endpoint))
    }

    /// [`Manager::new`] with the endpoint already derived, so that a caller that needed it
    /// first does not parse the URL and build the TLS roots a second time.
    pub(crate) fn start(config: ClientConfig, endpoint: Endpoint) -> Self {
        let config = Arc::new(config);
        let (tx, rx) = mpsc::unbounded_channel();
        let sockets: Sockets = Arc::default();
        let task = Task {
            config: config.clone(),
            endpoint,
            cmd_rx: rx,
            sockets: sockets.clone(),
        };
        let span = tracing::debug_span!("sio_client", url = %config.url);
        tokio::spawn(task.run().instrument(span));
        Manager {
            config,
            guard: Arc::new(CloseGuard { cmd: tx.clone() }),
            cmd: tx,
            sockets,
        }
    }

    /// The socket of namespace `nsp` (the same one for repeated calls), not yet connected.
    pub fn socket(&self, nsp: &str) -> Socket {
        let nsp = normalize_nsp(nsp);
        let inner = lock(&self.sockets)
            .entry(nsp.clone())
            .or_insert_with(|| {
                SocketInner::new(
                    nsp,
                    self.cmd.clone(),
                    self.config.clone(),
                    self.config.auth.clone(),
                )
            })
            .clone();
        Socket {
            inner,
            _guard: self.guard.clone(),
        }
    }

    /// Disconnects every namespace and closes the connection for good.
    pub fn close(&self) {
        let _ = self.cmd.send(Cmd::Close);
    }

    /// The options in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}

fn normalize_nsp(nsp: &str) -> String {
    if nsp.is_empty() {
        "/".into()
    } else if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}

impl ClientConfig {
    /// Creates a [`Manager`], connects the namespace of the URL (`/` when it has no path) and
    /// waits until the server accepts it, as socket.io-client's `io(url)` does.
    ///
    /// Fails with the first connection error; the returned socket reconnects as configured.
    pub async fn connect(self) -> Result<Socket, Error> {
        let endpoint = self.endpoint()?;
        let nsp = endpoint.nsp.clone();
        let timeout = self.connect_timeout;
        let manager = Manager::start(self, endpoint);
        let socket = manager.socket(&nsp);
        let (tx, mut rx) = mpsc::unbounded_channel::<Result<(), Error>>();
        let ok_tx = tx.clone();
        let c = socket.on_connect(move || {
            let _ = ok_tx.send(Ok(()));
        });
        let e = socket.on_error(move |err| {
            let _ = tx.send(Err(err.clone()));
        });
        socket.connect();
        let result = match tokio::time::timeout(timeout, rx.recv()).await {
            Ok(Some(r)) => r,
            Ok(None) => Err(Error::Closed),
            Err(_) => Err(Error::Transport(format!(
                "not connected after {} ms",
                timeout.as_millis()
            ))),
        };
        socket.off(c);
        socket.off(e);
        if result.is_err() {
            manager.close();
        }
        result.map(|()| socket)
    }
}

/// Reconnection delays: exponential with jitter, as socket.io-client computes them.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    jitter: f64,
}

impl Backoff {
    /// The delay before reconnection attempt `attempt` (1 for the first).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let base = self.min.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(62) as i32);
        let mut ms = base;
        if self.jitter > 0.0 {
            let r = random_unit();
            let deviation = r * self.jitter * base;
            // Half the draws shorten the delay, half lengthen it.
            ms = if random_unit() < 0.5 {
                base - deviation
            } else {
                base + deviation
            };
        }
        // NaN or infinite (absurd settings) fall back to the largest delay instead of panicking.
        Duration::try_from_secs_f64(ms.clamp(0.0, self.max.as_secs_f64())).unwrap_or(self.max)
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// How a session ended.
enum SessionEnd {
    /// Closed for good.
    Closed,
    /// No socket wants a connection any more.
    Idle,
    /// Lost: reconnect.
    Lost,
}

struct Task {
    config: Arc<ClientConfig>,
    endpoint: Endpoint,
    cmd_rx: mpsc::UnboundedReceiver<Cmd>,
    sockets: Sockets,
}

impl Task {
    fn all(&self) -> Vec<Arc<SocketInner>> {
        lock(&self.sockets).values().cloned().collect()
    }

    fn active(&self) -> Vec<Arc<SocketInner>> {
        self.all()
            .into_iter()
            .filter(|s| lock(&s.state).active)
            .collect()
    }

    fn get(&self, nsp: &str) -> Option<Arc<SocketInner>> {
        lock(&self.sockets).get(nsp).cloned()
    }

    fn register(&self, s: Arc<SocketInner>) {
        lock(&self.sockets).entry(s.nsp.clone()).or_insert(s);
    }

    /// Handles a command while no session is open. Returns `false` to end the task.
    fn offline_cmd(&self, cmd: Option<Cmd>) -> bool {
        match cmd {
            None | Some(Cmd::Close) => {
                for s in self.all() {
                    s.set_disconnected(true);
                }
                false
            }
            Some(Cmd::Connect(s)) => {
                self.register(s);
                true
            }
            Some(Cmd::Send(p)) => {
                // Sent by a socket that saw itself connected just before the loss.
                if let Some(s) = self.get(&p.nsp) {
                    s.rebuffer(p);
                }
                true
            }
            Some(Cmd::SendVolatile(p)) => {
                self.drop_volatile(p);
                true
            }
            Some(Cmd::Disconnect(nsp)) => {
                if let Some(s) = self.get(&nsp) {
                    s.set_disconnected(true);
                }
                true
            }
        }
    }

    async fn run(mut self) {
        let backoff = Backoff {
            min: self.config.reconnection_delay,
            max: self.config.reconnection_delay_max,
            jitter: self.config.randomization_factor,
        };
        let mut attempt: u32 = 0;
        loop {
            if self.active().is_empty() {
                attempt = 0;
                let cmd = self.cmd_rx.recv().await;
                if !self.offline_cmd(cmd) {
                    return;
                }
                continue;
            }
            let opened = {
                let open = tokio::time::timeout(
                    self.config.connect_timeout,
                    engine::open(&self.config, &self.endpoint),
                );
                tokio::pin!(open);
                loop {
                    tokio::select! {
                        r = &mut open => break r,
                        cmd = self.cmd_rx.recv() => if !self.offline_cmd(cmd) { return },
                    }
                }
            };
            let opened = match opened {
                Ok(r) => r,
                Err(_) => Err(Error::Transport(format!(
                    "engine.io handshake timed out after {} ms",
                    self.config.connect_timeout.as_millis()
                ))),
            };
            match opened {
                Ok(engine) => {
                    attempt = 0;
                    match self.session(engine).await {
                        SessionEnd::Closed => return,
                        SessionEnd::Idle => continue,
                        SessionEnd::Lost => {}
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, url = %self.config.url, "connection attempt failed");
                    for s in self.active() {
                        s.emit_error(&e);
                    }
                }
            }
            if !self.config.reconnection {
                for s in self.all() {
                    s.set_disconnected(true);
                }
                continue;
            }
            attempt = attempt.saturating_add(1);
            if let Some(max) = self.config.reconnection_attempts
                && attempt > max
            {
                let e = Error::Transport(format!("reconnection failed after {max} attempts"));
                for s in self.active() {
                    s.set_disconnected(true);
                    s.emit_error(&e);
                }
                continue;
            }
            let delay = backoff.delay(attempt);
            tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "reconnecting");
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    cmd = self.cmd_rx.recv() => if !self.offline_cmd(cmd) { return },
                }
            }
        }
    }

    fn write(&self, engine: &Engine, packet: Packet) {
        let frames = match self.config.parser.encode(&packet) {
            Ok(f) => f,
            Err(e) => {
                let err = Error::Protocol(format!("cannot encode packet for {}: {e}", packet.nsp));
                if let Some(s) = self.get(&packet.nsp) {
                    s.emit_error(&err);
                }
                return;
            }
        };
        if let (PacketData::Event { event, args, ack }, Some(s)) =
            (&packet.data, self.get(&packet.nsp))
        {
            if let Some(id) = ack {
                s.mark_sent(*id);
            }
            s.notify_outgoing(event, args);
        }
        for f in frames {
            let p = match f {
                Frame::Text(t) => engineio::Packet::Message(t),
                Frame::Binary(b) => engineio::Packet::Binary(b),
            };
            let _ = engine.tx.send(p);
        }
    }

    /// Drops a volatile packet whose socket is not connected, failing the ack it waits for.
    fn drop_volatile(&self, packet: Packet) {
        tracing::debug!(nsp = %packet.nsp, "volatile packet dropped: not connected");
        if let (PacketData::Event { ack: Some(id), .. }, Some(s)) =
            (&packet.data, self.get(&packet.nsp))
        {
            s.drop_ack(*id);
        }
    }

    fn lost(&self, reason: DisconnectReason, error: Option<Error>) -> SessionEnd {
        for s in self.all() {
            if let Some(e) = &error
                && lock(&s.state).active
            {
                s.emit_error(e);
            }
            if s.set_disconnected(false) {
                s.emit_disconnect(&reason);
            }
        }
        SessionEnd::Lost
    }

    async fn close_engine(mut engine: Engine) {
        engine.close();
        // Give the CLOSE packet a moment to leave before the session task is dropped.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(ev) = engine.rx.recv().await {
                if matches!(ev, EngineEvent::Closed(_)) {
                    break;
                }
            }
        })
        .await;
    }

    async fn session(&mut self, mut engine: Engine) -> SessionEnd {
        let mut decoder: Decoder = self.config.parser.decoder(self.config.limits);
        tracing::debug!(sid = %engine.open.sid, "session open, connecting namespaces");
        let active = self.active();
        if active.is_empty() {
            // Every socket left while the connection was opening.
            Self::close_engine(engine).await;
            return SessionEnd::Idle;
        }
        for s in active {
            self.send_connect(&engine, &s);
        }
        loop {
            tokio::select! {
                ev = engine.rx.recv() => {
                    let decoded = match ev {
                        Some(EngineEvent::Text(t)) => decoder.decode_text(&t),
                        Some(EngineEvent::Binary(b)) => decoder.decode_binary(b),
                        Some(EngineEvent::Closed(None)) | None => {
                            return self.lost(DisconnectReason::TransportClose, None);
                        }
                        Some(EngineEvent::Closed(Some(e))) => {
                            let reason = match &e {
                                Error::PingTimeout(_) => DisconnectReason::PingTimeout,
                                Error::Protocol(_) | Error::PayloadTooLarge { .. } => {
                                    DisconnectReason::ParseError(e.to_string())
                                }
                                Error::Transport(d) if d.contains("closed") => DisconnectReason::TransportClose,
                                other => DisconnectReason::TransportError(other.to_string()),
                            };
                            return self.lost(reason, Some(e));
                        }
                    };
                    match decoded {
                        Ok(Some(packet)) => {
                            // A refused or server-closed namespace may leave nothing to serve.
                            if self.dispatch(&engine, packet) && self.active().is_empty() {
                                Self::close_engine(engine).await;
                                return SessionEnd::Idle;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            let err = Error::Protocol(format!("socket.io packet: {e}"));
                            tracing::warn!(error = %err, "closing the connection");
                            Self::close_engine(engine).await;
                            return self.lost(DisconnectReason::ParseError(err.to_string()), Some(err));
                        }
                    }
                }
                cmd = self.cmd_rx.recv() => match cmd {
                    None | Some(Cmd::Close) => {
                        for s in self.all() {
                            if s.set_disconnected(true) {
                                self.write(&engine, Packet::disconnect(s.nsp.clone()));
                                s.emit_disconnect(&DisconnectReason::IoClientDisconnect);
                            }
                        }
                        Self::close_engine(engine).await;
                        return SessionEnd::Closed;
                    }
                    Some(Cmd::Connect(s)) => {
                        self.register(s.clone());
                        let s = self.get(&s.nsp).unwrap_or(s);
                        self.send_connect(&engine, &s);
                    }
                    Some(Cmd::Send(p)) => {
                        let connected = self.get(&p.nsp).is_some_and(|s| lock(&s.state).connected);
                        if connected || matches!(p.data, PacketData::Ack { .. }) {
                            self.write(&engine, p);
                        } else if let Some(s) = self.get(&p.nsp) {
                            s.rebuffer(p);
                        }
                    }
                    Some(Cmd::SendVolatile(p)) => {
                        if self.get(&p.nsp).is_some_and(|s| lock(&s.state).connected) {
                            self.write(&engine, p);
                        } else {
                            self.drop_volatile(p);
                        }
                    }
                    Some(Cmd::Disconnect(nsp)) => {
                        if let Some(s) = self.get(&nsp)
                            && s.set_disconnected(true)
                        {
                            self.write(&engine, Packet::disconnect(nsp));
                            s.emit_disconnect(&DisconnectReason::IoClientDisconnect);
                        }
                        if self.active().is_empty() {
                            Self::close_engine(engine).await;
                            return SessionEnd::Idle;
                        }
                    }
                },
            }
        }
    }

    /// Sends the CONNECT of `s` unless it is connected or waiting for an answer already.
    fn send_connect(&self, engine: &Engine, s: &SocketInner) {
        {
            let mut st = lock(&s.state);
            if st.connected || st.connecting {
                return;
            }
            st.connecting = true;
        }
        self.write(engine, s.connect_packet());
    }

    /// Routes a packet to its socket. Returns whether a socket left (then the connection
    /// may have nothing left to serve).
    fn dispatch(&self, engine: &Engine, packet: Packet) -> bool {
        let Some(s) = self.get(&packet.nsp) else {
            tracing::debug!(nsp = %packet.nsp, "packet for a namespace without socket ignored");
            return false;
        };
        match packet.data {
            PacketData::Connect(payload) => {
                if !lock(&s.state).active {
                    // Disconnected meanwhile: leave again.
                    lock(&s.state).connecting = false;
                    self.write(engine, Packet::disconnect(s.nsp.clone()));
                    return true;
                }
                let buffered = s.on_connected(payload.as_ref());
                for p in buffered {
                    self.write(engine, p);
                }
                s.emit_connect();
                false
            }
            PacketData::ConnectError(err) => {
                s.set_disconnected(true);
                s.emit_error(&Error::ConnectRefused {
                    nsp: s.nsp.clone(),
                    message: err.message,
                });
                true
            }
            PacketData::Disconnect => {
                if s.set_disconnected(true) {
                    s.emit_disconnect(&DisconnectReason::IoServerDisconnect);
                }
                true
            }
            PacketData::Event { event, args, ack } => {
                if lock(&s.state).connected {
                    s.dispatch_event(event, args, ack);
                } else {
                    tracing::debug!(nsp = %s.nsp, event = %event, "event before CONNECT ignored");
                }
                false
            }
            PacketData::Ack { id, args } => {
                s.answer_ack(id, args);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(5),
            jitter: 0.0,
        };
        let got: Vec<u64> = (1..=5).map(|a| b.delay(a).as_millis() as u64).collect();
        assert_eq!(got, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
        let nan = Backoff {
            jitter: f64::NAN,
            ..b
        };
        assert_eq!(
            nan.delay(3),
            Duration::from_secs(4),
            "a NaN jitter is ignored"
        );
        let j = Backoff { jitter: 0.5, ..nan };
        for _ in 0..100 {
            let d = j.delay(2).as_millis();
            assert!((1000..=3000).contains(&d), "{d}");
        }
    }

    #[test]
    fn namespaces_are_normalized() {
        assert_eq!(normalize_nsp(""), "/");
        assert_eq!(normalize_nsp("chat"), "/chat");
        assert_eq!(normalize_nsp("/a"), "/a");
    }
}
