//! Sessions: one engine.io client, whatever transport carries it.
//!
//! A session owns its outgoing queue. Senders push [`Frame`]s under the session's lock and
//! wake the transport's writer (the WebSocket task or the waiting poll) only when it waits;
//! the writer takes everything queued at once. The queue is a `VecDeque` that allocates on
//! the first packet and is bounded in bytes and packets (a packet is counted until the
//! writer hands it to the transport), so a client that stops reading costs at most the
//! bounds before [`Session::send`] refuses.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use http::request::Parts;

use crate::engine::Shared;
use crate::error::SendError;
use crate::frame::Frame;
use crate::handler::{CloseReason, Handler};
use crate::heartbeat::{LANES, Lane};
use crate::transport::TransportKind;

/// A session id: 20 random URL-safe characters, as engine.io's.
pub type Sid = sio_types::SocketId;

/// One engine.io session.
pub struct Session<H: Handler> {
    id: Sid,
    pub(crate) engine: Arc<Shared<H>>,
    state: Mutex<State>,
    request: Parts,
    remote: Option<SocketAddr>,
    data: H::Data,
}

impl<H: Handler> std::fmt::Debug for Session<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How a closing session ends its waiting poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollEnd {
    /// A CLOSE packet (`1`): the server closed the session.
    Close,
    /// A NOOP (`6`): the client closed it (a POST of `1`), as engine.io answers.
    Noop,
}

pub(crate) struct State {
    queue: VecDeque<Frame>,
    /// Bytes of the packets queued or taken by the writer and not yet handed to the transport.
    bytes: usize,
    packets: usize,
    pub(crate) kind: TransportKind,
    /// A WebSocket is probing (between its `2probe` and `5`) while polling carries the session.
    pub(crate) upgrading: bool,
    /// The probing WebSocket answered `3probe`: waiting polls end with a NOOP.
    probed: bool,
    /// A WebSocket task serves this session (as its transport or as a probe).
    pub(crate) stream_task: bool,
    pub(crate) get_active: bool,
    pub(crate) post_active: bool,
    get_waker: Option<Waker>,
    stream_waker: Option<Waker>,
    /// A POST waiting for the handler's readiness, woken when the session starts closing.
    post_waker: Option<Waker>,
    /// Set when the close is decided; the transport then ends and calls `finish`.
    closing: Option<(CloseReason, PollEnd)>,
    closed: bool,
    generations: [u32; LANES],
    awaiting_pong: bool,
    idle: bool,
}

/// What the WebSocket writer finds on the session.
pub(crate) enum StreamTake {
    /// Frames moved into the writer's batch.
    Frames,
    /// Nothing queued; the writer's waker is registered.
    Idle,
    /// The session is closing for this reason.
    Closing(CloseReason),
    /// This WebSocket is not (or no longer) the session's transport nor its probe.
    Detached,
}

/// What a waiting poll answers.
pub(crate) enum PollAnswer {
    /// These packets, then (when set) the end of the session.
    Frames(Vec<Frame>, Option<(CloseReason, PollEnd)>),
    /// Nothing but the end of the session.
    End(CloseReason, PollEnd),
    /// A NOOP: the session is upgrading, or moved to WebSocket meanwhile.
    Noop,
}

