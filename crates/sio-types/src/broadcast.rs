//! Who a broadcast goes to, and how.

use std::borrow::Cow;
use std::time::Duration;

use crate::id::SocketId;

/// A room name. Every socket is also in a room named after its id.
pub type Room = Cow<'static, str>;

/// What names a room where an API takes one: a string of any lifetime (`"lobby"`,
/// `name.as_str()`, a `String`), a [`Room`], or a socket id (its private room).
///
/// ```
/// use sio_types::{IntoRoom, SocketId};
/// let name = String::from("lobby");
/// assert_eq!(name.as_str().into_room(), "lobby");
/// assert_eq!((&name).into_room(), "lobby");
/// let id = SocketId::random();
/// assert_eq!(id.into_room(), id.as_str());
/// ```
pub trait IntoRoom {
    /// The room.
    fn into_room(self) -> Room;
}

impl IntoRoom for &str {
    fn into_room(self) -> Room {
        Cow::Owned(self.to_owned())
    }
}

impl IntoRoom for String {
    fn into_room(self) -> Room {
        Cow::Owned(self)
    }
}

impl IntoRoom for &String {
    fn into_room(self) -> Room {
        Cow::Owned(self.clone())
    }
}

impl IntoRoom for Room {
    fn into_room(self) -> Room {
        self
    }
}

impl IntoRoom for &Room {
    fn into_room(self) -> Room {
        self.clone()
    }
}

impl IntoRoom for SocketId {
    fn into_room(self) -> Room {
        Cow::Owned(self.as_str().to_owned())
    }
}

impl IntoRoom for &SocketId {
    fn into_room(self) -> Room {
        Cow::Owned(self.as_str().to_owned())
    }
}

/// The target of a broadcast: sockets in any of `rooms` (all sockets of the namespace when
/// empty), minus the sockets in any of `except`.
///
/// ```
/// use sio_types::{BroadcastOptions, SocketId};
///
/// let sender = SocketId::random();
/// let opts = BroadcastOptions::default().to("lobby").except(sender.as_str().to_owned());
/// assert_eq!(opts.rooms, ["lobby"]);
/// assert!(opts.flags.is_default());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BroadcastOptions {
    /// Rooms to send to; empty means the whole namespace.
    pub rooms: Vec<Room>,
    /// Rooms whose sockets are left out.
    pub except: Vec<Room>,
    /// Delivery flags.
    pub flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// Adds a target room (no duplicate is kept).
    pub fn to(mut self, room: impl IntoRoom) -> Self {
        push_unique(&mut self.rooms, room.into_room());
        self
    }

    /// Adds a room to leave out (no duplicate is kept).
    pub fn except(mut self, room: impl IntoRoom) -> Self {
        push_unique(&mut self.except, room.into_room());
        self
    }

    /// Targets one socket only, through its private room.
    pub fn socket(id: SocketId) -> Self {
        BroadcastOptions::default().to(id.as_str().to_owned())
    }
}

fn push_unique(rooms: &mut Vec<Room>, room: Room) {
    if !rooms.contains(&room) {
        rooms.push(room);
    }
}

/// Delivery flags of a broadcast, as socket.io's `BroadcastFlags`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Only this server's sockets: nothing goes to the rest of the cluster.
    pub local: bool,
    /// The packet may be dropped for sockets that cannot take it right now.
    pub volatile: bool,
    /// Ask the transport to compress (WebSocket permessage-deflate, HTTP compression).
    pub compress: bool,
    /// How long to wait for acks, for broadcasts that want them.
    pub timeout: Option<Duration>,
}

impl BroadcastFlags {
    /// Whether no flag is set.
    pub fn is_default(&self) -> bool {
        *self == BroadcastFlags::default()
    }
}
