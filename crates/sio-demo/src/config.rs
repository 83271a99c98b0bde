//! Command-line flags and environment variables.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The demo's whole configuration; every flag can also come from the environment
/// variable named next to it (the flag wins).
///
/// ```
/// use clap::Parser;
/// use sio_demo::Config;
///
/// let config = Config::try_parse_from(["sio-demo", "--port", "0", "--auth-tokens", "a,b"]).unwrap();
/// assert_eq!(config.auth_tokens, ["a", "b"]);
/// assert!(config.admin_token.is_none());
/// ```
#[derive(Debug, Clone, Parser)]
#[command(
    name = "sio-demo",
    version,
    // `--help` says what the demo is, not this type's rustdoc (clap's default long help).
    long_about = None,
    about = "A ready-to-run sio server: a browser page at /, socket.io at /socket.io/, an admin HTTP API under /api/",
    after_help = "Open http://HOST:PORT/ in a browser and log in with one of the AUTH_TOKENS.\n\
                  Rooms whose name starts with `private-` are refused.\n\
                  The HTTP API (GET /api/clients, POST /api/send) needs ADMIN_TOKEN; without it the API is off.\n\
                  GET /healthz always answers."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free one; the chosen address is printed).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// Redis URL. Unset: one process, in-memory adapter. Set: this process joins a cluster
    /// through the Redis adapter (`send` goes through the Redis emitter with the classic
    /// adapter, through the adapter otherwise). Several comma-separated hosts: a Redis
    /// Cluster (`redis://h1:7000,h2:7001`).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Which Redis adapter: `classic` (Node's `createAdapter`), `sharded`
    /// (`createShardedAdapter`, Redis 7), `streams` (`@socket.io/redis-streams-adapter`:
    /// nothing lost through a Redis blip, connection state recovery across processes), or
    /// `sharded-static`, `sharded-dynamic-private`, `streams-sharded`. Overrides an
    /// `?adapter=` in the URL.
    #[arg(long, env = "REDIS_ADAPTER")]
    pub redis_adapter: Option<sio_adapter_redis::Mode>,

    /// Prefix of the Redis channels; processes share a cluster only with the same prefix
    /// (`socket.io` is the Node adapter's default, so Node servers can join).
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "socket.io")]
    pub redis_key_prefix: String,

    /// Comma-separated tokens accepted in the handshake's `auth.token`.
    #[arg(
        long,
        env = "AUTH_TOKENS",
        value_delimiter = ',',
        default_value = "demo",
        hide_env_values = true
    )]
    pub auth_tokens: Vec<String>,

    /// Milliseconds a client has to authenticate before it is disconnected.
    #[arg(long, env = "AUTH_TIMEOUT_MS", default_value_t = 10_000)]
    pub auth_timeout_ms: u64,

    /// Milliseconds between two heartbeat `ping` events to an authenticated client.
    #[arg(long, env = "PING_INTERVAL_MS", default_value_t = 30_000)]
    pub ping_interval_ms: u64,

    /// Bearer token for the HTTP API. Unset: the API answers 404 to everything.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Opens the official Socket.IO Admin UI: the `/admin` namespace (user `admin`,
    /// password ADMIN_TOKEN, which must be set) and the page itself at `/admin-ui/`.
    #[arg(long, env = "ADMIN_UI", default_value_t = false)]
    pub admin_ui: bool,

    /// Folder of the web npm project, whose node_modules hold the socket.io-client bundle
    /// (relative to the current directory: the default fits the repository's root, where
    /// `cargo xtask demo` runs).
    #[arg(long, env = "SIO_DEMO_WEB_DIR", default_value = "crates/sio-demo/web")]
    pub web_dir: PathBuf,
}

impl Config {
    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The accepted tokens, without empty entries (`AUTH_TOKENS=a,,b` or a trailing comma).
    pub fn tokens(&self) -> Vec<String> {
        self.auth_tokens
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// [`Config::auth_timeout_ms`] as a duration.
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }

    /// [`Config::ping_interval_ms`] as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// The admin token, if one that is not blank was given.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref().filter(|t| !t.trim().is_empty())
    }
}
