//! The engine.io v4 client: opens a session over polling or websocket, upgrades polling to
//! websocket, answers the server's pings and notices when the server goes silent.
//!
//! A session runs in its own task. The manager talks to it through two channels: packets to
//! send (and flush requests) go in, [`EngineEvent`]s come out, the last one always
//! [`EngineEvent::Closed`].

pub(crate) mod transport;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use sio_protocol::Limits;
use sio_protocol::engineio::{self, OpenPacket, Packet};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::config::{ClientConfig, Endpoint, TransportKind};
use crate::error::Error;
use crate::socket::DisconnectReason;
use transport::polling::Polling;
use transport::websocket::{self, WsStream};

/// What a session reports to its owner.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// The session moved from polling to WebSocket.
    Upgrade,
    /// The WebSocket probe failed; the session stays on polling.
    UpgradeError(Error),
    /// The session ended; the reason is `None` when the client closed it.
    Closed(Option<DisconnectReason>),
}

/// What the owner hands a session.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A packet to send.
    Packet(Packet),
    /// Answered once every packet queued before it has been written (or the session
    /// ended, after which nothing more can be).
    Flush(oneshot::Sender<()>),
}

/// An open engine.io session.
#[derive(Debug)]
pub(crate) struct Engine {
    /// Packets to send.
    pub(crate) tx: mpsc::UnboundedSender<Outgoing>,
    /// What the server sent.
    pub(crate) rx: mpsc::UnboundedReceiver<EngineEvent>,
    /// The server's handshake.
    pub(crate) open: OpenPacket,
    /// The transport the session opened on.
    pub(crate) transport: TransportKind,
    task: JoinHandle<()>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Engine {
    /// Asks the session to send a CLOSE packet and end.
    pub(crate) fn close(&self) {
        self.send(Packet::Close);
    }

    /// Queues a packet.
    pub(crate) fn send(&self, packet: Packet) {
        let _ = self.tx.send(Outgoing::Packet(packet));
    }
}

/// Opens a session with the first configured transport.
pub(crate) async fn open(config: &ClientConfig, endpoint: &Endpoint) -> Result<Engine, Error> {
    let limits = config.limits;
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let first = config
        .transports
        .first()
        .copied()
        .unwrap_or(TransportKind::Polling);
    let can_upgrade = config.upgrade && config.transports.contains(&TransportKind::Websocket);
    let (open, task) = match first {
        TransportKind::Websocket => {
            let url = endpoint.url(TransportKind::Websocket, None);
            let mut ws = websocket::connect(&url, endpoint, &limits).await?;
            let first = websocket::recv(&mut ws, &limits)
                .await
                .map_err(reason_error)?;
            let open = expect_open(first, || {
                Error::Transport("server closed before the handshake".into())
            })?;
            let session = Session::new(&open, limits, in_tx);
            let task = tokio::spawn(session.run_ws(ws, Vec::new(), out_rx));
            (open, task)
        }
        TransportKind::Polling => {
            let polling = Polling::new(endpoint, limits)?;
            let url = endpoint.url(TransportKind::Polling, None);
            let mut packets = polling.poll(&url).await?.into_iter();
            let open = expect_open(packets.next(), || {
                Error::Protocol("empty handshake response".into())
            })?;
            let session = Session::new(&open, limits, in_tx);
            // Packets that came with the handshake (a server may batch its first messages).
            for p in packets {
                session.forward(p);
            }
            let upgrade = (can_upgrade && open.upgrades.iter().any(|u| u == "websocket"))
                .then(|| endpoint.url(TransportKind::Websocket, Some(&open.sid)));
            let poll_url = endpoint.url(TransportKind::Polling, Some(&open.sid));
            let task = tokio::spawn(session.run_polling(
                polling,
                poll_url,
                upgrade,
                endpoint.clone(),
                out_rx,
            ));
            (open, task)
        }
    };
    tracing::debug!(sid = %open.sid, transport = first.as_str(), "engine.io session open");
    Ok(Engine {
        tx: out_tx,
        rx: in_rx,
        open,
        transport: first,
        task,
    })
}

/// The server's first packet, which must be the handshake; `missing` says why there is none,
/// which differs by transport.
fn expect_open(
    first: Option<Packet>,
    missing: impl FnOnce() -> Error,
) -> Result<OpenPacket, Error> {
    match first {
        Some(Packet::Open(open)) => Ok(open),
        Some(other) => Err(Error::Protocol(format!(
            "expected an engine.io OPEN packet, got {:?}",
            other.packet_type()
        ))),
        None => Err(missing()),
    }
}

/// The error to report for a WebSocket that failed before the session opened.
fn reason_error(reason: DisconnectReason) -> Error {
    match reason.description() {
        Some(e) => e.clone(),
        None => Error::Transport(format!("websocket: {reason}")),
    }
}

/// The longest silence accepted from a server's pingInterval + pingTimeout: one day.
const MAX_SILENCE_MS: u64 = 86_400_000;

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The state shared by both transport loops.
struct Session {
    limits: Limits,
    /// How long the server may stay silent: pingInterval + pingTimeout.
    silence: Duration,
    deadline: Instant,
    /// The largest polling body the server accepts.
    max_payload: usize,
    events: mpsc::UnboundedSender<EngineEvent>,
}

impl Session {
    fn new(open: &OpenPacket, limits: Limits, events: mpsc::UnboundedSender<EngineEvent>) -> Self {
        // Bounded so that absurd values from a server cannot overflow the deadline.
        let silence = Duration::from_millis(
            open.ping_interval
                .saturating_add(open.ping_timeout)
                .min(MAX_SILENCE_MS),
        );
        Session {
            limits,
            silence,
            deadline: Instant::now() + silence,
            max_payload: usize::try_from(open.max_payload).unwrap_or(usize::MAX),
            events,
        }
    }

