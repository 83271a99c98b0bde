//! The stream itself: where each namespace's entries go, how a message becomes an entry and
//! back, and the readers that follow every stream from where they left off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sio_types::{AdapterError, Value};

use crate::adapter::Shared;
use crate::cluster::{ClusterNode, Message};
use crate::config::StreamsOptions;
use crate::conn::{Managed, RedisConn, RedisConnectError, connect_with};
use crate::wire::{self, WireError};

/// Which namespace's node reads which entries, for the readers of every stream, and the
/// newest entry id seen on each stream.
#[derive(Default)]
pub(crate) struct Readers {
    nodes: Mutex<HashMap<String, Weak<ClusterNode>>>,
    newest: Mutex<HashMap<String, (u64, u64)>>,
    /// Per stream and writer uid, the last `mid` read (see [`Streams::xadd`]).
    last_mid: Mutex<HashMap<(String, String), u64>>,
}

impl Readers {
    /// Entries of namespace `nsp` go to `node` from now on.
    pub(super) fn register(&self, nsp: &str, node: &Arc<ClusterNode>) {
        if let Ok(mut m) = self.nodes.lock() {
            m.insert(nsp.to_owned(), Arc::downgrade(node));
        }
    }

    pub(super) fn unregister(&self, nsp: &str) {
        if let Ok(mut m) = self.nodes.lock() {
            m.remove(nsp);
        }
    }

    fn node(&self, nsp: &str) -> Option<Arc<ClusterNode>> {
        self.nodes.lock().ok()?.get(nsp)?.upgrade()
    }

    /// Records that entry `id` of `stream` exists (read, or appended here).
    pub(super) fn saw(&self, stream: &str, id: &str) {
        let Some(id) = parse_id(id) else { return };
        if let Ok(mut m) = self.newest.lock() {
            let e = m.entry(stream.to_owned()).or_insert(id);
            *e = (*e).max(id);
        }
    }

    /// Whether an entry is a copy of one already read: a retried XADD that had reached
    /// Redis before its connection broke. Entries without `mid` (Node's) are never copies.
    pub(super) fn is_copy(&self, stream: &str, fields: &Fields) -> bool {
        let (Some(uid), Some(mid)) = (
            field(fields, "uid"),
            field(fields, "mid").and_then(|m| m.parse::<u64>().ok()),
        ) else {
            return false;
        };
        let Ok(mut m) = self.last_mid.lock() else {
            return false;
        };
        let last = m.entry((stream.to_owned(), uid.to_owned())).or_insert(0);
        if mid <= *last {
            return true;
        }
        *last = mid;
        false
    }

    pub(super) fn newest(&self, stream: &str) -> Option<String> {
        let (ms, seq) = *self.newest.lock().ok()?.get(stream)?;
        Some(format!("{ms}-{seq}"))
    }
}

/// A stream entry id `<ms>-<seq>`, the only offsets Node accepts (`/^[0-9]+-[0-9]+$/`).
pub(super) fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return None;
    }
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The stream of namespace `nsp` (`computeStreamName`): Java's `String.hashCode` over
/// UTF-16 units, wrapped to 32 bits, remainder with the sign of the hash, as JS computes it.
pub(crate) fn stream_name(opts: &StreamsOptions, nsp: &str) -> String {
    if opts.stream_count <= 1 {
        return opts.stream_name.clone();
    }
    let hash = nsp
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let count = i64::from(opts.stream_count);
    format!("{}-{}", opts.stream_name, i64::from(hash) % count)
}

/// Every stream name namespaces may use.
fn all_streams(opts: &StreamsOptions) -> Vec<String> {
    if opts.stream_count <= 1 {
        return vec![opts.stream_name.clone()];
    }
    // JS keeps the sign of the hash: names run from `-(count-1)` to `count-1`.
    let n = i64::from(opts.stream_count);
    (1 - n..n)
        .map(|i| format!("{}-{i}", opts.stream_name))
        .collect()
}

