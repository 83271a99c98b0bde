//! Golden vectors from the real npm packages in tests/interop (Node 20):
//! notepack.io 3.0.1 `encode(x)`, notepack.io 2.2.0 (bundled by socket.io-msgpack-parser)
//! and socket.io-msgpack-parser 3.0.2 `new Encoder().encode(packet)[0]`. Each hex string
//! was printed by `Buffer.from(...).toString('hex')` of the JS expression named next to it.
#![cfg(feature = "msgpack")]
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use sio_protocol::Limits;
use sio_protocol::msgpack::{DecodeError, decode, decode_packet, encode, encode_packet};
use sio_types::{ConnectError, Packet, PacketData, Value};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn obj(entries: &[(&str, Value)]) -> Value {
    entries.iter().cloned().collect()
}

fn bin(b: &[u8]) -> Value {
    Value::Binary(Bytes::copy_from_slice(b))
}

/// Encodes to exactly the notepack bytes and decodes back to the same value.
fn both_ways(v: Value, js_hex: &str) {
    let bytes = hex(js_hex);
    assert_eq!(encode(&v), bytes, "encode {v:?}");
    assert_eq!(
        decode(&bytes, &Limits::default()).unwrap(),
        v,
        "decode {js_hex}"
    );
}

#[test]
fn scalars_match_notepack() {
    both_ways(Value::Null, "c0"); // null
    both_ways(Value::Bool(true), "c3"); // true
    both_ways(Value::Bool(false), "c2"); // false
    both_ways(Value::from(""), "a0"); // ""
    both_ways(Value::from("é"), "a2c3a9"); // "é"
    both_ways(Value::from("😀"), "a4f09f9880"); // "😀"
    both_ways(bin(&[]), "c400"); // Buffer.alloc(0)
    both_ways(bin(&[1, 2, 3]), "c403010203"); // Buffer.from([1,2,3])
}

#[test]
fn integers_use_the_same_format_at_every_boundary() {
    let cases: &[(i64, &str)] = &[
        (0, "00"),                                // 0
        (127, "7f"),                              // 127
        (128, "cc80"),                            // 128
        (255, "ccff"),                            // 255
        (256, "cd0100"),                          // 256
        (65535, "cdffff"),                        // 65535
        (65536, "ce00010000"),                    // 65536
        (4_294_967_295, "ceffffffff"),            // 4294967295
        (4_294_967_296, "cf0000000100000000"),    // 4294967296
        ((1 << 53) - 1, "cf001fffffffffffff"),    // 2**53-1
        (-1, "ff"),                               // -1
        (-32, "e0"),                              // -32
        (-33, "d0df"),                            // -33
        (-128, "d080"),                           // -128
        (-129, "d1ff7f"),                         // -129
        (-32768, "d18000"),                       // -32768
        (-32769, "d2ffff7fff"),                   // -32769
        (-2_147_483_648, "d280000000"),           // -2147483648
        (-2_147_483_649, "d3ffffffff7fffffff"),   // -2147483649
        (-((1 << 53) - 1), "d3ffe0000000000001"), // -(2**53-1)
    ];
    for (i, h) in cases {
        both_ways(Value::Int(*i), h);
    }
    // Beyond 2^53 JS numbers are inexact; the Rust side keeps u64 exact with the same format.
    both_ways(Value::UInt(u64::MAX), "cfffffffffffffffff");
}

