//! Engine options: Node engine.io's server options that make sense in Rust.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderName, Method, StatusCode};

/// The transports a server accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transports {
    /// HTTP long-polling and WebSocket, with upgrade (the default).
    #[default]
    Both,
    /// HTTP long-polling only.
    Polling,
    /// WebSocket only.
    Websocket,
}

impl Transports {
    pub(crate) fn polling(self) -> bool {
        matches!(self, Transports::Both | Transports::Polling)
    }

    pub(crate) fn websocket(self) -> bool {
        matches!(self, Transports::Both | Transports::Websocket)
    }
}

/// A handshake refused by [`EngineConfigBuilder::allow_request`]: the HTTP status and the
/// message of engine.io's error body (`{"code":4,"message":...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (engine.io answers 403 by default).
    pub status: StatusCode,
    /// The message of the JSON body.
    pub message: String,
}

impl Refusal {
    /// A 403 with `message`, as engine.io answers a refused `allowRequest`.
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type AllowRequestFn = dyn Fn(&Parts) -> BoxFuture<Result<(), Refusal>> + Send + Sync;

/// The `allowRequest` hook: called with the head of every handshake request.
#[derive(Clone)]
pub(crate) struct AllowRequest(Arc<AllowRequestFn>);

impl AllowRequest {
    pub(crate) fn check(&self, parts: &Parts) -> BoxFuture<Result<(), Refusal>> {
        (self.0)(parts)
    }
}

/// The `io` cookie (engine.io's `cookie` option), set on every handshake response so a
/// load balancer can keep a client's requests on one server (sticky sessions). Its value
/// is the session id. `Cookie::default()` is engine.io's `cookie: true`.
///
/// ```
/// let cookie = sio_engine::Cookie { name: "sticky".into(), ..Default::default() };
/// assert_eq!(cookie.header_value("abc"), "sticky=abc; Path=/; HttpOnly; SameSite=Lax");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name (`io`).
    pub name: String,
    /// `Path` attribute (`/`); `None` leaves it out (and `HttpOnly` with it, as engine.io).
    pub path: Option<String>,
    /// `HttpOnly` (true).
    pub http_only: bool,
    /// `SameSite` attribute (`Lax`); `None` leaves it out.
    pub same_site: Option<String>,
    /// `Secure` (false).
    pub secure: bool,
    /// `Max-Age`, in seconds; `None` for a session cookie.
    pub max_age: Option<u64>,
}

impl Default for Cookie {
    fn default() -> Self {
        Cookie {
            name: "io".into(),
            path: Some("/".into()),
            http_only: true,
            same_site: Some("Lax".into()),
            secure: false,
            max_age: None,
        }
    }
}

impl Cookie {
    /// The `Set-Cookie` value for session `sid`.
    pub fn header_value(&self, sid: &str) -> String {
        let mut v = format!("{}={}", self.name, sid);
        if let Some(age) = self.max_age {
            v.push_str(&format!("; Max-Age={age}"));
        }
        if let Some(path) = &self.path {
            v.push_str("; Path=");
            v.push_str(path);
            if self.http_only {
                v.push_str("; HttpOnly");
            }
        }
        if self.secure {
            v.push_str("; Secure");
        }
        if let Some(s) = &self.same_site {
            v.push_str("; SameSite=");
            v.push_str(s);
        }
        v
    }
}

/// Which origins [`Cors`] allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigin {
    /// Any origin (`Access-Control-Allow-Origin: *`; the request's origin when
    /// `credentials` is set, since browsers refuse `*` with credentials).
    Any,
    /// These origins only (`https://example.com`).
    List(Vec<String>),
}

/// Cross-origin resource sharing for the engine's requests (Node's `cors` option, which
/// socket.io hands to the `cors` package), preflights included. Applied by the engine
/// itself, so it works in the own-listener mode as well as under axum.
///
/// ```
/// use sio_engine::config::{Cors, CorsOrigin};
/// let cors = Cors {
///     origin: CorsOrigin::List(vec!["https://app.example".into()]),
///     credentials: true,
///     ..Cors::default()
/// };
/// # drop(cors);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins (any).
    pub origin: CorsOrigin,
    /// `Access-Control-Allow-Credentials` (false).
    pub credentials: bool,
    /// Allowed methods (the `cors` package's default: GET, HEAD, PUT, PATCH, POST, DELETE).
    pub methods: Vec<Method>,
    /// Allowed request headers; `None` (the default) allows those the preflight asks for.
    pub allowed_headers: Option<Vec<HeaderName>>,
    /// Headers exposed to the page.
    pub exposed_headers: Vec<HeaderName>,
    /// How long a preflight answer may be cached.
    pub max_age: Option<Duration>,
}

