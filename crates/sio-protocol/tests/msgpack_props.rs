//! Property tests: whatever the encoder writes, the decoder reads back; whatever bytes
//! arrive, the decoder answers without panicking.
#![cfg(feature = "msgpack")]
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use sio_protocol::Limits;
use sio_protocol::msgpack::{decode, decode_packet, encode, encode_packet};
use sio_types::{ConnectError, Packet, Value};

/// Values as the decoder gives them back: `UInt` only above `i64::MAX`, and floats that are
/// not integral (notepack writes integral floats as integers, so `1.0` returns as `Int(1)`).
fn value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        any::<f64>()
            .prop_filter("integral floats come back as ints", |f| f.fract() != 0.0
                || f.is_infinite())
            .prop_filter("NaN is never equal", |f| !f.is_nan())
            .prop_map(Value::Float),
        ".{0,40}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Binary(Bytes::from(b))),
    ];
    leaf.prop_recursive(6, 200, 20, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
            prop::collection::vec((".{0,12}", inner), 0..20)
                .prop_map(|kv| kv.into_iter().collect::<Value>()),
        ]
    })
    .boxed()
}

fn packet() -> impl Strategy<Value = Packet> {
    let nsp = prop_oneof![Just("/".to_owned()), "/[a-z]{1,8}"];
    let args = prop::collection::vec(value(), 0..5);
    prop_oneof![
        (
            nsp.clone(),
            prop::option::of(prop::collection::vec(("[a-z]{1,6}", value()), 0..4))
        )
            .prop_map(|(n, auth)| Packet::connect(n, auth.map(|kv| kv.into_iter().collect()))),
        nsp.clone().prop_map(Packet::disconnect),
        (
            nsp.clone(),
            ".{0,10}",
            args.clone(),
            prop::option::of(any::<u64>())
        )
            .prop_map(|(n, e, a, id)| {
                let p = Packet::event(n, e, a);
                match id {
                    Some(id) => p.with_ack(id),
                    None => p,
                }
            }),
        (nsp.clone(), any::<u64>(), args).prop_map(|(n, id, a)| Packet::ack(n, id, a)),
        // A `null` detail is indistinguishable from none on the wire, so leave it out.
        (
            nsp,
            ".{0,20}",
            prop::option::of(value().prop_filter("null is none", |v| !v.is_null()))
        )
            .prop_map(|(n, message, data)| Packet::connect_error(
                n,
                ConnectError { message, data }
            )),
    ]
}

fn roomy() -> Limits {
    Limits {
        max_packet_size: 16 << 20,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn values_round_trip(v in value()) {
        prop_assert_eq!(decode(&encode(&v), &roomy()).unwrap(), v);
    }

    #[test]
    fn integral_floats_come_back_as_ints(i in -(1i64 << 53)..(1i64 << 53)) {
        prop_assert_eq!(decode(&encode(&Value::Float(i as f64)), &roomy()).unwrap(), Value::Int(i));
    }

    #[test]
    fn packets_round_trip(p in packet()) {
        prop_assert_eq!(decode_packet(&encode_packet(&p), &roomy()).unwrap(), p);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes, &Limits::default());
        let _ = decode_packet(&bytes, &Limits::default());
    }

    #[test]
    fn corrupted_documents_never_panic(
        v in value(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = encode(&v);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = decode(&bytes, &Limits::default());
        let _ = decode_packet(&bytes, &Limits::default());
    }

    #[test]
    fn a_strict_prefix_of_a_document_is_an_error(v in value(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&v);
        let n = cut.index(bytes.len());
        prop_assert!(decode(&bytes[..n], &roomy()).is_err());
    }
}
