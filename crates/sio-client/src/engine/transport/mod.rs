//! The two engine.io transports.

pub(crate) mod polling;
pub(crate) mod websocket;
