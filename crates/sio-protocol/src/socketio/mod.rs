//! socket.io protocol v5: the default parser.
//!
//! A packet is written as
//! `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`: the namespace is left
//! out when it is `/`, and every binary leaf of an event's or ack's arguments is replaced by
//! `{"_placeholder":true,"num":N}` (N counted depth-first) and sent as its own binary
//! message after the text, which turns the packet into a BINARY_EVENT / BINARY_ACK.
//!
//! ```
//! use sio_protocol::socketio::{Frame, Parser};
//! use sio_protocol::Limits;
//! use sio_types::{Packet, Value};
//!
//! let packet = Packet::event("/admin", "upload", vec![Value::from(vec![1u8, 2])]).with_ack(7);
//! let frames = Parser::Default.encode(&packet)?;
//! assert_eq!(
//!     frames[0],
//!     Frame::Text(r#"51-/admin,7["upload",{"_placeholder":true,"num":0}]"#.into())
//! );
//!
//! let mut decoder = Parser::Default.decoder(Limits::default());
//! let Frame::Text(text) = &frames[0] else { unreachable!() };
//! assert_eq!(decoder.decode_text(text)?, None); // waits for the attachment
//! let Frame::Binary(bin) = &frames[1] else { unreachable!() };
//! assert_eq!(decoder.decode_binary(bin.clone())?, Some(packet));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions where socket.io-parser is loose
//!
//! - An event name may be a string or, as socket.io-parser allows, a number; an integral
//!   number is turned into its decimal string (Node's `EventEmitter` treats `1` and `"1"` as
//!   the same event). Non-integral numbers are refused.
//! - Reserved event names (`connect`, `connect_error`, `disconnect`, `disconnecting`,
//!   `newListener`, `removeListener`) are refused, as socket.io-parser does.
//! - Ack ids are decimal `u64`s; a longer run of digits is an error instead of a rounded
//!   float. An ACK without an id, and an EVENT or ACK without a payload, are errors.
//! - Placeholders must use each attachment exactly once, with an integer `num`.
//! - A CONNECT_ERROR object must carry a string `message`.

use bytes::Bytes;
use sio_types::constants::is_reserved_event;
use sio_types::value::Map;
use sio_types::{AckId, ConnectError, Packet, PacketData, PacketType, Value};

use crate::json::{WriteError, write_str, write_value};
use crate::limits::Limits;

/// Event names socket.io keeps for itself; an EVENT carrying one is invalid.
pub use sio_types::constants::RESERVED_EVENTS;

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
    /// The namespace does not start with `/`, or holds a `,` (the default parser has no
    /// escape for it).
    #[error("namespace {0:?} must start with '/' and must not contain ','")]
    InvalidNamespace(String),
    /// The event name is one socket.io reserves; the peer would drop the connection.
    #[error("event name {0:?} is reserved by socket.io")]
    ReservedEvent(String),
    /// A CONNECT payload that is not an object.
    #[error("a CONNECT payload must be an object, found {0}")]
    ConnectPayloadNotObject(&'static str),
    /// Binary data where the packet type cannot carry attachments (CONNECT, CONNECT_ERROR).
    #[error("{0:?} packets cannot carry binary data")]
    BinaryNotAllowed(PacketType),
    /// A value nested deeper than the encoder recurses.
    #[error("payload nested deeper than {0} levels")]
    TooDeep(usize),
}

