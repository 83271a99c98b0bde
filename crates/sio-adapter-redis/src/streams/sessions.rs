//! Connection state recovery sessions in Redis, as Node's streams adapter keeps them
//! (base64 msgpack under `<sessionKeyPrefix><pid>`, read and deleted in one transaction),
//! and the replay of what a session missed from the stream.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_core::future::BoxFuture;
use sio_types::{
    AdapterError, BroadcastOptions, Packet, PacketData, PersistedSession, RestoredSession, Room,
    SocketId, Value,
};

use super::Streams;
use super::log::{Fields, Readers, decode_entry, entries_of, field, parse_id};
use crate::adapter::transport_error;
use crate::cluster::{SessionStore, opt_string};
use crate::wire;

impl Streams {
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
