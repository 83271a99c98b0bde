//! The per-client flow of the helper: connection, authentication, rooms, pings and
//! disconnect, over one registry of clients and one timer queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use dashmap::DashMap;
use sio_types::constants::event;
use sio_types::handshake::iso8601;
use sio_types::{ClientState, Room, SocketId, Value};
use tracing::Instrument;

use super::builder::Options;
use super::rooms;
use super::timers::{OnFire, TaskGuard, TimerCounters, TimerKind, Timers};
use crate::Args;
use crate::ListenHandle;
use crate::handler::run_guarded;
use crate::io::{SocketIo, SocketIoBuilder};
use crate::socket::Socket;

#[derive(Clone)]
pub(super) enum Sender {
    Local,
    #[cfg(feature = "redis")]
    Redis(sio_adapter_redis::Emitter),
}

#[derive(Clone)]
pub(super) struct Running {
    pub(super) io: SocketIo,
    pub(super) sender: Sender,
}

pub(super) struct ClientEntry {
    pub(super) state: ClientState,
    pub(super) socket: Socket,
}

pub(super) struct Inner {
    pub(super) opts: Options,
    pub(super) server: Mutex<Option<SocketIoBuilder>>,
    pub(super) running: RwLock<Option<Running>>,
    pub(super) listener: Mutex<Option<ListenHandle>>,
    pub(super) registry: DashMap<SocketId, ClientEntry>,
    pub(super) counters: Arc<TimerCounters>,
    pub(super) timers: Mutex<Option<Arc<Timers>>>,
    pub(super) configured: AtomicBool,
    pub(super) shut: AtomicBool,
    pub(super) span: tracing::Span,
}

pub(super) fn iso_now() -> String {
    iso8601(crate::handshake::now_ms())
}

pub(super) fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::from_iter(pairs)
}

impl OnFire for Inner {
    fn fire(&self, id: SocketId, kind: TimerKind) -> Option<Duration> {
        let (state, socket) = {
            let e = self.registry.get(&id)?;
            (e.state, e.socket.clone())
        };
        match kind {
            TimerKind::AuthTimeout => {
                if state != ClientState::Authenticated {
                    tracing::info!(sid = %id, %state, "authenticate timeout: disconnecting");
                    self.disconnect_client(&socket);
                }
                None
            }
            TimerKind::Ping => {
                self.ping_client(&socket, false);
                Some(self.opts.ping_interval)
            }
        }
    }

    fn is_live(&self, id: SocketId) -> bool {
        self.registry.contains_key(&id)
    }
}

