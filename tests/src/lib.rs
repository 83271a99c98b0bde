//! End-to-end tests across the sio crates, and the small harness they share.
//!
//! The [`conformance`] module starts a Socket.IO server process that follows the official
//! conformance-suite contract (the Rust `sio-conformance-server` binary of this crate, or
//! the Node reference server in `tests/interop/conformance-server.js`) and talks to it
//! with raw HTTP/1.1 long-polling and raw WebSocket. It deliberately does not use
//! `sio-protocol`: it is an independent check of the wire format.
//!
//! | module | what the crates' tests take from it |
//! |---|---|
//! | [`conformance`] | the official suites' cases against a server process |
//! | [`http`] | a raw HTTP/1.1 client |
//! | [`node`] | Node scripts and peers of the real npm packages |
//! | [`wait`] | bounded waits for a condition |
//! | [`server_process`] | the process contract of the test server binaries |
//! | `docs` | the README and the guides, as doctests |
#![deny(missing_docs)]
// This crate is test support: a panic is how a check fails, with a message saying which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The README's example and the Rust blocks of the crate guides in `docs/guides/`,
/// compiled and run as doctests of this crate, so that none of them can rot. They live
/// here, with the rest of the test support, rather than in a crate they only use.
#[cfg(doctest)]
pub mod docs {
    #[doc = include_str!("../../README.md")]
    pub struct Readme;
    #[doc = include_str!("../../docs/guides/sio-types.md")]
    pub struct SioTypes;
    #[doc = include_str!("../../docs/guides/sio-protocol.md")]
    pub struct SioProtocol;
    #[doc = include_str!("../../docs/guides/sio-adapter-redis.md")]
    pub struct SioAdapterRedis;
    #[doc = include_str!("../../docs/guides/sio-engine.md")]
    pub struct SioEngine;
    #[doc = include_str!("../../docs/guides/sio-server.md")]
    pub struct SioServer;
    #[doc = include_str!("../../docs/guides/sio-client.md")]
    pub struct SioClient;
    #[doc = include_str!("../../docs/guides/sio-demo.md")]
    pub struct SioDemo;
}

pub mod server_process {
    //! The process contract of the test server binaries (`src/bin/*.rs`), which
    //! [`conformance::Server`](crate::conformance::Server) drives: env `PORT` (0 = a free
    //! port), `LISTENING <port>` on stdout once ready, exit when stdin closes, logs
    //! (`RUST_LOG`, `warn` by default) on stderr.

    use std::io::Read;
    use std::net::SocketAddr;

    /// Sets up logging to stderr and returns the address to listen on: `127.0.0.1` and
    /// the port of env `PORT` (3000 when unset).
    pub fn init() -> SocketAddr {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .init();
        let port: u16 = std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(3000);
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Prints `LISTENING <port>`, then exits the process once stdin closes: the test
    /// harness holds it open, and when it goes away nobody is left to serve.
    pub fn listening(port: u16) {
        println!("LISTENING {port}");
        std::thread::spawn(|| {
            let mut buf = [0u8; 64];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            std::process::exit(0);
        });
    }
}

pub mod conformance;
pub mod http;
pub mod node;
pub mod wait;
