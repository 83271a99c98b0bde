//! [`ServerHelperBuilder`]: the helper's options (the seed's constructor arguments) and
//! the server options it passes on.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use dashmap::DashMap;
use sio_types::{Handshake, constants};

use super::flow::Inner;
use super::{
    Attachment, AuthenticateFn, BoxError, ClientConnectedFn, HelperError, RoomLimits, ServerHelper,
    ValidateRoomFn,
};
use crate::io::SocketIoBuilder;
use crate::socket::Socket;

pub(super) struct Options {
    pub(super) identifier: String,
    pub(super) attachment: Attachment,
    #[cfg(feature = "redis")]
    pub(super) redis: Option<sio_adapter_redis::RedisConfig>,
    pub(super) authenticate: AuthenticateFn,
    pub(super) validate_room: Option<ValidateRoomFn>,
    pub(super) client_connected: Option<ClientConnectedFn>,
    pub(super) authenticate_timeout: Duration,
    pub(super) ping_interval: Duration,
    pub(super) default_rooms: Vec<String>,
    pub(super) room_limits: RoomLimits,
}

/// Builds a [`ServerHelper`]; see the [helper module](super) for an example.
pub struct ServerHelperBuilder {
    identifier: String,
    attachment: Attachment,
    #[cfg(feature = "redis")]
    redis: Option<sio_adapter_redis::RedisConfig>,
    authenticate: Option<AuthenticateFn>,
    validate_room: Option<ValidateRoomFn>,
    client_connected: Option<ClientConnectedFn>,
    authenticate_timeout: Duration,
    ping_interval: Duration,
    default_rooms: Vec<String>,
    room_limits: RoomLimits,
    server: SocketIoBuilder,
}

impl std::fmt::Debug for ServerHelperBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHelperBuilder")
            .field("identifier", &self.identifier)
            .field("attachment", &self.attachment)
            .field("authenticate_timeout", &self.authenticate_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("default_rooms", &self.default_rooms)
            .finish_non_exhaustive()
    }
}

impl ServerHelperBuilder {
    /// The seed's defaults ([`ServerHelper::builder`]).
    pub(super) fn with_seed_defaults() -> Self {
        ServerHelperBuilder {
            identifier: "socket-io-server".into(),
            attachment: Attachment::default(),
            #[cfg(feature = "redis")]
            redis: None,
            authenticate: None,
            validate_room: None,
            client_connected: None,
            authenticate_timeout: constants::AUTHENTICATE_TIMEOUT,
            ping_interval: constants::PING_INTERVAL,
            default_rooms: constants::room::DEFAULTS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            room_limits: RoomLimits::default(),
            server: crate::SocketIo::builder(),
        }
    }

    /// A name for logs: every span of the helper carries it.
    pub fn identifier(mut self, id: impl Into<String>) -> Self {
        self.identifier = id.into();
        self
    }

    /// How the endpoint is served (default [`Attachment::Layer`]).
    pub fn attachment(mut self, a: Attachment) -> Self {
        self.attachment = a;
        self
    }

    /// Shorthand for `attachment(Attachment::Listen(addr))`.
    pub fn listen(self, addr: SocketAddr) -> Self {
        self.attachment(Attachment::Listen(addr))
    }

    /// Cluster mode through Redis at `url` (key prefix `socket.io`, Node's default). The
    /// URL also picks the adapter, `?adapter=classic` (the default), `sharded`, `streams`,
    /// ..., and with several comma-separated hosts a Redis Cluster: see
    /// [`RedisConfig::builder`](sio_adapter_redis::RedisConfig::builder).
    #[cfg(feature = "redis")]
    pub fn redis_url(self, url: impl Into<String>) -> Self {
        self.redis(sio_adapter_redis::RedisConfig::builder(url).build())
    }

    /// Cluster mode through Redis with this configuration (its connect timeout bounds
    /// how long `configure` waits for each of the three connections).
    #[cfg(feature = "redis")]
    pub fn redis(mut self, config: sio_adapter_redis::RedisConfig) -> Self {
        self.redis = Some(config);
        self
    }

    /// The authenticate check (required). A panic counts as a refusal.
    pub fn authenticate<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Handshake) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.authenticate = Some(Arc::new(move |hs| Box::pin(f(hs))));
        self
    }

    /// Which of the rooms a `join` / `leave` request names are allowed. Without it, no
    /// room request is granted (only the default rooms are joined). An error or a panic
    /// grants nothing and is logged.
    pub fn validate_room<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Socket, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<String>, BoxError>> + Send + 'static,
    {
        self.validate_room = Some(Arc::new(move |s, r| Box::pin(f(s, r))));
        self
    }

    /// Called once a client is authenticated (after `authenticated` was sent); its errors
    /// and panics are logged.
    pub fn client_connected<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.client_connected = Some(Arc::new(move |s| Box::pin(f(s))));
        self
    }

    /// How long a client may stay unauthenticated (default 10 s).
    pub fn authenticate_timeout(mut self, d: Duration) -> Self {
        self.authenticate_timeout = d;
        self
    }

    /// The interval of the heartbeat `ping` event (default 30 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.ping_interval = d.max(Duration::from_millis(1));
        self
    }

    /// Rooms every authenticated client joins (default `io-default`, `io-notification`).
    pub fn default_rooms(mut self, rooms: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.default_rooms = rooms.into_iter().map(Into::into).collect();
        self
    }

    /// Limits on `join` / `leave` requests.
    pub fn room_limits(mut self, l: RoomLimits) -> Self {
        self.room_limits = l;
        self
    }

    /// Pass-through socket.io server options (path, engine.io ping, payload size, parser,
    /// ...). The adapter is the helper's business and is set by `configure`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = sio_server::helper::ServerHelper::builder()
    ///     .server_options(|s| s.ping_timeout(Duration::from_secs(5)).max_payload(64_000));
    /// # drop(b);
    /// ```
    pub fn server_options(mut self, f: impl FnOnce(SocketIoBuilder) -> SocketIoBuilder) -> Self {
        self.server = f(self.server);
        self
    }

    /// Builds the helper; fails without an `authenticate` function.
    pub fn build(self) -> Result<ServerHelper, HelperError> {
        let authenticate = self.authenticate.ok_or(HelperError::MissingAuthenticate)?;
        let span = tracing::info_span!("sio_helper", id = %self.identifier);
        let inner = Arc::new(Inner {
            opts: Options {
                identifier: self.identifier,
                attachment: self.attachment,
                #[cfg(feature = "redis")]
                redis: self.redis,
                authenticate,
                validate_room: self.validate_room,
                client_connected: self.client_connected,
                authenticate_timeout: self.authenticate_timeout,
                ping_interval: self.ping_interval,
                default_rooms: self.default_rooms,
                room_limits: self.room_limits,
            },
            server: Mutex::new(Some(self.server)),
            running: RwLock::new(None),
            listener: Mutex::new(None),
            registry: DashMap::new(),
            counters: Arc::default(),
            timers: Mutex::new(None),
            configured: AtomicBool::new(false),
            shut: AtomicBool::new(false),
            span,
        });
        Ok(ServerHelper { inner })
    }
}
