//! Client options: [`ClientConfig`], made with [`ClientConfig::builder`].

use std::time::Duration;

use http::Uri;
use sio_protocol::Limits;
use sio_protocol::socketio::Parser;
use sio_types::Value;

use crate::error::Error;

/// An engine.io transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

impl TransportKind {
    /// The name used in the `transport` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::Websocket => "websocket",
        }
    }
}

/// Everything a [`Manager`](crate::Manager) needs to connect, with socket.io-client's
/// defaults; made with [`ClientConfig::builder`], its fields are there to read.
///
/// ```
/// use sio_client::{ClientConfig, TransportKind};
///
/// let config = ClientConfig::builder("http://127.0.0.1:3000")
///     .transports([TransportKind::Websocket])
///     .build();
/// assert_eq!(config.path, "/socket.io/");
/// assert_eq!(config.transports, [TransportKind::Websocket]);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The server URL: `http://`, `https://`, `ws://` or `wss://` with host and port. A path
    /// other than `/` names the namespace of the first socket, as in socket.io-client.
    pub url: String,
    /// The engine.io path (`/socket.io/`).
    pub path: String,
    /// Extra query parameters sent with every engine.io request.
    pub query: Vec<(String, String)>,
    /// Extra HTTP headers sent with every request (polling requests and the WebSocket
    /// handshake).
    pub extra_headers: Vec<(String, String)>,
    /// The auth payload sent with each namespace CONNECT.
    pub auth: Option<Value>,
    /// Transports to use, in order; the first one opens the session. With polling first and
    /// websocket listed, the client upgrades as socket.io-client does.
    pub transports: Vec<TransportKind>,
    /// Whether to upgrade from polling to websocket when the server offers it.
    pub upgrade: bool,
    /// Whether [`Manager::socket`](crate::Manager::socket) (and so
    /// [`ClientHelperBuilder::build`](crate::helper::ClientHelperBuilder::build)) connects the socket at once (`true`,
    /// socket.io-client's `autoConnect`); with `false` nothing connects until
    /// [`Socket::connect`](crate::Socket::connect) or
    /// [`ClientHelper::connect`](crate::ClientHelper::connect).
    pub auto_connect: bool,
    /// Whether to reconnect after the connection is lost.
    pub reconnection: bool,
    /// How many reconnection attempts before giving up (`None`: unlimited).
    pub reconnection_attempts: Option<u32>,
    /// First reconnection delay (1 s); it doubles with each attempt.
    pub reconnection_delay: Duration,
    /// Largest reconnection delay (5 s).
    pub reconnection_delay_max: Duration,
    /// Jitter of the reconnection delay, 0 to 1 (0.5).
    pub randomization_factor: f64,
    /// How long opening the engine.io session may take (20 s).
    pub connect_timeout: Duration,
    /// Default timeout of acks, and of each try when [`retries`](Self::retries) is set
    /// (`None`: wait until the connection drops).
    pub ack_timeout: Option<Duration>,
    /// How many times an emit is retried until the server acknowledges it (0: no retries,
    /// emits are fire-and-forget).
    pub retries: u32,
    /// How many emits are kept per socket while disconnected, before emitting fails with
    /// [`Error::BufferFull`].
    pub max_buffered: usize,
    /// The socket.io parser: default, or msgpack (feature `msgpack`).
    pub parser: Parser,
    /// Decoder limits for what the server sends.
    pub limits: Limits,
    /// The TLS settings of `https://` / `wss://` connections (`None`: the webpki roots).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl ClientConfig {
    /// A builder for `url` with socket.io-client's defaults.
    pub fn builder(url: impl Into<String>) -> ClientConfigBuilder {
        ClientConfigBuilder {
            config: ClientConfig {
                url: url.into(),
                path: "/socket.io/".into(),
                query: Vec::new(),
                extra_headers: Vec::new(),
                auth: None,
                transports: vec![TransportKind::Polling, TransportKind::Websocket],
                upgrade: true,
                auto_connect: true,
                reconnection: true,
                reconnection_attempts: None,
                reconnection_delay: Duration::from_secs(1),
                reconnection_delay_max: Duration::from_secs(5),
                randomization_factor: 0.5,
                connect_timeout: Duration::from_secs(20),
                ack_timeout: None,
                retries: 0,
                max_buffered: 1024,
                parser: Parser::default(),
                limits: Limits::default(),
                #[cfg(feature = "tls")]
                tls: None,
            },
        }
    }

    /// A builder starting from these options.
    pub fn into_builder(self) -> ClientConfigBuilder {
        ClientConfigBuilder { config: self }
    }
}

