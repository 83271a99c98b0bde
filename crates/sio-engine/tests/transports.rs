//! Transports and upgrades: `transports`, `allow_upgrades`, `upgrade_timeout`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    Got, TestServer, assert_engine_error, assert_ws_echo, config, refused_status, ws_next, ws_send,
};
use sio_engine::{TransportKind, Transports};
use tokio::time::Instant;

/// A WebSocket that probes and never sends `5` is closed by the server after
/// `upgrade_timeout`; the session stays on polling and keeps working.
#[tokio::test]
async fn upgrade_timeout_drops_the_probing_websocket_and_polling_carries_on() {
    let timeout = Duration::from_millis(300);
    let server = TestServer::start(config().upgrade_timeout(timeout)).await;
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    let started = Instant::now();
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("3probe".into()));
    // No `5`: the next thing on the WebSocket is its close, one upgrade_timeout later.
    assert_eq!(ws_next(&mut ws).await, Got::Closed);
    let after = started.elapsed();
    assert!(
        after >= timeout.mul_f64(0.9),
        "the probing WebSocket was dropped after {after:?}, before upgrade_timeout"
    );
    // The session itself is untouched and still on polling.
    assert_eq!(server.close_of(&sid), None);
    assert_eq!(server.engine.session_count(), 1);
    assert_eq!(server.session(&sid).transport(), TransportKind::Polling);
    server.assert_polling_echo(&sid, "x").await;
}

#[tokio::test]
async fn transports_polling_only_refuses_websocket() {
    let server = TestServer::start(config().transports(Transports::Polling)).await;
    let res = server.get_query("EIO=4&transport=websocket").await;
    assert_engine_error(&res, 400, 0, "Transport unknown");
    // A real WebSocket handshake too.
    assert_eq!(
        refused_status(server.try_ws("EIO=4&transport=websocket").await),
        400
    );
    // Polling works and offers no upgrade.
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    // Nor can the polling session upgrade.
    assert_eq!(
        refused_status(
            server
                .try_ws(&format!("EIO=4&transport=websocket&sid={sid}"))
                .await
        ),
        400
    );
    server.assert_polling_echo(&sid, "still here").await;
}

#[tokio::test]
async fn transports_websocket_only_refuses_polling() {
    let server = TestServer::start(config().transports(Transports::Websocket)).await;
    let res = server.get_query("EIO=4&transport=polling").await;
    assert_engine_error(&res, 400, 0, "Transport unknown");
    assert_eq!(server.engine.session_count(), 0);
    let (mut ws, open) = server.ws_handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    let sid = common::sid_of(&open);
    // A poll on the WebSocket session's sid is refused the same way.
    let res = server.get(&sid).await;
    assert_engine_error(&res, 400, 0, "Transport unknown");
    assert_ws_echo(&mut ws, "hello").await;
}

#[tokio::test]
async fn allow_upgrades_false_offers_no_upgrade_and_refuses_the_websocket() {
    let server = TestServer::start(config().allow_upgrades(false)).await;
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    let status = refused_status(
        server
            .try_ws(&format!("EIO=4&transport=websocket&sid={sid}"))
            .await,
    );
    assert_eq!(status, 400);
    // The polling session is not harmed by the refused upgrade.
    assert_eq!(server.close_of(&sid), None);
    server.assert_polling_echo(&sid, "on polling").await;
    // A WebSocket session of its own is still allowed.
    let (mut ws, open) = server.ws_handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_ws_echo(&mut ws, "ws").await;
}

/// Control for the two tests above: with the defaults the OPEN packet offers the upgrade
/// and it completes.
#[tokio::test]
async fn upgrade_with_the_defaults_completes() {
    let server = TestServer::start(config()).await;
    let (sid, open, _) = server.handshake().await;
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("3probe".into()));
    ws_send(&mut ws, "5").await;
    assert_ws_echo(&mut ws, "upgraded").await;
    assert_eq!(server.session(&sid).transport(), TransportKind::WebSocket);
}

/// What the server sends while the upgrade is under way waits (a poll during the probe is
/// answered with a NOOP, not with it) and comes over the WebSocket, in order, once the
/// upgrade completes: nothing is lost or sent twice on the way from one transport to the
/// other.
#[tokio::test]
async fn messages_sent_during_the_upgrade_arrive_over_the_websocket_in_order() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    let session = server.session(&sid);
    session.send(sio_engine::Frame::message("before")).unwrap();
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("3probe".into()));
    session.send(sio_engine::Frame::message("during")).unwrap();
    // The probe answered, polling is paused: a poll gets a NOOP and not the messages.
    let res = server.get(&sid).await;
    assert_eq!((res.status, res.text().as_str()), (200, "6"));
    ws_send(&mut ws, "5").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("4before".into()));
    assert_eq!(ws_next(&mut ws).await, Got::Text("4during".into()));
    session.send(sio_engine::Frame::message("after")).unwrap();
    assert_eq!(ws_next(&mut ws).await, Got::Text("4after".into()));
    assert_ws_echo(&mut ws, "echo").await;
}

/// A probing WebSocket that goes away before `5` leaves the session on polling, and a
/// later upgrade of the same session succeeds.
#[tokio::test]
async fn a_probe_dropped_mid_upgrade_leaves_polling_working_and_a_new_upgrade_succeeds() {
    let server = TestServer::start(config()).await;
    let (sid, _, _) = server.handshake().await;
    let query = format!("EIO=4&transport=websocket&sid={sid}");
    let mut probe = server.ws(&query).await;
    ws_send(&mut probe, "2probe").await;
    assert_eq!(ws_next(&mut probe).await, Got::Text("3probe".into()));
    drop(probe);
    // Polling carries on: once the engine has seen the probe go, an echo comes back over
    // polling (a poll answered with a NOOP means the probe was still registered).
    let deadline = Instant::now() + common::PATIENCE;
    server.push(&sid, "4x").await;
    loop {
        let res = server.get(&sid).await;
        assert_eq!(res.status, 200, "{:?}", res.text());
        if res.text() == "4x" {
            break;
        }
        assert_eq!(res.text(), "6");
        assert!(Instant::now() < deadline, "polling never resumed");
        tokio::task::yield_now().await;
    }
    assert_eq!(server.close_of(&sid), None);
    // A new upgrade of the same session completes.
    let mut ws = server.ws(&query).await;
    ws_send(&mut ws, "2probe").await;
    assert_eq!(ws_next(&mut ws).await, Got::Text("3probe".into()));
    ws_send(&mut ws, "5").await;
    assert_ws_echo(&mut ws, "second try").await;
    assert_eq!(server.session(&sid).transport(), TransportKind::WebSocket);
}
