//! `@socket.io/redis-streams-adapter` 0.3's transport.
//!
//! - Messages other servers must not miss (broadcasts without ack, joins, leaves,
//!   disconnects) are appended with `XADD <stream> MAXLEN ~ <maxLen> * uid <uid> nsp <nsp>
//!   type <n> [data <d>]`, `d` being the message data as JSON, or as base64 msgpack when it
//!   holds binary. The entry id is the message's offset: every server hands the same one to
//!   its clients, so a client can resume on any of them.
//! - Every server reads each stream from the last entry it saw (`XREAD BLOCK`), so after a
//!   lost connection it reads what was appended meanwhile: a Redis blip loses nothing.
//! - Short-lived traffic (broadcasts with acks, server-side emits, fetches) and every answer
//!   goes over pub/sub as msgpack, on `<prefix>#<nsp>#` and `<prefix>#<nsp>#<uid>#`.
//! - Servers are counted with NUMSUB (or SHARDNUMSUB) on `<prefix>#<nsp>#`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_core::future::BoxFuture;
use sio_types::{
    AdapterError, BroadcastOptions, Packet, PacketData, PersistedSession, RestoredSession, Room,
    SocketId, Value,
};

use crate::adapter::{Route, Shared, transport_error};
use crate::cluster::{ClusterNode, Deliver, Message, SessionStore, Transport, opt_string};
use crate::config::StreamsOptions;
use crate::conn::{ConnectError, Managed, RedisConn, connect_with};
use crate::publisher::Kind;
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
    fn node(&self, nsp: &str) -> Option<Arc<ClusterNode>> {
        self.nodes.lock().ok()?.get(nsp)?.upgrade()
    }

    /// Records that entry `id` of `stream` exists (read, or appended here).
    fn saw(&self, stream: &str, id: &str) {
        let Some(id) = parse_id(id) else { return };
        if let Ok(mut m) = self.newest.lock() {
            let e = m.entry(stream.to_owned()).or_insert(id);
            *e = (*e).max(id);
        }
    }

    /// Whether an entry is a copy of one already read: a retried XADD that had reached
    /// Redis before its connection broke. Entries without `mid` (Node's) are never copies.
    fn is_copy(&self, stream: &str, fields: &Fields) -> bool {
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

    fn newest(&self, stream: &str) -> Option<String> {
        let (ms, seq) = *self.newest.lock().ok()?.get(stream)?;
        Some(format!("{ms}-{seq}"))
    }
}

