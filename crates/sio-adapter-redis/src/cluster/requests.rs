//! Requests waiting for other servers' answers, by request id.
//!
//! A request registers its id, publishes, then gathers answers until it has as many as
//! servers were counted or its time is up. The entry goes when the waiter goes, however it
//! ends (a [`Registration`] removes it on drop), so a late answer finds nobody and is
//! dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sio_types::{AckError, AckResponse, AckStream, AdapterError, Value};
use tokio::sync::mpsc;

/// The pending requests of one kind, each with the channel its answers go to.
pub(crate) struct Pending<T> {
    map: Mutex<HashMap<String, mpsc::UnboundedSender<T>>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            map: Mutex::default(),
        }
    }
}

impl<T> Pending<T> {
    /// Registers request `id`; its answers arrive on the returned registration.
    pub(crate) fn register(self: &Arc<Self>, id: &str) -> Registration<T> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut m) = self.map.lock() {
            m.insert(id.to_owned(), tx);
        }
        Registration {
            pending: self.clone(),
            id: id.to_owned(),
            rx,
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.map.lock().map(|m| m.contains_key(id)).unwrap_or(false)
    }

    /// Hands an answer to request `id`'s waiter; `false` when nobody waits for it (another
    /// node's request, or a waiter that gave up).
    pub(crate) fn forward(&self, id: &str, answer: T) -> bool {
        // Cloned out so that no lock is held while sending.
        let tx = self.map.lock().ok().and_then(|m| m.get(id).cloned());
        tx.is_some_and(|tx| tx.send(answer).is_ok())
    }

    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(id);
        }
    }
}

/// One registered request; unregisters itself when dropped.
pub(crate) struct Registration<T> {
    pending: Arc<Pending<T>>,
    pub(crate) id: String,
    pub(crate) rx: mpsc::UnboundedReceiver<T>,
}

impl<T> Drop for Registration<T> {
    fn drop(&mut self) {
        self.pending.remove(&self.id);
    }
}

impl<T> Registration<T> {
    /// Waits up to `wait` for `expected` answers; returns what arrived and whether it was
    /// all of them, so that a caller can keep partial answers as Node does.
    pub(crate) async fn gather(
        &mut self,
        expected: usize,
        wait: Duration,
    ) -> Result<(Vec<T>, bool), AdapterError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::with_capacity(expected);
        while out.len() < expected {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(v)) => out.push(v),
                Ok(None) => return Err(AdapterError::Closed),
                Err(_) => return Ok((out, false)),
            }
        }
        Ok((out, true))
    }

    /// Like [`gather`](Self::gather), but anything short of every answer is socket.io's
    /// "timeout reached while waiting for `request` response".
    pub(crate) async fn collect(
        &mut self,
        expected: usize,
        wait: Duration,
        request: &'static str,
    ) -> Result<Vec<T>, AdapterError> {
        let (out, complete) = self.gather(expected, wait).await?;
        if !complete {
            return Err(AdapterError::Timeout {
                request,
                received: out.len(),
                expected,
                waited: wait,
            });
        }
        Ok(out)
    }
}

/// What a remote member says about a broadcast with acks.
pub(crate) enum AckEvent {
    /// How many of its clients were asked.
    Count(usize),
    /// One client's answer (its first argument, as Node forwards it).
    Ack(Value),
}

/// `clientCount` of a count message.
pub(crate) fn count_of(data: &Value) -> usize {
    let n = data.get("clientCount").and_then(Value::as_i64).unwrap_or(0);
    usize::try_from(n).unwrap_or(0)
}

/// Merges a broadcast's local acks with the remote members' counts and acks (read from
/// their messages by `read`), until every expected ack arrived or `timeout` passed; the
/// missing ones then end as timeouts.
pub(crate) async fn gather_acks<T>(
    remote: Option<(Registration<T>, usize)>,
    local: AckStream,
    tx: mpsc::UnboundedSender<AckResponse>,
    timeout: Duration,
    read: impl Fn(T) -> Option<AckEvent>,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut local_stream = Some(local);
    let (mut rx, servers) = match remote {
        Some((reg, servers)) => (Some(reg), servers),
        None => (None, 0),
    };
    let (mut reported, mut expected, mut received) = (0usize, 0usize, 0usize);
    loop {
        let remote_done = reported >= servers && received >= expected;
        if local_stream.is_none() && remote_done {
            break;
        }
        tokio::select! {
            item = async { local_stream.as_mut()?.next().await }, if local_stream.is_some() => {
                match item {
                    Some(r) => if tx.send(r).is_err() { return },
                    None => local_stream = None,
                }
            }
            m = async { rx.as_mut()?.rx.recv().await }, if rx.is_some() && !remote_done => {
                let Some(m) = m else { rx = None; reported = servers; continue };
                match read(m) {
                    Some(AckEvent::Count(n)) => {
                        reported += 1;
                        expected += n;
                    }
                    Some(AckEvent::Ack(arg)) => {
                        received += 1;
                        if tx.send(Ok(vec![arg])).is_err() { return }
                    }
                    None => {}
                }
            }
            _ = &mut deadline => {
                for _ in received..expected {
                    if tx.send(Err(AckError::Timeout)).is_err() { return }
                }
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_reach_their_request_and_the_entry_goes_with_it() {
        let p: Arc<Pending<u32>> = Arc::default();
        {
            let mut r = p.register("a");
            assert!(p.forward("a", 1));
            assert!(!p.forward("b", 2), "unknown ids are not delivered");
            assert_eq!(
                r.collect(1, Duration::from_secs(1), "x").await.unwrap(),
                [1]
            );
        }
        assert!(!p.contains("a"));
        assert!(!p.forward("a", 3));
    }

    #[tokio::test]
    async fn a_short_count_is_a_timeout_with_what_arrived() {
        let p: Arc<Pending<u32>> = Arc::default();
        let mut r = p.register("a");
        p.forward("a", 7);
        let (got, complete) = r.gather(2, Duration::from_millis(50)).await.unwrap();
        assert_eq!((got, complete), (vec![7], false));
        let err = r
            .collect(1, Duration::from_millis(50), "fetchSockets")
            .await;
        assert!(matches!(
            err,
            Err(AdapterError::Timeout {
                received: 0,
                expected: 1,
                ..
            })
        ));
    }
}
