//! Engine.IO v4 conformance: every case of the official engine.io-protocol test suite
//! (`main`, EIO=4) and of the "Engine.IO protocol" half of the socket.io-protocol suite,
//! against the server chosen by `SIO_CONFORMANCE_SERVER` (see `sio_tests::conformance`).
//!
//! The engine.io suite runs against a bare echo server; the contract here is a socket.io
//! server, so the message cases carry socket.io packets (`42["message",..]` is echoed as
//! `42["message-back",..]`) instead of `4hello`, and a session connects to `/` before it
//! exchanges messages: what they check — payload framing with the 0x1e separator,
//! `b`-prefixed base64 binary, binary WebSocket frames — is the same.
//!
//! The cases are written once, in `sio_tests::conformance::engineio_cases`, and run here
//! in its socket.io dialect (`Dialect::SocketIo`); `conformance_engine_echo.rs` runs them
//! against the raw engine.io echo. Each case is a test of the same name;
//! docs/compatibility.md maps each upstream case to its test.

sio_tests::engineio_cases!(sio_tests::conformance_server!(), SocketIo);