#[test]
fn floats_match_notepack() {
    both_ways(Value::Float(1.5), "cb3ff8000000000000"); // 1.5
    both_ways(Value::Float(-0.1), "cbbfb999999999999a"); // -0.1
    both_ways(Value::Float(f64::INFINITY), "cb7ff0000000000000"); // Infinity
    // NaN never equals itself, so check the two directions apart.
    assert_eq!(encode(&Value::Float(f64::NAN)), hex("cb7ff8000000000000")); // NaN
    let nan = decode(&hex("cb7ff8000000000000"), &Limits::default()).unwrap();
    assert!(nan.as_f64().unwrap().is_nan());
    // Integral floats are integers on the wire: 1.0 => 01, -0 => 00.
    assert_eq!(encode(&Value::Float(1.0)), hex("01"));
    assert_eq!(encode(&Value::Float(-0.0)), hex("00"));
    assert_eq!(
        encode(&Value::Float(4_294_967_296.0)),
        hex("cf0000000100000000")
    );
    assert_eq!(encode(&Value::Float(-129.0)), hex("d1ff7f"));
    // float32 (notepack never writes it, but decodes it): 1.5f32.
    assert_eq!(
        decode(&hex("ca3fc00000"), &Limits::default()).unwrap(),
        Value::Float(1.5)
    );
}

#[test]
fn strings_at_every_length_boundary() {
    // "a".repeat(31)
    both_ways(
        Value::from("a".repeat(31)),
        "bf61616161616161616161616161616161616161616161616161616161616161",
    );
    // Prefixes and total sizes printed for "x".repeat(n).
    let cases: &[(usize, &str, usize)] = &[
        (32, "d920", 34),
        (255, "d9ff", 257),
        (256, "da0100", 259),
        (65535, "daffff", 65538),
        (65536, "db00010000", 65541),
    ];
    for (n, prefix, total) in cases {
        let v = Value::from("x".repeat(*n));
        let bytes = encode(&v);
        assert_eq!(bytes.len(), *total, "x.repeat({n})");
        assert!(bytes.starts_with(&hex(prefix)), "x.repeat({n})");
        let limits = Limits {
            max_packet_size: 1 << 20,
            ..Limits::default()
        };
        assert_eq!(decode(&bytes, &limits).unwrap(), v);
    }
}

#[test]
fn bins_arrays_and_maps_at_length_boundaries() {
    let limits = Limits {
        max_packet_size: 1 << 20,
        ..Limits::default()
    };
    // Buffer.alloc(n, 7)
    for (n, prefix, total) in [
        (255, "c4ff", 257),
        (256, "c50100", 259),
        (65535, "c5ffff", 65538),
        (65536, "c600010000", 65541),
    ] {
        let v = bin(&vec![7u8; n]);
        let bytes = encode(&v);
        assert_eq!(bytes.len(), total);
        assert!(bytes.starts_with(&hex(prefix)), "Buffer.alloc({n},7)");
        assert_eq!(decode(&bytes, &limits).unwrap(), v);
    }
    // new Array(n).fill(0)
    for (n, prefix, total) in [
        (15, "9f", 16),
        (16, "dc0010", 19),
        (65535, "dcffff", 65538),
        (65536, "dd00010000", 65541),
    ] {
        let v = Value::Array(vec![Value::Int(0); n]);
        let bytes = encode(&v);
        assert_eq!(bytes.len(), total);
        assert!(bytes.starts_with(&hex(prefix)), "Array({n})");
        assert_eq!(decode(&bytes, &limits).unwrap(), v);
    }
    // o = {k0: 0, ..., k(n-1): n-1}
    for (n, prefix, total) in [(15, "8fa26b3000", 66), (16, "de0010a26b30", 73)] {
        let v: Value = (0..n).map(|i| (format!("k{i}"), Value::Int(i))).collect();
        let bytes = encode(&v);
        assert_eq!(bytes.len(), total);
        assert!(bytes.starts_with(&hex(prefix)), "obj{n}");
        assert_eq!(decode(&bytes, &limits).unwrap(), v);
    }
}

