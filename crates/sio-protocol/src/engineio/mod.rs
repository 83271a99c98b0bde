//! engine.io protocol v4: packets, WebSocket frames, HTTP long-polling payloads.
//!
//! Every engine.io packet is a type digit (`0`..`6`) followed by its data. Over WebSocket a
//! text packet is one text frame and a binary message is one raw binary frame; over HTTP
//! long-polling the packets of one body are joined with the record separator `0x1e` and a
//! binary message is written as `b` + base64.
//!
//! ```
//! use sio_protocol::engineio::{decode_payload, encode_payload, Packet, WsFrame};
//! use sio_protocol::Limits;
//!
//! let body = encode_payload(&[Packet::Message("hello".into()), Packet::Binary(vec![1, 2, 3, 4].into())]);
//! assert_eq!(body, "4hello\x1ebAQIDBA==");
//! let packets = decode_payload(body.as_bytes(), &Limits::default())?;
//! assert_eq!(packets[1], Packet::Binary(vec![1, 2, 3, 4].into()));
//! assert_eq!(Packet::Ping("probe".into()).encode_ws(), WsFrame::Text("2probe".into()));
//! # Ok::<(), sio_protocol::engineio::DecodeError>(())
//! ```

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::json::write_str;
use crate::limits::Limits;

/// The byte that separates packets in an HTTP long-polling body.
pub const RECORD_SEPARATOR: u8 = 0x1e;

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

impl PacketType {
    /// The ASCII digit that starts a packet of this type.
    ///
    /// ```
    /// assert_eq!(sio_protocol::engineio::PacketType::Message.digit(), '4');
    /// ```
    pub fn digit(self) -> char {
        char::from(b'0' + self as u8)
    }

    fn from_digit(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }
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
    /// A frame or a record of a polling body had no bytes, so not even a packet type.
    #[error("empty engine.io packet")]
    Empty,
    /// The first character is not a packet type digit `0`..`6`.
    #[error("unknown engine.io packet type {0:?}")]
    UnknownType(char),
    /// The frame or body is larger than [`Limits::max_packet_size`].
    #[error("engine.io packet of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A `b`-prefixed polling record is not valid base64.
    #[error("invalid base64 in binary packet: {0}")]
    InvalidBase64(String),
    /// A polling body is not UTF-8 (v4 bodies are always text).
    #[error("polling payload is not valid UTF-8 (at byte {0})")]
    InvalidUtf8(usize),
    /// The open packet's JSON is not a valid handshake.
    #[error("invalid open packet: {0}")]
    InvalidOpen(String),
}

/// Standard alphabet, padding optional: engine.io-client always pads, but Node's
/// `Buffer.from(s, "base64")` accepts either, so a lenient reader interoperates with more
/// peers without weakening anything.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn check_size(size: usize, limits: &Limits) -> Result<(), DecodeError> {
    if size > limits.max_packet_size {
        Err(DecodeError::TooLarge {
            size,
            max: limits.max_packet_size,
        })
    } else {
        Ok(())
    }
}

impl Packet {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// Appends the text form (`<digit><data>`) of a non-binary packet to `out`.
    fn write_text(&self, out: &mut String) {
        if let Packet::Binary(b) = self {
            // Only reached from the polling encoder: v4 polling carries binary as base64.
            out.push('b');
            BASE64.encode_string(b, out);
            return;
        }
        out.push(self.packet_type().digit());
        match self {
            Packet::Open(open) => write_open(out, open),
            Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => out.push_str(s),
            Packet::Binary(_) | Packet::Close | Packet::Upgrade | Packet::Noop => {}
        }
    }

    fn text_len_hint(&self) -> usize {
        1 + match self {
            Packet::Open(o) => 96 + o.sid.len(),
            Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => s.len(),
            Packet::Binary(b) => b.len().div_ceil(3) * 4,
            _ => 0,
        }
    }

