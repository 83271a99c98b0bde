//! Waiting for a condition in a test: a bound on how long, never a speed requirement.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(20);

/// Waits until `cond` holds; the test fails, naming `what`, after `secs` seconds.
pub async fn until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `f` until it returns `Some`, and returns that; the test fails, naming `what`,
/// after `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `find` returns `Some`, and returns that: checked at once and again each
/// time `changed` is notified, for a condition that only an event can change (nothing
/// polls). The test fails after `secs` seconds, naming `what` and showing `state()`.
pub async fn notified<T, S: Debug>(
    what: &str,
    secs: u64,
    changed: &Notify,
    mut find: impl FnMut() -> Option<T>,
    state: impl FnOnce() -> S,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        // Registered before the check, so that a change right after it is not missed.
        let change = changed.notified();
        if let Some(v) = find() {
            return v;
        }
        if tokio::time::timeout_at(deadline, change).await.is_err() {
            panic!(
                "timed out after {secs} s waiting for {what}; state: {:#?}",
                state()
            );
        }
    }
}
