//! socket.io-adapter's `ClusterAdapter` protocol, for any transport.
//!
//! A [`ClusterNode`] is one namespace's member of a cluster: it turns every [`Adapter`]
//! operation into [`Message`]s (types 1–13), applies what other members send, gathers the
//! answers to its requests by request id and counts servers through its [`Transport`]. A
//! transport only moves messages: the sharded pub/sub adapter (`crate::sharded`) and the
//! Redis Streams adapter (`crate::streams`) are the two here; another broker (Postgres,
//! NATS) would be a third `Transport`, not a third copy of the protocol.
//!
//! What the protocol does not say, and so each transport decides: where a message goes
//! (one channel, a channel per room, a stream), how it is encoded, how servers are counted.

pub(crate) mod message;
pub(crate) mod requests;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_core::future::BoxFuture;
use futures_util::StreamExt;
use sio_types::{
    AckStream, Adapter, AdapterError, BroadcastOptions, LocalNamespace, Packet, PersistedSession,
    RestoredSession, Room, ServerSideReply, SocketId, SocketInfo, Value,
};
use tokio::sync::mpsc;

use crate::wire::{self, obj};
pub(crate) use message::{Message, opt_string, ty};
use requests::{AckEvent, Pending, count_of, gather_acks};

/// Hands a broadcast to the local sockets, with the offset the transport gave it.
pub(crate) type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

/// What moves a [`ClusterNode`]'s messages between servers.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Sends a broadcast without ack (to exactly one `room`, when it targets one) and has
    /// `deliver` hand it to the local sockets, with its offset when the transport logs
    /// messages. `deliver` runs once, also when sending fails: local sockets still get the
    /// packet, the caller still gets the error.
    fn broadcast<'a>(
        &'a self,
        msg: Message,
        room: Option<String>,
        deliver: Deliver,
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// Sends any other message to every member of the namespace and waits until the
    /// transport took it.
    fn publish(&self, msg: Message) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// Sends a response to the member `requester`; nobody waits for it.
    fn publish_response(&self, requester: &str, msg: Message);

    /// How many members serve the namespace, this one included.
    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>>;

    /// Starts hearing the namespace's messages; they go to `node`'s [`ClusterNode::on_message`].
    fn init<'a>(&'a self, node: &'a Arc<ClusterNode>) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// Stops hearing them.
    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// A local room got its first member.
    fn on_room_created(&self, node: &Arc<ClusterNode>, room: &Room) {
        let _ = (node, room);
    }

    /// A local room lost its last member.
    fn on_room_deleted(&self, node: &Arc<ClusterNode>, room: &Room) {
        let _ = (node, room);
    }

    /// Connection state recovery through the transport (see [`Adapter::keeps_sessions`]).
    fn sessions(&self) -> Option<&dyn SessionStore> {
        None
    }
}

/// Where a transport with a message log keeps recovery sessions.
pub(crate) trait SessionStore: Send + Sync {
    fn persist(
        &self,
        session: PersistedSession,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), AdapterError>>;

    fn forget<'a>(&'a self, pid: &'a str) -> BoxFuture<'a, Result<(), AdapterError>>;

    fn restore<'a>(
        &'a self,
        pid: &'a str,
        offset: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RestoredSession>, AdapterError>>;

    fn current_offset(&self) -> Option<String>;
}

/// Told about each message that cannot be used: the namespace and why.
pub(crate) type OnDropped = Box<dyn Fn(&str, &dyn std::fmt::Display) + Send + Sync>;

/// One namespace's member of a cluster (socket.io-adapter's `ClusterAdapter`).
pub(crate) struct ClusterNode {
    pub(crate) nsp: String,
    /// 16 hex digits, as `ClusterAdapter` draws them.
    pub(crate) uid: String,
    ns: Weak<dyn LocalNamespace>,
    requests_timeout: Duration,
    transport: Box<dyn Transport>,
    /// fetchSockets and serverSideEmit-with-ack requests.
    requests: Arc<Pending<Message>>,
    /// Broadcasts with acks.
    ack_requests: Arc<Pending<Message>>,
    closed: AtomicBool,
    /// Called for each message that cannot be used (counted by the transport's owner).
    on_dropped: OnDropped,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("nsp", &self.nsp)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

impl ClusterNode {
    pub(crate) fn new(
        nsp: &str,
        ns: Weak<dyn LocalNamespace>,
        requests_timeout: Duration,
        transport: Box<dyn Transport>,
        on_dropped: OnDropped,
    ) -> Self {
        ClusterNode {
            nsp: nsp.to_owned(),
            uid: wire::hex_id(),
            ns,
            requests_timeout,
            transport,
            requests: Arc::default(),
            ack_requests: Arc::default(),
            closed: AtomicBool::new(false),
            on_dropped,
        }
    }