    /// Passes a message packet up. Returns the pong to send for a ping; other control
    /// packets are handled by `on_packet` or ignored.
    fn forward(&self, packet: Packet) -> Option<Packet> {
        match packet {
            Packet::Message(text) => {
                let _ = self.events.send(EngineEvent::Text(text));
            }
            Packet::Binary(data) => {
                let _ = self.events.send(EngineEvent::Binary(data));
            }
            Packet::Ping(data) => return Some(Packet::Pong(data)),
            _ => {}
        }
        None
    }

    /// Handles a packet from the server: `Err` ends the session.
    fn on_packet(&mut self, packet: Packet) -> Result<Option<Packet>, DisconnectReason> {
        self.deadline = Instant::now() + self.silence;
        match packet {
            Packet::Close => Err(DisconnectReason::TransportClose),
            Packet::Open(_) => Err(DisconnectReason::TransportError(Error::Protocol(
                "unexpected engine.io OPEN packet in an open session".into(),
            ))),
            other => Ok(self.forward(other)),
        }
    }

    fn finish(&self, reason: Option<DisconnectReason>) {
        if let Some(r) = &reason {
            tracing::debug!(reason = %r, error = ?r.description(), "engine.io session closed");
        }
        let _ = self.events.send(EngineEvent::Closed(reason));
    }

    async fn run_ws(
        mut self,
        mut ws: WsStream,
        pending: Vec<Packet>,
        mut out: mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let reason = self.ws_loop(&mut ws, pending, &mut out).await;
        if reason.is_none() {
            // Our close: the session ends once the server has read everything before it.
            websocket::close_and_drain(&mut ws).await;
        } else {
            let _ = ws.close(None).await;
        }
        self.finish(reason);
    }

