//! `createAdapter`'s protocol (@socket.io/redis-adapter 8.x, and what
//! @socket.io/redis-emitter speaks): broadcasts PUBLISHed as msgpack `[uid, packet, opts]`
//! on `<prefix>#<nsp>#[<room>#]`, requests 0–9 on `<prefix>-request#<nsp>#`, answers on the
//! shared (or the requester's) response channel, servers counted with NUMSUB.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_core::future::BoxFuture;
use futures_util::StreamExt;
use sio_types::{
    AckStream, Adapter, AdapterError, BroadcastOptions, LocalNamespace, Packet, Room,
    ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::sync::mpsc;

use crate::adapter::{Route, Shared};
use crate::cluster::opt_string;
use crate::cluster::requests::{AckEvent, Pending, Registration, count_of, gather_acks};
use crate::conn::SubOp;
use crate::publisher::Kind;
use crate::wire::{self, obj, req};

pub(crate) struct Channels {
    /// `<prefix>#<nsp>#`, the prefix of broadcast channels.
    pub(crate) broadcast: String,
    pub(crate) request: String,
    pub(crate) response: String,
    /// `<prefix>-response#<nsp>#<uid>#`.
    pub(crate) specific_response: String,
}

/// One namespace's classic adapter.
pub(crate) struct Classic {
    shared: Arc<Shared>,
    pub(crate) nsp: String,
    /// 6 alphanumerics (`uid2(6)`).
    pub(crate) uid: String,
    ns: Weak<dyn LocalNamespace>,
    pub(crate) ch: Channels,
    requests: Arc<Pending<Value>>,
    ack_requests: Arc<Pending<Value>>,
    closed: AtomicBool,
}

fn type_of(v: &Value) -> Option<i64> {
    v.get("type").and_then(Value::as_i64)
}

impl Classic {
    pub(crate) fn new(shared: Arc<Shared>, nsp: &str, ns: Weak<dyn LocalNamespace>) -> Self {
        let prefix = &shared.config.key_prefix;
        let uid = wire::uid2(6);
        let response = format!("{prefix}-response#{nsp}#");
        let ch = Channels {
            broadcast: format!("{prefix}#{nsp}#"),
            request: format!("{prefix}-request#{nsp}#"),
            specific_response: format!("{response}{uid}#"),
            response,
        };
        Classic {
            shared,
            nsp: nsp.to_owned(),
            uid,
            ns,
            ch,
            requests: Arc::default(),
            ack_requests: Arc::default(),
            closed: AtomicBool::new(false),
        }
    }

    fn ns(&self) -> Result<Arc<dyn LocalNamespace>, AdapterError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(AdapterError::Closed);
        }
        self.ns.upgrade().ok_or(AdapterError::Closed)
    }

    fn dropped(&self, channel: &str, why: &dyn std::fmt::Display) {
        self.shared.dropped(&self.nsp, channel, why);
    }

    /// Publishes and waits for Redis's answer (requests, which wait for answers anyway).
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), AdapterError> {
        self.shared
            .publisher
            .publish(Kind::Publish, channel.to_owned(), payload)
            .await
            .map_err(AdapterError::Transport)
    }

    async fn server_count(&self) -> Result<usize, AdapterError> {
        self.shared.numsub("NUMSUB", &self.ch.request).await
    }

    fn timeout(&self) -> Duration {
        self.shared.config.requests_timeout
    }

    // ---------------------------------------------------------------- sending side

    async fn broadcast(
        &self,
        mut packet: Packet,
        opts: BroadcastOptions,
    ) -> Result<(), AdapterError> {
        let ns = self.ns()?;
        packet.nsp.clone_from(&self.nsp);
        ns.broadcast(&packet, &opts);
        if opts.flags.local {
            return Ok(());
        }
        let m = Value::Array(vec![
            Value::from(self.uid.as_str()),
            wire::packet_to_value(&packet),
            wire::opts_to_value(&opts),
        ]);
        let mut channel = self.ch.broadcast.clone();
        if let [room] = opts.rooms.as_slice() {
            channel.push_str(room);
            channel.push('#');
        }
        self.shared
            .publisher
            .publish_soon(Kind::Publish, channel, wire::encode_msgpack(&m)?)
            .await
            .map_err(AdapterError::Transport)
    }

    async fn broadcast_with_ack(
        self: Arc<Self>,
        mut packet: Packet,
        mut opts: BroadcastOptions,
        timeout: Duration,
    ) -> Result<AckStream, AdapterError> {
        let ns = self.ns()?;
        packet.nsp.clone_from(&self.nsp);
        opts.flags.timeout = Some(timeout);
        let mut remote = None;
        if !opts.flags.local {
            let servers = self.server_count().await?;
            let id = wire::uid2(6);
            let reg = self.ack_requests.register(&id);
            let m = obj([
                ("uid", Value::from(self.uid.as_str())),
                ("requestId", Value::from(id.as_str())),
                ("type", Value::Int(req::BROADCAST)),
                ("packet", wire::packet_to_value(&packet)),
                ("opts", wire::opts_to_value(&opts)),
            ]);
            self.publish(&self.ch.request, wire::encode_msgpack(&m)?)
                .await?;
            remote = Some((reg, servers.saturating_sub(1)));
        }
        let local = ns.broadcast_with_ack(packet, &opts, timeout);
        let (tx, mut out_rx) = mpsc::unbounded_channel();
        tokio::spawn(gather_acks(
            remote,
            local.stream,
            tx,
            timeout,
            |v: Value| match type_of(&v) {
                Some(req::BROADCAST_CLIENT_COUNT) => Some(AckEvent::Count(count_of(&v))),
                Some(req::BROADCAST_ACK) => {
                    Some(AckEvent::Ack(v.get("packet").cloned().unwrap_or_default()))
                }
                _ => None,
            },
        ));
        let stream = futures_util::stream::poll_fn(move |cx| out_rx.poll_recv(cx));
        Ok(Box::pin(stream))
    }

    /// Join, leave or disconnect: applied here, then sent to the others unless `local`.
    /// Node's shape: `{uid, type, opts: {rooms, except}, rooms | close}`.
    async fn sockets_op(
        &self,
        ty: i64,
        opts: &BroadcastOptions,
        extra: (&'static str, Value),
    ) -> Result<(), AdapterError> {
        if opts.flags.local {
            return Ok(());
        }
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("type", Value::Int(ty)),
            ("opts", wire::targets_to_value(opts)),
            extra,
        ]);
        self.publish(&self.ch.request, wire::encode_json(&m)).await
    }

    /// Publishes request `m` (with `requestId` = `reg.id`) and waits for every other
    /// server's answer.
    async fn request(
        &self,
        mut reg: Registration<Value>,
        m: Value,
        servers: usize,
        name: &'static str,
    ) -> Result<Vec<Value>, AdapterError> {
        self.publish(&self.ch.request, wire::encode_json(&m))
            .await?;
        reg.collect(servers - 1, self.timeout(), name).await
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        let mut sockets = self.ns()?.fetch_sockets(&opts);
        if opts.flags.local {
            return Ok(sockets);
        }
        let servers = self.server_count().await?;
        if servers <= 1 {
            return Ok(sockets);
        }
        let id = wire::uid2(6);
        let reg = self.requests.register(&id);
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(id.as_str())),
            ("type", Value::Int(req::REMOTE_FETCH)),
            ("opts", wire::targets_to_value(&opts)),
        ]);
        for a in self.request(reg, m, servers, "fetchSockets").await? {
            for s in a.get("sockets").and_then(Value::as_array).unwrap_or(&[]) {
                match wire::socket_from_value(s) {
                    Ok(info) => sockets.push(info),
                    Err(e) => tracing::warn!(nsp = %self.nsp, "skipping remote socket: {e}"),
                }
            }
        }
        Ok(sockets)
    }

    async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let mut rooms = self.ns()?.rooms();
        let servers = self.server_count().await?;
        if servers <= 1 {
            return Ok(rooms);
        }
        let id = wire::uid2(6);
        let reg = self.requests.register(&id);
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(id.as_str())),
            ("type", Value::Int(req::ALL_ROOMS)),
        ]);
        let mut seen: HashSet<Room> = rooms.iter().cloned().collect();
        for a in self.request(reg, m, servers, "allRooms").await? {
            for r in wire::rooms_of(a.get("rooms")) {
                if seen.insert(r.clone()) {
                    rooms.push(r);
                }
            }
        }
        Ok(rooms)
    }

    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("type", Value::Int(req::SERVER_SIDE_EMIT)),
            ("data", Value::Array(args)),
        ]);
        self.publish(&self.ch.request, wire::encode_auto(&m)?).await
    }

    async fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Vec<Value>>, AdapterError> {
        self.ns()?;
        let others = self.server_count().await?.saturating_sub(1);
        if others == 0 {
            return Ok(Vec::new());
        }
        let id = wire::uid2(6);
        let mut reg = self.requests.register(&id);
        let m = obj([
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(id.as_str())),
            ("type", Value::Int(req::SERVER_SIDE_EMIT)),
            ("data", Value::Array(args)),
        ]);
        self.publish(&self.ch.request, wire::encode_auto(&m)?)
            .await?;
        let started = Instant::now();
        // Bounded by the adapter's own `requests_timeout` too.
        let wait = timeout.min(self.timeout());
        let (collected, complete) = reg.gather(others, wait).await?;
        let answers: Vec<Vec<Value>> = collected
            .into_iter()
            .map(|a| vec![a.get("data").cloned().unwrap_or_default()])
            .collect();
        if !complete {
            return Err(AdapterError::PartialTimeout {
                request: "serverSideEmit",
                received: answers,
                expected: others,
                waited: started.elapsed(),
            });
        }
        Ok(answers)
    }

    // -------------------------------------------------------------- receiving side

    /// A message on the classic broadcast pattern (`onmessage` in lib/index.ts).
    pub(crate) fn on_broadcast_message(&self, channel: &str, payload: &[u8]) {
        let Some(rest) = channel.strip_prefix(self.ch.broadcast.as_str()) else {
            return;
        };
        let room = rest.strip_suffix('#').unwrap_or(rest);
        let Ok(ns) = self.ns() else { return };
        if !room.is_empty() && !ns.has_room(room) {
            // The cheap path: a message for a room we have no member of is never decoded.
            return;
        }
        if self.shared.too_big(&self.nsp, channel, payload) {
            return;
        }
        let v = match wire::decode_msgpack(payload, &self.shared.limits) {
            Ok(v) => v,
            Err(e) => return self.dropped(channel, &e),
        };
        let Some([uid, packet, opts]) = v.as_array().and_then(|a| <&[Value; 3]>::try_from(a).ok())
        else {
            return self.dropped(channel, &"not a [uid, packet, opts] array");
        };
        if uid.as_str() == Some(self.uid.as_str()) {
            return;
        }
        let packet = match wire::packet_from_value(packet) {
            Ok(p) => p,
            Err(e) => return self.dropped(channel, &e),
        };
        if packet.nsp != self.nsp {
            return;
        }
        ns.broadcast(&packet, &wire::opts_from_value(Some(opts)));
    }

    /// Where the answer to a classic `request` goes: the requester's own channel when so
    /// configured and the requester named itself, the shared response channel otherwise.
    fn response_channel(&self, request: &Value) -> String {
        match (
            self.shared.config.publish_on_specific_response_channel,
            opt_string(request, "uid"),
        ) {
            (true, Some(uid)) => format!("{}{uid}#", self.ch.response),
            _ => self.ch.response.clone(),
        }
    }

    fn respond_classic(&self, request: &Value, response: Vec<u8>) {
        self.shared.publisher.publish_later(
            Kind::Publish,
            self.response_channel(request),
            response,
        );
    }

    /// A message on the classic request channel (`onrequest` in lib/index.ts).
    fn on_request(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if self.shared.too_big(&self.nsp, channel, payload) {
            return;
        }
        let r = match wire::decode_any(payload, &self.shared.limits) {
            Ok(r) => r,
            Err(e) => return self.dropped(channel, &e),
        };
        let Ok(ns) = self.ns() else { return };
        let id = opt_string(&r, "requestId");
        let mine = opt_string(&r, "uid").as_deref() == Some(self.uid.as_str());
        let own_request = id.as_deref().is_some_and(|id| self.requests.contains(id));
        match type_of(&r) {
            Some(req::SOCKETS) => {
                if own_request || mine {
                    return;
                }
                let opts = BroadcastOptions {
                    rooms: wire::rooms_of(r.get("rooms")),
                    ..Default::default()
                };
                let ids = ns
                    .fetch_sockets(&opts)
                    .into_iter()
                    .map(|s| Value::from(s.id.as_str()))
                    .collect();
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("sockets", Value::Array(ids)),
                ]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(req::ALL_ROOMS) => {
                if own_request || mine {
                    return;
                }
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("rooms", wire::str_array(&ns.rooms())),
                ]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(ty @ (req::REMOTE_JOIN | req::REMOTE_LEAVE | req::REMOTE_DISCONNECT)) => {
                // Our own join/leave/disconnect was applied locally when it was made; its
                // echo is skipped (and would be harmless: joining twice is joining once).
                if mine {
                    return;
                }
                if let Some(o) = r.get("opts") {
                    let opts = wire::opts_from_value(Some(o));
                    let rooms = wire::rooms_of(r.get("rooms"));
                    match ty {
                        req::REMOTE_JOIN => ns.add_sockets(&opts, &rooms),
                        req::REMOTE_LEAVE => ns.del_sockets(&opts, &rooms),
                        _ => ns.disconnect_sockets(
                            &opts,
                            r.get("close").and_then(Value::as_bool) == Some(true),
                        ),
                    }
                    return;
                }
                // The legacy single-socket form `{sid, room, requestId}`.
                let Some(sid) = opt_string(&r, "sid") else {
                    return;
                };
                let Ok(sock) = sid.parse::<SocketId>() else {
                    return;
                };
                if ns.socket_rooms(sock).is_none() {
                    return;
                }
                let opts = BroadcastOptions::socket(sock);
                let room: Vec<Room> = opt_string(&r, "room").map(Room::from).into_iter().collect();
                match ty {
                    req::REMOTE_JOIN => ns.add_sockets(&opts, &room),
                    req::REMOTE_LEAVE => ns.del_sockets(&opts, &room),
                    _ => ns.disconnect_sockets(
                        &opts,
                        r.get("close").and_then(Value::as_bool) == Some(true),
                    ),
                }
                let resp = obj([("requestId", Value::from(id))]);
                self.respond_classic(&r, wire::encode_json(&resp));
            }
            Some(req::REMOTE_FETCH) => {
                if own_request || mine {
                    return;
                }
                let opts = wire::opts_from_value(r.get("opts"));
                let sockets = ns
                    .fetch_sockets(&opts)
                    .iter()
                    .map(wire::socket_to_value)
                    .collect();
                let resp = obj([
                    ("requestId", Value::from(id)),
                    ("sockets", Value::Array(sockets)),
                ]);
                match wire::encode_auto(&resp) {
                    Ok(bytes) => self.respond_classic(&r, bytes),
                    Err(e) => tracing::warn!(nsp = %self.nsp, "cannot answer fetchSockets: {e}"),
                }
            }
            Some(req::SERVER_SIDE_EMIT) => {
                if mine {
                    return;
                }
                let args = r
                    .get("data")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .to_vec();
                let reply = id.map(|id| {
                    let me = self.clone();
                    Box::new(move |answer: Vec<Value>| {
                        let resp = obj([
                            ("type", Value::Int(req::SERVER_SIDE_EMIT)),
                            ("requestId", Value::from(id)),
                            ("data", answer.into_iter().next().unwrap_or_default()),
                        ]);
                        match wire::encode_auto(&resp) {
                            // Node always answers server-side emits on the shared channel.
                            Ok(b) => me.shared.publisher.publish_later(
                                Kind::Publish,
                                me.ch.response.clone(),
                                b,
                            ),
                            Err(e) => tracing::warn!("cannot answer serverSideEmit: {e}"),
                        }
                    }) as ServerSideReply
                });
                ns.server_side_emit(args, reply);
            }
            Some(req::BROADCAST) => {
                let Some(id) = id else {
                    return self.dropped(channel, &"broadcast request without requestId");
                };
                if mine || self.ack_requests.contains(&id) {
                    return;
                }
                let packet = match r.get("packet").map(wire::packet_from_value) {
                    Some(Ok(p)) => p,
                    Some(Err(e)) => return self.dropped(channel, &e),
                    None => return self.dropped(channel, &"broadcast request without packet"),
                };
                let opts = wire::opts_from_value(r.get("opts"));
                let timeout = opts
                    .flags
                    .timeout
                    .unwrap_or(self.shared.config.requests_timeout);
                let acks = ns.broadcast_with_ack(packet, &opts, timeout);
                let target = self.response_channel(&r);
                let count = obj([
                    ("type", Value::Int(req::BROADCAST_CLIENT_COUNT)),
                    ("requestId", Value::from(id.as_str())),
                    ("clientCount", Value::from(acks.expected as u64)),
                ]);
                let out = self.shared.publisher.clone();
                out.publish_later(Kind::Publish, target.clone(), wire::encode_json(&count));
                tokio::spawn(async move {
                    let mut stream = acks.stream;
                    while let Some(ack) = stream.next().await {
                        let Ok(args) = ack else { continue };
                        let m = obj([
                            ("type", Value::Int(req::BROADCAST_ACK)),
                            ("requestId", Value::from(id.as_str())),
                            ("packet", args.into_iter().next().unwrap_or_default()),
                        ]);
                        let Ok(bytes) = wire::encode_msgpack(&m) else {
                            continue;
                        };
                        out.publish_later(Kind::Publish, target.clone(), bytes);
                    }
                });
            }
            Some(req::BROADCAST_CLIENT_COUNT | req::BROADCAST_ACK) => {}
            other => self.dropped(channel, &format!("unknown request type {other:?}")),
        }
    }

    /// A message on a classic response channel (`onresponse` in lib/index.ts).
    fn on_response(&self, channel: &str, payload: &[u8]) {
        if self.shared.too_big(&self.nsp, channel, payload) {
            return;
        }
        let r = match wire::decode_any(payload, &self.shared.limits) {
            Ok(r) => r,
            Err(e) => return self.dropped(channel, &e),
        };
        let Some(id) = opt_string(&r, "requestId") else {
            return;
        };
        // Looked up first so that the (possibly large) answer is moved, not cloned, into
        // whichever request waits for it. Responses to other nodes' requests share the
        // channel: not ours, not an error.
        let map = if self.ack_requests.contains(&id) {
            &self.ack_requests
        } else {
            &self.requests
        };
        map.forward(&id, r);
    }

    // ------------------------------------------------------------- subscriptions

    async fn init(self: &Arc<Self>) -> Result<(), AdapterError> {
        let routes = &self.shared.routes;
        let pattern = format!("{}*", self.ch.broadcast);
        routes.set_pattern(pattern.clone(), Arc::downgrade(self));
        for c in self.exact_channels() {
            routes.set_exact(c.clone(), Route::Classic(Arc::downgrade(self)));
        }
        self.shared
            .subscription(SubOp::PSubscribe, std::slice::from_ref(&pattern))
            .await?;
        self.shared
            .subscription(SubOp::Subscribe, &self.exact_channels())
            .await
    }

    fn exact_channels(&self) -> [String; 3] {
        [
            self.ch.request.clone(),
            self.ch.response.clone(),
            self.ch.specific_response.clone(),
        ]
    }

    async fn close(&self) -> Result<(), AdapterError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let routes = &self.shared.routes;
        let pattern = format!("{}*", self.ch.broadcast);
        routes.remove_pattern(&pattern);
        for c in self.exact_channels() {
            routes.remove_exact(&c);
        }
        self.shared
            .subscription(SubOp::PUnsubscribe, std::slice::from_ref(&pattern))
            .await?;
        // One UNSUBSCRIBE for the three, as `init` subscribed them.
        self.shared
            .subscription(SubOp::Unsubscribe, &self.exact_channels())
            .await
    }

    /// A message on one of this adapter's exact channels.
    pub(crate) fn on_channel_message(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        if channel == self.ch.request {
            self.on_request(channel, payload);
        } else {
            self.on_response(channel, payload);
        }
    }
}

