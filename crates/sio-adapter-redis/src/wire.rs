//! The shapes Node's packages put on Redis, as [`Value`] trees.
//!
//! Every message is handled as a [`Value`]: JSON and msgpack documents both decode into one,
//! so the protocol code never cares which encoding a peer chose.

use std::borrow::Cow;
use std::time::Duration;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use sio_protocol::Limits;
use sio_types::value::Map;
use sio_types::{BroadcastFlags, BroadcastOptions, Handshake, Packet, PacketData, Room, SocketId};
use sio_types::{SocketInfo, Value};

/// Classic request types (`RequestType` in @socket.io/redis-adapter's lib/index.ts).
pub(crate) mod req {
    pub(crate) const SOCKETS: i64 = 0;
    pub(crate) const ALL_ROOMS: i64 = 1;
    pub(crate) const REMOTE_JOIN: i64 = 2;
    pub(crate) const REMOTE_LEAVE: i64 = 3;
    pub(crate) const REMOTE_DISCONNECT: i64 = 4;
    pub(crate) const REMOTE_FETCH: i64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: i64 = 6;
    pub(crate) const BROADCAST: i64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: i64 = 8;
    pub(crate) const BROADCAST_ACK: i64 = 9;
}

/// Why a message from Redis was dropped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    #[error("unexpected shape: {0}")]
    Shape(Cow<'static, str>),
}

pub(crate) fn shape(msg: impl Into<Cow<'static, str>>) -> WireError {
    WireError::Shape(msg.into())
}

/// Decodes a request, response or cluster message: JSON when the first byte is `{`, as
/// Node's adapters decide, msgpack otherwise.
pub(crate) fn decode_any(bytes: &[u8], limits: &Limits) -> Result<Value, WireError> {
    if bytes.first() == Some(&b'{') {
        Ok(serde_json::from_slice::<Value>(bytes)?)
    } else {
        decode_msgpack(bytes, limits)
    }
}

/// Decodes msgpack with the shared notepack-compatible codec. The codec is not ours, so a
/// panic inside it is contained here: bad input must never take the adapter down.
pub(crate) fn decode_msgpack(bytes: &[u8], limits: &Limits) -> Result<Value, WireError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sio_protocol::msgpack::decode(bytes, limits)
    })) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(WireError::Msgpack(e.to_string())),
        Err(_) => Err(WireError::Msgpack("decoder panicked".into())),
    }
}

/// Encodes with the shared notepack-compatible codec.
pub(crate) fn encode_msgpack(value: &Value) -> Result<Vec<u8>, sio_types::AdapterError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sio_protocol::msgpack::encode(value)
    }))
    .map_err(|_| sio_types::AdapterError::Encode("msgpack encoder panicked".into()))
}

/// JSON as `JSON.stringify` writes it: keys in insertion order, integral floats without a
/// fraction, non-finite numbers as `null`, binary as a Node `Buffer`'s JSON form.
pub(crate) fn encode_json(value: &Value) -> Vec<u8> {
    // Serializing a Value tree into a Vec cannot fail: every key is a string.
    serde_json::to_vec(&Json(value)).unwrap_or_default()
}

/// JSON unless the value carries binary (which JSON would mangle), msgpack then. Receivers
/// tell the two apart by the first byte.
pub(crate) fn encode_auto(value: &Value) -> Result<Vec<u8>, sio_types::AdapterError> {
    if value.contains_binary() {
        encode_msgpack(value)
    } else {
        Ok(encode_json(value))
    }
}

struct Json<'a>(&'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) if !f.is_finite() => s.serialize_unit(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                s.serialize_i64(*f as i64)
            }
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::Binary(b) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "Buffer")?;
                m.serialize_entry("data", &b[..])?;
                m.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Json(v))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, &Json(v))?;
                }
                m.end()
            }
        }
    }
}

/// Builds an object from key/value pairs, keeping their order.
pub(crate) fn obj<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

