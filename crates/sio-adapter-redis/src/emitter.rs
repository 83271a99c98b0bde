//! Publishing into a cluster without running a server, as `@socket.io/redis-emitter` 5.1
//! does, byte for byte.

use std::sync::Arc;

use sio_types::value::Map;
use sio_types::{Room, Value};

use crate::config::RedisConfig;
use crate::conn::{ConnectionStats, Counters, Managed, RedisConnectError, connect};
use crate::publisher::{Kind, Publisher};
use crate::wire::{self, obj, req};

/// The uid every emitter publishes under; adapters never mistake it for one of theirs.
pub const EMITTER_UID: &str = "emitter";

/// Event names socket.io reserves; [`Emitter::emit`] refuses them as Node's emitter does.
pub use sio_types::constants::RESERVED_EVENTS;

/// An emit could not be published.
#[derive(Debug, thiserror::Error)]
pub enum EmitterError {
    /// The event name is reserved by socket.io (the message is Node's).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The message could not be encoded.
    #[error("could not encode message: {0}")]
    Encode(String),
    /// Redis did not take the message.
    #[error("Redis publish failed: {0}")]
    Transport(String),
}

struct Conn {
    publisher: Publisher,
    counters: Arc<Counters>,
    _managed: Managed,
}

/// Emits to the sockets of a cluster of classic-mode Redis adapters (Node's or ours) from
/// any process, through one Redis connection named `emitter`.
///
/// Builder methods return a new emitter and leave the original untouched, like the Node
/// package's immutable `BroadcastOperator`.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sio_adapter_redis::{Emitter, RedisConfig};
/// use sio_types::Value;
///
/// let emitter = Emitter::connect(RedisConfig::builder("redis://127.0.0.1:6379").build()).await?;
/// emitter.to("room1").except("room2").emit("hello", vec![Value::from("world")]).await?;
/// emitter.of("/admin").sockets_join(["vip"]).await?;
/// assert!(emitter.emit("connect", vec![]).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emitter {
    conn: Arc<Conn>,
    prefix: Arc<str>,
    nsp: String,
    rooms: Vec<Room>,
    except: Vec<Room>,
    flags: Map,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("nsp", &self.nsp)
            .field("rooms", &self.rooms)
            .field("except", &self.except)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

fn push_unique(rooms: &mut Vec<Room>, room: Room) {
    if !rooms.contains(&room) {
        rooms.push(room);
    }
}

impl Emitter {
    /// Connects the `emitter` connection, ready within the configured connect timeout. The
    /// emitter starts on namespace `/`. Only the key prefix of `config` matters beyond the
    /// URL: the emitter speaks the classic protocol.
    pub async fn connect(config: RedisConfig) -> Result<Self, RedisConnectError> {
        let counters = Arc::new(Counters::default());
        let managed = connect(
            &config.target()?,
            "emitter",
            config.connect_timeout,
            counters.clone(),
            None,
        )
        .await?;
        Ok(Emitter {
            conn: Arc::new(Conn {
                publisher: Publisher::start(
                    managed.conn.clone(),
                    counters.clone(),
                    config.fire_and_forget,
                ),
                counters,
                _managed: managed,
            }),
            prefix: config.key_prefix.into(),
            nsp: "/".into(),
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Map::new(),
        })
    }

    /// The emitter of another namespace (a missing leading `/` is added). Targets and
    /// flags start empty.
    pub fn of(&self, nsp: &str) -> Self {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        Emitter {
            conn: self.conn.clone(),
            prefix: self.prefix.clone(),
            nsp,
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Map::new(),
        }
    }

    /// Targets a room (a socket id targets that socket).
    pub fn to(&self, room: impl Into<Room>) -> Self {
        let mut e = self.clone();
        push_unique(&mut e.rooms, room.into());
        e
    }

    /// Targets several rooms.
    pub fn to_many<R: Into<Room>>(&self, rooms: impl IntoIterator<Item = R>) -> Self {
        let mut e = self.clone();
        for r in rooms {
            push_unique(&mut e.rooms, r.into());
        }
        e
    }

    /// Same as [`to`](Emitter::to) (`in` in JavaScript).
    pub fn in_room(&self, room: impl Into<Room>) -> Self {
        self.to(room)
    }

    /// Leaves out the sockets of a room.
    pub fn except(&self, room: impl Into<Room>) -> Self {
        let mut e = self.clone();
        push_unique(&mut e.except, room.into());
        e
    }

    /// The event may be dropped for clients that cannot take it right now.
    pub fn volatile(&self) -> Self {
        let mut e = self.clone();
        e.flags.insert("volatile".into(), Value::Bool(true));
        e
    }

