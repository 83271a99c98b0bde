//! msgpack as notepack.io writes it, and the socket.io msgpack parser on top of it.
//!
//! [`encode`] makes the same bytes as notepack.io 3.0.1 (and 2.2.0, which
//! socket.io-msgpack-parser 3.0.2 bundles: the two only differ for `Date`, `ArrayBuffer` and
//! `undefined`, none of which a [`Value`] holds):
//!
//! | value | format |
//! |---|---|
//! | `Null` | nil `c0` |
//! | `Bool` | `c2` / `c3` |
//! | integers, and floats with an integral value | the most compact of fixint, uint8/16/32/64, int8/16/32/64 (non-negative values always use the unsigned forms) |
//! | other floats (and NaN, ±Infinity) | float64 `cb` (never float32) |
//! | `String` | fixstr, str8, str16, str32 by UTF-8 length |
//! | `Binary` | bin8, bin16, bin32 (never fixext) |
//! | `Array` | fixarray, array16, array32 |
//! | `Object` | fixmap, map16, map32, keys as strings, in insertion order |
//!
//! Because JavaScript has one number type, notepack writes `1.0` as the integer `1`, so a
//! [`Value::Float`] with an integral value comes back from [`decode`] as [`Value::Int`].
//! (Integral floats of 2^64 and beyond are written as float64: notepack would write them
//! modulo 2^64.)
//!
//! [`decode`] reads everything notepack 3 and 2 read, with these representations:
//!
//! - float32 and float64 → [`Value::Float`]; every integer width → [`Value::Int`], or
//!   [`Value::UInt`] above `i64::MAX` (exact, where JavaScript would round above 2^53).
//! - Dates → the string `Date.prototype.toJSON()` gives (`2023-11-14T22:13:20.123Z`), which
//!   is what a Node server forwards to JSON clients; an out-of-range date → `Null` (as
//!   `toJSON()` returns `null`). Dates are the msgpack timestamp extension (type -1, 32, 64
//!   and 96 bit) and notepack 2's fixext8 type 0 (milliseconds).
//! - notepack 2's `undefined` (fixext1 type 0, `d4 00 00`) → `Null` in arrays and at the top,
//!   and a map entry whose value is `undefined` is left out (as `JSON.stringify` and
//!   notepack 3 treat `{pid: undefined}`); notepack 2's ArrayBuffers
//!   (ext8/16/32 type 0) → [`Value::Binary`].
//! - Any other extension → `[type, <binary>]`, as notepack returns it.
//! - Map keys that are not strings → the string JavaScript's `String(key)` makes
//!   (`1` → `"1"`, `null` → `"null"`); a repeated key keeps its first position and its last
//!   value. (Unlike a JS object, integer-like keys are not moved to the front.)
//! - Invalid UTF-8 in strings → U+FFFD, as Node's `Buffer.toString()` does.
//!
//! Decoding never panics and never allocates from a declared length before checking it
//! against the bytes left. [`Limits::max_packet_size`] bounds the input and
//! [`Limits::max_depth`] the nesting (capped at 256 whatever the limit says: decoding
//! itself does not recurse, but dropping or re-encoding a `Value` does).
//!
//! The packet layer ([`encode_packet`], [`decode_packet`]) is socket.io-msgpack-parser
//! 3.0.2: each packet is one msgpack map `{type, data, nsp, id?}` sent as one binary frame,
//! binary arguments stay msgpack `bin` (no attachments).

mod decode;
mod encode;
mod js;
mod packet;

use sio_types::{PacketType, Value};

use crate::limits::Limits;

pub use packet::{decode_packet, encode_packet};