#[test]
fn nested_values_match_notepack() {
    both_ways(Value::Array(vec![]), "90"); // []
    both_ways(Value::Object(Default::default()), "80"); // {}
    // [1,[2,[3]]]
    both_ways(
        Value::Array(vec![
            1.into(),
            Value::Array(vec![2.into(), Value::Array(vec![3.into()])]),
        ]),
        "920192029103",
    );
    // {a:1,b:[true,null],c:{d:"e"}}
    both_ways(
        obj(&[
            ("a", 1.into()),
            ("b", Value::Array(vec![true.into(), Value::Null])),
            ("c", obj(&[("d", "e".into())])),
        ]),
        "83a16101a16292c3c0a16381a164a165",
    );
    // {k: Buffer.from([0xde,0xad])}
    both_ways(obj(&[("k", bin(&[0xde, 0xad]))]), "81a16bc402dead");
}

#[test]
fn dates_decode_to_their_json_form() {
    let d = |h: &str| decode(&hex(h), &Limits::default()).unwrap();
    // notepack 3: new Date(1700000000000) (timestamp 32)
    assert_eq!(d("d6ff6553f100"), Value::from("2023-11-14T22:13:20.000Z"));
    // notepack 3: new Date(1700000000123) (timestamp 64)
    assert_eq!(
        d("d7ff1d5353006553f100"),
        Value::from("2023-11-14T22:13:20.123Z")
    );
    // notepack 3: new Date(-1) (timestamp 96)
    assert_eq!(
        d("c70cff3b8b87c0ffffffffffffffff"),
        Value::from("1969-12-31T23:59:59.999Z")
    );
    // notepack 2: new Date(1700000000123) (fixext 8, type 0, milliseconds)
    assert_eq!(
        d("d7000000018bcfe5687b"),
        Value::from("2023-11-14T22:13:20.123Z")
    );
    // A timestamp 96 beyond what a JS Date holds: toJSON() gives null.
    assert_eq!(d("c70cff000000007fffffffffffffff"), Value::Null);
}

