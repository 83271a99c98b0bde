//! msgpack documents and socket.io-msgpack-parser frames: decoding never panics, and
//! re-encoding is stable (encode ∘ decode ∘ encode gives the same bytes as encode; values
//! are not compared directly because NaN != NaN and integral floats may come back as ints).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_protocol::Limits;
use sio_protocol::msgpack::{decode, decode_packet, encode, encode_packet};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(value) = decode(data, &limits) {
        let once = encode(&value);
        let back = decode(&once, &limits).expect("re-encoded value must decode");
        assert_eq!(encode(&back), once);
    }
    if let Ok(packet) = decode_packet(data, &limits) {
        let once = encode_packet(&packet);
        let back = decode_packet(&once, &limits).expect("re-encoded packet must decode");
        assert_eq!(encode_packet(&back), once);
    }
});
