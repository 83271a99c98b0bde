//! One HTTP long-polling body: decoding never panics, and the decoded packets re-encode to
//! a body that decodes to the same packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_protocol::Limits;
use sio_protocol::engineio::{decode_payload, encode_payload};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(packets) = decode_payload(data, &limits) else {
        return;
    };
    let body = encode_payload(&packets);
    // Base64 grows binary by a third, so the re-encoded body may pass the size limit.
    let roomy = Limits {
        max_packet_size: usize::MAX,
        ..limits
    };
    assert_eq!(
        decode_payload(body.as_bytes(), &roomy).as_ref(),
        Ok(&packets),
        "re-decode of {body:?}"
    );
});