    pub(crate) fn ns(&self) -> Result<Arc<dyn LocalNamespace>, AdapterError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(AdapterError::Closed);
        }
        self.ns.upgrade().ok_or(AdapterError::Closed)
    }

    /// The namespace even while closing (subscriptions are still being torn down).
    pub(crate) fn ns_weak(&self) -> &Weak<dyn LocalNamespace> {
        &self.ns
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn message(&self, ty: i64, data: Value) -> Message {
        Message {
            uid: self.uid.clone(),
            nsp: self.nsp.clone(),
            ty,
            data,
        }
    }

    async fn publish(&self, ty: i64, data: Value) -> Result<(), AdapterError> {
        self.transport.publish(self.message(ty, data)).await
    }

    fn respond(&self, requester: &str, ty: i64, data: Value) {
        self.transport
            .publish_response(requester, self.message(ty, data));
    }

    // ---------------------------------------------------------------- sending side

    /// Sends the broadcast to the cluster and the local sockets. The transport takes it
    /// before this returns (see [`Adapter::keeps_sessions`]); the future only waits for the
    /// outcome.
    fn broadcast(
        &self,
        mut packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        let ns = match self.ns() {
            Ok(ns) => ns,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        packet.nsp.clone_from(&self.nsp);
        if opts.flags.local {
            ns.broadcast(&packet, &opts);
            return Box::pin(async { Ok(()) });
        }
        let data = obj([
            ("packet", wire::packet_to_value(&packet)),
            ("opts", wire::opts_to_value(&opts)),
        ]);
        let msg = self.message(ty::BROADCAST, data);
        let room = match opts.rooms.as_slice() {
            [room] => Some(room.to_string()),
            _ => None,
        };
        // Local sockets get the packet whatever happens to the cluster's copy: a Redis
        // outage must not silence the server that took the send, and the caller still hears
        // that the others did not get it.
        let deliver: Deliver = Box::new(move |offset| match offset {
            Some(offset) => ns.broadcast_at(&packet, &opts, offset),
            None => ns.broadcast(&packet, &opts),
        });
        self.transport.broadcast(msg, room, deliver)
    }

    async fn broadcast_with_ack(
        &self,
        mut packet: Packet,
        mut opts: BroadcastOptions,
        timeout: Duration,
    ) -> Result<AckStream, AdapterError> {
        let ns = self.ns()?;
        packet.nsp.clone_from(&self.nsp);
        opts.flags.timeout = Some(timeout);
        let mut remote = None;
        if !opts.flags.local {
            let servers = self.transport.server_count().await?;
            let id = wire::hex_id();
            let reg = self.ack_requests.register(&id);
            let data = obj([
                ("packet", wire::packet_to_value(&packet)),
                ("requestId", Value::from(id.as_str())),
                ("opts", wire::opts_to_value(&opts)),
            ]);
            // Broadcasts with acks always use the main channel: the server count is the
            // namespace's.
            self.publish(ty::BROADCAST, data).await?;
            remote = Some((reg, servers.saturating_sub(1)));
        }
        let local = ns.broadcast_with_ack(packet, &opts, timeout);
        let (tx, mut out_rx) = mpsc::unbounded_channel();
        tokio::spawn(gather_acks(
            remote,
            local.stream,
            tx,
            timeout,
            |m: Message| match m.ty {
                ty::BROADCAST_CLIENT_COUNT => Some(AckEvent::Count(count_of(&m.data))),
                ty::BROADCAST_ACK => Some(AckEvent::Ack(
                    m.data.get("packet").cloned().unwrap_or_default(),
                )),
                _ => None,
            },
        ));
        let stream = futures_util::stream::poll_fn(move |cx| out_rx.poll_recv(cx));
        Ok(Box::pin(stream))
    }
}

impl ClusterNode {
    /// `socketsJoin`, `socketsLeave` and `disconnectSockets`: applied here, then sent to
    /// the others unless `local`.
    async fn sockets_op(&self, opts: BroadcastOptions, op: SocketsOp) -> Result<(), AdapterError> {
        let ns = self.ns()?;
        let (t, extra) = match op {
            SocketsOp::Join(rooms) => {
                ns.add_sockets(&opts, &rooms);
                (ty::SOCKETS_JOIN, ("rooms", wire::str_array(&rooms)))
            }
            SocketsOp::Leave(rooms) => {
                ns.del_sockets(&opts, &rooms);
                (ty::SOCKETS_LEAVE, ("rooms", wire::str_array(&rooms)))
            }
            SocketsOp::Disconnect(close) => {
                ns.disconnect_sockets(&opts, close);
                (ty::DISCONNECT_SOCKETS, ("close", Value::Bool(close)))
            }
        };
        if opts.flags.local {
            return Ok(());
        }
        let data = obj([("opts", wire::opts_to_value(&opts)), extra]);
        self.publish(t, data).await
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        let mut sockets = self.ns()?.fetch_sockets(&opts);
        if opts.flags.local {
            return Ok(sockets);
        }
        let servers = self.transport.server_count().await?;
        if servers <= 1 {
            return Ok(sockets);
        }
        let id = wire::hex_id();
        let mut reg = self.requests.register(&id);
        let data = obj([
            ("opts", wire::opts_to_value(&opts)),
            ("requestId", Value::from(id.as_str())),
        ]);
        self.publish(ty::FETCH_SOCKETS, data).await?;
        let answers = reg
            .collect(servers - 1, self.requests_timeout, "fetchSockets")
            .await?;
        for a in answers {
            let list = a
                .data
                .get("sockets")
                .and_then(Value::as_array)
                .unwrap_or(&[]);
            for s in list {
                match wire::socket_from_value(s) {
                    Ok(info) => sockets.push(info),
                    Err(e) => tracing::warn!(nsp = %self.nsp, "skipping remote socket: {e}"),
                }
            }
        }
        Ok(sockets)
    }

    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        self.ns()?;
        let data = obj([("packet", Value::Array(args))]);
        self.publish(ty::SERVER_SIDE_EMIT, data).await
    }

    async fn server_side_emit_with_ack(
        &self,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Vec<Value>>, AdapterError> {
        self.ns()?;
        let others = self.transport.server_count().await?.saturating_sub(1);
        if others == 0 {
            return Ok(Vec::new());
        }
        let id = wire::hex_id();
        let mut reg = self.requests.register(&id);
        let data = obj([
            ("requestId", Value::from(id.as_str())),
            ("packet", Value::Array(args)),
        ]);
        self.publish(ty::SERVER_SIDE_EMIT, data).await?;
        let started = Instant::now();
        // Bounded by the adapter's own `requests_timeout` too.
        let wait = timeout.min(self.requests_timeout);
        let (collected, complete) = reg.gather(others, wait).await?;
        let answers: Vec<Vec<Value>> = collected
            .into_iter()
            .map(|a| vec![a.data.get("packet").cloned().unwrap_or_default()])
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

    /// A message from the transport (`onMessage` in cluster-adapter.ts). `offset` is where
    /// a logging transport keeps it.
    pub(crate) fn on_message(self: &Arc<Self>, m: Message, offset: Option<&str>) {
        if m.is_response() {
            let Some(id) = m.request_id() else { return };
            let map = if matches!(m.ty, ty::BROADCAST_CLIENT_COUNT | ty::BROADCAST_ACK) {
                &self.ack_requests
            } else {
                &self.requests
            };
            // Responses to other members' requests may share the channel: not an error.
            map.forward(&id, m);
            return;
        }
        if m.uid == self.uid || m.nsp != self.nsp {
            return;
        }
        let Ok(ns) = self.ns() else { return };
        let data = &m.data;
        let opts = || wire::opts_from_value(data.get("opts"));
        let sender = m.uid.as_str();
        match m.ty {
            ty::INITIAL_HEARTBEAT | ty::HEARTBEAT | ty::ADAPTER_CLOSE => {}
            ty::BROADCAST => {
                let packet = match data.get("packet").map(wire::packet_from_value) {
                    Some(Ok(p)) => p,
                    Some(Err(e)) => return (self.on_dropped)(&self.nsp, &e),
                    None => return (self.on_dropped)(&self.nsp, &"broadcast without packet"),
                };
                let Some(id) = opt_string(data, "requestId") else {
                    let o = opts();
                    return match offset {
                        Some(off) => ns.broadcast_at(&packet, &o, off),
                        None => ns.broadcast(&packet, &o),
                    };
                };
                let o = opts();
                let timeout = o.flags.timeout.unwrap_or(self.requests_timeout);
                let acks = ns.broadcast_with_ack(packet, &o, timeout);
                self.respond(
                    sender,
                    ty::BROADCAST_CLIENT_COUNT,
                    obj([
                        ("requestId", Value::from(id.as_str())),
                        ("clientCount", Value::from(acks.expected as u64)),
                    ]),
                );
                let me = self.clone();
                let sender = sender.to_owned();
                tokio::spawn(async move {
                    let mut stream = acks.stream;
                    while let Some(ack) = stream.next().await {
                        let Ok(args) = ack else { continue };
                        me.respond(
                            &sender,
                            ty::BROADCAST_ACK,
                            obj([
                                ("requestId", Value::from(id.as_str())),
                                ("packet", args.into_iter().next().unwrap_or_default()),
                            ]),
                        );
                    }
                });
            }
            ty::SOCKETS_JOIN => ns.add_sockets(&opts(), &wire::rooms_of(data.get("rooms"))),
            ty::SOCKETS_LEAVE => ns.del_sockets(&opts(), &wire::rooms_of(data.get("rooms"))),
            ty::DISCONNECT_SOCKETS => ns.disconnect_sockets(
                &opts(),
                data.get("close").and_then(Value::as_bool) == Some(true),
            ),
            ty::FETCH_SOCKETS => {
                let sockets = ns
                    .fetch_sockets(&opts())
                    .iter()
                    .map(wire::socket_to_value)
                    .collect();
                self.respond(
                    sender,
                    ty::FETCH_SOCKETS_RESPONSE,
                    obj([
                        ("requestId", Value::from(opt_string(data, "requestId"))),
                        ("sockets", Value::Array(sockets)),
                    ]),
                );
            }
            ty::SERVER_SIDE_EMIT => {
                let args = data
                    .get("packet")
                    .and_then(Value::as_array)
                    .unwrap_or(&[])
                    .to_vec();
                let reply = opt_string(data, "requestId").map(|id| {
                    let me = self.clone();
                    let sender = sender.to_owned();
                    Box::new(move |answer: Vec<Value>| {
                        me.respond(
                            &sender,
                            ty::SERVER_SIDE_EMIT_RESPONSE,
                            obj([
                                ("requestId", Value::from(id)),
                                ("packet", answer.into_iter().next().unwrap_or_default()),
                            ]),
                        );
                    }) as ServerSideReply
                });
                ns.server_side_emit(args, reply);
            }
            other => (self.on_dropped)(&self.nsp, &format!("unknown message type {other}")),
        }
    }
}

enum SocketsOp {
    Join(Vec<Room>),
    Leave(Vec<Room>),
    Disconnect(bool),
}

/// The [`Adapter`] of a cluster adapter: a `ClusterNode` behind an `Arc`, as the room
/// hooks and ack gatherers outlive the calls that start them.
#[derive(Clone, Debug)]
pub(crate) struct ClusterAdapter(pub(crate) Arc<ClusterNode>);

impl Adapter for ClusterAdapter {
    fn init(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.transport.init(&self.0))
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if self.0.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            self.0.transport.close().await
        })
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        self.0.transport.server_count()
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.0.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<AckStream, AdapterError>> {
        Box::pin(self.0.broadcast_with_ack(packet, opts, timeout))
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.sockets_op(opts, SocketsOp::Join(rooms)))
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: Vec<Room>,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.sockets_op(opts, SocketsOp::Leave(rooms)))
    }

    fn disconnect_sockets(
        &self,
        opts: BroadcastOptions,
        close: bool,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(self.0.sockets_op(opts, SocketsOp::Disconnect(close)))
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
        // ClusterAdapter has no message for it: Node answers with the local rooms too.
        let res = self.0.ns().map(|ns| {
            let mut seen = HashSet::new();
            ns.rooms()
                .into_iter()
                .filter(|r| seen.insert(r.clone()))
                .collect()
        });
        Box::pin(async move { res })
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

    fn keeps_sessions(&self) -> bool {
        self.0.transport.sessions().is_some()
    }

    fn persist_session(
        &self,
        session: PersistedSession,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), AdapterError>> {
        match self.0.transport.sessions() {
            Some(s) => s.persist(session, ttl),
            None => Box::pin(async { Err(AdapterError::Unsupported("persist_session")) }),
        }
    }

    fn forget_session(&self, pid: &str) -> BoxFuture<'_, Result<(), AdapterError>> {
        let pid = pid.to_owned();
        Box::pin(async move {
            match self.0.transport.sessions() {
                Some(s) => s.forget(&pid).await,
                None => Ok(()),
            }
        })
    }

    fn restore_session(
        &self,
        pid: &str,
        offset: Option<&str>,
    ) -> BoxFuture<'_, Result<Option<RestoredSession>, AdapterError>> {
        let (pid, offset) = (pid.to_owned(), offset.map(str::to_owned));
        Box::pin(async move {
            match self.0.transport.sessions() {
                Some(s) => s.restore(&pid, offset.as_deref()).await,
                None => Err(AdapterError::Unsupported("restore_session")),
            }
        })
    }

    fn current_offset(&self) -> Option<String> {
        self.0.transport.sessions()?.current_offset()
    }

    fn on_room_created(&self, room: &Room) {
        if !self.0.is_closed() {
            self.0.transport.on_room_created(&self.0, room);
        }
    }

    fn on_room_deleted(&self, room: &Room) {
        if !self.0.is_closed() {
            self.0.transport.on_room_deleted(&self.0, room);
        }
    }
}
