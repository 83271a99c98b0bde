//! The official Socket.IO Admin UI (`@socket.io/admin-ui` 0.5) against this server: the
//! same protocol as Node's `instrument(io, options)`, so the admin page (hosted at
//! <https://admin.socket.io> or served from the npm package's `ui/dist`) shows this
//! server's sockets, rooms and events, and operates them.
//!
//! | module part | what it holds |
//! |---|---|
//! | [`instrument`] | installs the admin namespace and the monitor on a server |
//! | [`AdminOptions`] | Node's options: `auth`, `namespaceName`, `readonly`, `serverId`, `mode` |
//! | [`Auth`] | none, or a user name and a bcrypt hash of the password |
//! | [`Mode`] | every socket and event (development), or counts only (production) |
//! | [`Admin`] | the handle `instrument` returns |
//! | [`AdminError`] | why `instrument` refused |
//!
//! Everything the admin namespace emits goes through the namespace's adapter, as in Node:
//! on a cluster (sio and Node servers on one Redis adapter) every admin page sees every
//! server, whichever one it is connected to. Login sessions are shared with the other sio
//! servers of the cluster by server-side emit, so the page keeps its session when it
//! reconnects to another sio server (Node servers keep their own store).
//!
//! ```no_run
//! use sio_server::SocketIo;
//! use sio_server::admin::{self, AdminOptions, Auth};
//! use sio_server::config::{Cors, CorsOrigin};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::builder()
//!     // the hosted admin page connects from this origin, with credentials
//!     .cors(Cors {
//!         origin: CorsOrigin::List(vec!["https://admin.socket.io".into()]),
//!         credentials: true,
//!         ..Cors::default()
//!     })
//!     .build();
//! // the hash of "changeit", as `bcrypt.hashSync("changeit", 10)` makes it in Node
//! let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
//! admin::instrument(&io, AdminOptions::builder(Auth::basic("admin", hash)?).build())?;
//! io.listen("127.0.0.1:3000".parse()?).await?;
//! # Ok(()) }
//! ```

mod actions;
mod monitor;
mod session;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use crate::SocketIo;

pub use session::Auth;

/// How much the admin page is told (Node's `mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Every socket, room change and event, live, plus the aggregated counts (Node's
    /// default unless `NODE_ENV` says otherwise).
    #[default]
    Development,
    /// Aggregated counts and per-namespace socket counts only: nothing per socket or per
    /// event, for servers with real traffic.
    Production,
}

/// The options of [`instrument`], as Node's `instrument(io, options)` takes them.
///
/// ```
/// use sio_server::admin::{AdminOptions, Auth, Mode};
/// let opts = AdminOptions::builder(Auth::None)
///     .namespace("/monitor")
///     .readonly(true)
///     .server_id("eu-1")
///     .mode(Mode::Production)
///     .build();
/// assert_eq!(opts.namespace, "/monitor");
/// ```
#[derive(Clone, Debug)]
pub struct AdminOptions {
    /// Who may open the admin namespace.
    pub auth: Auth,
    /// The admin namespace (default `/admin`).
    pub namespace: String,
    /// Refuse the page's actions (emit, join, leave, disconnect): it only watches.
    pub readonly: bool,
    /// This server's name on the page (default: the host name).
    pub server_id: Option<String>,
    /// How much the page is told.
    pub mode: Mode,
    /// How often the server's stats go out (Node: every 2 s).
    pub stats_interval: Duration,
}

impl AdminOptions {
    /// Options with `auth` (which Node requires too: `false` or basic) and Node's defaults.
    pub fn builder(auth: Auth) -> AdminOptionsBuilder {
        AdminOptionsBuilder(AdminOptions {
            auth,
            namespace: "/admin".to_owned(),
            readonly: false,
            server_id: None,
            mode: Mode::default(),
            stats_interval: Duration::from_secs(2),
        })
    }
}

/// Builds [`AdminOptions`]; see [`AdminOptions::builder`].
#[derive(Clone, Debug)]
pub struct AdminOptionsBuilder(AdminOptions);

impl AdminOptionsBuilder {
    /// The admin namespace (default `/admin`).
    pub fn namespace(mut self, path: impl Into<String>) -> Self {
        self.0.namespace = path.into();
        self
    }

    /// Refuse the page's actions: it only watches.
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.0.readonly = readonly;
        self
    }

    /// This server's name on the page (default: the host name).
    pub fn server_id(mut self, id: impl Into<String>) -> Self {
        self.0.server_id = Some(id.into());
        self
    }

    /// How much the page is told (default [`Mode::Development`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.0.mode = mode;
        self
    }

    /// How often the server's stats go out (default 2 s, as Node).
    pub fn stats_interval(mut self, every: Duration) -> Self {
        self.0.stats_interval = every;
        self
    }

    /// The options.
    pub fn build(self) -> AdminOptions {
        self.0
    }
}

/// Why [`instrument`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The password of [`Auth::basic`] is not a bcrypt hash (Node refuses it too).
    #[error("the admin password must be a bcrypt hash ($2a$/$2b$/$2y$): {0}")]
    InvalidHash(String),
    /// The admin namespace is not a namespace path.
    #[error("the admin namespace must start with '/': {0:?}")]
    InvalidNamespace(String),
    /// This server is instrumented already.
    #[error("this server already has an admin namespace")]
    AlreadyInstrumented,
    /// `instrument` was called outside a tokio runtime (it starts the stats task).
    #[error("instrument must be called within a tokio runtime")]
    NoRuntime,
}

/// A server instrumented for the admin UI. Dropping it changes nothing: the admin
/// namespace lives as long as the server.
#[derive(Clone, Debug)]
pub struct Admin {
    namespace: crate::Namespace,
    server_id: Arc<str>,
}

impl Admin {
    /// The admin namespace.
    pub fn namespace(&self) -> &crate::Namespace {
        &self.namespace
    }

    /// The server id the page shows.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }
}

/// Opens the admin namespace on `io` and starts telling it what the server does, as
/// Node's `instrument(io, options)`.
///
/// Call it before the server takes connections: the client counts start from the
/// connections open at this moment, and the connections' transports are learnt as they
/// open.
pub fn instrument(io: &SocketIo, options: AdminOptions) -> Result<Admin, AdminError> {
    if !options.namespace.starts_with('/') {
        return Err(AdminError::InvalidNamespace(options.namespace));
    }
    let server_id: Arc<str> = options
        .server_id
        .clone()
        .unwrap_or_else(wire::hostname)
        .into();
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(AdminError::NoRuntime);
    }
    let watch = &io.inner.counters.watch;
    if watch.get().is_some() {
        return Err(AdminError::AlreadyInstrumented);
    }
    let namespace = io.ns(&options.namespace, |_| async {});
    let monitor = monitor::Monitor::start(io, &namespace, &options, server_id.clone());
    if !watch.install(monitor) {
        return Err(AdminError::AlreadyInstrumented);
    }
    session::guard(&namespace, &options.auth);
    actions::serve(io, &namespace, &options);
    Ok(Admin {
        namespace,
        server_id,
    })
}
