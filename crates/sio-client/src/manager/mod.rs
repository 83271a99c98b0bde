//! The manager: owns one engine.io connection, multiplexes namespaces over it and
//! reconnects with exponential backoff.

mod backoff;
mod events;

pub use events::ManagerEvent;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_protocol::engineio;
use sio_protocol::socketio::{Decoder, Frame};
use sio_types::{Packet, PacketData};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::config::{ClientConfig, Endpoint, TransportKind};
use crate::engine::{self, Engine, EngineEvent, Outgoing};
use crate::error::Error;
use crate::socket::{DisconnectReason, HandlerId, Socket, SocketInner, lock};
use backoff::Backoff;
use events::Shared;

/// Resolves once the packets queued before a [`Socket::disconnect`],
/// [`Manager::close`] or helper shutdown have been written to the connection (or there is
/// no connection left to write them to). The disconnect happens whether or not it is
/// awaited.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::Value;
///
/// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
/// socket.emit("bye", vec![Value::from("see you")])?;
/// socket.disconnect().await; // "bye" and the DISCONNECT packet are on the wire
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Flushed(Option<oneshot::Receiver<()>>);

impl Flushed {
    /// A request for a flush, and the future that waits for it.
    pub(crate) fn pair() -> (oneshot::Sender<()>, Flushed) {
        let (tx, rx) = oneshot::channel();
        (tx, Flushed(Some(rx)))
    }

    /// Already resolved: nothing was queued.
    pub(crate) fn done() -> Flushed {
        Flushed(None)
    }
}

impl std::future::Future for Flushed {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        match self.0.as_mut() {
            // A dropped sender means the connection ended: nothing more can be written.
            Some(rx) => std::pin::Pin::new(rx).poll(cx).map(|_| ()),
            None => std::task::Poll::Ready(()),
        }
    }
}

/// Answers a flush request once everything queued before it was written.
type Done = Option<oneshot::Sender<()>>;

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
    Disconnect(String, Done),
    /// Close everything and end the task.
    Close(Done),
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
        let _ = self.cmd.send(Cmd::Close(None));
    }
}

type Sockets = Arc<Mutex<HashMap<String, Arc<SocketInner>>>>;