impl Inner {
    pub(super) fn timers(&self) -> Option<Arc<Timers>> {
        self.timers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn running(&self) -> Option<Running> {
        self.running
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn set_state(&self, socket: &Socket, state: ClientState) {
        // Mirrored into socket.data so that cluster-wide fetch_sockets reports it.
        socket.set_data(obj(vec![("state", Value::from(state.as_str()))]));
    }

    pub(super) fn ping_client(&self, socket: &Socket, ignore_auth: bool) {
        let Some(state) = self.registry.get(&socket.id()).map(|e| e.state) else {
            return;
        };
        if !ignore_auth && state != ClientState::Authenticated {
            tracing::info!(sid = %socket.id(), %state, "ping to a client that is not authenticated: disconnecting");
            self.disconnect_client(socket);
            return;
        }
        let _ = socket.emit(event::PING, &obj(vec![("time", Value::from(iso_now()))]));
    }

    /// Removes the entry and its timers. Returns whether there was one.
    pub(super) fn forget(&self, id: SocketId) -> bool {
        let removed = self.registry.remove(&id).is_some();
        if removed && let Some(t) = self.timers() {
            t.disarm_all(id);
        }
        removed
    }

    pub(super) fn disconnect_client(&self, socket: &Socket) {
        self.forget(socket.id());
        // The seed's `socket.disconnect()`: a DISCONNECT packet queued behind whatever was
        // emitted before (`unauthenticated`), after which socket.io-client closes its
        // connection itself. Closing the engine.io connection here instead loses that
        // packet on polling and can strand a client in the middle of an upgrade.
        socket.disconnect(false);
    }

    pub(super) fn on_client_connect(self: &Arc<Self>, socket: Socket) {
        let id = socket.id();
        if self.shut.load(Ordering::Acquire) {
            socket.disconnect(false);
            return;
        }
        if self.registry.contains_key(&id) {
            return;
        }
        self.registry.insert(
            id,
            ClientEntry {
                state: ClientState::Unauthorized,
                socket: socket.clone(),
            },
        );
        self.set_state(&socket, ClientState::Unauthorized);
        if let Some(t) = self.timers() {
            t.arm(id, TimerKind::AuthTimeout, self.opts.authenticate_timeout);
        }
        let weak = Arc::downgrade(self);
        socket.on_disconnect(move |s, reason| {
            if let Some(inner) = weak.upgrade() {
                tracing::debug!(parent: &inner.span, sid = %s.id(), %reason, "client disconnected");
                inner.forget(s.id());
            }
        });
    }

    pub(super) fn is_authenticated(&self, id: SocketId) -> bool {
        self.registry
            .get(&id)
            .is_some_and(|e| e.state == ClientState::Authenticated)
    }

    /// The flow's handlers, registered once on the namespace rather than on each socket
    /// (idle sockets stay small): `authenticate` for registered clients, `join` / `leave`
    /// for authenticated ones only.
    pub(super) fn register_flow_handlers(self: &Arc<Self>, ns: &crate::Namespace) {
        let weak = Arc::downgrade(self);
        ns.on(event::AUTHENTICATE, move |socket, _args, _ack| {
            let weak = weak.clone();
            async move {
                if let Some(inner) = weak.upgrade() {
                    let span = inner.span.clone();
                    inner.on_authenticate(socket).instrument(span).await;
                }
            }
        });
        for (topic, join) in [(event::JOIN, true), (event::LEAVE, false)] {
            let weak = Arc::downgrade(self);
            ns.on(topic, move |socket, args, _ack| {
                let weak = weak.clone();
                async move {
                    let Some(inner) = weak.upgrade() else { return };
                    if !inner.is_authenticated(socket.id()) {
                        tracing::debug!(parent: &inner.span, sid = %socket.id(), "room request before authentication ignored");
                        return;
                    }
                    let span = inner.span.clone();
                    inner.on_rooms(socket, args, join).instrument(span).await;
                }
            });
        }
    }

    pub(super) async fn on_authenticate(self: Arc<Self>, socket: Socket) {
        let id = socket.id();
        {
            let Some(mut e) = self.registry.get_mut(&id) else {
                return;
            };
            if e.state != ClientState::Unauthorized {
                tracing::debug!(sid = %id, state = %e.state, "authenticate ignored: already {}", e.state);
                return;
            }
            e.state = ClientState::Authenticating;
        }
        self.set_state(&socket, ClientState::Authenticating);
        let ok = run_guarded("authenticate", (self.opts.authenticate)(socket.handshake()))
            .await
            .unwrap_or(false);
        if !self.registry.contains_key(&id) {
            return;
        }
        if ok {
            self.on_client_authenticated(&socket);
        } else {
            tracing::info!(sid = %id, "authentication failed");
            if let Some(mut e) = self.registry.get_mut(&id) {
                e.state = ClientState::Unauthorized;
            }
            let payload = obj(vec![
                ("id", Value::from(id.as_str())),
                ("message", Value::from("Failed to authenticate connection")),
            ]);
            let _ = socket.emit(event::UNAUTHENTICATED, &payload);
            self.disconnect_client(&socket);
        }
    }

    pub(super) fn on_client_authenticated(self: &Arc<Self>, socket: &Socket) {
        let id = socket.id();
        {
            let Some(mut e) = self.registry.get_mut(&id) else {
                tracing::debug!(sid = %id, "authenticated client is gone");
                return;
            };
            e.state = ClientState::Authenticated;
        }
        self.set_state(socket, ClientState::Authenticated);
        let timers = self.timers();
        if let Some(t) = &timers {
            t.disarm(id, TimerKind::AuthTimeout);
        }
        self.ping_client(socket, true);
        socket.join_many(self.opts.default_rooms.iter().cloned());
        // `join` / `leave` and the application's handlers live on the namespace and
        // admit authenticated clients only: from here on, this one.
        if let Some(t) = &timers {
            t.arm(id, TimerKind::Ping, self.opts.ping_interval);
        }
        let payload = obj(vec![
            ("id", Value::from(id.as_str())),
            ("time", Value::from(iso_now())),
        ]);
        let _ = socket.emit(event::AUTHENTICATED, &payload);
        tracing::info!(sid = %id, "client authenticated");
        if let Some(cc) = self.opts.client_connected.clone() {
            let guard = TaskGuard::new(&self.counters);
            let socket = socket.clone();
            tokio::spawn(
                async move {
                    let _guard = guard;
                    match run_guarded("client_connected", cc(socket.clone())).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => {
                            tracing::error!(sid = %socket.id(), error = %e, "client_connected failed")
                        }
                        None => {}
                    }
                }
                .instrument(self.span.clone()),
            );
        }
    }

    pub(super) async fn on_rooms(self: Arc<Self>, socket: Socket, args: Args, join: bool) {
        let what = if join { event::JOIN } else { event::LEAVE };
        let requested = match rooms::parse(args.get(0), &self.opts.room_limits) {
            Ok(r) => r,
            Err(bad) => {
                tracing::warn!(sid = %socket.id(), request = what, reason = %bad, "room request ignored");
                return;
            }
        };
        if requested.is_empty() {
            return;
        }
        let Some(validate) = self.opts.validate_room.clone() else {
            tracing::warn!(sid = %socket.id(), request = what, "no validate_room function: room request refused");
            return;
        };
        let allowed = match run_guarded(
            "validate_room",
            validate(socket.clone(), requested.clone()),
        )
        .await
        {
            Some(Ok(allowed)) => allowed,
            Some(Err(e)) => {
                tracing::error!(sid = %socket.id(), request = what, error = %e, "validate_room failed: nothing done");
                return;
            }
            None => return,
        };
        // Only what was asked: a validator returning extra rooms grants nothing more.
        let rooms: Vec<Room> = allowed
            .into_iter()
            .filter(|r| requested.contains(r))
            .map(Room::from)
            .collect();
        if !self.registry.contains_key(&socket.id()) {
            return;
        }
        tracing::debug!(sid = %socket.id(), request = what, rooms = ?rooms, "rooms");
        if join {
            socket.join_many(rooms);
        } else {
            for r in rooms {
                socket.leave(r);
            }
        }
    }
}