/// A malformed socket.io packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An empty text message.
    #[error("empty socket.io packet")]
    Empty,
    /// A message larger than [`Limits::max_packet_size`].
    #[error("socket.io message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The first character is not a packet type `0`..`6`.
    #[error("unknown socket.io packet type {0:?}")]
    UnknownType(char),
    /// A BINARY_EVENT / BINARY_ACK whose `<count>-` header is missing, not a number, or zero.
    #[error("invalid attachment count {0:?}")]
    InvalidAttachmentCount(String),
    /// More attachments announced than [`Limits::max_attachments`].
    #[error("{count} attachments announced, at most {max} are allowed")]
    TooManyAttachments {
        /// The announced count.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// An ack id that does not fit a `u64`.
    #[error("ack id {0:?} does not fit in 64 bits")]
    AckIdOverflow(String),
    /// An ACK / BINARY_ACK without an ack id.
    #[error("ack packet without an ack id")]
    MissingAckId,
    /// The payload is not JSON.
    #[error("invalid JSON payload: {0}")]
    InvalidJson(String),
    /// The payload has the wrong shape for the packet type.
    #[error("invalid {packet_type:?} payload: {reason}")]
    InvalidPayload {
        /// The packet's type.
        packet_type: PacketType,
        /// What was wrong.
        reason: &'static str,
    },
    /// An EVENT uses a name socket.io reserves.
    #[error("event name {0:?} is reserved by socket.io")]
    ReservedEvent(String),
    /// The payload nests deeper than [`Limits::max_depth`].
    #[error("payload nested {depth} levels deep, at most {max} are allowed")]
    TooDeep {
        /// How deep the payload goes.
        depth: usize,
        /// The limit.
        max: usize,
    },
    /// A binary message arrived while no BINARY_EVENT / BINARY_ACK waits for attachments.
    #[error("binary message received while no attachment is expected")]
    UnexpectedBinary,
    /// A text message arrived while a BINARY_EVENT / BINARY_ACK still waits for attachments.
    #[error("text message received while {0} attachment(s) are still expected")]
    UnexpectedText(usize),
    /// A placeholder whose `num` is missing or not a non-negative integer.
    #[error("placeholder with an invalid num: {0}")]
    InvalidPlaceholder(String),
    /// Two placeholders refer to the same attachment.
    #[error("attachment {0} is referenced twice")]
    DuplicatePlaceholder(u64),
    /// A placeholder refers to an attachment that was not announced.
    #[error("placeholder num {num} is out of range for {attachments} attachment(s)")]
    PlaceholderOutOfRange {
        /// The placeholder's num.
        num: u64,
        /// The announced count.
        attachments: usize,
    },
    /// Fewer placeholders than announced attachments.
    #[error("{announced} attachments announced but {used} placeholder(s) found")]
    UnusedAttachments {
        /// The announced count.
        announced: usize,
        /// The placeholders found.
        used: usize,
    },
    /// A text message on a connection that uses the msgpack parser.
    #[cfg(feature = "msgpack")]
    #[error("text message received, the msgpack parser only reads binary messages")]
    TextWithMsgpack,
    /// A malformed msgpack packet.
    #[cfg(feature = "msgpack")]
    #[error("invalid msgpack packet: {0}")]
    Msgpack(#[from] crate::msgpack::DecodeError),
}

fn write_err(e: WriteError, ty: PacketType) -> EncodeError {
    match e {
        WriteError::Binary => EncodeError::BinaryNotAllowed(ty),
        WriteError::TooDeep => EncodeError::TooDeep(crate::json::MAX_ENCODE_DEPTH),
    }
}

impl Parser {
    /// Encodes a packet into the engine.io messages that carry it.
    ///
    /// With the default parser the first frame is always the text; one binary frame per
    /// attachment follows. The attachments share the packet's [`Bytes`] (no copy).
    ///
    /// ```
    /// use sio_protocol::socketio::{Frame, Parser};
    /// use sio_types::{Packet, Value};
    ///
    /// let frames = Parser::Default.encode(&Packet::event("/", "hey", vec![Value::from("Jude")]))?;
    /// assert_eq!(frames, vec![Frame::Text(r#"2["hey","Jude"]"#.into())]);
    /// # Ok::<(), sio_protocol::socketio::EncodeError>(())
    /// ```
    pub fn encode(&self, packet: &Packet) -> Result<Vec<Frame>, EncodeError> {
        match self {
            Parser::Default => encode_default(packet, ""),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => {
                // msgpack carries the namespace as a string, so only the leading `/` matters.
                if !packet.nsp.starts_with('/') {
                    return Err(EncodeError::InvalidNamespace(packet.nsp.clone()));
                }
                Ok(vec![Frame::Binary(Bytes::from(
                    crate::msgpack::encode_packet(packet),
                ))])
            }
        }
    }

    /// As [`encode`](Parser::encode), with each text frame already carrying engine.io's
    /// message type `4` in front, so a server hands it to its transport without copying
    /// the packet again (binary frames are unchanged: engine.io sends them raw).
    ///
    /// ```
    /// use sio_protocol::socketio::{Frame, Parser};
    /// use sio_types::{Packet, Value};
    ///
    /// let p = Packet::event("/", "hey", vec![Value::from("Jude")]);
    /// let frames = Parser::Default.encode_for_engine(&p).unwrap();
    /// assert_eq!(frames, vec![Frame::Text(r#"42["hey","Jude"]"#.into())]);
    /// ```
    pub fn encode_for_engine(&self, packet: &Packet) -> Result<Vec<Frame>, EncodeError> {
        match self {
            Parser::Default => encode_default(packet, "4"),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => self.encode(packet),
        }
    }

    /// A decoder for one connection's incoming messages.
    pub fn decoder(&self, limits: Limits) -> Decoder {
        Decoder {
            parser: *self,
            limits,
            pending: None,
        }
    }
}

fn check_namespace(nsp: &str) -> Result<(), EncodeError> {
    if nsp.starts_with('/') && !nsp.contains(',') {
        Ok(())
    } else {
        Err(EncodeError::InvalidNamespace(nsp.to_owned()))
    }
}

fn count_binary(v: &Value) -> usize {
    match v {
        Value::Binary(_) => 1,
        Value::Array(a) => a.iter().map(count_binary).sum(),
        Value::Object(m) => m.values().map(count_binary).sum(),
        _ => 0,
    }
}

/// Writes a JSON value that may not hold binary (CONNECT and CONNECT_ERROR payloads).
fn write_plain(out: &mut String, v: &Value, ty: PacketType) -> Result<(), EncodeError> {
    write_value(out, v, &mut None, 1).map_err(|e| write_err(e, ty))
}

/// Encodes with the default parser; the text frame starts with `prefix`.
fn encode_default(packet: &Packet, prefix: &str) -> Result<Vec<Frame>, EncodeError> {
    check_namespace(&packet.nsp)?;
    let ty = packet.packet_type();
    let args: &[Value] = match &packet.data {
        PacketData::Event { args, .. } | PacketData::Ack { args, .. } => args,
        _ => &[],
    };
    let attachments = if ty.is_binary() {
        args.iter().map(count_binary).sum()
    } else {
        0
    };
    let mut out = String::with_capacity(32 + packet.nsp.len());
    out.push_str(prefix);
    out.push(char::from(b'0' + ty as u8));
    if ty.is_binary() {
        out.push_str(itoa::Buffer::new().format(attachments));
        out.push('-');
    }
    if packet.nsp != "/" {
        out.push_str(&packet.nsp);
        out.push(',');
    }
    if let Some(id) = packet.ack_id() {
        out.push_str(itoa::Buffer::new().format(id));
    }
    let mut frames = Vec::with_capacity(1 + attachments);
    let mut bins: Vec<Bytes> = Vec::with_capacity(attachments);
    match &packet.data {
        PacketData::Connect(None) | PacketData::Disconnect => {}
        PacketData::Connect(Some(v)) => {
            if !matches!(v, Value::Object(_)) {
                return Err(EncodeError::ConnectPayloadNotObject(v.kind()));
            }
            write_plain(&mut out, v, ty)?;
        }
        PacketData::Event { event, args, .. } => {
            if is_reserved_event(event) {
                return Err(EncodeError::ReservedEvent(event.clone()));
            }
            out.push('[');
            write_str(&mut out, event);
            write_args(&mut out, args, &mut bins, true)?;
        }
        PacketData::Ack { args, .. } => {
            out.push('[');
            write_args(&mut out, args, &mut bins, false)?;
        }
        PacketData::ConnectError(err) => {
            out.push_str("{\"message\":");
            write_str(&mut out, &err.message);
            if let Some(data) = &err.data {
                out.push_str(",\"data\":");
                write_plain(&mut out, data, ty)?;
            }
            out.push('}');
        }
    }
    frames.push(Frame::Text(out));
    frames.extend(bins.into_iter().map(Frame::Binary));
    Ok(frames)
}

/// Writes `args` as the rest of an array whose `[` (and event name) is already written.
fn write_args(
    out: &mut String,
    args: &[Value],
    bins: &mut Vec<Bytes>,
    after_first: bool,
) -> Result<(), EncodeError> {
    let mut sink = Some(bins);
    for (i, arg) in args.iter().enumerate() {
        if after_first || i > 0 {
            out.push(',');
        }
        write_value(out, arg, &mut sink, 1).map_err(|e| write_err(e, PacketType::BinaryEvent))?;
    }
    out.push(']');
    Ok(())
}

/// A BINARY_EVENT / BINARY_ACK whose attachments are still arriving.
#[derive(Debug)]
struct Pending {
    packet: Packet,
    attachments: Vec<Bytes>,
    expected: usize,
}

/// Decodes one connection's incoming messages, reassembling binary packets from the frames
/// that follow them.
///
/// After an error the decoder forgets any half-received packet; socket.io closes the
/// connection on a decode error, and so should its users.
#[derive(Debug)]
pub struct Decoder {
    parser: Parser,
    limits: Limits,
    pending: Option<Pending>,
}

impl Decoder {
    /// Whether a BINARY_EVENT / BINARY_ACK is waiting for more binary messages.
    pub fn is_reassembling(&self) -> bool {
        self.pending.is_some()
    }

    fn check_size(&self, size: usize) -> Result<(), DecodeError> {
        if size > self.limits.max_packet_size {
            Err(DecodeError::TooLarge {
                size,
                max: self.limits.max_packet_size,
            })
        } else {
            Ok(())
        }
    }

    /// Feeds a text message; returns a packet once one is complete.
    ///
    /// ```
    /// use sio_protocol::socketio::{DecodeError, Parser};
    /// use sio_protocol::Limits;
    /// use sio_types::{Packet, Value};
    ///
    /// let mut d = Parser::Default.decoder(Limits::default());
    /// assert_eq!(
    ///     d.decode_text(r#"2/admin,["bar"]"#)?,
    ///     Some(Packet::event("/admin", "bar", vec![]))
    /// );
    /// assert!(matches!(d.decode_text(r#"2["disconnect"]"#), Err(DecodeError::ReservedEvent(_))));
    /// # Ok::<(), DecodeError>(())
    /// ```
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        let result = self.decode_text_inner(text);
        if result.is_err() {
            self.pending = None;
        }
        result
    }

    fn decode_text_inner(&mut self, text: &str) -> Result<Option<Packet>, DecodeError> {
        match self.parser {
            Parser::Default => {}
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => return Err(DecodeError::TextWithMsgpack),
        }
        if let Some(p) = &self.pending {
            return Err(DecodeError::UnexpectedText(
                p.expected.saturating_sub(p.attachments.len()),
            ));
        }
        self.check_size(text.len())?;
        let (packet, expected) = decode_header_and_payload(text, &self.limits)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        self.pending = Some(Pending {
            packet,
            attachments: Vec::with_capacity(expected),
            expected,
        });
        Ok(None)
    }

    /// Feeds a binary message; returns a packet once one is complete.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let result = self.decode_binary_inner(data);
        if result.is_err() {
            self.pending = None;
        }
        result
    }

    fn decode_binary_inner(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        self.check_size(data.len())?;
        match self.parser {
            Parser::Default => {}
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => {
                return Ok(Some(crate::msgpack::decode_packet(&data, &self.limits)?));
            }
        }
        let Some(mut pending) = self.pending.take() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        pending.attachments.push(data);
        if pending.attachments.len() < pending.expected {
            self.pending = Some(pending);
            return Ok(None);
        }
        let Pending {
            mut packet,
            attachments,
            ..
        } = pending;
        let mut slots: Vec<Option<Bytes>> = attachments.into_iter().map(Some).collect();
        match &mut packet.data {
            PacketData::Event { args, .. } | PacketData::Ack { args, .. } => {
                for arg in args.iter_mut() {
                    fill_placeholders(arg, &mut slots)?;
                }
            }
            _ => {}
        }
        Ok(Some(packet))
    }
}