pub(crate) fn str_array<'a>(items: impl IntoIterator<Item = &'a Room>) -> Value {
    Value::Array(items.into_iter().map(|r| Value::from(r.as_ref())).collect())
}

/// A room name as JavaScript would print it: rooms may be numbers in Node.
fn room_of(v: &Value) -> Option<Room> {
    match v {
        Value::String(s) => Some(Cow::Owned(s.clone())),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        Value::UInt(u) => Some(Cow::Owned(u.to_string())),
        Value::Float(f) => Some(Cow::Owned(f.to_string())),
        _ => None,
    }
}

pub(crate) fn rooms_of(v: Option<&Value>) -> Vec<Room> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(room_of).collect())
        .unwrap_or_default()
}

/// `{type: 2, data: [event, ...args], nsp}` as socket.io's broadcast operator builds it.
pub(crate) fn packet_to_value(packet: &Packet) -> Value {
    let mut m = Map::new();
    match &packet.data {
        PacketData::Event { event, args, ack } => {
            m.insert("type".into(), Value::Int(2));
            let mut data = Vec::with_capacity(args.len() + 1);
            data.push(Value::from(event.as_str()));
            data.extend(args.iter().cloned());
            m.insert("data".into(), Value::Array(data));
            m.insert("nsp".into(), Value::from(packet.nsp.as_str()));
            if let Some(id) = ack {
                m.insert("id".into(), Value::from(*id));
            }
        }
        PacketData::Ack { id, args } => {
            m.insert("type".into(), Value::Int(3));
            m.insert("data".into(), Value::Array(args.clone()));
            m.insert("nsp".into(), Value::from(packet.nsp.as_str()));
            m.insert("id".into(), Value::from(*id));
        }
        PacketData::Connect(_) | PacketData::Disconnect | PacketData::ConnectError(_) => {
            m.insert("type".into(), Value::Int(packet.packet_type() as u8 as i64));
            m.insert("nsp".into(), Value::from(packet.nsp.as_str()));
        }
    }
    Value::Object(m)
}

/// Reads a broadcast packet. A missing `nsp` means `/`, as in Node.
pub(crate) fn packet_from_value(v: &Value) -> Result<Packet, WireError> {
    let ty = v
        .get("type")
        .and_then(Value::as_i64)
        .ok_or_else(|| shape("packet without a numeric type"))?;
    let nsp = v
        .get("nsp")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_owned();
    let data = v.get("data").and_then(Value::as_array).unwrap_or(&[]);
    let id = v
        .get("id")
        .and_then(Value::as_i64)
        .and_then(|i| u64::try_from(i).ok());
    match ty {
        2 | 5 => {
            let (event, args) = data
                .split_first()
                .ok_or_else(|| shape("event packet without data"))?;
            let event = event
                .as_str()
                .ok_or_else(|| shape("event name is not a string"))?;
            let mut p = Packet::event(nsp, event, args.to_vec());
            if let Some(id) = id {
                p = p.with_ack(id);
            }
            Ok(p)
        }
        3 | 6 => Ok(Packet::ack(
            nsp,
            id.ok_or_else(|| shape("ack packet without id"))?,
            data.to_vec(),
        )),
        other => Err(shape(format!("unsupported packet type {other}"))),
    }
}

/// `{rooms, except}` (what join/leave/disconnect/fetch requests carry).
pub(crate) fn targets_to_value(opts: &BroadcastOptions) -> Value {
    obj([
        ("rooms", str_array(&opts.rooms)),
        ("except", str_array(&opts.except)),
    ])
}

/// `{rooms, except, flags}` (what broadcasts carry).
pub(crate) fn opts_to_value(opts: &BroadcastOptions) -> Value {
    obj([
        ("rooms", str_array(&opts.rooms)),
        ("except", str_array(&opts.except)),
        ("flags", flags_to_value(&opts.flags)),
    ])
}

