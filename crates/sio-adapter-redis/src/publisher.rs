//! The one ordered way out to Redis for a connection's commands (PUBLISH, SPUBLISH, XADD).
//!
//! Every command of a connection goes through one queue, in call order, so a publish that
//! is waited for (a request) never overtakes the broadcasts queued before it. A single task
//! writes whatever is queued as one pipeline, waits for the answers, then takes the next
//! batch: no timer, a batch is what piled up meanwhile, so concurrent callers share round
//! trips and the other servers receive the cluster's traffic many messages per read.
//!
//! With `fire_and_forget` (the adapters' default, Node's way) a broadcast only queues its
//! publish and returns while Redis takes messages: sio runs a socket's handlers in order,
//! and a burst of broadcasting events must not pay a round trip each. Errors of a publish
//! nobody waits for can then only be logged, so a caller still waits for its own answer
//! (and gets the error) while the connection is known to be down or the last pipeline
//! failed, and, to bound memory, while too many bytes are queued. Without it (the emitter,
//! or `RedisConfigBuilder::fire_and_forget(false)`) a broadcast waits for Redis's answer: a
//! publish that may not have reached Redis is never reported sent.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::conn::{Counters, RedisConn};

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
    /// Sent again after a failure, until this instant, before anything queued after it
    /// (XADDs, whose readers drop the copies: see `crate::streams`).
    retry_until: Option<Instant>,
}

/// How long a retried command keeps being retried.
pub(crate) const RETRY_FOR: Duration = Duration::from_secs(10);

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
    fire_and_forget: bool,
}

impl Publisher {
    /// Starts the task that writes to `conn`. Must run inside a tokio runtime.
    pub(crate) fn start(conn: RedisConn, counters: Arc<Counters>, fire_and_forget: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State::default());
        tokio::spawn(run(rx, conn, state.clone()));
        Publisher {
            tx,
            state,
            counters,
            fire_and_forget,
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
        // Known to be down: not sent at all, so the error is not ambiguous.
        if self.outage() {
            return then(Err(Self::unreachable()));
        }
        self.enqueue(cmd, bytes, then, None);
    }

    /// Like [`query_then`](Self::query_then), but a failed command is sent again (for up to
    /// [`RETRY_FOR`]) before anything queued after it, so a Redis blip only delays it. It may
    /// then reach Redis twice: for commands whose copies the readers drop.
    pub(crate) fn query_retrying(&self, cmd: redis::Cmd, bytes: usize, then: Then) {
        self.enqueue(cmd, bytes, then, Some(Instant::now() + RETRY_FOR));
    }

    fn enqueue(&self, cmd: redis::Cmd, bytes: usize, then: Then, retry_until: Option<Instant>) {
        if let Err(mpsc::error::SendError(item)) = self.tx.send(Item {
            cmd,
            bytes,
            done: Some(then),
            retry_until,
        }) && let Some(then) = item.done
        {
            then(Err(Self::stopped()));
        }
    }

    fn unreachable() -> String {
        "Redis is unreachable (reconnecting)".to_owned()
    }

    fn outage(&self) -> bool {
        self.counters.disconnects.load(Ordering::Acquire)
            > self.counters.reconnects.load(Ordering::Acquire)
    }

    /// Whether broadcasts return once queued (see the module docs).
    pub(crate) fn fire_and_forget(&self) -> bool {
        self.fire_and_forget
    }