/// Builds a [`ClientConfig`]: every setter starts from socket.io-client's defaults.
///
/// ```
/// use std::time::Duration;
/// use sio_client::{ClientConfig, TransportKind};
///
/// let config = ClientConfig::builder("http://127.0.0.1:3000")
///     .transports([TransportKind::Websocket])
///     .query("token", "abc")
///     .reconnection_delay(Duration::from_millis(200))
///     .retries(3)
///     .ack_timeout(Duration::from_secs(1))
///     .build();
/// assert_eq!(config.retries, 3);
/// assert_eq!(config.reconnection_delay_max, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfigBuilder {
    config: ClientConfig,
}

impl ClientConfigBuilder {
    /// Sets the engine.io path.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.config.path = path.into();
        self
    }
    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.query.push((key.into(), value.into()));
        self
    }
    /// Adds an HTTP header.
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.extra_headers.push((name.into(), value.into()));
        self
    }
    /// Sets the auth payload of namespace CONNECTs.
    pub fn auth(mut self, auth: impl Into<Value>) -> Self {
        self.config.auth = Some(auth.into());
        self
    }
    /// Sets the transports, in order of use.
    pub fn transports(mut self, transports: impl IntoIterator<Item = TransportKind>) -> Self {
        self.config.transports = transports.into_iter().collect();
        self
    }
    /// Enables or disables the polling → websocket upgrade.
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.config.upgrade = upgrade;
        self
    }
    /// Whether sockets connect as soon as they are created (socket.io-client's
    /// `autoConnect`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::{ClientConfig, Manager};
    ///
    /// let config = ClientConfig::builder("http://127.0.0.1:3000").auto_connect(false).build();
    /// let manager = Manager::new(config)?;
    /// let socket = manager.socket("/"); // not connecting yet
    /// socket.on("news", |ev| println!("{:?}", ev.args));
    /// socket.connect(); // now
    /// # Ok(()) }
    /// ```
    pub fn auto_connect(mut self, auto_connect: bool) -> Self {
        self.config.auto_connect = auto_connect;
        self
    }
    /// Enables or disables reconnection.
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.config.reconnection = reconnection;
        self
    }
    /// Limits the reconnection attempts.
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.config.reconnection_attempts = Some(attempts);
        self
    }
    /// Sets the first reconnection delay.
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.config.reconnection_delay = delay;
        self
    }
    /// Sets the largest reconnection delay.
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.config.reconnection_delay_max = delay;
        self
    }
    /// Sets the jitter factor (clamped to 0..=1).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.config.randomization_factor = factor.clamp(0.0, 1.0);
        self
    }
    /// Sets the session-opening timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }
    /// Sets the default ack timeout.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.config.ack_timeout = Some(timeout);
        self
    }
    /// Sets the number of retries of each emit (at-least-once delivery).
    pub fn retries(mut self, retries: u32) -> Self {
        self.config.retries = retries;
        self
    }
    /// Sets how many emits are buffered while disconnected.
    pub fn max_buffered(mut self, max: usize) -> Self {
        self.config.max_buffered = max;
        self
    }
    /// Sets the parser.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.config.parser = parser;
        self
    }
    /// Sets the decoder limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Uses these TLS settings (own root certificates, client certificates, ...) instead of
    /// the webpki roots.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.config.tls = Some(config);
        self
    }

    /// TLS settings trusting the webpki roots plus the PEM certificates in `pem` (a private
    /// CA, a self-signed test server).
    ///
    /// ```
    /// let err = sio_client::ClientConfig::builder("https://localhost").add_root_certificates_pem(b"junk");
    /// assert!(err.is_err());
    /// ```
    #[cfg(feature = "tls")]
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let mut roots = webpki_root_store();
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::Config(format!("invalid PEM certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("unusable root certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::Config("no certificate in the PEM data".into()));
        }
        self.config.tls = Some(tls_with_roots(roots)?);
        Ok(self)
    }

    /// The options.
    pub fn build(self) -> ClientConfig {
        self.config
    }
}