    async fn ws_loop(
        &mut self,
        ws: &mut WsStream,
        pending: Vec<Packet>,
        out: &mut mpsc::UnboundedReceiver<Outgoing>,
    ) -> Option<DisconnectReason> {
        for p in pending {
            if let Err(e) = websocket::send(ws, &p).await {
                return Some(e);
            }
        }
        loop {
            tokio::select! {
                r = websocket::recv(ws, &self.limits) => match r {
                    Ok(Some(packet)) => match self.on_packet(packet) {
                        Ok(Some(reply)) => {
                            if let Err(e) = websocket::send(ws, &reply).await {
                                return Some(e);
                            }
                        }
                        Ok(None) => {}
                        Err(reason) => return Some(reason),
                    },
                    Ok(None) => return Some(DisconnectReason::TransportClose),
                    Err(e) => return Some(e),
                },
                p = out.recv() => match p {
                    None => {
                        let _ = websocket::send(ws, &Packet::Close).await;
                        return None;
                    }
                    // Each send above waited for its frame to be written.
                    Some(Outgoing::Flush(done)) => {
                        let _ = done.send(());
                    }
                    Some(Outgoing::Packet(p)) => {
                        let closing = matches!(p, Packet::Close);
                        if let Err(e) = websocket::send(ws, &p).await {
                            return Some(e);
                        }
                        if closing {
                            return None;
                        }
                    }
                },
                _ = sleep_until(self.deadline) => return Some(DisconnectReason::PingTimeout),
            }
        }
    }

