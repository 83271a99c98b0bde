//! socket.io-msgpack-parser 3.0.2: one msgpack map per packet.

use sio_types::{AckId, ConnectError, Packet, PacketData, PacketType, Value};

use super::{DecodeError, decode, encode, js};
use crate::limits::Limits;

/// Encodes a socket.io packet as socket.io-msgpack-parser does (one binary frame).
///
/// The keys come in the order a Node socket.io 4.8 server writes them, so the bytes match
/// it exactly: `{type, data, id?, nsp}`, except acks, which socket.io builds as
/// `{id, type, data, nsp}`. A CONNECT without payload and a DISCONNECT have no `data` key.
///
/// ```
/// use sio_types::{Packet, Value};
/// use sio_protocol::msgpack::encode_packet;
///
/// let bytes = encode_packet(&Packet::event("/", "hi", vec![Value::from(1)]));
/// // {"type":2,"data":["hi",1],"nsp":"/"}
/// assert_eq!(bytes, b"\x83\xa4type\x02\xa4data\x92\xa2hi\x01\xa3nsp\xa1/");
/// ```
pub fn encode_packet(packet: &Packet) -> Vec<u8> {
    // Written straight from the borrowed packet: building a `Value` map first would deep-copy
    // every argument on each encode, and a broadcast encodes once for all its recipients.
    let mut out = Vec::new();
    // A map header for at most five entries is the single fixmap byte.
    let map_header = |len: u8, out: &mut Vec<u8>| out.push(0x80 | len);
    let ty = |t: PacketType, out: &mut Vec<u8>| {
        encode::str("type", out);
        encode::uint(u64::from(t as u8), out);
    };
    let id = |id: AckId, out: &mut Vec<u8>| {
        encode::str("id", out);
        encode::uint(id, out);
    };
    match &packet.data {
        PacketData::Connect(payload) => {
            map_header(if payload.is_some() { 3 } else { 2 }, &mut out);
            ty(PacketType::Connect, &mut out);
            if let Some(p) = payload {
                encode::str("data", &mut out);
                encode::value(p, &mut out);
            }
        }
        PacketData::Disconnect => {
            map_header(2, &mut out);
            ty(PacketType::Disconnect, &mut out);
        }
        PacketData::Event { event, args, ack } => {
            map_header(if ack.is_some() { 4 } else { 3 }, &mut out);
            ty(PacketType::Event, &mut out);
            encode::str("data", &mut out);
            encode::array_header(args.len() + 1, &mut out);
            encode::str(event, &mut out);
            for arg in args {
                encode::value(arg, &mut out);
            }
            if let Some(ack) = ack {
                id(*ack, &mut out);
            }
        }
        PacketData::Ack { id: ack, args } => {
            map_header(4, &mut out);
            id(*ack, &mut out);
            ty(PacketType::Ack, &mut out);
            encode::str("data", &mut out);
            encode::array_header(args.len(), &mut out);
            for arg in args {
                encode::value(arg, &mut out);
            }
        }
        PacketData::ConnectError(err) => {
            map_header(3, &mut out);
            ty(PacketType::ConnectError, &mut out);
            encode::str("data", &mut out);
            map_header(if err.data.is_some() { 2 } else { 1 }, &mut out);
            encode::str("message", &mut out);
            encode::str(&err.message, &mut out);
            if let Some(d) = &err.data {
                encode::str("data", &mut out);
                encode::value(d, &mut out);
            }
        }
    }
    encode::str("nsp", &mut out);
    encode::str(&packet.nsp, &mut out);
    out
}