    /// Encodes for a WebSocket frame: text packets as text, [`Packet::Binary`] as raw bytes.
    ///
    /// ```
    /// use sio_protocol::engineio::{Packet, WsFrame};
    ///
    /// assert_eq!(Packet::Message("hello".into()).encode_ws(), WsFrame::Text("4hello".into()));
    /// assert_eq!(Packet::Binary(vec![1, 2].into()).encode_ws(), WsFrame::Binary(vec![1, 2].into()));
    /// ```
    pub fn encode_ws(&self) -> WsFrame {
        if let Packet::Binary(b) = self {
            return WsFrame::Binary(b.clone());
        }
        let mut out = String::with_capacity(self.text_len_hint());
        self.write_text(&mut out);
        WsFrame::Text(out)
    }

    /// Decodes a WebSocket text frame.
    ///
    /// Data after a close, upgrade or noop digit is ignored, as engine.io does.
    ///
    /// ```
    /// use sio_protocol::engineio::{DecodeError, Packet};
    /// use sio_protocol::Limits;
    ///
    /// let limits = Limits::default();
    /// assert_eq!(Packet::decode_ws_text("3probe", &limits), Ok(Packet::Pong("probe".into())));
    /// assert_eq!(Packet::decode_ws_text("9", &limits), Err(DecodeError::UnknownType('9')));
    /// ```
    pub fn decode_ws_text(text: &str, limits: &Limits) -> Result<Packet, DecodeError> {
        check_size(text.len(), limits)?;
        decode_text_packet(text)
    }

    /// Decodes a WebSocket binary frame (always a binary message in v4).
    pub fn decode_ws_binary(data: Bytes, limits: &Limits) -> Result<Packet, DecodeError> {
        check_size(data.len(), limits)?;
        Ok(Packet::Binary(data))
    }
}

fn write_open(out: &mut String, open: &OpenPacket) {
    out.push_str("{\"sid\":");
    write_str(out, &open.sid);
    out.push_str(",\"upgrades\":[");
    for (i, u) in open.upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, u);
    }
    out.push_str("],\"pingInterval\":");
    out.push_str(itoa::Buffer::new().format(open.ping_interval));
    out.push_str(",\"pingTimeout\":");
    out.push_str(itoa::Buffer::new().format(open.ping_timeout));
    out.push_str(",\"maxPayload\":");
    out.push_str(itoa::Buffer::new().format(open.max_payload));
    out.push('}');
}

/// Decodes `<digit><data>` (no `b` prefix: that only exists inside polling bodies).
fn decode_text_packet(text: &str) -> Result<Packet, DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty);
    };
    let Some(ty) = PacketType::from_digit(first) else {
        return Err(DecodeError::UnknownType(
            text.chars().next().unwrap_or_default(),
        ));
    };
    // The first byte is an ASCII digit, so index 1 is a char boundary.
    let data = &text[1..];
    Ok(match ty {
        PacketType::Open => Packet::Open(
            serde_json::from_str(data).map_err(|e| DecodeError::InvalidOpen(e.to_string()))?,
        ),
        PacketType::Close => Packet::Close,
        PacketType::Ping => Packet::Ping(data.to_owned()),
        PacketType::Pong => Packet::Pong(data.to_owned()),
        PacketType::Message => Packet::Message(data.to_owned()),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    })
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
///
/// As the v4 specification notes, the format assumes text data never holds `0x1e` itself;
/// socket.io's JSON escapes it (as `\u001e`), so only raw engine.io messages can hit this.
///
/// ```
/// use sio_protocol::engineio::{encode_payload, Packet};
///
/// let body = encode_payload(&[Packet::Message("hello".into()), Packet::Ping(String::new())]);
/// assert_eq!(body, "4hello\x1e2");
/// ```
pub fn encode_payload(packets: &[Packet]) -> String {
    let hint: usize = packets.iter().map(|p| p.text_len_hint() + 1).sum();
    let mut out = String::with_capacity(hint);
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(char::from(RECORD_SEPARATOR));
        }
        p.write_text(&mut out);
    }
    out
}

