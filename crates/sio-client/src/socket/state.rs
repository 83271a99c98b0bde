//! What a socket shares with the connection task: its state, handlers, pending acks and
//! send buffer, and the retry queue of at-least-once emits.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use sio_types::{AckError, AckId, Packet, Value};
use tokio::sync::{mpsc, oneshot};

use super::{AckSender, DisconnectReason, Event, HandlerId};
use crate::config::ClientConfig;
use crate::error::Error;
use crate::manager::Cmd;

pub(crate) type EventHandler = Arc<dyn Fn(Event) + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn() + Send + Sync>;
pub(crate) type DisconnectHandler = Arc<dyn Fn(&DisconnectReason) + Send + Sync>;
pub(crate) type ErrorHandler = Arc<dyn Fn(&Error) + Send + Sync>;
pub(crate) type AnyHandler = Arc<dyn Fn(&str, &[Value]) + Send + Sync>;

#[derive(Default)]
pub(crate) struct Handlers {
    pub(super) events: HashMap<String, Vec<(HandlerId, EventHandler)>>,
    pub(super) connect: Vec<(HandlerId, ConnectHandler)>,
    pub(super) disconnect: Vec<(HandlerId, DisconnectHandler)>,
    pub(super) error: Vec<(HandlerId, ErrorHandler)>,
    pub(super) any: Vec<(HandlerId, AnyHandler)>,
    pub(super) any_outgoing: Vec<(HandlerId, AnyHandler)>,
}

/// Removes `id` from `list`, or every entry with `None`; returns how many went.
pub(super) fn remove_any(list: &mut Vec<(HandlerId, AnyHandler)>, id: Option<HandlerId>) -> usize {
    let before = list.len();
    match id {
        Some(id) => list.retain(|(i, _)| *i != id),
        None => list.clear(),
    }
    before - list.len()
}

pub(crate) struct PendingAck {
    tx: oneshot::Sender<Vec<Value>>,
    /// Whether the packet left the client; only those are failed when the connection drops,
    /// buffered ones wait for the next connection, as socket.io-client does.
    sent: bool,
}

#[derive(Default)]
pub(crate) struct SockState {
    /// The application wants this socket connected (reconnect it after a loss).
    pub(crate) active: bool,
    pub(crate) connected: bool,
    /// A CONNECT was sent and not answered yet.
    pub(crate) connecting: bool,
    pub(crate) id: Option<String>,
    pub(crate) pid: Option<String>,
    pub(crate) last_offset: Option<String>,
    pub(crate) recovered: bool,
    pub(crate) buffer: VecDeque<Packet>,
}

pub(super) struct Queued {
    pub(super) event: String,
    pub(super) args: Vec<Value>,
    pub(super) reply: Option<oneshot::Sender<Result<Vec<Value>, Error>>>,
}

pub(crate) struct SocketInner {
    pub(crate) nsp: String,
    pub(super) cmd: mpsc::UnboundedSender<Cmd>,
    pub(super) config: Arc<ClientConfig>,
    pub(super) auth: Mutex<Option<Value>>,
    pub(crate) state: Mutex<SockState>,
    pub(super) handlers: Mutex<Handlers>,
    pub(super) acks: Mutex<HashMap<AckId, PendingAck>>,
    pub(super) next_ack: AtomicU64,
    pub(super) next_handler: AtomicU64,
    pub(super) retry_tx: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    /// Emits in the retry queue, bounded like the send buffer.
    pub(super) queued: AtomicUsize,
}

/// Locks a mutex, recovering it when a panicking handler poisoned it: the data under these
/// locks stays consistent because no code panics while holding them.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn call_guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        tracing::error!(handler = what, "handler panicked; the panic was caught");
    }
}

impl SocketInner {
    pub(crate) fn new(
        nsp: String,
        cmd: mpsc::UnboundedSender<Cmd>,
        config: Arc<ClientConfig>,
        auth: Option<Value>,
    ) -> Arc<Self> {
        let inner = Arc::new(SocketInner {
            nsp,
            cmd,
            config,
            auth: Mutex::new(auth),
            state: Mutex::new(SockState::default()),
            handlers: Mutex::new(Handlers::default()),
            acks: Mutex::new(HashMap::new()),
            next_ack: AtomicU64::new(0),
            next_handler: AtomicU64::new(0),
            retry_tx: Mutex::new(None),
            queued: AtomicUsize::new(0),
        });
        if inner.config.retries > 0 {
            let (tx, rx) = mpsc::unbounded_channel();
            *lock(&inner.retry_tx) = Some(tx);
            tokio::spawn(retry_loop(Arc::downgrade(&inner), rx));
        }
        inner
    }