/// Reads the placeholder's num if `m` is a placeholder (`_placeholder === true`, like
/// socket.io-parser's check).
fn placeholder_num(m: &Map) -> Option<Result<u64, DecodeError>> {
    if m.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    Some(match m.get("num") {
        Some(Value::Int(n)) if *n >= 0 => Ok(n.unsigned_abs()),
        Some(Value::UInt(n)) => Ok(*n),
        Some(other) => Err(DecodeError::InvalidPlaceholder(format!(
            "num is a {}",
            other.kind()
        ))),
        None => Err(DecodeError::InvalidPlaceholder("num is missing".into())),
    })
}

/// Checks the placeholders of a binary packet before any attachment is buffered.
fn check_placeholders(v: &Value, seen: &mut [bool], used: &mut usize) -> Result<(), DecodeError> {
    match v {
        Value::Object(m) => {
            if let Some(num) = placeholder_num(m) {
                let num = num?;
                let attachments = seen.len();
                let slot = usize::try_from(num)
                    .ok()
                    .and_then(|i| seen.get_mut(i))
                    .ok_or(DecodeError::PlaceholderOutOfRange { num, attachments })?;
                if *slot {
                    return Err(DecodeError::DuplicatePlaceholder(num));
                }
                *slot = true;
                *used += 1;
                return Ok(());
            }
            m.values()
                .try_for_each(|x| check_placeholders(x, seen, used))
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_placeholders(x, seen, used)),
        _ => Ok(()),
    }
}