/// Decodes an HTTP long-polling body.
///
/// The whole body must fit [`Limits::max_packet_size`] (engine.io's `maxHttpBufferSize`
/// applies to the body too); an empty body or an empty record is [`DecodeError::Empty`].
pub fn decode_payload(body: &[u8], limits: &Limits) -> Result<Vec<Packet>, DecodeError> {
    check_size(body.len(), limits)?;
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let text = std::str::from_utf8(body).map_err(|e| DecodeError::InvalidUtf8(e.valid_up_to()))?;
    text.split(char::from(RECORD_SEPARATOR))
        .map(|record| match record.strip_prefix('b') {
            Some(b64) => BASE64
                .decode(b64)
                .map(|bytes| Packet::Binary(Bytes::from(bytes)))
                .map_err(|e| DecodeError::InvalidBase64(e.to_string())),
            None => decode_text_packet(record),
        })
        .collect()
}

/// The engine.io parameters of a request's query string (`EIO`, `transport`, `sid`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Query<'a> {
    /// `EIO`, the protocol version.
    pub eio: Option<&'a str>,
    /// `transport`.
    pub transport: Option<&'a str>,
    /// `sid`, the session id of an open session.
    pub sid: Option<&'a str>,
}

impl<'a> Query<'a> {
    /// Reads `EIO`, `transport` and `sid` from a query string; the last occurrence of a
    /// key wins, other keys are ignored. The values are engine.io's own (never
    /// percent-encoded), so they are taken as they are.
    ///
    /// ```
    /// use sio_protocol::engineio::Query;
    /// let q = Query::parse("EIO=4&transport=polling&t=N8hyd6w&sid=abc");
    /// assert_eq!((q.eio, q.transport, q.sid), (Some("4"), Some("polling"), Some("abc")));
    /// ```
    pub fn parse(query: &'a str) -> Query<'a> {
        let mut q = Query::default();
        for pair in query.split('&') {
            // A key without `=` has an empty value (a slice of the query all the same).
            let (k, v) = pair.split_once('=').unwrap_or((pair, &pair[pair.len()..]));
            match k {
                "EIO" => q.eio = Some(v),
                "transport" => q.transport = Some(v),
                "sid" => q.sid = Some(v),
                _ => {}
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_without_values_or_with_repeats() {
        let q = Query::parse("EIO&transport=a&transport=websocket&&x=1");
        assert_eq!(q.eio, Some(""));
        assert_eq!(q.transport, Some("websocket"));
        assert_eq!(q.sid, None);
    }

    #[test]
    fn every_type_round_trips_over_websocket() {
        let limits = Limits::default();
        let open = OpenPacket {
            sid: "a\"b".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 1,
            ping_timeout: 2,
            max_payload: 3,
        };
        for p in [
            Packet::Open(open),
            Packet::Close,
            Packet::Ping("probe".into()),
            Packet::Pong(String::new()),
            Packet::Message("€ \u{1e}".into()),
            Packet::Upgrade,
            Packet::Noop,
        ] {
            let WsFrame::Text(t) = p.encode_ws() else {
                panic!("text packet encoded as binary")
            };
            assert_eq!(Packet::decode_ws_text(&t, &limits), Ok(p));
        }
        let bin = Packet::Binary(Bytes::from_static(&[0, 255]));
        let WsFrame::Binary(b) = bin.encode_ws() else {
            panic!("binary packet encoded as text")
        };
        assert_eq!(Packet::decode_ws_binary(b, &limits), Ok(bin));
    }

    #[test]
    fn trailing_data_after_dataless_types_is_ignored() {
        let limits = Limits::default();
        assert_eq!(Packet::decode_ws_text("1x", &limits), Ok(Packet::Close));
        assert_eq!(Packet::decode_ws_text("5x", &limits), Ok(Packet::Upgrade));
        assert_eq!(Packet::decode_ws_text("6x", &limits), Ok(Packet::Noop));
    }

    #[test]
    fn unpadded_base64_is_accepted() {
        let p = decode_payload(b"bAQIDBA", &Limits::default()).unwrap();
        assert_eq!(p, vec![Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))]);
    }
}
