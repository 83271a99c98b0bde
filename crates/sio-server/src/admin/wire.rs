//! The payloads the admin page expects, shaped as `@socket.io/admin-ui` 0.5 sends them.

use std::collections::BTreeMap;

use sio_types::value::Map;
use sio_types::{SocketInfo, Value};

use super::Mode;

/// The key under which a socket's admin details ride in its `data` across the cluster
/// (Node's admin UI keeps them there, so its `fetchSockets` answers carry them).
pub(super) const ADMIN_KEY: &str = "_admin";

/// The host name, Node's default server id.
pub(super) fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Now, as a JSON-encoded JavaScript `Date` (what Node's `new Date()` becomes on the wire).
pub(super) fn now() -> Value {
    Value::String(sio_types::handshake::iso8601(crate::handshake::now_ms()))
}

pub(super) fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

pub(super) fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The features the page may use (`config.supportedFeatures`).
pub(super) fn features(readonly: bool, mode: Mode) -> Value {
    let mut f: Vec<&str> = if readonly {
        Vec::new()
    } else {
        vec![
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]
    };
    f.push("AGGREGATED_EVENTS");
    if mode == Mode::Development {
        f.push("ALL_EVENTS");
    }
    object([(
        "supportedFeatures",
        Value::Array(f.into_iter().map(string).collect()),
    )])
}

/// The admin details of a socket, as they ride in its `data`.
pub(super) fn admin_details(client_id: &str, transport: &str) -> Value {
    let short: String = client_id.chars().take(12).collect();
    object([
        ("clientId", string(short)),
        ("transport", string(transport)),
    ])
}

/// A socket as the page lists it (`SerializedSocket`), from a `fetch_sockets` record of
/// any server: the admin details come out of `data`, the auth payload stays out of the
/// handshake.
pub(super) fn socket(info: SocketInfo, nsp: &str) -> Value {
    let mut data = match info.data {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        // Application data that is not an object cannot carry the details; shown as is.
        other => {
            return assemble(
                info.id.as_str(),
                nsp,
                None,
                other,
                info.handshake,
                info.rooms,
            );
        }
    };
    let details = data.shift_remove(ADMIN_KEY);
    assemble(
        info.id.as_str(),
        nsp,
        details,
        Value::Object(data),
        info.handshake,
        info.rooms,
    )
}

fn assemble(
    id: &str,
    nsp: &str,
    details: Option<Value>,
    data: Value,
    hs: sio_types::Handshake,
    rooms: Vec<sio_types::Room>,
) -> Value {
    let detail = |k: &str| {
        details
            .as_ref()
            .and_then(|d| d.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    // Behind a proxy the client's address is in these headers (Node's admin UI reads them
    // in this order).
    let address = hs
        .header("cf-connecting-ip")
        .or_else(|| hs.header("x-forwarded-for"))
        .unwrap_or(&hs.address)
        .to_owned();
    let headers = Value::Object(
        hs.headers
            .iter()
            .map(|(k, v)| (k.clone(), string(v.as_str())))
            .collect(),
    );
    let query = Value::Object(
        hs.query
            .iter()
            .map(|(k, v)| (k.clone(), string(v.as_str())))
            .collect(),
    );
    let handshake = object([
        ("address", string(address)),
        ("headers", headers),
        ("query", query),
        ("issued", Value::from(hs.issued)),
        ("secure", Value::Bool(hs.secure)),
        ("time", string(hs.time)),
        ("url", string(hs.url)),
        ("xdomain", Value::Bool(hs.xdomain)),
    ]);
    object([
        ("id", string(id)),
        ("clientId", detail("clientId")),
        ("transport", detail("transport")),
        ("nsp", string(nsp)),
        ("data", data),
        ("handshake", handshake),
        (
            "rooms",
            Value::Array(rooms.into_iter().map(|r| string(r.as_ref())).collect()),
        ),
    ])
}

/// Counts of engine events per second and kind, drained by each stats message
/// (`aggregatedEvents`).
#[derive(Default)]
pub(super) struct Aggregate {
    counts: BTreeMap<(i64, &'static str, Option<&'static str>), u64>,
}

impl Aggregate {
    /// Adds `n` to the bucket of this second.
    pub(super) fn push(&mut self, kind: &'static str, sub: Option<&'static str>, n: u64) {
        self.push_at(crate::handshake::now_ms(), kind, sub, n);
    }

    /// Adds `n` to the bucket of the second of `unix_ms`.
    pub(super) fn push_at(
        &mut self,
        unix_ms: i64,
        kind: &'static str,
        sub: Option<&'static str>,
        n: u64,
    ) {
        let second = unix_ms.div_euclid(1000) * 1000;
        *self.counts.entry((second, kind, sub)).or_default() += n;
    }

    /// The buckets so far, emptied.
    pub(super) fn drain(&mut self) -> Value {
        let counts = std::mem::take(&mut self.counts);
        Value::Array(
            counts
                .into_iter()
                .map(|((timestamp, kind, sub), count)| {
                    let mut m = Map::new();
                    m.insert("timestamp".into(), Value::from(timestamp));
                    m.insert("type".into(), string(kind));
                    if let Some(sub) = sub {
                        m.insert("subType".into(), string(sub));
                    }
                    m.insert("count".into(), Value::from(count));
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn readonly_production_offers_only_aggregates() {
        let f = features(true, Mode::Production);
        assert_eq!(
            f.get("supportedFeatures").unwrap().as_array().unwrap(),
            &[string("AGGREGATED_EVENTS")]
        );
        let f = features(false, Mode::Development);
        assert_eq!(
            f.get("supportedFeatures")
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            9
        );
    }

    #[test]
    fn aggregate_counts_per_second_and_kind_then_empties() {
        let mut a = Aggregate::default();
        a.push("packetsIn", None, 1);
        a.push("packetsIn", None, 2);
        a.push("rawDisconnection", Some("transport close"), 1);
        let v = a.drain();
        let items = v.as_array().unwrap();
        let total: i64 = items
            .iter()
            .map(|i| i.get("count").unwrap().as_i64().unwrap())
            .sum();
        assert_eq!(total, 4);
        assert!(
            items
                .iter()
                .any(|i| i.get("subType").and_then(Value::as_str) == Some("transport close"))
        );
        assert!(
            items
                .iter()
                .all(|i| i.get("timestamp").unwrap().as_i64().unwrap() % 1000 == 0)
        );
        assert_eq!(a.drain().as_array().unwrap().len(), 0);
    }

    #[test]
    fn socket_takes_admin_details_out_of_data() {
        let mut data = Map::new();
        data.insert("user".into(), string("ann"));
        data.insert(
            ADMIN_KEY.into(),
            admin_details("abcdefghijklmnopqrst", "websocket"),
        );
        let info = SocketInfo {
            id: sio_types::SocketId::random(),
            handshake: sio_types::Handshake::default(),
            rooms: vec!["r".into()],
            data: Value::Object(data),
        };
        let s = socket(info, "/");
        assert_eq!(s.get("clientId").unwrap().as_str(), Some("abcdefghijkl"));
        assert_eq!(s.get("transport").unwrap().as_str(), Some("websocket"));
        assert!(s.get("data").unwrap().get(ADMIN_KEY).is_none());
        assert_eq!(
            s.get("data").unwrap().get("user").unwrap().as_str(),
            Some("ann")
        );
        assert!(s.get("handshake").unwrap().get("auth").is_none());
    }
}
