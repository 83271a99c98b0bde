//! The socket.io v5 packet model.
//!
//! A [`Packet`] is what travels between a socket.io client and server inside engine.io
//! message packets: a namespace and one of the seven packet types. Binary arguments live
//! inside the [`Value`]s of an event or ack; whether the packet goes out as EVENT or
//! BINARY_EVENT (and with how many attachments) is decided by the codec, see
//! [`Packet::packet_type`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The id that pairs an ack with the event that asked for it.
pub type AckId = u64;

/// The seven socket.io packet types, with their wire codes.
///
/// ```
/// use sio_types::PacketType;
///
/// assert_eq!(PacketType::BinaryEvent as u8, 5);
/// assert_eq!(PacketType::try_from(b'3' - b'0'), Ok(PacketType::Ack));
/// assert!(PacketType::try_from(7).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: connect to a namespace (client: auth payload; server: `{sid}`).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: the answer to an event that asked for an ack.
    Ack = 3,
    /// `4`: the server refused a namespace connection.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an ack with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// Whether packets of this type carry binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

impl TryFrom<u8> for PacketType {
    type Error = u8;

    fn try_from(code: u8) -> Result<Self, u8> {
        Ok(match code {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            4 => PacketType::ConnectError,
            5 => PacketType::BinaryEvent,
            6 => PacketType::BinaryAck,
            other => return Err(other),
        })
    }
}

/// One socket.io packet: a namespace and what is sent to it.
///
/// ```
/// use sio_types::{Packet, PacketType, Value};
///
/// let p = Packet::event("/chat", "message", vec![Value::from("hi")]);
/// assert_eq!(p.packet_type(), PacketType::Event);
/// let p = Packet::event("/", "upload", vec![Value::from(vec![0u8; 4])]).with_ack(7);
/// assert_eq!(p.packet_type(), PacketType::BinaryEvent);
/// assert_eq!(p.ack_id(), Some(7));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// The namespace, `/` for the main one.
    pub nsp: String,
    /// The packet's type and content.
    pub data: PacketData,
}

/// The content of a [`Packet`], by type. EVENT and BINARY_EVENT share [`PacketData::Event`],
/// ACK and BINARY_ACK share [`PacketData::Ack`]: binary is a property of the arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum PacketData {
    /// CONNECT, with the client's auth payload or the server's `{sid, pid?}`.
    Connect(Option<Value>),
    /// DISCONNECT.
    Disconnect,
    /// EVENT or BINARY_EVENT.
    Event {
        /// The event name.
        event: String,
        /// The arguments after the name.
        args: Vec<Value>,
        /// Set when the sender waits for an ack.
        ack: Option<AckId>,
    },
    /// ACK or BINARY_ACK.
    Ack {
        /// The id of the event this answers.
        id: AckId,
        /// The ack's arguments.
        args: Vec<Value>,
    },
    /// CONNECT_ERROR, with `{message, data?}`.
    ConnectError(ConnectError),
}

/// Why a namespace connection was refused: the client sees it as `connect_error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectError {
    /// The message (`err.message` on the client).
    pub message: String,
    /// Optional details (`err.data` on the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ConnectError {
    /// The error socket.io sends for a namespace nobody serves.
    pub fn invalid_namespace() -> Self {
        ConnectError {
            message: "Invalid namespace".into(),
            data: None,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Packet {
    /// A CONNECT packet.
    pub fn connect(nsp: impl Into<String>, payload: Option<Value>) -> Self {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Connect(payload),
        }
    }

    /// A DISCONNECT packet.
    pub fn disconnect(nsp: impl Into<String>) -> Self {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Disconnect,
        }
    }

    /// An event without ack.
    pub fn event(nsp: impl Into<String>, event: impl Into<String>, args: Vec<Value>) -> Self {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Event {
                event: event.into(),
                args,
                ack: None,
            },
        }
    }

    /// An ack answering event `id`.
    pub fn ack(nsp: impl Into<String>, id: AckId, args: Vec<Value>) -> Self {
        Packet {
            nsp: nsp.into(),
            data: PacketData::Ack { id, args },
        }
    }

    /// A CONNECT_ERROR packet.
    pub fn connect_error(nsp: impl Into<String>, error: ConnectError) -> Self {
        Packet {
            nsp: nsp.into(),
            data: PacketData::ConnectError(error),
        }
    }

    /// The same event, now asking for an ack with `id`. Other packet types are unchanged.
    pub fn with_ack(mut self, id: AckId) -> Self {
        if let PacketData::Event { ack, .. } = &mut self.data {
            *ack = Some(id);
        }
        self
    }

    /// The ack id: the one an event asks for, or the one an ack answers.
    pub fn ack_id(&self) -> Option<AckId> {
        match &self.data {
            PacketData::Event { ack, .. } => *ack,
            PacketData::Ack { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The wire type the default parser uses: events and acks whose arguments contain
    /// binary become BINARY_EVENT / BINARY_ACK.
    pub fn packet_type(&self) -> PacketType {
        match &self.data {
            PacketData::Connect(_) => PacketType::Connect,
            PacketData::Disconnect => PacketType::Disconnect,
            PacketData::Event { args, .. } if args.iter().any(Value::contains_binary) => {
                PacketType::BinaryEvent
            }
            PacketData::Event { .. } => PacketType::Event,
            PacketData::Ack { args, .. } if args.iter().any(Value::contains_binary) => {
                PacketType::BinaryAck
            }
            PacketData::Ack { .. } => PacketType::Ack,
            PacketData::ConnectError(_) => PacketType::ConnectError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in 0..7u8 {
            let t = PacketType::try_from(code).unwrap();
            assert_eq!(t as u8, code);
            assert_eq!(t.is_binary(), code >= 5);
        }
        assert_eq!(PacketType::try_from(7), Err(7));
    }

    #[test]
    fn binary_is_found_in_nested_args() {
        let nested = Value::from_iter([("a", Value::Array(vec![Value::from(vec![1u8])]))]);
        let ack = Packet::ack("/", 3, vec![Value::Null, nested]);
        assert_eq!(ack.packet_type(), PacketType::BinaryAck);
        assert_eq!(ack.ack_id(), Some(3));
        assert_eq!(Packet::ack("/", 3, vec![]).packet_type(), PacketType::Ack);
        let err = Packet::connect_error("/x", ConnectError::invalid_namespace());
        assert_eq!(err.packet_type(), PacketType::ConnectError);
        assert_eq!(Packet::disconnect("/").with_ack(1).ack_id(), None);
        assert_eq!(
            Packet::connect("/", None).packet_type(),
            PacketType::Connect
        );
    }
}
