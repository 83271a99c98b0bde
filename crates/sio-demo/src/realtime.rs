//! The socket.io side of the demo: the seed's flow (authenticate with a token, default
//! rooms, join/leave through [`allowed_rooms`], heartbeat pings) plus the demo's own
//! `message` and `rooms` events.
//!
//! INTERIM: written on the plain `sio-server` API while the server helper
//! (`sio_server::helper`) is being written; this whole file is replaced by the helper.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashmap::DashMap;
use serde::Serialize;
use sio_adapter_redis::{Emitter, RedisAdapterFactory, RedisConfig};
use sio_server::{SocketIo, SocketIoLayer};
use sio_types::constants::{event, room};
use sio_types::{ClientState, SocketId, Value};
use tokio::task::JoinHandle;

use crate::Config;
use crate::rooms::allowed_rooms;

/// One client as the HTTP API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientView {
    /// The socket id.
    pub id: String,
    /// `unauthorized`, `authenticating` or `authenticated`.
    pub state: String,
    /// Rooms joined, the socket's own room left out.
    pub rooms: Vec<String>,
}

struct Entry {
    state: ClientState,
    timers: Vec<JoinHandle<()>>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        for t in &self.timers {
            t.abort();
        }
    }
}

/// The running socket.io server and what sends through it.
pub struct Realtime {
    io: SocketIo,
    clients: Arc<DashMap<SocketId, Entry>>,
    emitter: Option<Emitter>,
}

impl std::fmt::Debug for Realtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Realtime")
            .field("clients", &self.clients.len())
            .field("cluster", &self.emitter.is_some())
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch, as JavaScript's `Date.now()`.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn now_iso() -> String {
    sio_types::handshake::iso8601(now_ms())
}

fn rooms_of(payload: Option<&Value>) -> Option<Vec<String>> {
    let list = payload?.get("rooms")?.as_array()?;
    list.iter().map(|r| r.as_str().map(str::to_owned)).collect()
}

impl Realtime {
    /// Builds the server; with `REDIS_URL` set, connects the adapter and the emitter first
    /// (each within the adapter's connect timeout).
    pub async fn start(config: &Config) -> Result<Self, String> {
        let mut builder = SocketIo::builder();
        let mut emitter = None;
        if let Some(url) = &config.redis_url {
            let rc = RedisConfig::new(url.clone());
            let factory = RedisAdapterFactory::connect(rc.clone())
                .await
                .map_err(|e| format!("redis adapter: {e}"))?;
            emitter = Some(
                Emitter::connect(rc)
                    .await
                    .map_err(|e| format!("redis emitter: {e}"))?,
            );
            builder = builder.adapter(factory);
        }
        let io = builder.build();
        let clients: Arc<DashMap<SocketId, Entry>> = Arc::new(DashMap::new());
        let tokens: Arc<Vec<String>> = Arc::new(config.tokens());
        let auth_timeout = config.auth_timeout();
        let ping_every = config.ping_interval().max(Duration::from_millis(10));
        let reg = clients.clone();
        let relay = Relay {
            io: io.clone(),
            emitter: emitter.clone(),
        };
        io.ns("/", move |socket| {
            let reg = reg.clone();
            let tokens = tokens.clone();
            let relay = relay.clone();
            async move {
                let id = socket.id();
                let s = socket.clone();
                let timeout = tokio::spawn(async move {
                    tokio::time::sleep(auth_timeout).await;
                    tracing::info!(socket = %s.id(), "no authentication in time");
                    s.disconnect(false);
                });
                reg.insert(
                    id,
                    Entry {
                        state: ClientState::Unauthorized,
                        timers: vec![timeout],
                    },
                );
                let r = reg.clone();
                socket.on_disconnect(move |s, _| {
                    r.remove(&s.id());
                });
                let r = reg.clone();
                socket.on(event::AUTHENTICATE, move |s, _args, _ack| {
                    let r = r.clone();
                    let tokens = tokens.clone();
                    let relay = relay.clone();
                    async move {
                        authenticate(s, r, &tokens, ping_every, relay);
                    }
                });
            }
        });
        Ok(Realtime {
            io,
            clients,
            emitter,
        })
    }

    /// The tower layer that answers under `/socket.io/`.
    pub fn layer(&self) -> SocketIoLayer {
        self.io.layer()
    }

    /// Whether this process is part of a Redis cluster.
    pub fn clustered(&self) -> bool {
        self.emitter.is_some()
    }

