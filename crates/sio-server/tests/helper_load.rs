//! Load at a modest CI size: 2,000 raw websocket clients, 1,000 of which never authenticate.
//! The 1,000 are all dropped at the (short) auth timeout; the others keep getting pings and
//! room messages; after `shutdown()` the registry is empty and no timer or task survives.
//! Sizes: `HELPER_LOAD_CLIENTS` (default 2,000, half of them authenticating).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sio_server::helper::{SendMessage, ServerHelper};
use sio_server::sio_types::ClientState;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Tally {
    connected: AtomicUsize,
    authenticated: AtomicUsize,
    closed_unauth: AtomicUsize,
    closed_auth: AtomicUsize,
    pings: AtomicUsize,
    room_msgs: AtomicUsize,
    /// Silent clients dropped before their auth timeout could have run out.
    dropped_early: AtomicUsize,
}

const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

/// One lightweight client: engine.io open, CONNECT, optionally `authenticate`, then it
/// counts pings and room messages until the connection closes.
async fn client(url: String, authenticate: bool, tally: Arc<Tally>) {
    let Ok((ws, _)) = tokio_tungstenite::connect_async(url).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut opened = false;
    let mut connect_sent_at = None;
    while let Some(Ok(msg)) = rx.next().await {
        let Message::Text(t) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let t = t.as_str();
        if t == "2" {
            let _ = tx.send(Message::text("3")).await;
        } else if t.starts_with('0') && !opened {
            opened = true;
            // The server arms the timer after it reads this CONNECT, so the drop can come no
            // sooner than AUTH_TIMEOUT after this instant.
            connect_sent_at = Some(tokio::time::Instant::now());
            let _ = tx.send(Message::text("40{\"token\":\"good\"}")).await;
        } else if t.starts_with("40{") {
            tally.connected.fetch_add(1, Ordering::Relaxed);
            if authenticate {
                let _ = tx.send(Message::text("42[\"authenticate\"]")).await;
            }
        } else if t.starts_with("42[\"authenticated\"") {
            tally.authenticated.fetch_add(1, Ordering::Relaxed);
        } else if t.starts_with("42[\"ping\"") {
            tally.pings.fetch_add(1, Ordering::Relaxed);
        } else if t.starts_with("42[\"room-msg\"") {
            tally.room_msgs.fetch_add(1, Ordering::Relaxed);
        } else if t == "41" || t == "1" {
            break;
        }
    }
    if authenticate {
        tally.closed_auth.fetch_add(1, Ordering::Relaxed);
    } else {
        if connect_sent_at.is_none_or(|t| t.elapsed() < AUTH_TIMEOUT) {
            tally.dropped_early.fetch_add(1, Ordering::Relaxed);
        }
        tally.closed_unauth.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_clients_half_never_authenticate() {
    let total: usize = std::env::var("HELPER_LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let half = total / 2;
    let helper = ServerHelper::builder()
        .identifier("load")
        .listen("127.0.0.1:0".parse().unwrap())
        .authenticate_timeout(AUTH_TIMEOUT)
        .ping_interval(Duration::from_millis(700))
        .authenticate(|hs| async move { hs.auth_str("token") == Some("good") })
        .build()
        .unwrap();
    helper.configure().await.unwrap();
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket",
        helper.local_addr().unwrap()
    );
    let tally = Arc::new(Tally::default());
    // Progress on stderr, for when a bound is hit.
    let t = tally.clone();
    let reporter = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            eprintln!(
                "connected {} authenticated {} closed unauth {} auth {} pings {} room {}",
                t.connected.load(Ordering::Relaxed),
                t.authenticated.load(Ordering::Relaxed),
                t.closed_unauth.load(Ordering::Relaxed),
                t.closed_auth.load(Ordering::Relaxed),
                t.pings.load(Ordering::Relaxed),
                t.room_msgs.load(Ordering::Relaxed),
            );
        }
    });
    let mut tasks = Vec::with_capacity(total);
    // The authenticating half first, in waves, so that a debug build on a busy CI machine
    // does not let a 2 s auth timeout overtake an `authenticate` still in flight; then the
    // silent half, which the timeout must drop.
    for i in 0..total - half {
        tasks.push(tokio::spawn(client(url.clone(), true, tally.clone())));
        if i % 100 == 99 {
            let want = i + 1;
            sio_tests::wait::until("a wave authenticated", 60, || {
                tally.authenticated.load(Ordering::Relaxed) >= want
            })
            .await;
        }
    }
    sio_tests::wait::until("all authenticated", 120, || {
        tally.authenticated.load(Ordering::Relaxed) == total - half
    })
    .await;
    for i in 0..half {
        tasks.push(tokio::spawn(client(url.clone(), false, tally.clone())));
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    sio_tests::wait::until("all connected", 120, || {
        tally.connected.load(Ordering::Relaxed) == total
    })
    .await;

    // Every non-authenticating client is dropped by its auth timeout, none of the others.
    sio_tests::wait::until("the unauthenticated dropped", 120, || {
        tally.closed_unauth.load(Ordering::Relaxed) == half
    })
    .await;
    assert_eq!(tally.connected.load(Ordering::Relaxed), total);
    assert_eq!(tally.closed_auth.load(Ordering::Relaxed), 0);
    assert_eq!(tally.dropped_early.load(Ordering::Relaxed), 0);
    sio_tests::wait::until("registry holds the authenticated only", 30, || {
        helper.clients().len() == total - half
    })
    .await;
    assert!(
        helper
            .clients()
            .iter()
            .all(|c| c.state == ClientState::Authenticated)
    );
    // One ping timer per authenticated client, no auth timeout left.
    sio_tests::wait::until("one timer per authenticated client", 30, || {
        helper.live_timers() == total - half
    })
    .await;
    assert_eq!(helper.live_tasks(), 1);

    // Pings keep coming: at least two more each (first ping + interval).
    let before = tally.pings.load(Ordering::Relaxed);
    sio_tests::wait::until("more pings", 60, || {
        tally.pings.load(Ordering::Relaxed) >= before + 2 * (total - half)
    })
    .await;
    // Room messages reach every authenticated client.
    for n in 0..3 {
        helper
            .send(SendMessage::new("room-msg", n + 1).to("io-default"))
            .await
            .unwrap();
    }
    sio_tests::wait::until("room messages", 60, || {
        tally.room_msgs.load(Ordering::Relaxed) == 3 * (total - half)
    })
    .await;
    assert_eq!(tally.closed_auth.load(Ordering::Relaxed), 0);

    helper.shutdown().await;
    assert!(helper.clients().is_empty());
    assert_eq!(helper.live_timers(), 0);
    assert_eq!(helper.live_tasks(), 0);
    sio_tests::wait::until("every client closed", 60, || {
        tally.closed_auth.load(Ordering::Relaxed) == total - half
    })
    .await;
    for t in tasks {
        t.await.unwrap();
    }
    reporter.abort();
}