/// One connection to a server, shared by the sockets of several namespaces.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, Manager};
///
/// let manager = Manager::new(ClientConfig::builder("http://127.0.0.1:3000").build())?;
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
    shared: Arc<Shared>,
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
        let shared: Arc<Shared> = Arc::default();
        let task = Task {
            config: config.clone(),
            endpoint,
            cmd_rx: rx,
            on_exit: Vec::new(),
            sockets: sockets.clone(),
            shared: shared.clone(),
        };
        let span = tracing::debug_span!("sio_client", url = %config.url);
        tokio::spawn(task.run().instrument(span));
        Manager {
            config,
            guard: Arc::new(CloseGuard { cmd: tx.clone() }),
            cmd: tx,
            sockets,
            shared,
        }
    }

    /// The socket of namespace `nsp` (the same one for repeated calls). With
    /// [`ClientConfig::auto_connect`] (the default) it starts connecting, as socket.io-client's
    /// `manager.socket(nsp)` does; handlers registered right after, before any `.await`,
    /// see the connection.
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
        let socket = Socket {
            inner,
            _guard: self.guard.clone(),
        };
        if self.config.auto_connect {
            socket.connect();
        }
        socket
    }

    /// Disconnects every namespace (their sockets see [`DisconnectReason::ForcedClose`], as
    /// with socket.io-client's `manager._close()`) and closes the connection for good.
    /// Await the result to know the packets queued before were written and the connection
    /// closed.
    pub fn close(&self) -> Flushed {
        let (done, flushed) = Flushed::pair();
        if self.cmd.send(Cmd::Close(Some(done))).is_err() {
            return Flushed::done();
        }
        flushed
    }

    /// Registers a listener for the manager's events (socket.io-client's `manager.on(...)`
    /// for each of its events, and `manager.engine.on("upgrade")`). Listeners run on the
    /// connection's task: keep them short. A panicking listener is caught and logged.
    pub fn on_event<F>(&self, listener: F) -> HandlerId
    where
        F: Fn(&ManagerEvent) + Send + Sync + 'static,
    {
        self.shared.add(Arc::new(listener))
    }

    /// Removes a listener added with [`on_event`](Self::on_event). Returns whether it was
    /// registered.
    pub fn off_event(&self, id: HandlerId) -> bool {
        self.shared.remove(id)
    }

    /// The transport of the open session (socket.io-client's
    /// `manager.engine.transport.name`), `None` while there is none.
    pub fn transport(&self) -> Option<TransportKind> {
        self.shared.transport()
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
            drop(manager.close());
        }
        result.map(|()| socket)
    }
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
    /// [`Manager::close`] calls waiting for the task to end. Declared after `cmd_rx`, so
    /// they resolve once emitting fails with [`Error::Closed`].
    on_exit: Vec<oneshot::Sender<()>>,
    sockets: Sockets,
    shared: Arc<Shared>,
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
    fn offline_cmd(&mut self, cmd: Option<Cmd>) -> bool {
        match cmd {
            None => {
                self.deactivate_all();
                false
            }
            Some(Cmd::Close(done)) => {
                self.deactivate_all();
                self.on_exit.extend(done);
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
            Some(Cmd::Disconnect(nsp, _)) => {
                if let Some(s) = self.get(&nsp) {
                    s.set_disconnected(true);
                }
                true
            }
        }
    }

    /// Leaves every socket disconnected for good.
    fn deactivate_all(&self) {
        for s in self.all() {
            s.set_disconnected(true);
        }
    }

    async fn run(mut self) {
        let backoff = Backoff {
            min: self.config.reconnection_delay,
            max: self.config.reconnection_delay_max,
            jitter: self.config.randomization_factor,
        };
        // The reconnection attempt under way; 0 while not reconnecting.
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
            if attempt > 0 {
                self.shared.emit(ManagerEvent::ReconnectAttempt(attempt));
            }
            let opened = {
                // Owned, so that commands handled meanwhile may change the task.
                let (config, endpoint) = (self.config.clone(), self.endpoint.clone());
                let open =
                    tokio::time::timeout(config.connect_timeout, engine::open(&config, &endpoint));
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
                    self.shared.set_transport(Some(engine.transport));
                    self.shared.emit(ManagerEvent::Open);
                    if attempt > 0 {
                        self.shared.emit(ManagerEvent::Reconnect(attempt));
                    }
                    attempt = 0;
                    let end = self.session(engine).await;
                    self.shared.set_transport(None);
                    match end {
                        SessionEnd::Closed => return,
                        SessionEnd::Idle => continue,
                        SessionEnd::Lost => {}
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, url = %self.config.url, "connection attempt failed");
                    self.shared.emit(ManagerEvent::Error(e.clone()));
                    for s in self.active() {
                        s.emit_error(&e);
                    }
                    if attempt > 0 {
                        // socket.io-client decides to give up before it reports the attempt.
                        let exhausted = self
                            .config
                            .reconnection_attempts
                            .is_some_and(|max| attempt >= max);
                        if exhausted {
                            self.shared.emit(ManagerEvent::ReconnectFailed);
                            self.deactivate_all();
                        }
                        self.shared.emit(ManagerEvent::ReconnectError(e));
                        if exhausted {
                            continue;
                        }
                    }
                }
            }
            if !self.config.reconnection {
                self.deactivate_all();
                continue;
            }
            if attempt == 0 && self.config.reconnection_attempts == Some(0) {
                self.shared.emit(ManagerEvent::ReconnectFailed);
                self.deactivate_all();
                continue;
            }
            attempt = attempt.saturating_add(1);
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
            engine.send(p);
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

    /// The session is gone: the manager's `close`, then each socket's `disconnect`, as in
    /// socket.io-client. The error behind the reason also reaches the sockets' error
    /// handlers, which are the only ones the helper listens to.
    fn lost(&self, reason: DisconnectReason) -> SessionEnd {
        if let DisconnectReason::TransportError(e) = &reason {
            self.shared.emit(ManagerEvent::Error(e.clone()));
        }
        self.shared.emit(ManagerEvent::Close(reason.clone()));
        for s in self.all() {
            if let Some(e) = reason.description()
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

    /// Closes the session on purpose: `close` with `forced close`, as socket.io-client's
    /// manager reports it.
    async fn close_engine(&self, engine: Engine) {
        self.announce_close();
        Self::end_engine(engine).await;
    }

    /// The manager's `close` for a connection closed on purpose. socket.io-client emits it
    /// before the event of the socket whose leaving caused it.
    fn announce_close(&self) {
        let reason = DisconnectReason::ForcedClose;
        self.shared.emit(ManagerEvent::Close(reason));
    }

    /// After a socket left: whether no socket is left to serve, in which case the
    /// connection closes and its `close` is announced now.
    fn left_idle(&self) -> bool {
        let idle = self.active().is_empty();
        if idle {
            self.announce_close();
        }
        idle
    }

    async fn end_engine(mut engine: Engine) {
        engine.close();
        // Give what is queued and the CLOSE a moment to leave before the session task is
        // dropped; a WebSocket then waits up to 1 s more for the server to answer its close.
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
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
            self.close_engine(engine).await;
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
                        Some(EngineEvent::Upgrade) => {
                            self.shared.set_transport(Some(TransportKind::Websocket));
                            self.shared.emit(ManagerEvent::Upgrade(TransportKind::Websocket));
                            continue;
                        }
                        Some(EngineEvent::UpgradeError(e)) => {
                            self.shared.emit(ManagerEvent::UpgradeError(e));
                            continue;
                        }
                        Some(EngineEvent::Closed(reason)) => {
                            return self.lost(reason.unwrap_or(DisconnectReason::TransportClose));
                        }
                        None => return self.lost(DisconnectReason::TransportClose),
                    };
                    match decoded {
                        Ok(Some(packet)) => {
                            // A refused or server-closed namespace may leave nothing to serve.
                            if self.dispatch(&engine, packet) {
                                Self::end_engine(engine).await;
                                return SessionEnd::Idle;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            let err = Error::Protocol(format!("socket.io packet: {e}"));
                            tracing::warn!(error = %err, "closing the connection");
                            Self::end_engine(engine).await;
                            return self.lost(DisconnectReason::ParseError(err));
                        }
                    }
                }
                cmd = self.cmd_rx.recv() => match cmd {
                    None => return self.close_all(engine, None).await,
                    Some(Cmd::Close(done)) => return self.close_all(engine, done).await,
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
                    Some(Cmd::Disconnect(nsp, done)) => {
                        let left = self.get(&nsp).filter(|s| s.set_disconnected(true));
                        if left.is_some() {
                            self.write(&engine, Packet::disconnect(nsp));
                        }
                        let idle = self.left_idle();
                        if let Some(s) = left {
                            s.emit_disconnect(&DisconnectReason::IoClientDisconnect);
                        }
                        if idle {
                            // The CLOSE goes after everything queued; `done` drops after it.
                            Self::end_engine(engine).await;
                            return SessionEnd::Idle;
                        }
                        if let Some(done) = done {
                            let _ = engine.tx.send(Outgoing::Flush(done));
                        }
                    }
                },
            }
        }
    }

    /// [`Manager::close`]: every socket leaves with `forced close`, then the connection
    /// closes; `done` is answered when the task ends, after the CLOSE, queued last, went out.
    async fn close_all(&mut self, engine: Engine, done: Done) -> SessionEnd {
        self.announce_close();
        for s in self.all() {
            if s.set_disconnected(true) {
                self.write(&engine, Packet::disconnect(s.nsp.clone()));
                s.emit_disconnect(&DisconnectReason::ForcedClose);
            }
        }
        Self::end_engine(engine).await;
        self.on_exit.extend(done);
        SessionEnd::Closed
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

    /// Routes a packet to its socket. Returns whether the last socket left, so the
    /// connection is to close (its `close` is announced already).
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
                    return self.left_idle();
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
                let idle = self.left_idle();
                s.emit_error(&Error::ConnectRefused {
                    nsp: s.nsp.clone(),
                    message: err.message,
                });
                idle
            }
            PacketData::Disconnect => {
                let was = s.set_disconnected(true);
                let idle = self.left_idle();
                if was {
                    s.emit_disconnect(&DisconnectReason::IoServerDisconnect);
                }
                idle
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
    fn namespaces_are_normalized() {
        assert_eq!(normalize_nsp(""), "/");
        assert_eq!(normalize_nsp("chat"), "/chat");
        assert_eq!(normalize_nsp("/a"), "/a");
    }
}
