//! The seam through which a monitor (the admin UI's instrumentation) sees what the server
//! does: connections, packets, sockets, rooms and events.
//!
//! Nothing watches by default; each hook is then one atomic load and a branch. A monitor
//! is installed once per server and stays for its lifetime, so a `OnceLock` serves and no
//! lock is taken on the hot path.

use std::sync::{Arc, OnceLock};

use sio_types::{Room, SocketId, Value};

use crate::engine::Conn;
use crate::socket::{DisconnectReason, Socket};

/// What a monitor is told. Every call runs on the task that did the work and must not
/// block; a monitor that has to publish spawns or queues.
pub(crate) trait Observer: Send + Sync + 'static {
    /// An engine.io connection opened.
    fn connection_opened(&self, conn: &Arc<Conn>);
    /// A connection moved from polling to WebSocket.
    fn connection_upgraded(&self, conn: &Arc<Conn>);
    /// A connection closed; `polling` when it never left polling.
    fn connection_closed(&self, reason: &'static str, polling: bool);
    /// A socket.io packet (or binary attachment) of `bytes` arrived.
    fn packet_in(&self, bytes: usize);
    /// A socket.io packet of `frames` frames and `bytes` bytes was queued to a client.
    fn packet_out(&self, frames: usize, bytes: usize);
    /// A socket joined its namespace (before its connection handler runs).
    fn socket_connected(&self, socket: &Socket);
    /// A connected socket left its namespace.
    fn socket_disconnected(&self, socket: &Socket, reason: DisconnectReason);
    /// A socket's application data was replaced.
    fn socket_data(&self, socket: &Socket);
    /// Socket `id` of namespace `nsp` joined `room`.
    fn room_joined(&self, nsp: &str, room: &Room, id: SocketId);
    /// Socket `id` of namespace `nsp` left `room`.
    fn room_left(&self, nsp: &str, room: &Room, id: SocketId);
    /// A socket received an event from its client.
    fn event_received(&self, socket: &Socket, event: &str, args: &[Value]);
    /// A socket emitted an event to its client (`Socket::emit*`, not broadcasts, as in
    /// socket.io's `onAnyOutgoing`).
    fn event_sent(&self, socket: &Socket, event: &str, args: &[Value]);
    /// Adds what the monitor wants remote peers to see of a socket to its `data` in a
    /// `fetch_sockets` answer (socket.io's admin UI keeps `_admin` there).
    fn decorate_data(&self, socket: &Socket, data: &mut Value);
}

/// The server's monitor, if one was installed. Shared by the server, its namespaces and
/// the outbox.
#[derive(Default)]
pub(crate) struct Watch(OnceLock<Arc<dyn Observer>>);

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("installed", &self.0.get().is_some())
            .finish()
    }
}

impl Watch {
    /// The monitor, when there is one.
    #[inline]
    pub(crate) fn get(&self) -> Option<&dyn Observer> {
        self.0.get().map(|o| &**o)
    }

    /// Installs `observer`; false when one is installed already.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))] // the admin UI is the one monitor
    pub(crate) fn install(&self, observer: Arc<dyn Observer>) -> bool {
        self.0.set(observer).is_ok()
    }
}
