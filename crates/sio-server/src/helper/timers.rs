//! One shared timer task per helper: the auth timeouts and ping intervals of every client
//! live in a single `DelayQueue`, so a thousand idle sockets cost a thousand queue slots,
//! not a thousand tasks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sio_types::SocketId;
use tokio::sync::mpsc;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key;
use tracing::Instrument;

/// Which timer of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TimerKind {
    /// Disconnects the client unless it authenticated in time.
    AuthTimeout,
    /// The heartbeat `ping` of an authenticated client, re-armed after each tick.
    Ping,
}

enum Cmd {
    Arm(SocketId, TimerKind, Duration),
    Disarm(SocketId, TimerKind),
    DisarmAll(SocketId),
}

/// What the timer task calls when a timer fires; returns `Some(d)` to re-arm after `d`.
pub(crate) trait OnFire: Send + Sync + 'static {
    fn fire(&self, id: SocketId, kind: TimerKind) -> Option<Duration>;
    /// Whether `id` still has a registry entry (timers of gone clients are never armed).
    fn is_live(&self, id: SocketId) -> bool;
}

/// Counters the tests (and operators) read to prove nothing leaks.
#[derive(Debug, Default)]
pub(crate) struct TimerCounters {
    pub(crate) timers: AtomicUsize,
    pub(crate) tasks: AtomicUsize,
}

/// Decrements the task counter when a helper task ends, however it ends.
pub(crate) struct TaskGuard(pub(crate) Arc<TimerCounters>);

impl TaskGuard {
    pub(crate) fn new(c: &Arc<TimerCounters>) -> TaskGuard {
        c.tasks.fetch_add(1, Ordering::AcqRel);
        TaskGuard(c.clone())
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.tasks.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The handle the helper keeps: commands go to the timer task; dropping every handle (or
/// calling [`stop`](Timers::stop)) ends it and frees every pending timer.
pub(crate) struct Timers {
    tx: std::sync::Mutex<Option<mpsc::UnboundedSender<Cmd>>>,
}

impl Timers {
    pub(crate) fn start(
        on_fire: std::sync::Weak<dyn OnFire>,
        counters: Arc<TimerCounters>,
        span: tracing::Span,
    ) -> Timers {
        let (tx, rx) = mpsc::unbounded_channel();
        let guard = TaskGuard::new(&counters);
        tokio::spawn(run(rx, on_fire, counters, guard).instrument(span));
        Timers {
            tx: std::sync::Mutex::new(Some(tx)),
        }
    }

    fn send(&self, cmd: Cmd) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = tx.as_ref() {
            // A send only fails once the task ended (shutdown): nothing left to time.
            let _ = tx.send(cmd);
        }
    }

    pub(crate) fn arm(&self, id: SocketId, kind: TimerKind, after: Duration) {
        self.send(Cmd::Arm(id, kind, after));
    }

    pub(crate) fn disarm(&self, id: SocketId, kind: TimerKind) {
        self.send(Cmd::Disarm(id, kind));
    }

    pub(crate) fn disarm_all(&self, id: SocketId) {
        self.send(Cmd::DisarmAll(id));
    }

    /// Ends the timer task: pending timers are dropped with it.
    pub(crate) fn stop(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Far enough to never fire, small enough not to overflow tokio's timer.
const MAX_DELAY: Duration = Duration::from_secs(60 * 60 * 24 * 365);

async fn run(
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    on_fire: std::sync::Weak<dyn OnFire>,
    counters: Arc<TimerCounters>,
    _guard: TaskGuard,
) {
    let mut queue: DelayQueue<(SocketId, TimerKind)> = DelayQueue::new();
    let mut keys: HashMap<(SocketId, TimerKind), Key> = HashMap::new();
    loop {
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                match cmd {
                    Cmd::Arm(id, kind, after) => {
                        let live = on_fire.upgrade().is_some_and(|f| f.is_live(id));
                        if live {
                            let key = queue.insert((id, kind), after.min(MAX_DELAY));
                            if let Some(old) = keys.insert((id, kind), key) {
                                queue.try_remove(&old);
                            }
                        }
                    }
                    Cmd::Disarm(id, kind) => {
                        if let Some(key) = keys.remove(&(id, kind)) {
                            queue.try_remove(&key);
                        }
                    }
                    Cmd::DisarmAll(id) => {
                        for kind in [TimerKind::AuthTimeout, TimerKind::Ping] {
                            if let Some(key) = keys.remove(&(id, kind)) {
                                queue.try_remove(&key);
                            }
                        }
                    }
                }
            }
            Some(expired) = std::future::poll_fn(|cx| queue.poll_expired(cx)), if !queue.is_empty() => {
                let (id, kind) = expired.into_inner();
                keys.remove(&(id, kind));
                let Some(f) = on_fire.upgrade() else { break };
                if let Some(again) = f.fire(id, kind)
                    && f.is_live(id)
                {
                    let key = queue.insert((id, kind), again.min(MAX_DELAY));
                    keys.insert((id, kind), key);
                }
            }
        }
        counters.timers.store(queue.len(), Ordering::Release);
    }
    queue.clear();
    counters.timers.store(0, Ordering::Release);
}
