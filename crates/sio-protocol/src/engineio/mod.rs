//! engine.io protocol v4: packets, WebSocket frames, HTTP long-polling payloads.
// CONTRACT (signatures fixed; bodies written by the codec work):

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// engine.io packet types and their wire digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`
    Open = 0,
    /// `1`
    Close = 1,
    /// `2`
    Ping = 2,
    /// `3`
    Pong = 3,
    /// `4`
    Message = 4,
    /// `5`
    Upgrade = 5,
    /// `6`
    Noop = 6,
}

/// One engine.io packet.
#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    /// Handshake, server to client.
    Open(OpenPacket),
    /// Close the session.
    Close,
    /// Heartbeat (server to client in v4); `"probe"` during an upgrade.
    Ping(String),
    /// Heartbeat answer; `"probe"` during an upgrade.
    Pong(String),
    /// A text message.
    Message(String),
    /// A binary message.
    Binary(Bytes),
    /// Finishes a transport upgrade.
    Upgrade,
    /// Tells a pending poll to return during an upgrade.
    Noop,
}

/// The JSON of the open packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPacket {
    /// Session id.
    pub sid: String,
    /// Transports the client may upgrade to (`["websocket"]`).
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// Largest payload the server accepts, in bytes.
    pub max_payload: u64,
}

/// A malformed engine.io packet or payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Placeholder until the codec lands.
    #[error("todo")]
    Todo,
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        todo!()
    }
    /// Encodes for a WebSocket frame: text packets as text, [`Packet::Binary`] as raw bytes.
    pub fn encode_ws(&self) -> WsFrame {
        todo!()
    }
    /// Decodes a WebSocket text frame.
    pub fn decode_ws_text(text: &str, limits: &Limits) -> Result<Packet, DecodeError> {
        let _ = (text, limits);
        todo!()
    }
    /// Decodes a WebSocket binary frame (always a binary message in v4).
    pub fn decode_ws_binary(data: Bytes, limits: &Limits) -> Result<Packet, DecodeError> {
        let _ = (data, limits);
        todo!()
    }
}

/// A WebSocket frame's content.
#[derive(Clone, Debug, PartialEq)]
pub enum WsFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// Encodes packets as one HTTP long-polling body (record separator 0x1e, `b` + base64 for binary).
pub fn encode_payload(packets: &[Packet]) -> String {
    let _ = packets;
    todo!()
}

/// Decodes an HTTP long-polling body.
pub fn decode_payload(body: &[u8], limits: &Limits) -> Result<Vec<Packet>, DecodeError> {
    let _ = (body, limits);
    todo!()
}
