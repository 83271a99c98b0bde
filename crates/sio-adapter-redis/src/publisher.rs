//! The one ordered way out to Redis for a connection's PUBLISH and SPUBLISH commands.
//!
//! A handler that broadcasts and then waits for Redis's answer before its next event turns
//! every broadcast into a round trip, and the other servers receive the cluster's traffic
//! one message per read: each message then costs them one `send()` per recipient instead of
//! one per batch. So a broadcast (as Node's adapter and emitter do) only queues its publish
//! and returns; a single task writes whatever is queued as one pipeline, waits for the
//! answers, then takes the next batch. No timer: a batch is what piled up meanwhile.
//!
//! Every command of a connection goes through the same queue, in call order, so a publish
//! that is waited for (a request) never overtakes the broadcasts queued before it.
//!
//! Errors of a publish nobody waits for can only be logged. To still tell callers that
//! Redis is not taking messages, a caller waits for its own answer (and gets the error)
//! while the connection is known to be down or the last pipeline failed, and, to bound
//! memory, while too many bytes are queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use crate::conn::Counters;

/// Bytes queued without a waiter past which callers wait for their own publish. Redis
/// absorbs far more than this per second; it is only reached when Redis stalls.
const MAX_BACKLOG: usize = 8 << 20;

/// Upper bounds of one pipeline, so one write stays a reasonable size.
const MAX_BATCH: usize = 1024;
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Which command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Publish,
    SPublish,
}

impl Kind {
    fn cmd(self, channel: String, payload: Vec<u8>) -> (redis::Cmd, usize) {
        let name = match self {
            Kind::Publish => "PUBLISH",
            Kind::SPublish => "SPUBLISH",
        };
        let bytes = payload.len();
        (redis::cmd(name).arg(channel).arg(payload).clone(), bytes)
    }
}

/// What to do with a command's answer, called in queue order by the writing task.
pub(crate) type Then = Box<dyn FnOnce(Result<redis::Value, String>) + Send>;

struct Item {
    cmd: redis::Cmd,
    /// Payload bytes, for the backlog and batch bounds.
    bytes: usize,
    /// `None`: nobody waits, the bytes count towards the backlog.
    done: Option<Then>,
}

#[derive(Default)]
struct State {
    /// Payload bytes queued or in flight that nobody waits for.
    backlog: AtomicUsize,
    /// The last pipeline failed; cleared by the next one that succeeds.
    failing: AtomicBool,
}

/// The queue; its task ends (after writing what is queued) once the last handle is gone.
#[derive(Clone)]
pub(crate) struct Publisher {
    tx: mpsc::UnboundedSender<Item>,
    state: Arc<State>,
    counters: Arc<Counters>,
}

impl Publisher {
    /// Starts the task that writes to `conn`. Must run inside a tokio runtime.
    pub(crate) fn start(conn: ConnectionManager, counters: Arc<Counters>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State::default());
        tokio::spawn(run(rx, conn, state.clone()));
        Publisher {
            tx,
            state,
            counters,
        }
    }

    fn stopped() -> String {
        "the publisher task has stopped".to_owned()
    }

    /// Publishes and waits for Redis's answer.
    pub(crate) async fn publish(
        &self,
        kind: Kind,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let (cmd, bytes) = kind.cmd(channel, payload);
        self.query(cmd, bytes).await.map(drop)
    }

    /// Runs any command in the queue's order and waits for its answer (XADD, whose answer
    /// is the entry's id).
    pub(crate) async fn query(
        &self,
        cmd: redis::Cmd,
        bytes: usize,
    ) -> Result<redis::Value, String> {
        let (done, answer) = oneshot::channel();
        self.query_then(
            cmd,
            bytes,
            Box::new(move |r| {
                // A waiter that gave up is no longer interested.
                let _ = done.send(r);
            }),
        );
        answer.await.unwrap_or_else(|_| Err(Self::stopped()))
    }

    /// Queues a command now; `then` gets its answer, in queue order, on the writing task
    /// (so what it does keeps the order of the calls).
    pub(crate) fn query_then(&self, cmd: redis::Cmd, bytes: usize, then: Then) {
        if let Err(mpsc::error::SendError(item)) = self.tx.send(Item {
            cmd,
            bytes,
            done: Some(then),
        }) && let Some(then) = item.done
        {
            then(Err(Self::stopped()));
        }
    }

    /// Whether a caller should wait for its own answer now (see the module docs).
    pub(crate) fn must_wait(&self, bytes: usize) -> bool {
        let outage = self.counters.disconnects.load(Ordering::Acquire)
            > self.counters.reconnects.load(Ordering::Acquire);
        let full = self.state.backlog.load(Ordering::Acquire) + bytes > MAX_BACKLOG;
        outage || full || self.state.failing.load(Ordering::Acquire)
    }

    /// Queues a publish nobody waits for; a failure is only logged.
    pub(crate) fn publish_later(&self, kind: Kind, channel: String, payload: Vec<u8>) {
        let (cmd, bytes) = kind.cmd(channel, payload);
        self.state.backlog.fetch_add(bytes, Ordering::AcqRel);
        // Fails only once the task is gone, when the connection is being torn down.
        let _ = self.tx.send(Item {
            cmd,
            bytes,
            done: None,
        });
    }

    /// Queues a publish and returns at once while Redis takes messages; otherwise (see the
    /// module docs) waits for the answer like [`publish`](Publisher::publish).
    pub(crate) async fn publish_soon(
        &self,
        kind: Kind,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        if self.must_wait(payload.len()) {
            return self.publish(kind, channel, payload).await;
        }
        self.publish_later(kind, channel, payload);
        Ok(())
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Item>,
    mut conn: ConnectionManager,
    state: Arc<State>,
) {
    // Per command of the batch: who waits for its answer.
    let mut waiters: Vec<Option<Then>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut pipe = redis::pipe();
        let (mut bytes, mut unwaited) = (0usize, 0usize);
        let mut next = Some(first);
        while let Some(item) = next.take() {
            bytes += item.bytes;
            if item.done.is_none() {
                unwaited += item.bytes;
            }
            waiters.push(item.done);
            pipe.add_command(item.cmd);
            if waiters.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        let res: Result<Vec<redis::Value>, _> = pipe.query_async(&mut conn).await;
        state.backlog.fetch_sub(unwaited, Ordering::AcqRel);
        // Set before the waiters hear back, so that their next publish sees it.
        state.failing.store(res.is_err(), Ordering::Release);
        match res {
            Ok(answers) => {
                let mut answers = answers.into_iter();
                for w in waiters.drain(..) {
                    let a = answers.next().unwrap_or(redis::Value::Nil);
                    if let Some(w) = w {
                        // A server error for this one command (a wrong type, ...) is its own.
                        let a = match a {
                            redis::Value::ServerError(e) => Err(format!("{e:?}")),
                            a => Ok(a),
                        };
                        w(a);
                    }
                }
            }
            Err(e) => {
                let e = e.to_string();
                let n = waiters.len();
                let lost = waiters.iter().filter(|w| w.is_none()).count();
                tracing::warn!(
                    commands = n,
                    unwaited = lost,
                    "publishing to Redis failed: {e}"
                );
                for w in waiters.drain(..).flatten() {
                    w(Err(e.clone()));
                }
            }
        }
    }
}
