//! What a manager tells its listeners: socket.io-client's Manager events (`open`, `close`,
//! `error`, `reconnect_attempt`, `reconnect`, `reconnect_error`, `reconnect_failed`) and
//! its engine's (`upgrade`, `upgradeError`), in the order socket.io-client emits them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::TransportKind;
use crate::error::Error;
use crate::socket::{DisconnectReason, HandlerId, call_guarded, lock};

/// An event of a [`Manager`](crate::Manager), registered with
/// [`Manager::on_event`](crate::Manager::on_event).
///
/// [`name`](Self::name) is socket.io-client's event name. Two orders are socket.io-client's
/// and kept here: a failed attempt reports [`Error`](Self::Error) before
/// [`ReconnectError`](Self::ReconnectError), and when it was the last one allowed,
/// [`ReconnectFailed`](Self::ReconnectFailed) comes before its `ReconnectError`.
///
/// ```no_run
/// # async fn demo() -> Result<(), sio_client::Error> {
/// use sio_client::{ClientConfig, Manager, ManagerEvent};
///
/// let manager = Manager::new(ClientConfig::builder("http://127.0.0.1:3000").build())?;
/// manager.on_event(|ev| match ev {
///     ManagerEvent::ReconnectAttempt(n) => println!("reconnecting, attempt {n}"),
///     ManagerEvent::Upgrade(t) => println!("now on {}", t.as_str()),
///     other => println!("{}", other.name()),
/// });
/// manager.socket("/").connect();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The engine.io session opened (`open`).
    Open,
    /// The session closed (`close`); [`DisconnectReason::ForcedClose`] when the client
    /// closed it.
    Close(DisconnectReason),
    /// Opening failed, or the transport failed (`error`).
    Error(Error),
    /// The session moved to this transport (`upgrade`, emitted by the engine in
    /// socket.io-client).
    Upgrade(TransportKind),
    /// The WebSocket probe failed; the session stays on polling (`upgradeError`).
    UpgradeError(Error),
    /// Reconnection attempt `n` (from 1) starts (`reconnect_attempt`).
    ReconnectAttempt(u32),
    /// Attempt `n` reconnected (`reconnect`).
    Reconnect(u32),
    /// A reconnection attempt failed (`reconnect_error`).
    ReconnectError(Error),
    /// The reconnection attempts ran out; the sockets are left disconnected
    /// (`reconnect_failed`).
    ReconnectFailed,
}

impl ManagerEvent {
    /// socket.io-client's name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            ManagerEvent::Open => "open",
            ManagerEvent::Close(_) => "close",
            ManagerEvent::Error(_) => "error",
            ManagerEvent::Upgrade(_) => "upgrade",
            ManagerEvent::UpgradeError(_) => "upgradeError",
            ManagerEvent::ReconnectAttempt(_) => "reconnect_attempt",
            ManagerEvent::Reconnect(_) => "reconnect",
            ManagerEvent::ReconnectError(_) => "reconnect_error",
            ManagerEvent::ReconnectFailed => "reconnect_failed",
        }
    }
}

type Listener = Arc<dyn Fn(&ManagerEvent) + Send + Sync>;

/// The listeners of one manager and the transport in use, shared by its handles and its
/// connection task.
#[derive(Default)]
pub(crate) struct Shared {
    listeners: Mutex<Vec<(HandlerId, Listener)>>,
    next_id: AtomicU64,
    transport: Mutex<Option<TransportKind>>,
}

impl Shared {
    pub(crate) fn add(&self, listener: Listener) -> HandlerId {
        let id = HandlerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        lock(&self.listeners).push((id, listener));
        id
    }

    pub(crate) fn remove(&self, id: HandlerId) -> bool {
        let mut l = lock(&self.listeners);
        let before = l.len();
        l.retain(|(i, _)| *i != id);
        l.len() != before
    }

    /// Calls every listener; a panicking one is caught and logged.
    pub(crate) fn emit(&self, event: ManagerEvent) {
        tracing::debug!(event = event.name(), "manager event");
        let listeners: Vec<Listener> = lock(&self.listeners)
            .iter()
            .map(|(_, l)| l.clone())
            .collect();
        for l in listeners {
            call_guarded(event.name(), || l(&event));
        }
    }

    pub(crate) fn transport(&self) -> Option<TransportKind> {
        *lock(&self.transport)
    }

    pub(crate) fn set_transport(&self, transport: Option<TransportKind>) {
        *lock(&self.transport) = transport;
    }
}