impl Default for Cors {
    fn default() -> Self {
        Cors {
            origin: CorsOrigin::Any,
            credentials: false,
            methods: vec![
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::PATCH,
                Method::POST,
                Method::DELETE,
            ],
            allowed_headers: None,
            exposed_headers: Vec::new(),
            max_age: None,
        }
    }
}

impl Cors {
    /// tower-http's layer for these options. Never panics: the combinations tower-http
    /// refuses (a wildcard with credentials) are turned into mirroring the request.
    pub(crate) fn layer(&self) -> tower_http::cors::CorsLayer {
        use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
        let origin = match (&self.origin, self.credentials) {
            (CorsOrigin::Any, false) => AllowOrigin::any(),
            (CorsOrigin::Any, true) => AllowOrigin::mirror_request(),
            (CorsOrigin::List(list), _) => AllowOrigin::list(
                list.iter()
                    .filter_map(|o| http::HeaderValue::from_str(o).ok()),
            ),
        };
        let headers = match &self.allowed_headers {
            None => AllowHeaders::mirror_request(),
            Some(h) => AllowHeaders::list(h.iter().cloned()),
        };
        let mut layer = CorsLayer::new()
            .allow_origin(origin)
            .allow_methods(self.methods.clone())
            .allow_headers(headers)
            .allow_credentials(self.credentials);
        if !self.exposed_headers.is_empty() {
            layer = layer.expose_headers(self.exposed_headers.clone());
        }
        if let Some(age) = self.max_age {
            layer = layer.max_age(age);
        }
        layer
    }
}

/// Every option of an engine. Built with [`EngineConfig::builder`].
#[derive(Clone)]
pub struct EngineConfig {
    /// The HTTP path (`/engine.io/`; sio-server uses `/socket.io/`).
    pub path: Cow<'static, str>,
    /// Time between PINGs, the first one after the handshake included (25 s).
    pub ping_interval: Duration,
    /// How long a PING may go unanswered before the session closes (20 s).
    pub ping_timeout: Duration,
    /// How long a transport upgrade may take (10 s).
    pub upgrade_timeout: Duration,
    /// Largest message, WebSocket frame or polling body accepted, in bytes (engine.io's
    /// `maxHttpBufferSize`, 1 MB).
    pub max_payload: u64,
    /// Transports accepted.
    pub transports: Transports,
    /// Whether polling sessions may upgrade to WebSocket (true).
    pub allow_upgrades: bool,
    pub(crate) allow_request: Option<AllowRequest>,
    /// The sticky-session cookie (none).
    pub cookie: Option<Cookie>,
    /// CORS (none: no CORS headers, preflights answered as any other request).
    pub cors: Option<Cors>,
    /// Polling responses of at least this many bytes are compressed (gzip or deflate, as
    /// the client accepts); `None` turns it off. 1 KiB by default, as engine.io.
    pub http_compression: Option<usize>,
    /// Most bytes queued per session before [`Session::send`](crate::Session::send)
    /// refuses (8 MiB). One packet larger than this still goes out when nothing is queued.
    pub max_buffered_bytes: usize,
    /// Most packets queued per session before `send` refuses (16,384).
    pub max_buffered_packets: usize,
    /// Read buffer of each WebSocket connection, in bytes (1 KiB). Each connection keeps
    /// it for its lifetime; larger frames still arrive whole, in more reads.
    pub ws_read_buffer_size: usize,
    /// A session closes (`forced close`) when it stays idle this long (see
    /// [`Session::set_idle`](crate::Session::set_idle)); none by default. Sessions start
    /// idle: sio-server uses this as socket.io's `connectTimeout`.
    pub idle_timeout: Option<Duration>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("allow_request", &self.allow_request.is_some())
            .field("cookie", &self.cookie)
            .field("cors", &self.cors)
            .field("http_compression", &self.http_compression)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_buffered_packets", &self.max_buffered_packets)
            .field("ws_read_buffer_size", &self.ws_read_buffer_size)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: Cow::Borrowed("/engine.io/"),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: Transports::Both,
            allow_upgrades: true,
            allow_request: None,
            cookie: None,
            cors: None,
            http_compression: Some(1024),
            max_buffered_bytes: 8 * 1024 * 1024,
            max_buffered_packets: 16_384,
            ws_read_buffer_size: 1024,
            idle_timeout: None,
        }
    }
}