/// A stream entry id `<ms>-<seq>`, the only offsets Node accepts (`/^[0-9]+-[0-9]+$/`).
fn parse_id(id: &str) -> Option<(u64, u64)> {
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
) -> Result<Vec<(Managed, tokio::task::JoinHandle<()>)>, ConnectError> {
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

fn text_of(v: &redis::Value) -> Option<String> {
    bytes_of(v).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

type Fields = Vec<(String, String)>;

/// `[[id, [field, value, ...]], ...]` (XRANGE, XREVRANGE, one stream of XREAD).
fn entries_of(v: &redis::Value) -> Vec<(String, Fields)> {
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

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
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

/// One namespace's streams transport.
pub(crate) struct Streams {
    shared: Arc<Shared>,
    readers: Arc<Readers>,
    nsp: String,
    stream: String,
    /// `<prefix>#<nsp>#`.
    public: String,
    /// `<prefix>#<nsp>#<uid>#`, known once the node exists.
    private: OnceLock<String>,
    sharded_pubsub: bool,
    /// The `mid` of the next entry this node appends.
    next_mid: std::sync::atomic::AtomicU64,
}

impl Streams {
    pub(crate) fn new(
        shared: Arc<Shared>,
        readers: Arc<Readers>,
        nsp: &str,
        sharded_pubsub: bool,
    ) -> Self {
        let stream = stream_name(&shared.config.streams, nsp);
        let public = format!("{}#{nsp}#", shared.config.key_prefix);
        Streams {
            shared,
            readers,
            nsp: nsp.to_owned(),
            stream,
            public,
            private: OnceLock::new(),
            sharded_pubsub,
            next_mid: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn kind(&self) -> Kind {
        if self.sharded_pubsub {
            Kind::SPublish
        } else {
            Kind::Publish
        }
    }

    fn channels(&self) -> Vec<String> {
        let mut out = vec![self.public.clone()];
        out.extend(self.private.get().cloned());
        out
    }

    /// The XADD of `msg`, and its size. Beside Node's fields it carries `mid`, this node's
    /// count of its entries: a blip may make an XADD reach Redis twice (it is sent again
    /// when the answer was lost), and readers drop the copy. Node ignores the field.
    /// Queue the command right away, so that `mid`s follow queue order.
    fn xadd(&self, msg: &Message) -> Result<(redis::Cmd, usize), AdapterError> {
        let opts = &self.shared.config.streams;
        let fields = encode_entry(msg, opts.only_plaintext)?;
        let bytes = fields.iter().map(|(_, v)| v.len()).sum();
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(opts.max_len)
            .arg("*");
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        let mid = self
            .next_mid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cmd.arg("mid").arg(mid);
        Ok((cmd, bytes))
    }

    fn session_key(&self, pid: &str) -> String {
        format!("{}{pid}", self.shared.config.streams.session_key_prefix)
    }

    async fn range(
        &self,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<Vec<(String, Fields)>, AdapterError> {
        let mut conn = self.shared.pub_conn.clone();
        let reply: redis::Value = redis::cmd("XRANGE")
            .arg(&self.stream)
            .arg(start)
            .arg(end)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await
            .map_err(transport_error)?;
        Ok(entries_of(&reply))
    }

    /// The broadcasts after `start` that a member of `rooms` was sent, each with its entry
    /// id appended (`restoreSession`).
    async fn missed_since(
        &self,
        start: (u64, u64),
        rooms: &[Room],
    ) -> Result<Vec<Packet>, AdapterError> {
        const PAGE: usize = 1000;
        let mut missed = Vec::new();
        let mut from = start;
        // Copies of retried XADDs are dropped here as the readers drop them.
        let copies = Readers::default();
        // Bounded, as Node bounds it: a stream filled faster than it can be read must not
        // keep a reconnection waiting forever.
        for _ in 0..100 {
            let next = format!("{}-{}", from.0, from.1.saturating_add(1));
            let page = self.range(&next, "+", PAGE).await?;
            let n = page.len();
            for (id, fields) in page {
                if copies.is_copy(&self.stream, &fields) {
                    from = parse_id(&id).unwrap_or(from);
                    continue;
                }
                if let Some(p) = self.missed_packet(&id, &fields, rooms) {
                    missed.push(p);
                }
                from = parse_id(&id).unwrap_or(from);
            }
            if n < PAGE {
                break;
            }
        }
        Ok(missed)
    }

    fn missed_packet(&self, id: &str, fields: &Fields, rooms: &[Room]) -> Option<Packet> {
        if field(fields, "nsp") != Some(self.nsp.as_str()) || field(fields, "type") != Some("3") {
            return None;
        }
        let m = decode_entry(fields, &self.shared).ok()?;
        if m.request_id().is_some() {
            return None;
        }
        let opts = wire::opts_from_value(m.data.get("opts"));
        if opts.flags.volatile || !includes(rooms, &opts) {
            return None;
        }
        let packet = wire::packet_from_value(m.data.get("packet")?).ok()?;
        let PacketData::Event {
            event,
            mut args,
            ack: None,
        } = packet.data
        else {
            return None;
        };
        args.push(Value::from(id));
        Some(Packet::event(self.nsp.clone(), event, args))
    }
}

/// Node's `shouldIncludePacket`: sent to one of the session's rooms (or to all), and not
/// away from any of them.
fn includes(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let included = opts.rooms.is_empty() || rooms.iter().any(|r| opts.rooms.contains(r));
    included && !rooms.iter().any(|r| opts.except.contains(r))
}

fn session_to_value(s: &PersistedSession) -> Value {
    let mut v = wire::obj([
        ("sid", Value::from(s.sid.as_str())),
        ("pid", Value::from(s.pid.as_str())),
        ("rooms", wire::str_array(&s.rooms)),
        ("data", s.data.clone()),
    ]);
    if let (Some(o), Value::Object(m)) = (&s.offset, &mut v) {
        m.insert("offset".into(), Value::from(o.as_str()));
    }
    v
}

fn session_from_value(v: &Value) -> Option<PersistedSession> {
    Some(PersistedSession {
        sid: opt_string(v, "sid")?.parse::<SocketId>().ok()?,
        pid: opt_string(v, "pid")?,
        rooms: wire::rooms_of(v.get("rooms")),
        data: v.get("data").cloned().unwrap_or_default(),
        offset: opt_string(v, "offset"),
    })
}

impl SessionStore for Streams {
    fn persist(
        &self,
        session: PersistedSession,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let raw = BASE64.encode(wire::encode_msgpack(&session_to_value(&session))?);
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut conn = self.shared.pub_conn.clone();
            redis::cmd("SET")
                .arg(self.session_key(&session.pid))
                .arg(raw)
                .arg("PX")
                .arg(ms)
                .exec_async(&mut conn)
                .await
                .map_err(transport_error)
        })
    }

    fn forget<'a>(&'a self, pid: &'a str) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let mut conn = self.shared.pub_conn.clone();
            redis::cmd("DEL")
                .arg(self.session_key(pid))
                .exec_async(&mut conn)
                .await
                .map_err(transport_error)
        })
    }

    fn restore<'a>(
        &'a self,
        pid: &'a str,
        offset: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RestoredSession>, AdapterError>> {
        Box::pin(async move {
            let given = match offset {
                Some(o) => match parse_id(o) {
                    Some(id) => Some(id),
                    // Not one of ours (an offset of a single-process server, say).
                    None => return Ok(None),
                },
                None => None,
            };
            let key = self.session_key(pid);
            let mut conn = self.shared.pub_conn.clone();
            // GET then DEL in one transaction (GETDEL needs Redis 6.2, as Node avoids).
            let (raw,): (Option<String>,) = redis::pipe()
                .atomic()
                .cmd("GET")
                .arg(&key)
                .cmd("DEL")
                .arg(&key)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(transport_error)?;
            let Some(raw) = raw else { return Ok(None) };
            let decoded = BASE64
                .decode(raw.as_bytes())
                .ok()
                .and_then(|b| wire::decode_msgpack(&b, &self.shared.limits).ok());
            let Some(session) = decoded.as_ref().and_then(session_from_value) else {
                tracing::warn!(nsp = %self.nsp, pid, "dropping an unreadable recovery session");
                return Ok(None);
            };
            let Some(start) = given.or_else(|| session.offset.as_deref().and_then(parse_id)) else {
                return Ok(None);
            };
            // The offset must still be in the stream, or packets after it may be gone.
            if start != (0, 0) {
                let at = format!("{}-{}", start.0, start.1);
                if self.range(&at, &at, 1).await?.is_empty() {
                    return Ok(None);
                }
            }
            let mut rooms = session.rooms.clone();
            let own = Room::from(session.sid.as_str().to_owned());
            if !rooms.contains(&own) {
                rooms.push(own);
            }
            let missed = self.missed_since(start, &rooms).await?;
            Ok(Some(RestoredSession { session, missed }))
        })
    }

    fn current_offset(&self) -> Option<String> {
        Some(
            self.readers
                .newest(&self.stream)
                .unwrap_or_else(|| "0-0".to_owned()),
        )
    }
}

impl Transport for Streams {
    fn broadcast<'a>(
        &'a self,
        msg: Message,
        _room: Option<String>,
        deliver: Deliver,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        let (cmd, bytes) = match self.xadd(&msg) {
            Ok(c) => c,
            Err(e) => {
                deliver(None);
                return Box::pin(async move { Err(e) });
            }
        };
        let (done, outcome) = tokio::sync::oneshot::channel();
        let readers = self.readers.clone();
        let stream = self.stream.clone();
        // Queued now, delivered locally in queue order with the entry id as offset; sent
        // again through a blip.
        self.shared.publisher.query_retrying(
            cmd,
            bytes,
            Box::new(move |answer| {
                let id = answer.as_ref().ok().and_then(text_of);
                if let Some(id) = &id {
                    readers.saw(&stream, id);
                }
                deliver(id.as_deref());
                let _ = done.send(answer.map(drop));
            }),
        );
        if self.shared.publisher.fire_and_forget() {
            // Queued, and sent again through a blip: only a Redis gone for longer fails it,
            // and that is logged.
            drop(outcome);
            return Box::pin(async { Ok(()) });
        }
        Box::pin(async move {
            outcome
                .await
                .unwrap_or_else(|_| Err("the publisher task has stopped".into()))
                .map_err(AdapterError::Transport)
        })
    }

    fn publish(&self, msg: Message) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if !msg.is_ephemeral() {
                let (cmd, bytes) = self.xadd(&msg)?;
                let (done, answer) = tokio::sync::oneshot::channel();
                self.shared.publisher.query_retrying(
                    cmd,
                    bytes,
                    Box::new(move |r| drop(done.send(r))),
                );
                let id = answer
                    .await
                    .unwrap_or_else(|_| Err("the publisher task has stopped".into()))
                    .map_err(AdapterError::Transport)?;
                if let Some(id) = text_of(&id) {
                    self.readers.saw(&self.stream, &id);
                }
                return Ok(());
            }
            let payload = wire::encode_msgpack(&msg.to_value())?;
            self.shared
                .publisher
                .publish(self.kind(), self.public.clone(), payload)
                .await
                .map_err(AdapterError::Transport)
        })
    }

    fn publish_response(&self, requester: &str, msg: Message) {
        match wire::encode_msgpack(&msg.to_value()) {
            Ok(b) => self.shared.publisher.publish_later(
                self.kind(),
                format!("{}{requester}#", self.public),
                b,
            ),
            Err(e) => tracing::warn!(nsp = %self.nsp, "cannot answer: {e}"),
        }
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        let kind = if self.sharded_pubsub {
            "SHARDNUMSUB"
        } else {
            "NUMSUB"
        };
        Box::pin(self.shared.numsub(kind, &self.public))
    }

    fn init<'a>(&'a self, node: &'a Arc<ClusterNode>) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let _ = self.private.set(format!("{}{}#", self.public, node.uid));
            if let Ok(mut m) = self.readers.nodes.lock() {
                m.insert(self.nsp.clone(), Arc::downgrade(node));
            }
            let channels = self.channels();
            for c in &channels {
                self.shared
                    .routes
                    .set_exact(c.clone(), Route::Cluster(Arc::downgrade(node)));
            }
            self.shared.subscribe(&channels, self.sharded_pubsub).await
        })
    }

    fn sessions(&self) -> Option<&dyn SessionStore> {
        Some(self)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if let Ok(mut m) = self.readers.nodes.lock() {
                m.remove(&self.nsp);
            }
            let channels = self.channels();
            for c in &channels {
                self.shared.routes.remove_exact(c);
            }
            self.shared
                .unsubscribe(&channels, self.sharded_pubsub)
                .await
        })
    }
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
