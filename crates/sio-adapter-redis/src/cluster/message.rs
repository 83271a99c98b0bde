//! The cluster message: `{uid, nsp, type, data}` with the `MessageType` codes of
//! socket.io-adapter's `ClusterAdapter`, whatever carries it.

use sio_types::Value;

use crate::wire::{self, WireError, obj};

/// `MessageType` codes. They differ from the classic adapter's request codes (`wire::req`).
pub(crate) mod ty {
    /// A node came up (heartbeat adapters only; heard, never sent here).
    pub(crate) const INITIAL_HEARTBEAT: i64 = 1;
    /// A node is alive (heartbeat adapters only; heard, never sent here).
    pub(crate) const HEARTBEAT: i64 = 2;
    pub(crate) const BROADCAST: i64 = 3;
    pub(crate) const SOCKETS_JOIN: i64 = 4;
    pub(crate) const SOCKETS_LEAVE: i64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: i64 = 6;
    pub(crate) const FETCH_SOCKETS: i64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: i64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: i64 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: i64 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: i64 = 11;
    pub(crate) const BROADCAST_ACK: i64 = 12;
    /// A node is leaving (heartbeat adapters only).
    pub(crate) const ADAPTER_CLOSE: i64 = 13;
}

/// One cluster message or response.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message {
    pub(crate) uid: String,
    pub(crate) nsp: String,
    pub(crate) ty: i64,
    /// `Null` when the message has none (heartbeats).
    pub(crate) data: Value,
}

impl Message {
    /// Whether this message answers a request (routed by `requestId`, never by uid).
    pub(crate) fn is_response(&self) -> bool {
        matches!(
            self.ty,
            ty::FETCH_SOCKETS_RESPONSE
                | ty::SERVER_SIDE_EMIT_RESPONSE
                | ty::BROADCAST_CLIENT_COUNT
                | ty::BROADCAST_ACK
        )
    }

    /// Whether it only matters to the nodes up right now (broadcasts with acks, server-side
    /// emits, fetches, and every response): a transport with a log need not keep it.
    pub(crate) fn is_ephemeral(&self) -> bool {
        match self.ty {
            ty::BROADCAST => self.request_id().is_some(),
            ty::SERVER_SIDE_EMIT | ty::FETCH_SOCKETS => true,
            _ => self.is_response(),
        }
    }

    /// The types whose data may hold binary, which encoders then write as msgpack.
    pub(crate) fn may_contain_binary(&self) -> bool {
        matches!(
            self.ty,
            ty::BROADCAST
                | ty::FETCH_SOCKETS_RESPONSE
                | ty::SERVER_SIDE_EMIT
                | ty::SERVER_SIDE_EMIT_RESPONSE
                | ty::BROADCAST_ACK
        )
    }

    pub(crate) fn request_id(&self) -> Option<String> {
        opt_string(&self.data, "requestId")
    }

    /// `{type, data, uid, nsp}`: the key order Node's sharded adapter produces.
    pub(crate) fn to_value(&self) -> Value {
        obj([
            ("type", Value::Int(self.ty)),
            ("data", self.data.clone()),
            ("uid", Value::from(self.uid.as_str())),
            ("nsp", Value::from(self.nsp.as_str())),
        ])
    }

    /// Reads a decoded `{uid, nsp, type, data}` document.
    pub(crate) fn from_value(mut v: Value) -> Result<Self, WireError> {
        let ty = v
            .get("type")
            .and_then(Value::as_i64)
            .ok_or_else(|| wire::shape("message without type"))?;
        let uid = opt_string(&v, "uid").unwrap_or_default();
        let nsp = opt_string(&v, "nsp").unwrap_or_default();
        let data = match &mut v {
            Value::Object(m) => m.shift_remove("data").unwrap_or_default(),
            _ => Value::Null,
        };
        Ok(Message { uid, nsp, ty, data })
    }
}

/// A string field, numbers read as their decimal text (ids are strings on the wire, but a
/// foreign peer may write them as numbers).
pub(crate) fn opt_string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(i) => Some(i.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: i64, data: Value) -> Message {
        Message {
            uid: "u".into(),
            nsp: "/".into(),
            ty: t,
            data,
        }
    }

    #[test]
    fn round_trips_through_a_value() {
        let m = msg(ty::SOCKETS_JOIN, obj([("rooms", Value::Array(vec![]))]));
        assert_eq!(Message::from_value(m.to_value()).unwrap(), m);
    }

    #[test]
    fn only_acked_broadcasts_and_requests_are_ephemeral() {
        assert!(!msg(ty::BROADCAST, obj([("packet", Value::Null)])).is_ephemeral());
        assert!(msg(ty::BROADCAST, obj([("requestId", Value::from("r"))])).is_ephemeral());
        assert!(msg(ty::FETCH_SOCKETS, Value::Null).is_ephemeral());
        assert!(msg(ty::BROADCAST_ACK, Value::Null).is_ephemeral());
        assert!(!msg(ty::SOCKETS_LEAVE, Value::Null).is_ephemeral());
    }

    #[test]
    fn a_message_without_type_is_refused() {
        assert!(Message::from_value(obj([("uid", Value::from("x"))])).is_err());
    }
}