/// A malformed msgpack document or socket.io-msgpack-parser packet. Offsets count bytes from
/// the start of the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than [`Limits::max_packet_size`].
    #[error("msgpack input is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// The input's length.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The input ended in the middle of something.
    #[error("input ends at offset {offset} while reading {what}: {needed} more bytes needed")]
    UnexpectedEof {
        /// Where the missing part starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// How many bytes are missing.
        needed: usize,
    },
    /// A string, bin, ext, array or map declares more content than the input has left.
    #[error(
        "{what} at offset {offset} declares {declared} elements or bytes, but only {remaining} bytes remain"
    )]
    LengthExceedsInput {
        /// Where the value starts.
        offset: usize,
        /// Its kind: `string`, `bin`, `ext`, `array`, `map`.
        what: &'static str,
        /// The declared length.
        declared: u64,
        /// The bytes left after its header.
        remaining: usize,
    },
    /// A byte that starts no msgpack value (`0xc1`).
    #[error("0x{prefix:02x} at offset {offset} is not a msgpack type")]
    InvalidPrefix {
        /// Where it is.
        offset: usize,
        /// The byte.
        prefix: u8,
    },
    /// Arrays and maps nest deeper than [`Limits::max_depth`].
    #[error("array or map at offset {offset} nests deeper than {max} levels")]
    TooDeep {
        /// Where the level that is too deep starts.
        offset: usize,
        /// The depth allowed.
        max: usize,
    },
    /// Bytes follow the document (notepack: "N trailing bytes").
    #[error("{count} trailing bytes after the msgpack document, from offset {offset}")]
    TrailingBytes {
        /// Where the document ended.
        offset: usize,
        /// How many bytes follow it.
        count: usize,
    },
    /// An ext8 timestamp (type -1, the 96-bit form) whose length is not 12.
    #[error("ext8 timestamp at offset {offset} is {len} bytes long, not 12")]
    InvalidTimestamp {
        /// Where the extension starts.
        offset: usize,
        /// Its data length.
        len: usize,
    },
    /// The packet is not a msgpack map.
    #[error("a socket.io packet must be a map, found {found}")]
    NotAnObject {
        /// The kind of value found.
        found: &'static str,
    },
    /// `type` is missing, not an integer, or not a packet type.
    #[error("invalid packet type: {found}")]
    InvalidType {
        /// What was there (`missing`, `string`, `9`, ...).
        found: String,
    },
    /// `nsp` is missing or not a string.
    #[error("invalid namespace: expected a string, found {found}")]
    InvalidNamespace {
        /// The kind of value found (`missing` when absent).
        found: &'static str,
    },
    /// `data` has a shape the packet type does not allow.
    #[error("invalid payload for a {packet_type:?} packet: {reason}")]
    InvalidPayload {
        /// The packet's type.
        packet_type: PacketType,
        /// What is wrong with it.
        reason: String,
    },
    /// `id` is not a non-negative integer, or an ACK has none.
    #[error("invalid packet id: {found}")]
    InvalidId {
        /// What was there.
        found: String,
    },
}

/// Encodes a value as notepack.io does (maps for objects, compact ints, float64, bin).
///
/// ```
/// use sio_types::Value;
/// use sio_protocol::msgpack::encode;
///
/// let v = Value::from_iter([("a", Value::from(1)), ("b", Value::from(vec![0xffu8]))]);
/// assert_eq!(encode(&v), [0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0xc4, 0x01, 0xff]);
/// // Integral floats are integers on the wire, as in JavaScript.
/// assert_eq!(encode(&Value::Float(300.0)), [0xcd, 0x01, 0x2c]);
/// ```
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) {
    encode::value(value, out);
}

/// Decodes one msgpack document; trailing bytes are an error, as in notepack.io.
///
/// ```
/// use sio_types::Value;
/// use sio_protocol::{Limits, msgpack::{decode, DecodeError}};
///
/// let v = decode(&[0x92, 0xa2, b'h', b'i', 0xd6, 0xff, 0, 0, 0, 0], &Limits::default())?;
/// assert_eq!(v, Value::Array(vec!["hi".into(), "1970-01-01T00:00:00.000Z".into()]));
///
/// let err = decode(&[0xc0, 0xc0], &Limits::default()).unwrap_err();
/// assert_eq!(err, DecodeError::TrailingBytes { offset: 1, count: 1 });
/// # Ok::<(), DecodeError>(())
/// ```
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Value, DecodeError> {
    decode::Decoder::new(bytes, limits)?.document()
}