#[test]
fn notepack2_extensions() {
    let d = |h: &str| decode(&hex(h), &Limits::default()).unwrap();
    // encode(undefined) with notepack 2.2.0
    assert_eq!(d("d40000"), Value::Null);
    // encode({a: undefined}) with notepack 2.2.0: the key goes, as in JSON.stringify.
    assert_eq!(d("81a161d40000"), Value::Object(Default::default()));
    // [undefined] stays an element, as JSON.stringify([undefined]) gives [null].
    assert_eq!(d("91d40000"), Value::Array(vec![Value::Null]));
    // encode(new Uint8Array([1,2,3]).buffer) with notepack 2.2.0: ext8 type 0
    assert_eq!(d("c70300010203"), bin(&[1, 2, 3]));
    // Another extension type comes back as [type, buffer], as notepack returns it.
    assert_eq!(d("d5050102"), Value::Array(vec![5.into(), bin(&[1, 2])]));
    // Type -1 is a timestamp only as fixext4/8 and ext8; as fixext16 it is [type, buffer].
    assert_eq!(
        d("d8ff000102030405060708090a0b0c0d0e0f"),
        Value::Array(vec![
            (-1).into(),
            bin(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
        ])
    );
}

#[test]
fn non_string_keys_become_javascript_property_names() {
    let d = |h: &str| decode(&hex(h), &Limits::default()).unwrap();
    // {1: "a"} written with an integer key
    assert_eq!(d("8101a161"), obj(&[("1", "a".into())]));
    // null, true, 1.5 and [1, null, 2] as keys: String(key) / Array.prototype.join
    assert_eq!(d("81c001"), obj(&[("null", 1.into())]));
    assert_eq!(d("81c301"), obj(&[("true", 1.into())]));
    assert_eq!(d("81cb3ff800000000000001"), obj(&[("1.5", 1.into())]));
    assert_eq!(d("819301c00201"), obj(&[("1,,2", 1.into())]));
    assert_eq!(d("818001"), obj(&[("[object Object]", 1.into())]));
    // A repeated key keeps its first place and its last value.
    assert_eq!(
        d("83a16101a16202a16103"),
        obj(&[("a", 3.into()), ("b", 2.into())])
    );
}

#[test]
fn malformed_input_gives_typed_errors() {
    let l = Limits::default();
    let err = |h: &str| decode(&hex(h), &l).unwrap_err();
    assert_eq!(
        err(""),
        DecodeError::UnexpectedEof {
            offset: 0,
            what: "a value",
            needed: 1
        }
    );
    assert_eq!(
        err("c0c0"),
        DecodeError::TrailingBytes {
            offset: 1,
            count: 1
        }
    );
    assert_eq!(
        err("c1"),
        DecodeError::InvalidPrefix {
            offset: 0,
            prefix: 0xc1
        }
    );
    assert_eq!(
        err("cd01"),
        DecodeError::UnexpectedEof {
            offset: 1,
            what: "uint16",
            needed: 1
        }
    );
    // A str32 claiming 4 GiB with three bytes behind it fails before allocating.
    assert_eq!(
        err("dbffffffff616263"),
        DecodeError::LengthExceedsInput {
            offset: 0,
            what: "string",
            declared: 0xffff_ffff,
            remaining: 3
        }
    );
    assert_eq!(
        err("ddffffffff"),
        DecodeError::LengthExceedsInput {
            offset: 0,
            what: "array",
            declared: 0xffff_ffff,
            remaining: 0
        }
    );
    // A map needs two bytes per entry at least.
    assert_eq!(
        err("df00000002c0c0"),
        DecodeError::LengthExceedsInput {
            offset: 0,
            what: "map",
            declared: 2,
            remaining: 2
        }
    );
    assert_eq!(
        err("c6000000ff00"),
        DecodeError::LengthExceedsInput {
            offset: 0,
            what: "bin",
            declared: 255,
            remaining: 1
        }
    );
    assert_eq!(
        err("c705ff0102030405"),
        DecodeError::InvalidTimestamp { offset: 0, len: 5 }
    );
    // Depth: 65 nested arrays under the default limit of 64.
    let mut deep = vec![0x91u8; 65];
    deep.push(0xc0);
    assert_eq!(
        decode(&deep, &l).unwrap_err(),
        DecodeError::TooDeep {
            offset: 64,
            max: 64
        }
    );
    assert!(decode(&deep[1..], &l).is_ok());
    // Size.
    let small = Limits {
        max_packet_size: 4,
        ..Limits::default()
    };
    assert_eq!(
        decode(&hex("a461626364"), &small).unwrap_err(),
        DecodeError::TooLarge { size: 5, max: 4 }
    );
}

#[test]
fn huge_depth_limits_are_capped_so_the_stack_survives() {
    let limits = Limits {
        max_depth: usize::MAX,
        max_packet_size: 1 << 20,
        ..Limits::default()
    };
    let mut deep = vec![0x91u8; 100_000];
    deep.push(0xc0);
    assert!(matches!(
        decode(&deep, &limits),
        Err(DecodeError::TooDeep { .. })
    ));
}

#[test]
fn invalid_utf8_is_replaced_like_node_does() {
    // Buffer.from([0xff, 0x61]).toString() === "\ufffda"
    assert_eq!(
        decode(&hex("a2ff61"), &Limits::default()).unwrap(),
        Value::from("\u{fffd}a")
    );
}

// ---- socket.io-msgpack-parser packets ----

fn packet_both_ways(p: Packet, js_hex: &str) {
    let bytes = hex(js_hex);
    assert_eq!(encode_packet(&p), bytes, "encode {p:?}");
    assert_eq!(
        decode_packet(&bytes, &Limits::default()).unwrap(),
        p,
        "decode {js_hex}"
    );
}

#[test]
fn server_packets_match_socket_io() {
    // Server socket.emit("hello", 1, "two", {three: Buffer.from([3])}):
    // {type: 2, data: ["hello", 1, "two", {three: <Buffer 03>}], nsp: "/"}
    packet_both_ways(
        Packet::event(
            "/",
            "hello",
            vec![1.into(), "two".into(), obj(&[("three", bin(&[3]))])],
        ),
        "83a47479706502a46461746194a568656c6c6f01a374776f81a57468726565c40103a36e7370a12f",
    );
    // Server emit with ack: {type: 2, data: ["ev", <Buffer 01 02>], id: 7, nsp: "/chat"}
    packet_both_ways(
        Packet::event("/chat", "ev", vec![bin(&[1, 2])]).with_ack(7),
        "84a47479706502a46461746192a26576c4020102a2696407a36e7370a52f63686174",
    );
    // Server ack callback: {id: 7, type: 3, data: ["ok", <Buffer 09>], nsp: "/"}
    packet_both_ways(
        Packet::ack("/", 7, vec!["ok".into(), bin(&[9])]),
        "84a2696407a47479706503a46461746192a26f6bc40109a36e7370a12f",
    );
    // Server middleware error: {type: 4, data: {message: "not authorized", data: {code: 401}}, nsp: "/admin"}
    packet_both_ways(
        Packet::connect_error(
            "/admin",
            ConnectError {
                message: "not authorized".into(),
                data: Some(obj(&[("code", 401.into())])),
            },
        ),
        "83a47479706504a46461746182a76d657373616765ae6e6f7420617574686f72697a6564a46461746181a4636f6465cd0191a36e7370a62f61646d696e",
    );
    // {type: 1, nsp: "/"}
    packet_both_ways(Packet::disconnect("/"), "82a47479706501a36e7370a12f");
    // Client CONNECT with auth: {type: 0, data: {token: "abc"}, nsp: "/"}
    packet_both_ways(
        Packet::connect("/", Some(obj(&[("token", "abc".into())]))),
        "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a12f",
    );
}

#[test]
fn node_packets_decode() {
    let d = |h: &str| decode_packet(&hex(h), &Limits::default()).unwrap();
    // Server CONNECT: {type: 0, data: {sid: "abc", pid: undefined}, nsp: "/"} (notepack 2
    // writes the undefined pid, which is dropped)
    assert_eq!(
        d("83a47479706500a46461746182a3736964a3616263a3706964d40000a36e7370a12f"),
        Packet::connect("/", Some(obj(&[("sid", "abc".into())])))
    );
    // Invalid namespace: {type: 4, nsp: "/nope", data: {message: "Invalid namespace"}}
    assert_eq!(
        d(
            "83a47479706504a36e7370a52f6e6f7065a46461746181a76d657373616765b1496e76616c6964206e616d657370616365"
        ),
        Packet::connect_error("/nope", ConnectError::invalid_namespace())
    );
    // Client CONNECT without auth: {type: 0, data: undefined, nsp: "/"}
    assert_eq!(
        d("83a47479706500a464617461d40000a36e7370a12f"),
        Packet::connect("/", None)
    );
    // Client emit("hi", 1, cb): {type: 2, data: ["hi", 1], options: {compress: true}, id: 3, nsp: "/"}
    assert_eq!(
        d(
            "85a47479706502a46461746192a2686901a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f"
        ),
        Packet::event("/", "hi", vec![1.into()]).with_ack(3)
    );
    // Client ack(null): {type: 3, id: 3, data: [null], nsp: "/"}
    assert_eq!(
        d("84a47479706503a2696403a46461746191c0a36e7370a12f"),
        Packet::ack("/", 3, vec![Value::Null])
    );
}

#[test]
fn binary_types_are_read_as_event_and_ack() {
    // {type: 5, data: ["e", <Buffer 01>], nsp: "/"} and {type: 6, id: 1, data: [], nsp: "/"}
    let five = encode(&obj(&[
        ("type", 5.into()),
        ("data", Value::Array(vec!["e".into(), bin(&[1])])),
        ("nsp", "/".into()),
    ]));
    assert_eq!(
        decode_packet(&five, &Limits::default()).unwrap(),
        Packet::event("/", "e", vec![bin(&[1])])
    );
    let six = encode(&obj(&[
        ("type", 6.into()),
        ("id", 1.into()),
        ("data", Value::Array(vec![])),
        ("nsp", "/".into()),
    ]));
    assert_eq!(
        decode_packet(&six, &Limits::default()).unwrap(),
        Packet::ack("/", 1, vec![])
    );
}

#[test]
fn invalid_packets_are_rejected_like_check_packet_does() {
    let l = Limits::default();
    let check = |v: Value| decode_packet(&encode(&v), &l).unwrap_err();
    let with = |extra: &[(&str, Value)]| {
        let mut base = vec![
            ("type", Value::from(2)),
            ("nsp", "/".into()),
            ("data", Value::Array(vec!["e".into()])),
        ];
        for (k, v) in extra {
            base.retain(|(bk, _)| bk != k);
            base.push((k, v.clone()));
        }
        obj(&base)
    };
    assert_eq!(
        check(Value::from(1)),
        DecodeError::NotAnObject { found: "number" }
    );
    assert_eq!(
        check(with(&[("type", 7.into())])),
        DecodeError::InvalidType { found: "7".into() }
    );
    assert_eq!(
        check(with(&[("type", Value::Float(2.5))])),
        DecodeError::InvalidType {
            found: "2.5".into()
        }
    );
    assert_eq!(
        check(with(&[("type", "2".into())])),
        DecodeError::InvalidType {
            found: "string".into()
        }
    );
    assert_eq!(
        check(with(&[("nsp", 1.into())])),
        DecodeError::InvalidNamespace { found: "number" }
    );
    assert_eq!(
        check(with(&[("id", "1".into())])),
        DecodeError::InvalidId {
            found: "string".into()
        }
    );
    assert_eq!(
        check(with(&[("id", Value::Float(1.5))])),
        DecodeError::InvalidId {
            found: "1.5".into()
        }
    );
    assert!(matches!(
        check(with(&[("data", "x".into())])),
        DecodeError::InvalidPayload { .. }
    ));
    assert!(matches!(
        check(with(&[("data", Value::Array(vec![]))])),
        DecodeError::InvalidPayload { .. }
    ));
    assert!(matches!(
        check(with(&[("type", 0.into()), ("data", Value::Array(vec![]))])),
        DecodeError::InvalidPayload { .. }
    ));
    assert!(matches!(
        check(with(&[("type", 1.into()), ("data", Value::Array(vec![]))])),
        DecodeError::InvalidPayload { .. }
    ));
    assert!(matches!(
        check(with(&[("type", 4.into()), ("data", 1.into())])),
        DecodeError::InvalidPayload { .. }
    ));
    assert!(matches!(
        check(with(&[("type", 3.into())])),
        DecodeError::InvalidId { .. }
    ));
    // The message of a string CONNECT_ERROR payload (socket.io v2 style) is kept.
    assert_eq!(
        decode_packet(
            &encode(&with(&[("type", 4.into()), ("data", "nope".into())])),
            &l
        )
        .unwrap()
        .data,
        PacketData::ConnectError(ConnectError {
            message: "nope".into(),
            data: None
        })
    );
}

#[test]
fn packet_depth_limit_applies_to_the_payload() {
    let nested = |depth: usize| {
        let mut v = Value::Null;
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        v
    };
    let l = Limits::default();
    let ok = Packet::event("/", "e", vec![nested(l.max_depth)]);
    assert_eq!(decode_packet(&encode_packet(&ok), &l).unwrap(), ok);
    let deep = Packet::event("/", "e", vec![nested(l.max_depth + 1)]);
    assert!(matches!(
        decode_packet(&encode_packet(&deep), &l),
        Err(DecodeError::TooDeep { .. })
    ));
}