impl<H: Handler> Session<H> {
    pub(crate) fn new(
        engine: Arc<Shared<H>>,
        kind: TransportKind,
        request: Parts,
        remote: Option<SocketAddr>,
    ) -> Session<H> {
        Session {
            id: Sid::random(),
            engine,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                packets: 0,
                kind,
                upgrading: false,
                probed: false,
                stream_task: false,
                get_active: false,
                post_active: false,
                get_waker: None,
                stream_waker: None,
                post_waker: None,
                closing: None,
                closed: false,
                generations: [0; LANES],
                awaiting_pong: false,
                idle: false,
            }),
            request,
            remote,
            data: H::Data::default(),
        }
    }

    /// The session id (`sid`).
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The application's data of this session.
    pub fn data(&self) -> &H::Data {
        &self.data
    }

    /// The head of the request that opened the session: method, URI and headers, detached
    /// from hyper's read buffer. Its extensions are not kept (see
    /// [`remote_addr`](Session::remote_addr)).
    pub fn request(&self) -> &Parts {
        &self.request
    }

    /// The client's address: the [`RemoteAddr`](crate::RemoteAddr) of the request that
    /// opened the session, if the server put one there.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The transport carrying the session now.
    pub fn transport(&self) -> TransportKind {
        self.lock().kind
    }

    /// Whether the session is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.lock().is_closing()
    }

    /// Whether the session is closing; if not, `cx` is woken when it starts to (a POST
    /// waiting for the handler's readiness must not outlive the session).
    pub(crate) fn closing_or_wake(&self, cx: &std::task::Context<'_>) -> bool {
        let mut st = self.lock();
        if st.is_closing() {
            return true;
        }
        st.post_waker = Some(cx.waker().clone());
        false
    }

    /// Bytes queued and not yet handed to the transport.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one packet; see [`send_many`](Session::send_many).
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.send_many(std::slice::from_ref(&frame))
    }

    /// Queues packets that go out together (a socket.io packet and its attachments): all
    /// of them, or none when the session's queue would pass
    /// [`max_buffered_packets`](crate::EngineConfig::max_buffered_packets) or
    /// [`max_buffered_bytes`](crate::EngineConfig::max_buffered_bytes) (a packet alone
    /// larger than the byte bound goes out when nothing is queued).
    pub fn send_many(&self, frames: &[Frame]) -> Result<(), SendError> {
        let len: usize = frames.iter().map(Frame::len).sum();
        let config = &self.engine.config;
        let waker = {
            let mut st = self.lock();
            if st.closed || st.closing.is_some() {
                return Err(SendError::Closed);
            }
            let over_packets = st.packets + frames.len() > config.max_buffered_packets;
            let over_bytes =
                st.bytes > 0 && st.bytes.saturating_add(len) > config.max_buffered_bytes;
            if over_packets || over_bytes {
                return Err(SendError::Full {
                    queued_bytes: st.bytes,
                    queued_packets: st.packets,
                    over_bytes,
                });
            }
            st.queue.extend(frames.iter().cloned());
            st.bytes += len;
            st.packets += frames.len();
            st.writer_waker()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Queues a packet of the engine itself (the OPEN packet) past the bounds.
    pub(crate) fn send_control(&self, frame: Frame) {
        let waker = {
            let mut st = self.lock();
            self.push_control(&mut st, frame)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Queues an engine packet (OPEN, PING) past the bounds: the heartbeat must go out
    /// whatever the application queued.
    fn push_control(&self, st: &mut State, frame: Frame) -> Option<Waker> {
        st.bytes += frame.len();
        st.packets += 1;
        st.queue.push_back(frame);
        st.writer_waker()
    }

    /// Closes the session: the transport delivers what is queued (for a close the server
    /// decided: `forced close`, `server shutting down`), then ends, and the handler's
    /// `on_close` runs with `reason`. Does nothing on a closed session.
    ///
    /// Never calls back into the handler from here: it may be called with the
    /// application's locks held.
    pub fn close(self: &Arc<Self>, reason: CloseReason) {
        if let Some(finish_now) = self.begin_close(reason, PollEnd::Close) {
            let s = self.clone();
            drop(tokio::spawn(async move { s.finish(finish_now) }));
        }
    }

    /// [`close`](Session::close) from inside the engine, where no application lock is
    /// held: a session no transport has to end is finished here.
    pub(crate) fn close_now(self: &Arc<Self>, reason: CloseReason, end: PollEnd) {
        if let Some(r) = self.begin_close(reason, end) {
            self.finish(r);
        }
    }

    /// A close the client asked for over polling: the session ends at once if a poll waits
    /// (it is answered `6`), else after `grace`, so a poll sent together with the POST
    /// is still answered rather than refused.
    pub(crate) fn close_after(self: &Arc<Self>, reason: CloseReason, grace: std::time::Duration) {
        if let Some(r) = self.begin_close(reason, PollEnd::Noop) {
            let s = self.clone();
            drop(tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                s.finish(r);
            }));
        }
    }

    /// Marks the session closing and wakes its transport; returns the reason when no
    /// transport will finish it (the caller must).
    fn begin_close(&self, reason: CloseReason, end: PollEnd) -> Option<CloseReason> {
        let (wakers, finish) = {
            let mut st = self.lock();
            if st.closed || st.closing.is_some() {
                return None;
            }
            st.closing = Some((reason, end));
            let get_waiting = st.get_waker.is_some();
            let wakers = [
                st.get_waker.take(),
                st.stream_waker.take(),
                st.post_waker.take(),
            ];
            let finish = match st.kind {
                // The stream's task (WebSocket) ends the session.
                k if k.is_stream() => false,
                // A waiting poll delivers what is queued and the CLOSE, then ends it; for a
                // close the server decided and no poll waiting, the next poll does, as in
                // engine.io (the next heartbeat deadline bounds the wait).
                _ => !(get_waiting || reason.is_graceful()),
            };
            (wakers, finish)
        };
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
        finish.then_some(reason)
    }

    /// Ends the session: drops its queue, leaves the engine's table, cancels its timers,
    /// ends its transports and calls `on_close` (once).
    pub(crate) fn finish(self: &Arc<Self>, reason: CloseReason) {
        let (queue, wakers) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            st.closing.get_or_insert((reason, PollEnd::Close));
            for g in &mut st.generations {
                *g = g.wrapping_add(1);
            }
            st.bytes = 0;
            st.packets = 0;
            (
                std::mem::take(&mut st.queue),
                [
                    st.get_waker.take(),
                    st.stream_waker.take(),
                    st.post_waker.take(),
                ],
            )
        };
        drop(queue);
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
        self.engine
            .sessions
            .remove_if(&self.id, |_, s| Arc::ptr_eq(s, self));
        tracing::debug!(sid = %self.id, %reason, "engine.io session closed");
        self.engine.handler.on_close(self, reason);
    }

    /// Marks the session idle (arming [`idle_timeout`](crate::EngineConfig::idle_timeout))
    /// or in use. Sessions start idle; an idle session closes (`forced close`) when the
    /// timeout passes before `set_idle(false)`. Without an `idle_timeout` this does nothing.
    pub fn set_idle(self: &Arc<Self>, idle: bool) {
        if self.engine.config.idle_timeout.is_none() {
            return;
        }
        let generation = {
            let mut st = self.lock();
            if st.idle == idle || st.closed {
                return;
            }
            st.idle = idle;
            st.bump(Lane::Idle)
        };
        if idle {
            self.arm(Lane::Idle, generation);
        }
    }

    fn arm(self: &Arc<Self>, lane: Lane, generation: u32) {
        self.engine
            .timers
            .push(&self.engine, lane, self.id, generation);
    }

    /// Starts the heartbeat and the idle deadline of a new session.
    pub(crate) fn start_timers(self: &Arc<Self>) {
        let (ping, idle) = {
            let mut st = self.lock();
            let ping = st.bump(Lane::Ping);
            let idle = self.engine.config.idle_timeout.is_some().then(|| {
                st.idle = true;
                st.bump(Lane::Idle)
            });
            (ping, idle)
        };
        self.arm(Lane::Ping, ping);
        if let Some(g) = idle {
            self.arm(Lane::Idle, g);
        }
    }

    /// Arms the upgrade deadline of a probing WebSocket.
    pub(crate) fn start_upgrade_timer(self: &Arc<Self>) {
        let g = self.lock().bump(Lane::Upgrade);
        self.arm(Lane::Upgrade, g);
    }

    /// A lane of this session came due.
    pub(crate) fn on_timer(self: &Arc<Self>, lane: Lane, generation: u32) {
        let mut st = self.lock();
        if st.closed || st.generations[lane as usize] != generation {
            return;
        }
        if let Some((reason, _)) = st.closing {
            // A polling session closing gracefully waited for a poll that never came.
            if !st.kind.is_stream() && matches!(lane, Lane::Ping | Lane::Pong) {
                drop(st);
                self.finish(reason);
            }
            return;
        }
        match lane {
            Lane::Ping => {
                st.awaiting_pong = true;
                let waker = self.push_control(&mut st, Frame::control("2"));
                let g = st.bump(Lane::Pong);
                drop(st);
                self.arm(Lane::Pong, g);
                if let Some(w) = waker {
                    w.wake();
                }
            }
            Lane::Pong => {
                if st.awaiting_pong {
                    drop(st);
                    tracing::debug!(sid = %self.id, "no PONG within ping_timeout");
                    self.close_now(CloseReason::PingTimeout, PollEnd::Close);
                }
            }
            Lane::Idle => {
                if st.idle {
                    drop(st);
                    tracing::debug!(sid = %self.id, "idle past idle_timeout, closing");
                    self.close_now(CloseReason::ForcedClose, PollEnd::Close);
                }
            }
            Lane::Upgrade => {
                if st.upgrading {
                    // The probing WebSocket gives up; polling carries on.
                    st.upgrading = false;
                    st.probed = false;
                    let w = st.stream_waker.take();
                    drop(st);
                    tracing::debug!(sid = %self.id, "upgrade not completed within upgrade_timeout");
                    if let Some(w) = w {
                        w.wake();
                    }
                }
            }
        }
    }

    /// A PONG arrived: the next PING is due one `ping_interval` from now.
    pub(crate) fn on_pong(self: &Arc<Self>) {
        let g = {
            let mut st = self.lock();
            if !st.awaiting_pong || st.closed {
                return;
            }
            st.awaiting_pong = false;
            st.bump(Lane::Pong);
            st.bump(Lane::Ping)
        };
        self.arm(Lane::Ping, g);
    }

    /// The WebSocket writer's side: moves every queued frame to the end of `batch` when
    /// this WebSocket carries the session (they stay counted until [`release`]d), and
    /// registers the writer's waker when nothing was queued.
    ///
    /// [`release`]: Session::release
    pub(crate) fn stream_take(
        &self,
        cx: &mut Context<'_>,
        batch: &mut VecDeque<Frame>,
    ) -> StreamTake {
        let mut st = self.lock();
        if let Some((reason, _)) = st.closing {
            if st.kind.is_stream() {
                batch.append(&mut st.queue);
                return StreamTake::Closing(reason);
            }
            return StreamTake::Detached;
        }
        if st.closed || (!st.kind.is_stream() && !st.upgrading) {
            return StreamTake::Detached;
        }
        // Registered even with frames to write: a writer stalled on a peer that does not
        // read must still wake up for a close.
        if !st
            .stream_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            st.stream_waker = Some(cx.waker().clone());
        }
        if !st.kind.is_stream() || st.queue.is_empty() {
            return StreamTake::Idle;
        }
        if batch.is_empty() {
            std::mem::swap(batch, &mut st.queue);
        } else {
            batch.append(&mut st.queue);
        }
        StreamTake::Frames
    }

    /// The writer handed `bytes` in `packets` packets to the transport.
    pub(crate) fn release(&self, bytes: usize, packets: usize) {
        if packets > 0 {
            let mut st = self.lock();
            st.bytes = st.bytes.saturating_sub(bytes);
            st.packets = st.packets.saturating_sub(packets);
        }
    }

    /// The waiting poll's side: what to answer now, or `Pending` with its waker kept.
    pub(crate) fn poll_get(&self, cx: &mut Context<'_>) -> Poll<PollAnswer> {
        let mut st = self.lock();
        if st.closed {
            let (r, end) = st
                .closing
                .unwrap_or((CloseReason::TransportClose, PollEnd::Close));
            return Poll::Ready(PollAnswer::End(r, end));
        }
        if st.kind.is_stream() || (st.probed && st.closing.is_none()) {
            return Poll::Ready(PollAnswer::Noop);
        }
        if !st.queue.is_empty() {
            let frames: Vec<Frame> = std::mem::take(&mut st.queue).into();
            st.bytes = 0;
            st.packets = 0;
            return Poll::Ready(PollAnswer::Frames(frames, st.closing));
        }
        if let Some((r, end)) = st.closing {
            return Poll::Ready(PollAnswer::End(r, end));
        }
        st.get_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The poll ended (answered, or its connection dropped).
    pub(crate) fn end_get(&self) {
        let mut st = self.lock();
        st.get_active = false;
        st.get_waker = None;
    }

    /// The probing WebSocket finished the upgrade (`5`): it now carries the session, and
    /// a poll still waiting ends with a NOOP.
    pub(crate) fn complete_upgrade(&self, to: TransportKind) -> bool {
        let waker = {
            let mut st = self.lock();
            if !st.upgrading || st.closed || st.closing.is_some() {
                return false;
            }
            st.upgrading = false;
            st.probed = false;
            st.kind = to;
            st.bump(Lane::Upgrade);
            st.get_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// The probing WebSocket got `2probe`: a waiting poll ends with a NOOP, so the client
    /// can pause polling and finish the upgrade.
    pub(crate) fn on_probe(&self) -> bool {
        let waker = {
            let mut st = self.lock();
            if !st.upgrading || st.closed || st.closing.is_some() {
                return false;
            }
            st.probed = true;
            st.get_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// The WebSocket task ended (the connection is gone).
    pub(crate) fn stream_ended(&self) {
        let mut st = self.lock();
        st.stream_task = false;
        st.upgrading = false;
        st.probed = false;
        st.stream_waker = None;
    }
}

impl State {
    /// Whether the session is closed or closing.
    pub(crate) fn is_closing(&self) -> bool {
        self.closed || self.closing.is_some()
    }

    /// Bumps `lane`'s generation (cancelling what was armed) and returns the new one.
    fn bump(&mut self, lane: Lane) -> u32 {
        let g = &mut self.generations[lane as usize];
        *g = g.wrapping_add(1);
        *g
    }

    /// Takes the waker of the writer of the current transport.
    fn writer_waker(&mut self) -> Option<Waker> {
        if self.kind.is_stream() {
            self.stream_waker.take()
        } else {
            self.get_waker.take()
        }
    }
}
