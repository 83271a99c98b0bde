//! Engine.IO v4 conformance of sio-engine on its own: every case of the official
//! engine.io-protocol test suite (`main`, EIO=4) as it is, against the raw echo server it
//! was written for (`sio-engine-echo`, path `/engine.io/`): `4hello` comes back as
//! `4hello`, a binary frame as the same binary frame.
//!
//! The cases are written once, in `sio_tests::conformance::engineio_cases`, and run here
//! in the raw echo's dialect (`Dialect::EngineEcho`): nothing sits on top of the engine,
//! so the message cases send upstream's own packets. `conformance_engineio.rs` runs the
//! same cases through a socket.io server. As there, the harness is stricter than upstream
//! where upstream races (the second request of the duplicate-poll and forced-close cases
//! waits for the first to be at the server; the upgrade cases check traffic on the
//! WebSocket before the stale request) and answers a PING that lands inside a sequence
//! only when it was due (`Heartbeat` in `sio_tests::conformance`).

sio_tests::engineio_cases!(sio_tests::engine_echo_server!(), EngineEcho);
