//! Outgoing engine.io packets, encoded once.
//!
//! A [`Frame`] is the exact payload of a WebSocket frame: a text frame is the engine.io
//! packet text with its type digit (`4hello`, `2`), a binary frame the raw bytes. It is a
//! reference-counted buffer, so a broadcast hands every recipient a clone of the same
//! bytes: nothing is copied or re-encoded per session. Over long-polling the same text is
//! joined with `0x1e`, and binary is written as `b` + base64.

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

/// One outgoing engine.io packet. Cheap to clone.
///
/// ```
/// use sio_engine::Frame;
///
/// let f = Frame::message("hello");
/// assert_eq!(f.as_text(), Some("4hello"));
/// assert_eq!(f.len(), 6);
/// assert!(Frame::binary(vec![1u8, 2].into()).as_text().is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// Valid UTF-8 starting with the packet type digit.
    Text(Bytes),
    Binary(Bytes),
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Repr::Text(t) => write!(f, "Text({:?})", String::from_utf8_lossy(t)),
            Repr::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}

impl Frame {
    /// A text message: `4` followed by `text` (one copy of `text`).
    pub fn message(text: &str) -> Frame {
        let mut buf = BytesMut::with_capacity(1 + text.len());
        buf.put_u8(b'4');
        buf.put_slice(text.as_bytes());
        Frame(Repr::Text(buf.freeze()))
    }

    /// A text message whose `String` already starts with the message type `4` (as
    /// `sio_protocol`'s `encode_for_engine` writes it): no copy. `None` when it does not.
    ///
    /// ```
    /// use sio_engine::Frame;
    /// assert_eq!(Frame::prefixed_message("42[\"a\"]".into()).unwrap().as_text(), Some("42[\"a\"]"));
    /// assert!(Frame::prefixed_message("2".into()).is_none());
    /// ```
    pub fn prefixed_message(text: String) -> Option<Frame> {
        text.starts_with('4')
            .then(|| Frame(Repr::Text(Bytes::from(text))))
    }

    /// A binary message.
    pub fn binary(data: Bytes) -> Frame {
        Frame(Repr::Binary(data))
    }

    /// A control packet of the engine itself (`2`, `3probe`, `6`, the OPEN packet).
    pub(crate) fn control(text: &'static str) -> Frame {
        Frame(Repr::Text(Bytes::from_static(text.as_bytes())))
    }

    /// A packet of engine-made text (the OPEN packet).
    pub(crate) fn control_owned(text: String) -> Frame {
        Frame(Repr::Text(Bytes::from(text)))
    }

    /// The packet text (`4hello`), or `None` for a binary message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            // Built only from `&str` and `String`, so always UTF-8.
            Repr::Text(t) => std::str::from_utf8(t).ok(),
            Repr::Binary(_) => None,
        }
    }

    /// The bytes of the WebSocket frame's payload.
    pub fn payload(&self) -> &Bytes {
        match &self.0 {
            Repr::Text(b) | Repr::Binary(b) => b,
        }
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self.0, Repr::Binary(_))
    }

    /// Size of the payload in bytes (what the outgoing bounds count).
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty (never true for a frame the engine writes).
    pub fn is_empty(&self) -> bool {
        self.payload().is_empty()
    }

    /// Appends this packet to a long-polling body (without the separator).
    pub(crate) fn write_polling(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Repr::Text(t) => out.extend_from_slice(t),
            Repr::Binary(b) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + b.len().div_ceil(3) * 4, 0);
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(b, &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + written);
            }
        }
    }

    /// The length [`write_polling`](Frame::write_polling) appends.
    pub(crate) fn polling_len(&self) -> usize {
        match &self.0 {
            Repr::Text(t) => t.len(),
            Repr::Binary(b) => 1 + b.len().div_ceil(3) * 4,
        }
    }
}

/// The frame that sends a received message back as it came: text as a text message (one
/// copy), binary as the same shared bytes.
///
/// ```
/// use sio_engine::{Frame, Message};
/// assert_eq!(Frame::from(Message::Text("hi")).as_text(), Some("4hi"));
/// ```
impl From<crate::handler::Message<'_>> for Frame {
    fn from(msg: crate::handler::Message<'_>) -> Frame {
        match msg {
            crate::handler::Message::Text(t) => Frame::message(t),
            crate::handler::Message::Binary(b) => Frame::binary(b),
        }
    }
}

/// Encodes frames as one long-polling body.
pub(crate) fn polling_body(frames: &[Frame]) -> Bytes {
    let len = frames.iter().map(|f| f.polling_len() + 1).sum();
    let mut out = Vec::with_capacity(len);
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push(sio_protocol::engineio::RECORD_SEPARATOR);
        }
        f.write_polling(&mut out);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_body_joins_text_and_base64_binary() {
        let body = polling_body(&[
            Frame::message("hello"),
            Frame::binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::control("2"),
        ]);
        assert_eq!(&body[..], b"4hello\x1ebAQIDBA==\x1e2");
        // The same body as the codec's encoder writes.
        use sio_protocol::engineio::{Packet, encode_payload};
        let codec = encode_payload(&[
            Packet::Message("hello".into()),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::Ping(String::new()),
        ]);
        assert_eq!(&body[..], codec.as_bytes());
    }
}