impl ClientConfig {
    /// Checks the URL and returns where to connect.
    pub(crate) fn endpoint(&self) -> Result<Endpoint, Error> {
        let uri: Uri = self
            .url
            .parse()
            .map_err(|e| Error::Config(format!("invalid url {:?}: {e}", self.url)))?;
        let secure = match uri.scheme_str() {
            Some("http") | Some("ws") => false,
            Some("https") | Some("wss") => true,
            other => {
                return Err(Error::Config(format!(
                    "url {:?} has scheme {other:?}, expected http, https, ws or wss",
                    self.url
                )));
            }
        };
        if secure && !cfg!(feature = "tls") {
            return Err(Error::Config(format!(
                "url {:?} needs TLS: enable the `tls` feature of sio-client",
                self.url
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| Error::Config(format!("url {:?} has no host", self.url)))?
            .to_string();
        let nsp = match uri.path() {
            "" | "/" => "/".to_owned(),
            p => p.trim_end_matches('/').to_owned(),
        };
        if self.transports.is_empty() {
            return Err(Error::Config("no transport enabled".into()));
        }
        let mut path = self.path.clone();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Endpoint {
            secure,
            authority,
            path,
            nsp,
            query: self.query.clone(),
            headers: self.extra_headers.clone(),
            #[cfg(feature = "tls")]
            tls: match (&self.tls, secure) {
                (Some(tls), true) => Some(tls.clone()),
                (None, true) => Some(tls_with_roots(webpki_root_store())?),
                (_, false) => None,
            },
        })
    }
}

#[cfg(feature = "tls")]
fn webpki_root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// A client config on the ring provider, chosen explicitly so that an application that
/// also links another rustls provider does not make the process default ambiguous.
#[cfg(feature = "tls")]
fn tls_with_roots(
    roots: rustls::RootCertStore,
) -> Result<std::sync::Arc<rustls::ClientConfig>, Error> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS settings: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// Where and how to reach the server, derived from a [`ClientConfig`].
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) secure: bool,
    pub(crate) authority: String,
    pub(crate) path: String,
    pub(crate) nsp: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Endpoint {
    /// The engine.io URL for `transport`, with the session id once there is one.
    pub(crate) fn url(&self, transport: TransportKind, sid: Option<&str>) -> String {
        let scheme = match (transport, self.secure) {
            (TransportKind::Polling, false) => "http",
            (TransportKind::Polling, true) => "https",
            (TransportKind::Websocket, false) => "ws",
            (TransportKind::Websocket, true) => "wss",
        };
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            q.append_pair(k, v);
        }
        q.append_pair("EIO", "4");
        q.append_pair("transport", transport.as_str());
        if let Some(sid) = sid {
            q.append_pair("sid", sid);
        }
        format!("{scheme}://{}{}?{}", self.authority, self.path, q.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        let ep = ClientConfig::builder("http://localhost:3000/chat")
            .query("a b", "c&d")
            .path("io")
            .build()
            .endpoint()
            .unwrap();
        assert_eq!(ep.nsp, "/chat");
        assert_eq!(
            ep.url(TransportKind::Websocket, Some("x")),
            "ws://localhost:3000/io/?a+b=c%26d&EIO=4&transport=websocket&sid=x"
        );
        let config = |url: &str| ClientConfig::builder(url);
        assert!(config("ftp://x").build().endpoint().is_err());
        assert!(config("not a url").build().endpoint().is_err());
        assert!(
            config("http://x")
                .transports([])
                .build()
                .endpoint()
                .is_err()
        );
    }
}