impl EngineConfig {
    /// A builder with engine.io's defaults.
    pub fn builder() -> EngineConfigBuilder {
        EngineConfigBuilder {
            config: EngineConfig::default(),
        }
    }

    /// A builder starting from these options.
    pub fn into_builder(self) -> EngineConfigBuilder {
        EngineConfigBuilder { config: self }
    }

    pub(crate) fn max_payload_usize(&self) -> usize {
        usize::try_from(self.max_payload).unwrap_or(usize::MAX)
    }
}

/// Builds an [`EngineConfig`].
///
/// ```
/// use std::time::Duration;
/// use sio_engine::{EngineConfig, Refusal};
///
/// let config = EngineConfig::builder()
///     .path("/engine.io/")
///     .ping_interval(Duration::from_secs(10))
///     .allow_request(|req| {
///         let ok = req.headers.contains_key("x-token");
///         async move { if ok { Ok(()) } else { Err(Refusal::forbidden("no token")) } }
///     })
///     .build();
/// assert_eq!(config.ping_interval, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug)]
pub struct EngineConfigBuilder {
    config: EngineConfig,
}

impl EngineConfigBuilder {
    /// The HTTP path (default `/engine.io/`).
    pub fn path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.config.path = path.into();
        self
    }
    /// Time between PINGs (default 25 s).
    pub fn ping_interval(mut self, d: Duration) -> Self {
        self.config.ping_interval = d;
        self
    }
    /// How long a PING may go unanswered (default 20 s).
    pub fn ping_timeout(mut self, d: Duration) -> Self {
        self.config.ping_timeout = d;
        self
    }
    /// How long an upgrade may take (default 10 s).
    pub fn upgrade_timeout(mut self, d: Duration) -> Self {
        self.config.upgrade_timeout = d;
        self
    }
    /// Largest message or polling body, in bytes (default 1 MB).
    pub fn max_payload(mut self, bytes: u64) -> Self {
        self.config.max_payload = bytes;
        self
    }
    /// Transports accepted (default both).
    pub fn transports(mut self, t: Transports) -> Self {
        self.config.transports = t;
        self
    }
    /// Whether polling sessions may upgrade to WebSocket (default true).
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.config.allow_upgrades = allow;
        self
    }
    /// Decides on every handshake: `Err` refuses it with the refusal's status and an
    /// engine.io error body (`{"code":4,"message":...}`). Requests of open sessions are
    /// not checked again, as in engine.io.
    pub fn allow_request<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Refusal>> + Send + 'static,
    {
        self.config.allow_request = Some(AllowRequest(Arc::new(move |p| Box::pin(f(p)))));
        self
    }
    /// Sets the sticky-session cookie (default none).
    pub fn cookie(mut self, cookie: Cookie) -> Self {
        self.config.cookie = Some(cookie);
        self
    }
    /// Turns on CORS (default off).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.config.cors = Some(cors);
        self
    }
    /// Compression threshold of polling responses; `None` turns it off (default 1 KiB).
    pub fn http_compression(mut self, threshold: Option<usize>) -> Self {
        self.config.http_compression = threshold;
        self
    }
    /// Most bytes queued per session (default 8 MiB, at least 1).
    pub fn max_buffered_bytes(mut self, n: usize) -> Self {
        self.config.max_buffered_bytes = n.max(1);
        self
    }
    /// Most packets queued per session (default 16,384, at least 1).
    pub fn max_buffered_packets(mut self, n: usize) -> Self {
        self.config.max_buffered_packets = n.max(1);
        self
    }
    /// Read buffer of each WebSocket connection (default 1 KiB, at least 256 bytes).
    pub fn ws_read_buffer_size(mut self, bytes: usize) -> Self {
        self.config.ws_read_buffer_size = bytes.max(256);
        self
    }
    /// Closes sessions idle this long (default: never).
    pub fn idle_timeout(mut self, d: Option<Duration>) -> Self {
        self.config.idle_timeout = d;
        self
    }
    /// The options.
    pub fn build(self) -> EngineConfig {
        self.config
    }
}