/// Starts one reader per stream, each on its own connection (XREAD blocks it).
pub(crate) async fn start_readers(
    shared: &Arc<Shared>,
    readers: &Arc<Readers>,
) -> Result<Vec<(Managed, tokio::task::JoinHandle<()>)>, RedisConnectError> {
    let cfg = &shared.config;
    let opts = &cfg.streams;
    let mut out = Vec::new();
    for stream in all_streams(opts) {
        let m = connect_with(
            &cfg.target()?,
            "stream-reader",
            cfg.connect_timeout,
            shared.counters.clone(),
            None,
            opts.block_time + Duration::from_secs(5),
        )
        .await?;
        let task = tokio::spawn(read_stream(
            m.conn.clone(),
            stream,
            Arc::downgrade(shared),
            readers.clone(),
        ));
        out.push((m, task));
    }
    Ok(out)
}

/// The last entry id of `stream`, `0-0` when it is empty or missing.
async fn tail(conn: &mut RedisConn, stream: &str) -> Result<String, redis::RedisError> {
    let last: redis::Value = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await?;
    let entries = entries_of(&last);
    Ok(entries
        .into_iter()
        .next()
        .map(|(id, _)| id)
        .unwrap_or_else(|| "0-0".into()))
}

/// One stream's read loop: from the tail at start, then always from the last id seen, so a
/// reconnection resumes where it stopped (Node's loop starts from `$` until its first entry,
/// and skips what is appended between two empty reads then).
async fn read_stream(
    mut conn: RedisConn,
    stream: String,
    shared: Weak<Shared>,
    readers: Arc<Readers>,
) {
    let mut last = None;
    loop {
        let Some(sh) = shared.upgrade() else { return };
        let opts = sh.config.streams.clone();
        drop(sh);
        let from = match &last {
            Some(id) => id,
            None => match tail(&mut conn, &stream).await {
                Ok(id) => last.insert(id),
                Err(e) => {
                    tracing::debug!(stream, "cannot read the stream's tail: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let block = u64::try_from(opts.block_time.as_millis()).unwrap_or(5000);
        let reply: Result<redis::Value, _> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(opts.read_count)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&stream)
            .arg(from.as_str())
            .query_async(&mut conn)
            .await;
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(stream, "XREAD failed, resuming after {from}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(sh) = shared.upgrade() else { return };
        for (id, fields) in read_entries(&reply) {
            if !readers.is_copy(&stream, &fields) {
                on_entry(&sh, &readers, &stream, &id, &fields);
            }
            readers.saw(&stream, &id);
            last = Some(id);
        }
    }
}

fn bytes_of(v: &redis::Value) -> Option<&[u8]> {
    match v {
        redis::Value::BulkString(b) => Some(b),
        redis::Value::SimpleString(s) => Some(s.as_bytes()),
        redis::Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

pub(super) fn text_of(v: &redis::Value) -> Option<String> {
    bytes_of(v).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

pub(super) type Fields = Vec<(String, String)>;

/// `[[id, [field, value, ...]], ...]` (XRANGE, XREVRANGE, one stream of XREAD).
pub(super) fn entries_of(v: &redis::Value) -> Vec<(String, Fields)> {
    let redis::Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let redis::Value::Array(pair) = e else {
                return None;
            };
            let id = text_of(pair.first()?)?;
            let fields = match pair.get(1)? {
                redis::Value::Array(kv) => kv
                    .chunks(2)
                    .filter_map(|c| Some((text_of(c.first()?)?, text_of(c.get(1)?)?)))
                    .collect(),
                redis::Value::Map(kv) => kv
                    .iter()
                    .filter_map(|(k, v)| Some((text_of(k)?, text_of(v)?)))
                    .collect(),
                _ => return None,
            };
            Some((id, fields))
        })
        .collect()
}

/// XREAD's answer: nil on timeout, a map of stream to entries in RESP3, an array of
/// `[stream, entries]` in RESP2.
fn read_entries(v: &redis::Value) -> Vec<(String, Fields)> {
    match v {
        redis::Value::Map(streams) => streams.iter().flat_map(|(_, e)| entries_of(e)).collect(),
        redis::Value::Array(streams) => streams
            .iter()
            .filter_map(|s| match s {
                redis::Value::Array(pair) => pair.get(1).map(entries_of),
                _ => None,
            })
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A stream entry as a message (`RedisStreamsAdapter.decode`).
pub(crate) fn decode_entry(fields: &Fields, shared: &Shared) -> Result<Message, WireError> {
    let ty = field(fields, "type")
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or_else(|| wire::shape("entry without a numeric type"))?;
    let data = match field(fields, "data") {
        None | Some("") => Value::Null,
        Some(d) if d.starts_with('{') => serde_json::from_str::<Value>(d)?,
        Some(d) => {
            let raw = BASE64
                .decode(d)
                .map_err(|e| wire::shape(format!("data is neither JSON nor base64: {e}")))?;
            wire::decode_msgpack(&raw, &shared.limits)?
        }
    };
    Ok(Message {
        uid: field(fields, "uid").unwrap_or_default().to_owned(),
        nsp: field(fields, "nsp").unwrap_or_default().to_owned(),
        ty,
        data,
    })
}

fn on_entry(shared: &Shared, readers: &Readers, stream: &str, id: &str, fields: &Fields) {
    // Entries without a namespace are not the adapter's (Node skips them too).
    let Some(nsp) = field(fields, "nsp") else {
        return;
    };
    let Some(node) = readers.node(nsp) else {
        return;
    };
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > shared.limits.max_packet_size {
        return shared.dropped(
            nsp,
            stream,
            &format_args!("entry of {size} bytes is too large"),
        );
    }
    match decode_entry(fields, shared) {
        Ok(m) => node.on_message(m, Some(id)),
        Err(e) => shared.dropped(nsp, stream, &e),
    }
}

/// The entry fields of a message (`encode` in Node's adapter).
pub(crate) fn encode_entry(
    msg: &Message,
    only_plaintext: bool,
) -> Result<Vec<(&'static str, String)>, AdapterError> {
    let mut fields = vec![
        ("uid", msg.uid.clone()),
        ("nsp", msg.nsp.clone()),
        ("type", msg.ty.to_string()),
    ];
    if !msg.data.is_null() {
        let data = if !only_plaintext && msg.may_contain_binary() && msg.data.contains_binary() {
            BASE64.encode(wire::encode_msgpack(&msg.data)?)
        } else {
            String::from_utf8(wire::encode_json(&msg.data))
                .map_err(|e| AdapterError::Encode(e.to_string()))?
        };
        fields.push(("data", data));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ty;
    use crate::wire::obj;

    #[test]
    fn stream_names_follow_nodes_hash() {
        let mut o = StreamsOptions::default();
        assert_eq!(stream_name(&o, "/"), "socket.io");
        o.stream_count = 3;
        // Node's own hashCode: "/" 47, "/admin" 1438238848, "/notifications" -1014064871,
        // whose remainder keeps its sign in JS.
        assert_eq!(stream_name(&o, "/"), "socket.io-2");
        assert_eq!(stream_name(&o, "/admin"), "socket.io-1");
        let name = "/notifications";
        assert_eq!(stream_name(&o, name), "socket.io--2");
        assert!(all_streams(&o).contains(&stream_name(&o, name)));
    }

    #[test]
    fn entries_carry_json_or_base64_msgpack() {
        let msg = Message {
            uid: "u1".into(),
            nsp: "/".into(),
            ty: ty::BROADCAST,
            data: obj([("packet", Value::from(vec![1u8, 2, 3]))]),
        };
        let fields = encode_entry(&msg, false).unwrap();
        assert_eq!(fields[2], ("type", "3".to_owned()));
        assert!(
            !fields[3].1.starts_with('{'),
            "binary goes as base64 msgpack"
        );
        let plain = encode_entry(&msg, true).unwrap();
        assert!(plain[3].1.starts_with('{'), "onlyPlaintext keeps JSON");
        let join = Message {
            ty: ty::SOCKETS_JOIN,
            data: obj([("rooms", Value::Array(vec![Value::from("r")]))]),
            ..msg.clone()
        };
        assert_eq!(
            encode_entry(&join, false).unwrap()[3].1,
            r#"{"rooms":["r"]}"#
        );
    }
}