fn fill_placeholders(v: &mut Value, slots: &mut [Option<Bytes>]) -> Result<(), DecodeError> {
    match v {
        Value::Object(m) => {
            if let Some(num) = placeholder_num(m) {
                let num = num?;
                let attachments = slots.len();
                let bytes = usize::try_from(num)
                    .ok()
                    .and_then(|i| slots.get_mut(i))
                    .and_then(Option::take)
                    .ok_or(DecodeError::PlaceholderOutOfRange { num, attachments })?;
                *v = Value::Binary(bytes);
                return Ok(());
            }
            m.values_mut().try_for_each(|x| fill_placeholders(x, slots))
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| fill_placeholders(x, slots)),
        _ => Ok(()),
    }
}

/// Splits a run of ASCII digits off the front of `s`.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Decodes the text of a packet; returns it with the number of attachments still to come.
fn decode_header_and_payload(text: &str, limits: &Limits) -> Result<(Packet, usize), DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty);
    };
    let ty = first
        .checked_sub(b'0')
        .and_then(|c| PacketType::try_from(c).ok())
        .ok_or_else(|| DecodeError::UnknownType(text.chars().next().unwrap_or_default()))?;
    // Every split below happens at an ASCII byte, so slicing stays on char boundaries.
    let mut rest = &text[1..];

    let mut attachments = 0usize;
    if ty.is_binary() {
        let Some(dash) = rest.find('-') else {
            return Err(DecodeError::InvalidAttachmentCount(
                rest.chars().take(20).collect(),
            ));
        };
        let digits = &rest[..dash];
        let invalid = || DecodeError::InvalidAttachmentCount(digits.chars().take(20).collect());
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let count: u64 = digits.parse().map_err(|_| invalid())?;
        if count == 0 {
            return Err(invalid());
        }
        attachments = usize::try_from(count)
            .ok()
            .filter(|&n| n <= limits.max_attachments)
            .ok_or(DecodeError::TooManyAttachments {
                count,
                max: limits.max_attachments,
            })?;
        rest = &rest[dash + 1..];
    }

    let mut nsp = "/";
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(comma) => {
                nsp = &rest[..comma];
                rest = &rest[comma + 1..];
            }
            None => {
                nsp = rest;
                rest = "";
            }
        }
    }

    let (digits, tail) = split_digits(rest);
    let id: Option<AckId> = if digits.is_empty() {
        None
    } else {
        Some(
            digits
                .parse()
                .map_err(|_| DecodeError::AckIdOverflow(digits.to_owned()))?,
        )
    };
    rest = tail;

    let payload: Option<Value> = if rest.is_empty() {
        None
    } else {
        let v = crate::json::parse(rest).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
        let depth = v.depth();
        if depth > limits.max_depth {
            return Err(DecodeError::TooDeep {
                depth,
                max: limits.max_depth,
            });
        }
        Some(v)
    };

    let invalid = |reason| DecodeError::InvalidPayload {
        packet_type: ty,
        reason,
    };
    let data = match ty {
        PacketType::Connect => match payload {
            None => PacketData::Connect(None),
            Some(v @ Value::Object(_)) => PacketData::Connect(Some(v)),
            Some(_) => return Err(invalid("expected an object or nothing")),
        },
        PacketType::Disconnect => match payload {
            None => PacketData::Disconnect,
            Some(_) => return Err(invalid("expected no payload")),
        },
        PacketType::Event | PacketType::BinaryEvent => {
            let Some(Value::Array(mut args)) = payload else {
                return Err(invalid("expected an array"));
            };
            if args.is_empty() {
                return Err(invalid("expected a non-empty array"));
            }
            let event = match args.remove(0) {
                Value::String(s) => s,
                Value::Int(n) => n.to_string(),
                Value::UInt(n) => n.to_string(),
                Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                    // Integral and exactly representable, so the cast is lossless.
                    (f as i64).to_string()
                }
                _ => return Err(invalid("the event name must be a string or an integer")),
            };
            if is_reserved_event(&event) {
                return Err(DecodeError::ReservedEvent(event));
            }
            PacketData::Event {
                event,
                args,
                ack: id,
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let Some(Value::Array(args)) = payload else {
                return Err(invalid("expected an array"));
            };
            let Some(id) = id else {
                return Err(DecodeError::MissingAckId);
            };
            PacketData::Ack { id, args }
        }
        PacketType::ConnectError => match payload {
            Some(Value::String(message)) => PacketData::ConnectError(ConnectError {
                message,
                data: None,
            }),
            Some(Value::Object(mut m)) => match m.shift_remove("message") {
                Some(Value::String(message)) => PacketData::ConnectError(ConnectError {
                    message,
                    data: m.shift_remove("data"),
                }),
                _ => return Err(invalid("expected a string message")),
            },
            _ => return Err(invalid("expected an object or a string")),
        },
    };

    if attachments > 0 {
        let mut seen = vec![false; attachments];
        let mut used = 0;
        if let PacketData::Event { args, .. } | PacketData::Ack { args, .. } = &data {
            args.iter()
                .try_for_each(|a| check_placeholders(a, &mut seen, &mut used))?;
        }
        if used != attachments {
            return Err(DecodeError::UnusedAttachments {
                announced: attachments,
                used,
            });
        }
    }

    Ok((
        Packet {
            nsp: nsp.to_owned(),
            data,
        },
        attachments,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_binary_is_numbered_depth_first_and_restored() {
        let arg = Value::from_iter([
            ("a", Value::Array(vec![Value::from(vec![1u8]), Value::Null])),
            ("b", Value::from(vec![2u8])),
        ]);
        let p = Packet::ack("/x", 3, vec![arg, Value::from(vec![3u8])]);
        let frames = Parser::Default.encode(&p).unwrap();
        assert_eq!(
            frames[0],
            Frame::Text(
                r#"63-/x,3[{"a":[{"_placeholder":true,"num":0},null],"b":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":2}]"#
                    .into()
            )
        );
        assert_eq!(frames[3], Frame::Binary(Bytes::from_static(&[3])));
        let mut d = Parser::Default.decoder(Limits::default());
        let Frame::Text(t) = &frames[0] else { panic!() };
        assert_eq!(d.decode_text(t).unwrap(), None);
        assert!(d.is_reassembling());
        for (i, f) in frames[1..].iter().enumerate() {
            let Frame::Binary(b) = f else { panic!() };
            let out = d.decode_binary(b.clone()).unwrap();
            assert_eq!(out.is_some(), i == 2);
            if let Some(out) = out {
                assert_eq!(out, p);
            }
        }
        assert!(!d.is_reassembling());
    }

    #[test]
    fn connect_error_round_trips_with_data() {
        let err = ConnectError {
            message: "no".into(),
            data: Some(Value::from_iter([("code", Value::from(401))])),
        };
        let p = Packet::connect_error("/a", err);
        let frames = Parser::Default.encode(&p).unwrap();
        assert_eq!(
            frames,
            vec![Frame::Text(
                r#"4/a,{"message":"no","data":{"code":401}}"#.into()
            )]
        );
        let mut d = Parser::Default.decoder(Limits::default());
        assert_eq!(
            d.decode_text(r#"4/a,{"message":"no","data":{"code":401}}"#),
            Ok(Some(p))
        );
    }
}
