//! The names and numbers the server and client helpers agree on.
//!
//! They match the seed's `SocketIOConstants` and internal defaults, so a Node client written
//! against the TypeScript helper talks to a Rust server unchanged, and the other way round.

use std::time::Duration;

/// Event names of the authenticate / rooms / heartbeat flow.
pub mod event {
    /// Heartbeat event the server emits every ping interval, with `{time}` (ISO 8601).
    pub const PING: &str = "ping";
    /// Server-side connection event.
    pub const CONNECT: &str = "connection";
    /// Disconnect event, on both sides.
    pub const DISCONNECT: &str = "disconnect";
    /// Client → server: join rooms, with `{rooms: [..]}`.
    pub const JOIN: &str = "join";
    /// Client → server: leave rooms, with `{rooms: [..]}`.
    pub const LEAVE: &str = "leave";
    /// Client → server: start the authenticate check.
    pub const AUTHENTICATE: &str = "authenticate";
    /// Server → client: authentication succeeded, with `{id, time}`.
    pub const AUTHENTICATED: &str = "authenticated";
    /// Server → client: authentication failed; the server disconnects right after.
    pub const UNAUTHENTICATED: &str = "unauthenticated";
}

/// Rooms every authenticated client joins.
pub mod room {
    /// The default room.
    pub const DEFAULT: &str = "io-default";
    /// The default notification room.
    pub const NOTIFICATION: &str = "io-notification";
    /// Both default rooms, in the order they are joined.
    pub const DEFAULTS: [&str; 2] = [DEFAULT, NOTIFICATION];
}

/// How long a client may stay unauthenticated before the server disconnects it (10 s).
pub const AUTHENTICATE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the server emits the `ping` event to an authenticated client (30 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Event names socket.io reserves for itself: emitting one is refused, as in socket.io.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `event` is one of socket.io's [`RESERVED_EVENTS`].
///
/// ```
/// assert!(sio_types::constants::is_reserved_event("disconnect"));
/// assert!(!sio_types::constants::is_reserved_event("message"));
/// ```
pub fn is_reserved_event(event: &str) -> bool {
    RESERVED_EVENTS.contains(&event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_values() {
        assert_eq!(AUTHENTICATE_TIMEOUT.as_millis(), 10_000);
        assert_eq!(PING_INTERVAL.as_millis(), 30_000);
        assert_eq!(room::DEFAULTS, ["io-default", "io-notification"]);
        assert_eq!(event::UNAUTHENTICATED, "unauthenticated");
        assert_eq!(event::CONNECT, "connection");
        assert!(is_reserved_event("connect_error"));
        assert!(!is_reserved_event("connection"));
    }
}
