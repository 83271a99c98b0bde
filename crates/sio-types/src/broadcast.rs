//! Who a broadcast goes to, and how.

use std::borrow::Cow;
use std::time::Duration;

use crate::id::SocketId;

/// A room name. Every socket is also in a room named after its id.
pub type Room = Cow<'static, str>;

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
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        push_unique(&mut self.rooms, room.into());
        self
    }

    /// Adds a room to leave out (no duplicate is kept).
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        push_unique(&mut self.except, room.into());
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