/// Only the flags that are set, as socket.io's `BroadcastFlags` object has them.
pub(crate) fn flags_to_value(flags: &BroadcastFlags) -> Value {
    let mut m = Map::new();
    if flags.volatile {
        m.insert("volatile".into(), Value::Bool(true));
    }
    if flags.compress {
        m.insert("compress".into(), Value::Bool(true));
    }
    if flags.local {
        m.insert("local".into(), Value::Bool(true));
    }
    if let Some(t) = flags.timeout {
        m.insert(
            "timeout".into(),
            Value::from(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        );
    }
    Value::Object(m)
}

pub(crate) fn opts_from_value(v: Option<&Value>) -> BroadcastOptions {
    let Some(v) = v else {
        return BroadcastOptions::default();
    };
    let f = v.get("flags");
    let flag = |name: &str| f.and_then(|f| f.get(name)).and_then(Value::as_bool) == Some(true);
    BroadcastOptions {
        rooms: rooms_of(v.get("rooms")),
        except: rooms_of(v.get("except")),
        flags: BroadcastFlags {
            // `local` is never honoured from the wire: it only means "do not publish".
            local: false,
            volatile: flag("volatile"),
            compress: flag("compress"),
            timeout: f
                .and_then(|f| f.get("timeout"))
                .and_then(Value::as_f64)
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(|t| Duration::from_millis(t as u64)),
        },
    }
}

/// `{id, handshake, rooms, data}` as Node's `fetchSockets` responses carry it.
pub(crate) fn socket_to_value(s: &SocketInfo) -> Value {
    // Straight into a Value tree: binary in the auth payload stays binary, and the fields
    // keep Node's order.
    let handshake = sio_types::value::to_value(&s.handshake).unwrap_or_default();
    obj([
        ("id", Value::from(s.id.as_str())),
        ("handshake", handshake),
        ("rooms", str_array(&s.rooms)),
        ("data", s.data.clone()),
    ])
}

pub(crate) fn socket_from_value(v: &Value) -> Result<SocketInfo, WireError> {
    let id: SocketId = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("socket without id"))?
        .parse()
        .map_err(|e: sio_types::IdError| shape(e.to_string()))?;
    let handshake = v
        .get("handshake")
        .map(handshake_from_value)
        .unwrap_or_default();
    Ok(SocketInfo {
        id,
        handshake,
        rooms: rooms_of(v.get("rooms")),
        data: v.get("data").cloned().unwrap_or_default(),
    })
}

/// Reads a handshake leniently: Node's may hold arrays where we keep strings (a repeated
/// query key, a repeated header), which must not cost the whole socket.
fn handshake_from_value(v: &Value) -> Handshake {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => String::from_utf8_lossy(&encode_json(other)).into_owned(),
        }
    }
    let entries = |key: &str, join: bool| -> Vec<(String, String)> {
        v.get(key)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, x)| {
                        let s = match x.as_array() {
                            Some(a) if join => a.iter().map(text).collect::<Vec<_>>().join(", "),
                            Some(a) => a.last().map(text).unwrap_or_default(),
                            None => text(x),
                        };
                        (k.clone(), s)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let s = |key: &str| v.get(key).map(text).unwrap_or_default();
    let b = |key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
    Handshake {
        headers: entries("headers", true).into_iter().collect(),
        time: s("time"),
        address: s("address"),
        xdomain: b("xdomain"),
        secure: b("secure"),
        issued: v.get("issued").and_then(Value::as_i64).unwrap_or(0),
        url: s("url"),
        query: entries("query", false).into_iter().collect(),
        auth: v.get("auth").cloned().unwrap_or_default(),
    }
}

const UID_CHARS: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut raw = vec![0u8; n];
    if getrandom::fill(&mut raw).is_err() {
        // No OS entropy: fall back on a socket id's bytes, which have their own fallback.
        let id = SocketId::random();
        for (i, b) in raw.iter_mut().enumerate() {
            *b = id.as_str().as_bytes()[i % SocketId::GENERATED_LEN];
        }
    }
    raw
}

/// A random id in the style of the `uid2` npm package (alphanumeric), as the classic adapter
/// uses for node uids and request ids.
pub(crate) fn uid2(len: usize) -> String {
    random_bytes(len)
        .into_iter()
        .map(|b| char::from(UID_CHARS[usize::from(b) % UID_CHARS.len()]))
        .collect()
}