    /// Every client of the cluster (of this process without Redis).
    pub async fn clients(&self) -> Result<Vec<ClientView>, String> {
        let sockets = self
            .io
            .fetch_sockets()
            .await
            .map_err(|e| format!("cannot list the cluster's sockets: {e}"))?;
        let mut out: Vec<ClientView> = sockets
            .into_iter()
            .map(|s| {
                let own = s.id.to_string();
                let state = match self.clients.get(&s.id) {
                    Some(e) => e.state.as_str().to_owned(),
                    // Another process: it records the state in the socket's data.
                    None => s
                        .data
                        .get("state")
                        .and_then(Value::as_str)
                        .unwrap_or(ClientState::Unauthorized.as_str())
                        .to_owned(),
                };
                let mut rooms: Vec<String> = s
                    .rooms
                    .iter()
                    .map(|r| r.to_string())
                    .filter(|r| *r != own)
                    .collect();
                rooms.sort();
                ClientView {
                    id: own,
                    state,
                    rooms,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Emits `topic` with `data` to a socket id or room, or to everyone.
    pub async fn send(
        &self,
        destination: Option<&str>,
        topic: &str,
        data: Value,
    ) -> Result<(), String> {
        Relay {
            io: self.io.clone(),
            emitter: self.emitter.clone(),
        }
        .send(destination, topic, data)
        .await
    }

    /// Disconnects every client, stops their timers and closes the adapter.
    pub async fn shutdown(&self) {
        self.io.close().await;
        self.clients.clear();
    }
}

#[derive(Clone)]
struct Relay {
    io: SocketIo,
    emitter: Option<Emitter>,
}

impl Relay {
    async fn send(
        &self,
        destination: Option<&str>,
        topic: &str,
        data: Value,
    ) -> Result<(), String> {
        match &self.emitter {
            Some(em) => {
                let em = match destination {
                    Some(d) => em.to(d.to_owned()),
                    None => em.clone(),
                };
                em.compress(true)
                    .emit(topic, vec![data])
                    .await
                    .map_err(|e| e.to_string())
            }
            None => {
                let op = match destination {
                    Some(d) => self.io.to(d.to_owned()),
                    None => self.io.broadcast(),
                };
                op.compress(true)
                    .emit_args(topic, vec![data])
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

fn authenticate(
    s: sio_server::Socket,
    reg: Arc<DashMap<SocketId, Entry>>,
    tokens: &[String],
    ping_every: Duration,
    relay: Relay,
) {
    let id = s.id();
    {
        let Some(mut e) = reg.get_mut(&id) else {
            return;
        };
        if e.state != ClientState::Unauthorized {
            return;
        }
        e.state = ClientState::Authenticating;
    }
    let token = s.auth().get("token").and_then(Value::as_str);
    let ok = token.is_some_and(|t| tokens.iter().any(|k| k == t));
    if !ok {
        let _ = s.emit(
            event::UNAUTHENTICATED,
            &serde_json::json!({"message": "Invalid token", "time": now_iso()}),
        );
        reg.remove(&id);
        s.disconnect(false);
        return;
    }
    let ping = |s: &sio_server::Socket| {
        let _ = s.emit(event::PING, &serde_json::json!({"time": now_iso()}));
    };
    ping(&s);
    s.join_many(room::DEFAULTS);
    s.on(event::JOIN, |s, args, _ack| async move {
        if let Some(rooms) = rooms_of(args.get(0)) {
            s.join_many(allowed_rooms(&rooms));
        }
    });
    s.on(event::LEAVE, |s, args, _ack| async move {
        if let Some(rooms) = rooms_of(args.get(0)) {
            for r in rooms {
                s.leave(r);
            }
        }
    });
    demo_handlers(&s, relay);
    let p = s.clone();
    let interval = tokio::spawn(async move {
        let mut tick = tokio::time::interval(ping_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            ping(&p);
        }
    });
    if let Some(mut e) = reg.get_mut(&id) {
        e.state = ClientState::Authenticated;
        for t in e.timers.drain(..) {
            t.abort();
        }
        e.timers.push(interval);
    } else {
        interval.abort();
        return;
    }
    s.set_data(serde_json::json!({"state": "authenticated"}).into());
    let _ = s.emit(
        event::AUTHENTICATED,
        &serde_json::json!({"id": id.to_string(), "time": now_iso()}),
    );
}

/// The demo's own events, for authenticated sockets: `message {room, text}` is relayed to
/// the room when the sender is in it; `rooms` answers (ack) with the sender's rooms.
fn demo_handlers(s: &sio_server::Socket, relay: Relay) {
    s.on("message", move |s, args, _ack| {
        let relay = relay.clone();
        async move {
            let Some(msg) = args.get(0) else { return };
            let (Some(room), Some(text)) = (
                msg.get("room").and_then(Value::as_str),
                msg.get("text").and_then(Value::as_str),
            ) else {
                return;
            };
            if text.is_empty() || text.len() > 2_000 || !s.rooms().iter().any(|r| **r == *room) {
                return;
            }
            let out: Value = serde_json::json!({
                "from": s.id().to_string(), "room": room, "text": text, "time": now_iso()
            })
            .into();
            if let Err(e) = relay.send(Some(room), "message", out).await {
                tracing::warn!(error = %e, "message relay failed");
            }
        }
    });
    s.on("rooms", |s, _args, ack| async move {
        let own = s.id().to_string();
        let mut rooms: Vec<String> = s
            .rooms()
            .iter()
            .map(|r| r.to_string())
            .filter(|r| *r != own)
            .collect();
        rooms.sort();
        if let Some(ack) = ack {
            let _ = ack.send(&rooms);
        }
    });
}