    pub(super) fn enqueue(&self, item: Queued) -> Result<(), Error> {
        let n = self.queued.fetch_add(1, Ordering::SeqCst);
        if n >= self.config.max_buffered {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::BufferFull(n));
        }
        let sent = lock(&self.retry_tx)
            .as_ref()
            .map(|tx| tx.send(item).is_ok())
            .unwrap_or(false);
        if !sent {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The CONNECT payload: the auth, plus `pid` and `offset` to ask for recovery.
    pub(crate) fn connect_packet(&self) -> Packet {
        let auth = lock(&self.auth).clone();
        let st = lock(&self.state);
        let payload = match &st.pid {
            Some(pid) => {
                let mut map = match auth {
                    Some(Value::Object(m)) => m,
                    _ => Default::default(),
                };
                map.insert("pid".into(), Value::from(pid.clone()));
                map.insert("offset".into(), Value::from(st.last_offset.clone()));
                Some(Value::Object(map))
            }
            None => auth,
        };
        Packet::connect(self.nsp.clone(), payload)
    }

    /// The server accepted the CONNECT: returns the packets buffered while disconnected.
    pub(crate) fn on_connected(&self, payload: Option<&Value>) -> Vec<Packet> {
        let sid = payload.and_then(|p| p.get("sid")).and_then(Value::as_str);
        let pid = payload.and_then(|p| p.get("pid")).and_then(Value::as_str);
        let mut st = lock(&self.state);
        st.recovered = pid.is_some() && pid == st.pid.as_deref();
        st.pid = pid.map(str::to_owned);
        st.id = sid.map(str::to_owned);
        st.connected = true;
        st.connecting = false;
        st.buffer.drain(..).collect()
    }

    pub(crate) fn mark_sent(&self, id: AckId) {
        if let Some(p) = lock(&self.acks).get_mut(&id) {
            p.sent = true;
        }
    }

    pub(crate) fn answer_ack(&self, id: AckId, args: Vec<Value>) {
        match lock(&self.acks).remove(&id) {
            Some(p) => {
                let _ = p.tx.send(args);
            }
            None => tracing::debug!(nsp = %self.nsp, id, "ack for an unknown id ignored"),
        }
    }

    /// The connection is gone: sent packets will never be answered.
    pub(crate) fn fail_sent_acks(&self) {
        lock(&self.acks).retain(|_, p| !p.sent);
    }

    /// Marks the socket disconnected; `true` if it was connected.
    pub(crate) fn set_disconnected(&self, deactivate: bool) -> bool {
        let mut st = lock(&self.state);
        let was = st.connected;
        st.connected = false;
        st.connecting = false;
        st.id = None;
        if deactivate {
            st.active = false;
        }
        drop(st);
        self.fail_sent_acks();
        was
    }

    pub(crate) fn rebuffer(&self, packet: Packet) {
        let mut st = lock(&self.state);
        if st.buffer.len() < self.config.max_buffered {
            st.buffer.push_back(packet);
        } else {
            tracing::warn!(nsp = %self.nsp, "send buffer full, packet dropped");
        }
    }

    pub(crate) fn dispatch_event(&self, event: String, args: Vec<Value>, ack: Option<AckId>) {
        {
            let mut st = lock(&self.state);
            if st.pid.is_some()
                && let Some(Value::String(offset)) = args.last()
            {
                st.last_offset = Some(offset.clone());
            }
        }
        let (any, handlers): (Vec<AnyHandler>, Vec<EventHandler>) = {
            let h = lock(&self.handlers);
            (
                h.any.iter().map(|(_, h)| h.clone()).collect(),
                h.events
                    .get(&event)
                    .map(|v| v.iter().map(|(_, h)| h.clone()).collect())
                    .unwrap_or_default(),
            )
        };
        // Catch-all listeners run before the event's own, as in socket.io-client.
        for h in any {
            call_guarded("any", || h(&event, &args));
        }
        if handlers.is_empty() {
            tracing::debug!(nsp = %self.nsp, event = %event, "event without handler");
        }
        let mut ack = ack.map(|id| AckSender {
            nsp: self.nsp.clone(),
            id,
            cmd: self.cmd.clone(),
        });
        for h in handlers {
            // Only the first handler gets the answer handle, as only one answer can be sent.
            let ev = Event {
                name: event.clone(),
                args: args.clone(),
                ack: ack.take(),
            };
            call_guarded(&event, || h(ev));
        }
    }

    /// Tells the outgoing catch-all listeners about an event that is leaving the client now.
    pub(crate) fn notify_outgoing(&self, event: &str, args: &[Value]) {
        for h in self.snapshot(|h| &h.any_outgoing) {
            call_guarded("any outgoing", || h(event, args));
        }
    }

    /// The handlers of one list, cloned so that none runs under the lock (a handler may
    /// register or remove handlers).
    fn snapshot<H: Clone>(&self, list: impl FnOnce(&Handlers) -> &Vec<(HandlerId, H)>) -> Vec<H> {
        list(&lock(&self.handlers))
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    }

    pub(crate) fn emit_connect(&self) {
        for h in self.snapshot(|h| &h.connect) {
            call_guarded("connect", || h());
        }
    }

    pub(crate) fn emit_disconnect(&self, reason: &DisconnectReason) {
        for h in self.snapshot(|h| &h.disconnect) {
            call_guarded("disconnect", || h(reason));
        }
    }

    pub(crate) fn emit_error(&self, error: &Error) {
        let hs = self.snapshot(|h| &h.error);
        if hs.is_empty() {
            tracing::warn!(nsp = %self.nsp, error = %error, "socket error without error handler");
        }
        for h in hs {
            call_guarded("error", || h(error));
        }
    }

    pub(super) fn handler_id(&self) -> HandlerId {
        HandlerId(self.next_handler.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends now if connected, else buffers.
    pub(super) fn send_or_buffer(&self, packet: Packet) -> Result<(), Error> {
        if self.cmd.is_closed() {
            return Err(Error::Closed);
        }
        let mut st = lock(&self.state);
        if st.connected {
            drop(st);
            self.cmd.send(Cmd::Send(packet)).map_err(|_| Error::Closed)
        } else if st.buffer.len() >= self.config.max_buffered {
            Err(Error::BufferFull(st.buffer.len()))
        } else {
            st.buffer.push_back(packet);
            Ok(())
        }
    }

    /// Sends now if connected, else drops the packet: a volatile emit is never buffered.
    /// Returns whether it was handed to the connection task.
    pub(super) fn send_volatile(&self, packet: Packet) -> Result<bool, Error> {
        if self.cmd.is_closed() {
            return Err(Error::Closed);
        }
        if !lock(&self.state).connected {
            tracing::debug!(nsp = %self.nsp, "volatile packet dropped: not connected");
            return Ok(false);
        }
        // The connection task drops it too if the connection is lost before it gets there.
        self.cmd
            .send(Cmd::SendVolatile(packet))
            .map(|()| true)
            .map_err(|_| Error::Closed)
    }

    /// A volatile packet waiting for `id` was dropped: its ack can never come.
    pub(crate) fn drop_ack(&self, id: AckId) {
        lock(&self.acks).remove(&id);
    }

    pub(super) async fn emit_with_ack_once(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Option<Duration>,
        volatile: bool,
    ) -> Result<Vec<Value>, Error> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.acks).insert(id, PendingAck { tx, sent: false });
        let packet = Packet::event(self.nsp.clone(), event, args).with_ack(id);
        let sent = if volatile {
            match self.send_volatile(packet) {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::Ack(AckError::Send(
                    "volatile packet dropped: not connected".into(),
                ))),
                Err(e) => Err(e),
            }
        } else {
            self.send_or_buffer(packet)
        };
        if let Err(e) = sent {
            lock(&self.acks).remove(&id);
            return Err(e);
        }
        let result = match timeout {
            Some(t) => match tokio::time::timeout(t, rx).await {
                Ok(r) => r.map_err(|_| AckError::Disconnected),
                Err(_) => Err(AckError::Timeout),
            },
            None => rx.await.map_err(|_| AckError::Disconnected),
        };
        if result.is_err() {
            lock(&self.acks).remove(&id);
        }
        result.map_err(Error::Ack)
    }
}