/// The [`Adapter`] of the classic protocol.
#[derive(Clone)]
pub(crate) struct ClassicAdapter(pub(crate) Arc<Classic>);

impl Adapter for ClassicAdapter {
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.init())
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.close())
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(self.0.server_count())
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.broadcast(packet, opts))
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>> {
        Box::pin(self.0.clone().broadcast_with_ack(packet, opts, timeout))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.0.ns()?.add_sockets(&opts, &rooms);
            let extra = ("rooms", wire::str_array(&rooms));
            self.0.sockets_op(req::REMOTE_JOIN, &opts, extra).await
        })
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.0.ns()?.del_sockets(&opts, &rooms);
            let extra = ("rooms", wire::str_array(&rooms));
            self.0.sockets_op(req::REMOTE_LEAVE, &opts, extra).await
        })
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.0.ns()?.disconnect_sockets(&opts, close);
            let extra = ("close", Value::Bool(close));
            self.0
                .sockets_op(req::REMOTE_DISCONNECT, &opts, extra)
                .await
        })
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<Vec<SocketInfo>, AdapterError>> {
        Box::pin(self.0.fetch_sockets(opts))
    }

    fn socket_rooms(&self, id: SocketId) -> Option<Vec<Room>> {
        self.0.ns().ok()?.socket_rooms(id)
    }

    fn all_rooms(&self) -> BoxFuture<'_, Result<Vec<Room>, AdapterError>> {
        Box::pin(self.0.all_rooms())
    }

    fn server_side_emit(&self, args: Vec<Value>) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.server_side_emit(args))
    }

    fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<Vec<Value>>, AdapterError>> {
        Box::pin(self.0.server_side_emit_with_ack(args, timeout))
    }
}
