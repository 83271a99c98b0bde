//! One socket.io text message: decoding never panics; a complete packet re-encodes (the
//! encoder accepts everything the decoder produces) and decodes to itself. A binary packet
//! is completed with filler attachments first.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_protocol::Limits;
use sio_protocol::socketio::{Decoder, Frame, Parser};
use sio_types::Packet;

fn limits() -> Limits {
    Limits {
        max_attachments: 8,
        ..Limits::default()
    }
}

fn feed(decoder: &mut Decoder, frames: Vec<Frame>) -> Option<Packet> {
    let mut out = None;
    for f in frames {
        out = match f {
            Frame::Text(t) => decoder.decode_text(&t),
            Frame::Binary(b) => decoder.decode_binary(b),
        }
        .expect("re-encoded frames must decode");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut decoder = Parser::Default.decoder(limits());
    let mut packet = decoder.decode_text(text);
    let mut n = 0u8;
    while let Ok(None) = packet {
        packet = decoder.decode_binary(Bytes::from(vec![n; usize::from(n)]));
        n += 1;
    }
    let Ok(Some(packet)) = packet else { return };
    let frames = Parser::Default
        .encode(&packet)
        .expect("a decoded packet must encode");
    let mut fresh = Parser::Default.decoder(limits());
    assert_eq!(feed(&mut fresh, frames), Some(packet));
});
