//! The socket.io side of the demo: the server helper ([`ServerHelper`]) configured from
//! [`Config`], plus the demo's own two events for authenticated clients:
//!
//! - `message {room, text}`: relayed with the helper's `send` to `room` (through the Redis
//!   emitter in cluster mode) as `message {from, room, text, time}`, when the sender is in
//!   that room;
//! - `rooms` (with an ack): answers the sender's rooms, so the page shows what the server
//!   granted rather than what it asked for.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sio_server::helper::{HelperError, SendMessage, ServerHelper};
use sio_server::{SocketIoLayer, Value};

use crate::Config;
use crate::rooms::allowed_rooms;

/// Longest chat text relayed, in bytes; longer messages are dropped.
pub const MAX_TEXT: usize = 2_000;

/// One client as the HTTP API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientView {
    /// The socket id.
    pub id: String,
    /// `unauthorized`, `authenticating` or `authenticated`.
    pub state: String,
    /// Rooms joined, sorted, the socket's own room left out.
    pub rooms: Vec<String>,
}

/// The configured helper.
#[derive(Debug, Clone)]
pub struct Realtime {
    helper: Arc<ServerHelper>,
}

fn now_iso() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    sio_types::handshake::iso8601(ms)
}

impl Realtime {
    /// Builds and configures the helper: with `REDIS_URL`, its three Redis connections
    /// must be ready (within the adapter's connect timeout) or this fails naming the one
    /// that was not.
    pub async fn start(config: &Config) -> Result<Self, String> {
        let tokens: Arc<[String]> = config.tokens().into();
        let mut builder = ServerHelper::builder()
            .identifier("sio-demo")
            .authenticate(move |hs| {
                let tokens = tokens.clone();
                async move {
                    hs.auth_str("token")
                        .is_some_and(|t| tokens.iter().any(|k| k == t))
                }
            })
            .validate_room(|_socket, rooms| async move { Ok(allowed_rooms(&rooms)) })
            .authenticate_timeout(config.auth_timeout())
            .ping_interval(config.ping_interval());
        if let Some(url) = &config.redis_url {
            // Publishes are confirmed (the adapter's default), so `send` answers 202 only
            // once Redis took the message.
            let mut redis = sio_adapter_redis::RedisConfig::builder(url.clone())
                .key_prefix(config.redis_key_prefix.clone());
            if let Some(mode) = config.redis_adapter {
                redis = redis.mode(mode);
            }
            builder = builder.redis(redis.build());
        }
        let helper = builder.build().map_err(|e| e.to_string())?;
        helper
            .configure()
            .await
            .map_err(|e| format!("cannot start the socket.io server: {e}"))?;
        if config.admin_ui {
            admin_ui(&helper, config)?;
        }
        let helper = Arc::new(helper);
        // Weak: the helper keeps its handlers, so a strong reference here would be a cycle.
        let relay = Arc::downgrade(&helper);
        helper
            .on("message", move |socket, args, _ack| {
                let relay = relay.clone();
                async move {
                    let Some(relay) = relay.upgrade() else { return };
                    let Some(msg) = args.get(0) else { return };
                    let (Some(room), Some(text)) = (
                        msg.get("room").and_then(Value::as_str),
                        msg.get("text").and_then(Value::as_str),
                    ) else {
                        return;
                    };
                    let member = socket.rooms().iter().any(|r| r.as_ref() == room);
                    if text.is_empty() || text.len() > MAX_TEXT || !member {
                        return;
                    }
                    let out: Value = serde_json::json!({
                        "from": socket.id().to_string(),
                        "room": room,
                        "text": text,
                        "time": now_iso(),
                    })
                    .into();
                    if let Err(e) = relay.send(SendMessage::new("message", out).to(room)).await {
                        tracing::warn!(error = %e, "message relay failed");
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        helper
            .on("rooms", |socket, _args, ack| async move {
                let own = socket.id().to_string();
                let mut rooms: Vec<String> = socket
                    .rooms()
                    .iter()
                    .map(|r| r.as_ref().to_owned())
                    .filter(|r| *r != own)
                    .collect();
                rooms.sort();
                if let Some(ack) = ack {
                    let _ = ack.send(&rooms);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Realtime { helper })
    }

    /// The helper itself.
    pub fn helper(&self) -> &ServerHelper {
        &self.helper
    }

    /// The tower layer that answers under `/socket.io/`.
    pub fn layer(&self) -> Result<SocketIoLayer, String> {
        self.helper.layer().map_err(|e| e.to_string())
    }

    /// Every client of the cluster (of this process without Redis), sorted by id.
    pub async fn clients(&self) -> Result<Vec<ClientView>, HelperError> {
        let mut out: Vec<ClientView> = self
            .helper
            .cluster_clients()
            .await?
            .into_iter()
            .map(|c| {
                let mut rooms = c.rooms;
                rooms.sort();
                ClientView {
                    id: c.id.to_string(),
                    state: c.state.as_str().to_owned(),
                    rooms,
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The helper's `send`: `topic` with `data` to a socket id or room, or to everyone.
    /// `Ok(false)` when the seed's rules made it a no-op (empty topic, falsy data).
    pub async fn send(
        &self,
        destination: Option<&str>,
        topic: &str,
        data: Value,
    ) -> Result<bool, HelperError> {
        let mut msg = SendMessage::new(topic, data).log(true);
        if let Some(d) = destination {
            msg = msg.to(d);
        }
        self.helper.send(msg).await
    }

    /// The helper's `shutdown`: every client disconnected, timers stopped, server and
    /// Redis connections closed.
    pub async fn shutdown(&self) {
        self.helper.shutdown().await;
    }
}

/// Instruments the server for the official admin UI, behind the demo's admin credentials:
/// user `admin`, password ADMIN_TOKEN (hashed here, since the admin UI checks bcrypt
/// hashes as Node's does).
fn admin_ui(helper: &ServerHelper, config: &Config) -> Result<(), String> {
    use sio_server::admin::{self, AdminOptions, Auth};
    let token = config
        .admin_token()
        .ok_or("ADMIN_UI needs ADMIN_TOKEN: it is the admin UI's password")?;
    let hash = bcrypt::hash(token, bcrypt::DEFAULT_COST).map_err(|e| format!("admin UI: {e}"))?;
    let auth = Auth::basic("admin", hash).map_err(|e| e.to_string())?;
    let io = helper.io().map_err(|e| e.to_string())?;
    admin::instrument(&io, AdminOptions::builder(auth).build()).map_err(|e| e.to_string())?;
    tracing::info!("admin UI on: the page at /admin-ui/, namespace /admin, user `admin`");
    Ok(())
}