    async fn run_polling(
        mut self,
        polling: Polling,
        url: String,
        upgrade_url: Option<String>,
        endpoint: Endpoint,
        mut out: mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let mut poll: Option<BoxFut<Result<Vec<Packet>, Error>>> = None;
        // Flush requests waiting for the packets before them to be posted.
        let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
        let mut post: Option<BoxFut<Result<(), Error>>> = None;
        let mut probe: Option<BoxFut<Result<WsStream, Error>>> = None;
        let mut upgraded: Option<WsStream> = None;
        let mut buffer: Vec<Packet> = Vec::new();
        // A CLOSE was asked for; it goes out alone, after the buffer.
        let mut closing = false;
        let mut close_sent = false;

        if let Some(ws_url) = upgrade_url {
            let limits = self.limits;
            probe = Some(Box::pin(async move {
                probe_ws(&ws_url, &endpoint, &limits).await
            }));
        }
        let reason = loop {
            if closing {
                // A closing session ends on polling.
                upgraded = None;
            }
            if upgraded.is_none() && poll.is_none() && !closing {
                let (p, u) = (polling.clone(), url.clone());
                poll = Some(Box::pin(async move { p.poll(&u).await }));
            }
            if post.is_none() && !buffer.is_empty() && upgraded.is_none() {
                let (p, u) = (polling.clone(), url.clone());
                let body = take_batch(&mut buffer, self.max_payload);
                post = Some(Box::pin(async move { p.post(&u, body).await }));
            }
            if post.is_none() && buffer.is_empty() {
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
            if closing && post.is_none() {
                // The buffer is empty here: a POST would have started otherwise.
                if close_sent {
                    break None;
                }
                // Alone, as engine.io-client sends it once the packets before are written:
                // socket.io handles a DISCONNECT on the next tick, so one sharing the
                // CLOSE's body would be lost to the close.
                close_sent = true;
                let (p, u) = (polling.clone(), url.clone());
                let body = engineio::encode_payload(&[Packet::Close]);
                post = Some(Box::pin(async move { p.post(&u, body).await }));
                continue;
            }
            if upgraded.is_some() && poll.is_none() && post.is_none() {
                // Both HTTP requests are done: the websocket takes over.
                if let Some(mut ws) = upgraded.take() {
                    if let Err(e) = websocket::send(&mut ws, &Packet::Upgrade).await {
                        break Some(e);
                    }
                    tracing::debug!("engine.io upgraded to websocket");
                    let _ = self.events.send(EngineEvent::Upgrade);
                    drop(polling);
                    // The buffer is empty here (no POST left), so these are all answered.
                    for done in flushes {
                        let _ = done.send(());
                    }
                    return self.run_ws(ws, buffer, out).await;
                }
            }
            tokio::select! {
                r = maybe(&mut poll), if poll.is_some() => {
                    poll = None;
                    match r {
                        Ok(packets) => {
                            let mut end = None;
                            for packet in packets {
                                match self.on_packet(packet) {
                                    Ok(Some(reply)) => buffer.push(reply),
                                    Ok(None) => {}
                                    Err(reason) => { end = Some(reason); break; }
                                }
                            }
                            if end.is_some() { break end; }
                        }
                        Err(e) => break Some(DisconnectReason::TransportError(e)),
                    }
                }
                r = maybe(&mut post), if post.is_some() => {
                    post = None;
                    if let Err(e) = r { break Some(DisconnectReason::TransportError(e)); }
                }
                r = maybe(&mut probe), if probe.is_some() => {
                    probe = None;
                    match r {
                        Ok(ws) => upgraded = Some(ws),
                        Err(e) => {
                            tracing::debug!(error = %e, "websocket upgrade failed, staying on polling");
                            let _ = self.events.send(EngineEvent::UpgradeError(e));
                        }
                    }
                }
                p = out.recv(), if !closing => match p {
                    None | Some(Outgoing::Packet(Packet::Close)) => closing = true,
                    Some(Outgoing::Flush(done)) => flushes.push(done),
                    Some(Outgoing::Packet(p)) => buffer.push(p),
                },
                _ = sleep_until(self.deadline) => break Some(DisconnectReason::PingTimeout),
            }
        };
        self.finish(reason);
    }
}

/// Takes the packets of the next POST and returns its body: as many as fit in `max_payload`
/// (at least one, so an oversized packet still goes out and the server decides), as
/// engine.io-client does. Each packet is encoded once, for its size and for the body.
fn take_batch(buffer: &mut Vec<Packet>, max_payload: usize) -> String {
    let mut body = String::new();
    let mut n = 0;
    for p in buffer.iter() {
        let text = engineio::encode_payload(std::slice::from_ref(p));
        // One record separator per packet after the first.
        if n > 0 && body.len() + 1 + text.len() > max_payload {
            break;
        }
        if n > 0 {
            body.push(char::from(engineio::RECORD_SEPARATOR));
        }
        body.push_str(&text);
        n += 1;
    }
    buffer.drain(..n);
    body
}

/// Awaits the future if there is one; never resolves otherwise.
async fn maybe<T>(f: &mut Option<BoxFut<T>>) -> T {
    match f {
        Some(f) => f.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Opens the websocket of an upgrade and checks it with the `probe` ping.
async fn probe_ws(url: &str, endpoint: &Endpoint, limits: &Limits) -> Result<WsStream, Error> {
    let mut ws = websocket::connect(url, endpoint, limits).await?;
    websocket::send(&mut ws, &Packet::Ping("probe".into()))
        .await
        .map_err(reason_error)?;
    match websocket::recv(&mut ws, limits)
        .await
        .map_err(reason_error)?
    {
        Some(Packet::Pong(data)) if data == "probe" => Ok(ws),
        other => Err(Error::Protocol(format!(
            "unexpected answer to the upgrade probe: {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_max_payload() {
        let mut buf: Vec<Packet> = (0..5)
            .map(|i| Packet::Message(format!("{i}{}", "x".repeat(8))))
            .collect();
        // Each packet encodes to 10 bytes ("4" + 9 chars), plus a separator after the first.
        assert_eq!(take_batch(&mut buf, 21), "40xxxxxxxx\x1e41xxxxxxxx");
        assert_eq!(
            take_batch(&mut buf, 5),
            "42xxxxxxxx",
            "an oversized packet still goes alone"
        );
        assert_eq!(take_batch(&mut buf, 1000), "43xxxxxxxx\x1e44xxxxxxxx");
        assert!(buf.is_empty());
    }
}
