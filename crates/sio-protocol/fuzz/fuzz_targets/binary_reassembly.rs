//! A sequence of text and binary messages on one connection: the decoder never panics,
//! never buffers more attachments than announced, and every packet it completes
//! re-encodes and decodes to itself.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sio_protocol::Limits;
use sio_protocol::socketio::{Frame, Parser};

fuzz_target!(|messages: Vec<(bool, Vec<u8>)>| {
    let limits = Limits {
        max_attachments: 8,
        max_packet_size: 4096,
        ..Limits::default()
    };
    let mut decoder = Parser::Default.decoder(limits);
    for (is_text, bytes) in messages {
        let result = if is_text {
            decoder.decode_text(&String::from_utf8_lossy(&bytes))
        } else {
            decoder.decode_binary(Bytes::from(bytes))
        };
        if let Ok(Some(packet)) = result {
            assert!(!decoder.is_reassembling());
            let frames = Parser::Default
                .encode(&packet)
                .expect("a decoded packet must encode");
            let mut fresh = Parser::Default.decoder(limits);
            let mut out = None;
            for f in frames {
                out = match f {
                    Frame::Text(t) => fresh.decode_text(&t),
                    Frame::Binary(b) => fresh.decode_binary(b),
                }
                .expect("re-encoded frames must decode");
            }
            assert_eq!(out, Some(packet));
        }
    }
});