/// 16 hex characters, as socket.io-adapter's `ClusterAdapter` draws uids and request ids.
pub(crate) fn hex_id() -> String {
    random_bytes(8).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_javascript() {
        let v = obj([
            ("a", Value::Float(2.0)),
            ("b", Value::Float(f64::NAN)),
            ("c", Value::from(vec![1u8, 2])),
            ("d", Value::Float(1.5)),
        ]);
        assert_eq!(
            String::from_utf8(encode_json(&v)).unwrap(),
            r#"{"a":2,"b":null,"c":{"type":"Buffer","data":[1,2]},"d":1.5}"#
        );
    }

    #[test]
    fn opts_round_trip() {
        let mut o = BroadcastOptions::default().to("r1").except("x");
        o.flags.volatile = true;
        o.flags.timeout = Some(Duration::from_millis(1500));
        let v = opts_to_value(&o);
        assert_eq!(opts_from_value(Some(&v)), o);
        let numeric = obj([("rooms", Value::Array(vec![Value::Int(42)]))]);
        assert_eq!(opts_from_value(Some(&numeric)).rooms, ["42"]);
    }

    #[test]
    fn packets_round_trip_and_default_nsp() {
        let p = Packet::event("/x", "ev", vec![Value::from(1)]).with_ack(3);
        assert_eq!(packet_from_value(&packet_to_value(&p)).unwrap(), p);
        let no_nsp = obj([
            ("type", Value::Int(2)),
            ("data", Value::Array(vec![Value::from("e")])),
        ]);
        assert_eq!(packet_from_value(&no_nsp).unwrap().nsp, "/");
        assert!(packet_from_value(&obj([("type", Value::Int(9))])).is_err());
        assert!(packet_from_value(&Value::Null).is_err());
    }

    #[test]
    fn node_handshakes_with_arrays_are_read() {
        let hs = serde_json::from_str::<Value>(
            r#"{"headers":{"host":"h","x-many":["a","b"]},"time":"t","address":"::1",
                "xdomain":false,"secure":true,"issued":1700000000000,"url":"/?a=1&a=2",
                "query":{"a":["1","2"],"EIO":"4"},"auth":{"bin":null}}"#,
        )
        .unwrap();
        let s = obj([
            ("id", Value::from("abc")),
            ("handshake", hs),
            (
                "rooms",
                Value::Array(vec![Value::from("abc"), Value::Int(7)]),
            ),
            ("data", Value::from(vec![1u8])),
        ]);
        let info = socket_from_value(&s).unwrap();
        assert_eq!(info.handshake.headers["x-many"], "a, b");
        assert_eq!(info.handshake.query["a"], "2");
        assert!(info.handshake.secure);
        assert_eq!(info.handshake.issued, 1_700_000_000_000);
        assert_eq!(info.rooms, ["abc", "7"]);
        assert_eq!(info.data, Value::from(vec![1u8]));
        let back = socket_from_value(&socket_to_value(&info)).unwrap();
        assert_eq!(back, info);
        // Binary in the auth payload stays binary on the way out.
        let mut with_bin = info.clone();
        with_bin.handshake.auth = obj([("bin", Value::from(vec![9u8]))]);
        let out = socket_to_value(&with_bin);
        assert_eq!(
            out.get("handshake").and_then(|h| h.get("auth")),
            Some(&with_bin.handshake.auth)
        );
        assert_eq!(socket_from_value(&out).unwrap(), with_bin);
        assert!(socket_from_value(&obj([("id", Value::from("has space"))])).is_err());
    }

    #[test]
    fn ids_have_the_right_alphabet() {
        let u = uid2(6);
        assert_eq!(u.len(), 6);
        assert!(u.bytes().all(|b| b.is_ascii_alphanumeric()));
        let h = hex_id();
        assert_eq!(h.len(), 16);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(uid2(6), uid2(6));
    }
}