/// Decodes a socket.io-msgpack-parser frame.
///
/// Checks what socket.io-msgpack-parser's `checkPacket` checks: `type` an integer packet
/// type, `nsp` a string, `data` of the shape the type needs, `id` an integer. Other keys
/// (socket.io-client sends `options`) are ignored. Types 5 and 6 (BINARY_EVENT /
/// BINARY_ACK, which the msgpack parser never sends itself) are read like 2 and 3.
/// `undefined` and `null` count as absent for `data` and `id`, since notepack 2 writes the
/// `undefined` of `{data: undefined}` (a socket.io-client CONNECT without auth).
/// [`Limits::max_depth`] applies to the payload, below the packet map and its `data` array.
///
/// ```
/// use sio_types::{Packet, Value};
/// use sio_protocol::{Limits, msgpack::decode_packet};
///
/// // What socket.io-client 4.8 sends for socket.emit("hi", 1):
/// // {"type":2,"data":["hi",1],"options":{"compress":true},"nsp":"/"}
/// let frame = b"\x84\xa4type\x02\xa4data\x92\xa2hi\x01\xa7options\x81\xa8compress\xc3\xa3nsp\xa1/";
/// let p = decode_packet(frame, &Limits::default())?;
/// assert_eq!(p, Packet::event("/", "hi", vec![Value::from(1)]));
/// # Ok::<(), sio_protocol::msgpack::DecodeError>(())
/// ```
pub fn decode_packet(bytes: &[u8], limits: &Limits) -> Result<Packet, DecodeError> {
    // `max_depth` bounds the payload: the packet map and its `data` array come on top.
    let limits = Limits {
        max_depth: limits.max_depth.saturating_add(2),
        ..*limits
    };
    let mut map = match decode(bytes, &limits)? {
        Value::Object(m) => m,
        other => {
            return Err(DecodeError::NotAnObject {
                found: other.kind(),
            });
        }
    };
    let packet_type = packet_type(map.get("type"))?;
    let nsp = match map.swap_remove("nsp") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(DecodeError::InvalidNamespace {
                found: other.kind(),
            });
        }
        None => return Err(DecodeError::InvalidNamespace { found: "missing" }),
    };
    let id = ack_id(map.get("id"))?;
    let data = match map.swap_remove("data") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    };
    let invalid = |reason: &str| DecodeError::InvalidPayload {
        packet_type,
        reason: reason.to_owned(),
    };
    let data = match packet_type {
        PacketType::Connect => match data {
            None => PacketData::Connect(None),
            Some(v @ Value::Object(_)) => PacketData::Connect(Some(v)),
            Some(other) => {
                return Err(invalid(&format!(
                    "data must be an object or absent, found {}",
                    other.kind()
                )));
            }
        },
        PacketType::Disconnect => match data {
            None => PacketData::Disconnect,
            Some(other) => {
                return Err(invalid(&format!(
                    "data must be absent, found {}",
                    other.kind()
                )));
            }
        },
        PacketType::ConnectError => match data {
            Some(Value::String(message)) => PacketData::ConnectError(ConnectError {
                message,
                data: None,
            }),
            Some(Value::Object(mut m)) => {
                // The JS client reads `data.message` and `data.data` and never rejects the
                // packet, so neither does this.
                let message = match m.swap_remove("message") {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                };
                let data = match m.swap_remove("data") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v),
                };
                PacketData::ConnectError(ConnectError { message, data })
            }
            Some(other) => {
                return Err(invalid(&format!(
                    "data must be a string or an object, found {}",
                    other.kind()
                )));
            }
            None => return Err(invalid("data must be a string or an object, found none")),
        },
        PacketType::Event | PacketType::BinaryEvent => {
            let mut args = array_data(data).map_err(|r| invalid(&r))?;
            if args.is_empty() {
                return Err(invalid("data must start with the event name, found []"));
            }
            let event = match args.remove(0) {
                Value::String(s) => s,
                // socket.io allows number event names; Node's emitter sees them as strings.
                Value::Int(i) => js::number_to_string(i as f64),
                Value::UInt(u) => js::number_to_string(u as f64),
                Value::Float(f) => js::number_to_string(f),
                other => {
                    return Err(invalid(&format!(
                        "the event name must be a string, found {}",
                        other.kind()
                    )));
                }
            };
            PacketData::Event {
                event,
                args,
                ack: id,
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            let args = array_data(data).map_err(|r| invalid(&r))?;
            let id = id.ok_or_else(|| DecodeError::InvalidId {
                found: "missing (an ack needs one)".into(),
            })?;
            PacketData::Ack { id, args }
        }
    };
    Ok(Packet { nsp, data })
}

/// The argument array of an EVENT or ACK, or why `data` is not one.
fn array_data(data: Option<Value>) -> Result<Vec<Value>, String> {
    match data {
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(format!("data must be an array, found {}", other.kind())),
        None => Err("data must be an array, found none".to_owned()),
    }
}

fn packet_type(v: Option<&Value>) -> Result<PacketType, DecodeError> {
    let found = match v {
        None => "missing".to_owned(),
        Some(v @ (Value::Int(_) | Value::UInt(_) | Value::Float(_))) => {
            if let Some(t) = v
                .as_i64()
                .and_then(|i| u8::try_from(i).ok())
                .and_then(|c| PacketType::try_from(c).ok())
            {
                return Ok(t);
            }
            describe_number(v)
        }
        Some(other) => other.kind().to_owned(),
    };
    Err(DecodeError::InvalidType { found })
}

fn ack_id(v: Option<&Value>) -> Result<Option<AckId>, DecodeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::UInt(u)) => Ok(Some(*u)),
        Some(v @ (Value::Int(_) | Value::Float(_))) => match v.as_i64() {
            Some(i) if i >= 0 => Ok(Some(i as u64)),
            _ => Err(DecodeError::InvalidId {
                found: describe_number(v),
            }),
        },
        Some(other) => Err(DecodeError::InvalidId {
            found: other.kind().to_owned(),
        }),
    }
}

fn describe_number(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => js::number_to_string(*f),
        other => other.kind().to_owned(),
    }
}
