//! socket.io protocol v5: the default parser.
// CONTRACT (signatures fixed; bodies written by the codec work):

use bytes::Bytes;
use sio_types::Packet;

use crate::limits::Limits;

/// One engine.io message the encoder produced: the packet's text, then one binary frame per
/// attachment (or, with the msgpack parser, a single binary frame).
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// Which socket.io parser a connection uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parser {
    /// socket.io-parser: JSON text plus binary attachments.
    #[default]
    Default,
    /// socket.io-msgpack-parser.
    #[cfg(feature = "msgpack")]
    Msgpack,
}

/// A packet that cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Placeholder until the codec lands.
    #[error("todo")]
    Todo,
}

/// A malformed socket.io packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Placeholder until the codec lands.
    #[error("todo")]
    Todo,
}

impl Parser {
    /// Encodes a packet into the engine.io messages that carry it.
    pub fn encode(&self, packet: &Packet) -> Result<Vec<Frame>, EncodeError> {
        let _ = packet;
        todo!()
    }

    /// A decoder for one connection's incoming messages.
    pub fn decoder(&self, limits: Limits) -> Decoder {
        let _ = limits;
        todo!()
    }
}

/// Decodes one connection's incoming messages, reassembling binary packets from the frames
/// that follow them.
#[derive(Debug)]
pub struct Decoder {
    _private: (),
}

impl Decoder {
    /// Feeds a text message; returns a packet once one is complete.
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        let _ = text;
        todo!()
    }
    /// Feeds a binary message; returns a packet once one is complete.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let _ = data;
        todo!()
    }
}
