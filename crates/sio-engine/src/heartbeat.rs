//! One task per engine drives every session's heartbeat and deadlines.
//!
//! A timer per session (engineioxide spawns a heartbeat task per connection) costs a task,
//! its stack of futures and a timer-wheel entry per socket. Here each kind of deadline is a
//! *lane* with one fixed delay (the ping interval, the ping timeout, ...), so an entry
//! pushed at the tail of a lane always has the latest deadline: each lane is a FIFO that is
//! already sorted, and the one task only ever looks at the heads. An entry names its
//! session by id and carries the generation of that session's lane when it was armed;
//! re-arming or cancelling bumps the generation, so stale entries are skipped when they
//! come due instead of being searched for and removed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::engine::Shared;
use crate::handler::Handler;
use crate::session::Sid;

/// The kinds of deadline, one lane each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Send the next PING (`ping_interval` after the handshake or the last PONG).
    Ping = 0,
    /// The PING went unanswered (`ping_timeout` after it).
    Pong = 1,
    /// The session stayed idle (`idle_timeout`).
    Idle = 2,
    /// The upgrade did not complete (`upgrade_timeout`).
    Upgrade = 3,
}

pub(crate) const LANES: usize = 4;

const ALL: [Lane; LANES] = [Lane::Ping, Lane::Pong, Lane::Idle, Lane::Upgrade];

struct Entry {
    at: Instant,
    sid: Sid,
    generation: u32,
}

/// The lanes of one engine and the wake-up of its task.
pub(crate) struct Timers {
    lanes: [Mutex<VecDeque<Entry>>; LANES],
    delays: [Duration; LANES],
    notify: Notify,
    started: AtomicBool,
    stopped: AtomicBool,
}

impl Timers {
    pub(crate) fn new(config: &crate::EngineConfig) -> Arc<Timers> {
        Arc::new(Timers {
            lanes: Default::default(),
            delays: [
                config.ping_interval,
                config.ping_timeout,
                config.idle_timeout.unwrap_or(Duration::MAX),
                config.upgrade_timeout,
            ],
            notify: Notify::new(),
            started: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        })
    }

    /// Arms `lane` for session `sid`: due one lane delay from now.
    pub(crate) fn push<H: Handler>(
        self: &Arc<Self>,
        engine: &Arc<Shared<H>>,
        lane: Lane,
        sid: Sid,
        generation: u32,
    ) {
        let delay = self.delays[lane as usize];
        let was_empty = {
            let mut q = self.lanes[lane as usize]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            // `now` taken under the lock, so entries enter each lane in deadline order.
            let Some(at) = Instant::now().checked_add(delay) else {
                return;
            };
            let was_empty = q.is_empty();
            q.push_back(Entry {
                at,
                sid,
                generation,
            });
            was_empty
        };
        // A plain load first: this runs for every session opened and every PONG.
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run(self.clone(), Arc::downgrade(engine)));
        } else if was_empty {
            // The task may be sleeping until a later head of another lane.
            self.notify.notify_one();
        }
    }

    /// Ends the task (the engine is gone).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Moves every entry due at `now` into `due`; returns the earliest deadline left.
    fn collect_due(&self, now: Instant, due: &mut Vec<(Lane, Sid, u32)>) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for lane in ALL {
            let mut q = self.lanes[lane as usize]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            while let Some(e) = q.front() {
                if e.at <= now {
                    due.push((lane, e.sid, e.generation));
                    q.pop_front();
                } else {
                    next = Some(next.map_or(e.at, |n| n.min(e.at)));
                    break;
                }
            }
            // A lane that emptied after a burst gives its memory back.
            if q.is_empty() && q.capacity() > 1024 {
                *q = VecDeque::new();
            }
        }
        next
    }
}

async fn run<H: Handler>(timers: Arc<Timers>, engine: Weak<Shared<H>>) {
    let mut due = Vec::new();
    loop {
        if timers.stopped.load(Ordering::Acquire) {
            return;
        }
        let next = timers.collect_due(Instant::now(), &mut due);
        if !due.is_empty() {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            for (lane, sid, generation) in due.drain(..) {
                // The map guard is dropped before the session acts (it may remove itself).
                let session = engine.sessions.get(&sid).map(|e| e.value().clone());
                if let Some(session) = session {
                    session.on_timer(lane, generation);
                }
            }
        }
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = timers.notify.notified() => {}
                }
            }
            None => timers.notify.notified().await,
        }
    }
}