/// Sends queued emits one at a time, each until the server acknowledges it or its tries run
/// out: socket.io-client's `retries` semantics (at-least-once, in order).
async fn retry_loop(socket: Weak<SocketInner>, mut rx: mpsc::UnboundedReceiver<Queued>) {
    while let Some(item) = rx.recv().await {
        let Some(inner) = socket.upgrade() else {
            return;
        };
        let retries = inner.config.retries;
        let timeout = inner.config.ack_timeout;
        let mut tries = 0u32;
        let result = loop {
            tries += 1;
            match inner
                .emit_with_ack_once(&item.event, item.args.clone(), timeout, false)
                .await
            {
                Ok(args) => break Ok(args),
                Err(e @ (Error::Closed | Error::BufferFull(_))) => break Err(e),
                Err(e) if tries > retries => break Err(e),
                Err(e) => {
                    // While disconnected the next try waits in the send buffer and goes out
                    // on reconnection; a server may see a packet twice (at-least-once).
                    tracing::debug!(event = %item.event, tries, error = %e, "emit not acknowledged, retrying");
                    continue;
                }
            }
        };
        inner.queued.fetch_sub(1, Ordering::SeqCst);
        match item.reply {
            Some(tx) => {
                let _ = tx.send(result);
            }
            None => {
                if let Err(e) = result {
                    tracing::warn!(event = %item.event, error = %e, "emit dropped after its retries");
                }
            }
        }
    }
}