    /// Whether to compress the event.
    pub fn compress(&self, compress: bool) -> Self {
        let mut e = self.clone();
        e.flags.insert("compress".into(), Value::Bool(compress));
        e
    }

    /// The namespace this emitter publishes to.
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// Outage counters of the `emitter` connection.
    pub fn stats(&self) -> ConnectionStats {
        self.conn.counters.snapshot()
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.prefix, self.nsp)
    }

    /// The bytes and channel [`emit`](Emitter::emit) publishes, exactly as the Node
    /// emitter would.
    pub fn encode_emit(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(String, Vec<u8>), EmitterError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitterError::Reserved(event.to_owned()));
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::from(event));
        data.extend(args);
        let packet = obj([
            ("type", Value::Int(2)),
            ("data", Value::Array(data)),
            ("nsp", Value::from(self.nsp.as_str())),
        ]);
        let opts = obj([
            ("rooms", wire::str_array(&self.rooms)),
            ("flags", Value::Object(self.flags.clone())),
            ("except", wire::str_array(&self.except)),
        ]);
        let msg = Value::Array(vec![Value::from(EMITTER_UID), packet, opts]);
        let bytes = wire::encode_msgpack(&msg).map_err(|e| EmitterError::Encode(e.to_string()))?;
        let mut channel = format!("{}#{}#", self.prefix, self.nsp);
        if self.rooms.len() == 1 {
            channel.push_str(&self.rooms[0]);
            channel.push('#');
        }
        Ok((channel, bytes))
    }

    /// Publishes and waits for Redis's answer.
    async fn publish(&self, channel: String, payload: Vec<u8>) -> Result<(), EmitterError> {
        self.conn
            .publisher
            .publish(Kind::Publish, channel, payload)
            .await
            .map_err(EmitterError::Transport)
    }

    /// Emits `event` with `args` to the targeted sockets of every server.
    ///
    /// The message is written with whatever else is queued, in call order with this
    /// emitter's (and its clones') other publishes. It returns Redis's answer, so a message
    /// that may not have reached Redis is an error; with
    /// [`RedisConfigBuilder::fire_and_forget`](crate::RedisConfigBuilder::fire_and_forget)`(true)` it returns once queued, as Node's emitter,
    /// while Redis takes messages (a failure is then only logged). Messages still queued when the
    /// last clone of the emitter is dropped are written by a task of their own.
    pub async fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitterError> {
        let (channel, bytes) = self.encode_emit(event, args)?;
        self.conn
            .publisher
            .publish_soon(Kind::Publish, channel, bytes)
            .await
            .map_err(EmitterError::Transport)
    }

    fn sockets_request(&self, ty: i64, last: (&'static str, Value)) -> Vec<u8> {
        // No uid: the Node emitter sends none, so every adapter applies the request.
        wire::encode_json(&obj([
            ("type", Value::Int(ty)),
            (
                "opts",
                obj([
                    ("rooms", wire::str_array(&self.rooms)),
                    ("except", wire::str_array(&self.except)),
                ]),
            ),
            last,
        ]))
    }

    /// Makes the targeted sockets join `rooms`.
    pub async fn sockets_join<R: Into<Room>>(
        &self,
        rooms: impl IntoIterator<Item = R>,
    ) -> Result<(), EmitterError> {
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        let body = self.sockets_request(req::REMOTE_JOIN, ("rooms", wire::str_array(&rooms)));
        self.publish(self.request_channel(), body).await
    }

    /// Makes the targeted sockets leave `rooms`.
    pub async fn sockets_leave<R: Into<Room>>(
        &self,
        rooms: impl IntoIterator<Item = R>,
    ) -> Result<(), EmitterError> {
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        let body = self.sockets_request(req::REMOTE_LEAVE, ("rooms", wire::str_array(&rooms)));
        self.publish(self.request_channel(), body).await
    }

    /// Disconnects the targeted sockets; `close` also closes their connection.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        let body = self.sockets_request(req::REMOTE_DISCONNECT, ("close", Value::Bool(close)));
        self.publish(self.request_channel(), body).await
    }

    /// Emits to the server-side handlers of every server of the namespace (no ack: the
    /// Node emitter has none either).
    pub async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), EmitterError> {
        let body = obj([
            ("uid", Value::from(EMITTER_UID)),
            ("type", Value::Int(req::SERVER_SIDE_EMIT)),
            ("data", Value::Array(args)),
        ]);
        // Always JSON, as Node writes it (binary becomes a Buffer's JSON form there too).
        self.publish(self.request_channel(), wire::encode_json(&body))
            .await
    }
}
