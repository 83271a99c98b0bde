//! msgpack as notepack.io writes it.
// CONTRACT (signatures fixed; bodies written by the codec work):

use sio_types::Value;

use crate::limits::Limits;

/// A malformed msgpack document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Placeholder until the codec lands.
    #[error("todo")]
    Todo,
}

/// Encodes a value as notepack.io does (maps for objects, compact ints, float64, bin).
pub fn encode(value: &Value) -> Vec<u8> {
    let _ = value;
    todo!()
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    let _ = (value, out);
    todo!()
}

/// Decodes one msgpack document; trailing bytes are an error, as in notepack.io.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    let _ = (bytes, limits);
    todo!()
}

/// Encodes a socket.io packet as socket.io-msgpack-parser does (one binary frame).
pub fn encode_packet(packet: &sio_types::Packet) -> Vec<u8> {
    let _ = packet;
    todo!()
}

/// Decodes a socket.io-msgpack-parser frame.
pub fn decode_packet(bytes: &[u8], limits: &Limits) -> Result<sio_types::Packet, DecodeError> {
    let _ = (bytes, limits);
    todo!()
}