    /// Whether a caller should wait for its own answer now (see the module docs).
    pub(crate) fn must_wait(&self, bytes: usize) -> bool {
        let full = self.state.backlog.load(Ordering::Acquire) + bytes > MAX_BACKLOG;
        self.outage() || full || self.state.failing.load(Ordering::Acquire)
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
            retry_until: None,
        });
    }

    /// A broadcast's publish: waits for Redis's answer, unless fire-and-forget, where it
    /// queues and returns at once while Redis takes messages (see the module docs).
    pub(crate) async fn publish_soon(
        &self,
        kind: Kind,
        channel: String,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        if !self.fire_and_forget || self.must_wait(payload.len()) {
            return self.publish(kind, channel, payload).await;
        }
        self.publish_later(kind, channel, payload);
        Ok(())
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Item>, mut conn: RedisConn, state: Arc<State>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::new();
        let (mut bytes, mut unwaited) = (0usize, 0usize);
        let mut next = Some(first);
        while let Some(item) = next.take() {
            bytes += item.bytes;
            if item.done.is_none() {
                unwaited += item.bytes;
            }
            batch.push(item);
            if batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        let res = send(&mut conn, pipeline(&batch)).await;
        state.backlog.fetch_sub(unwaited, Ordering::AcqRel);
        // Set before the waiters hear back, so that their next publish sees it.
        state.failing.store(res.is_err(), Ordering::Release);
        match res {
            Ok(answers) => answer(batch, answers),
            Err(e) => {
                let lost = batch.iter().filter(|i| i.done.is_none()).count();
                tracing::warn!(
                    commands = batch.len(),
                    unwaited = lost,
                    "publishing to Redis failed: {e}"
                );
                let (retried, failed): (Vec<Item>, Vec<Item>) =
                    batch.into_iter().partition(|i| i.retry_until.is_some());
                for w in failed.into_iter().filter_map(|i| i.done) {
                    w(Err(e.clone()));
                }
                if !retried.is_empty() {
                    retry(&mut conn, retried, &state).await;
                }
            }
        }
    }
}

/// The batch's commands. Copied out before anything awaits: the batch holds callbacks that
/// are `Send` but not `Sync`.
fn pipeline(batch: &[Item]) -> Vec<redis::Cmd> {
    batch.iter().map(|i| i.cmd.clone()).collect()
}

/// One pipeline to one server. A Redis Cluster refuses pipelines that span slots, so there
/// the commands go one by one, all at once, in order (each node's connection keeps the
/// order they were issued in); the batch fails if one does.
async fn send(conn: &mut RedisConn, cmds: Vec<redis::Cmd>) -> Result<Vec<redis::Value>, String> {
    if conn.is_cluster() {
        let each = cmds.into_iter().map(|cmd| {
            let mut conn = conn.clone();
            async move { cmd.query_async::<redis::Value>(&mut conn).await }
        });
        return futures_util::future::join_all(each)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string());
    }
    let mut pipe = redis::pipe();
    for cmd in cmds {
        pipe.add_command(cmd);
    }
    pipe.query_async(conn).await.map_err(|e| e.to_string())
}

fn answer(batch: Vec<Item>, answers: Vec<redis::Value>) {
    let mut answers = answers.into_iter();
    for item in batch {
        let a = answers.next().unwrap_or(redis::Value::Nil);
        if let Some(w) = item.done {
            // A server error for this one command (a wrong type, ...) is its own.
            w(match a {
                redis::Value::ServerError(e) => Err(format!("{e:?}")),
                a => Ok(a),
            });
        }
    }
}

/// Sends `batch` again until it goes through or its time is up; nothing queued after it is
/// written meanwhile, so order holds.
async fn retry(conn: &mut RedisConn, batch: Vec<Item>, state: &State) {
    let deadline = batch
        .iter()
        .filter_map(|i| i.retry_until)
        .max()
        .unwrap_or_else(Instant::now);
    let mut pause = Duration::from_millis(25);
    loop {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(400));
        match send(conn, pipeline(&batch)).await {
            Ok(answers) => {
                state.failing.store(false, Ordering::Release);
                return answer(batch, answers);
            }
            Err(e) if Instant::now() >= deadline => {
                tracing::warn!(commands = batch.len(), "giving up on Redis: {e}");
                for w in batch.into_iter().filter_map(|i| i.done) {
                    w(Err(e.clone()));
                }
                return;
            }
            Err(_) => {}
        }
    }
}
