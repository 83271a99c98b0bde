//! One WebSocket frame, text or binary: decoding never panics, and a decoded packet
//! re-encodes to a frame that decodes to the same packet.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_protocol::Limits;
use sio_protocol::engineio::{Packet, WsFrame};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let decoded = match std::str::from_utf8(data) {
        Ok(text) => Packet::decode_ws_text(text, &limits),
        Err(_) => Packet::decode_ws_binary(Bytes::copy_from_slice(data), &limits),
    };
    let Ok(packet) = decoded else { return };
    let again = match packet.encode_ws() {
        WsFrame::Text(t) => Packet::decode_ws_text(&t, &limits),
        WsFrame::Binary(b) => Packet::decode_ws_binary(b, &limits),
    };
    assert_eq!(again.as_ref(), Ok(&packet), "re-decode of {packet:?}");
});
