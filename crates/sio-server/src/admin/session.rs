//! Who may open the admin namespace, and the login sessions that spare the page from
//! sending the password on every reconnection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sio_types::{ConnectError, Value};
use tokio::time::Instant;

use super::AdminError;
use crate::Namespace;

/// How long a login session stays valid (Node's Redis store default: one day).
const SESSION_TTL: Duration = Duration::from_secs(86_400);

/// The server-side event that tells the other sio servers of the cluster about a new
/// login session. Node servers ignore it (they keep their own store).
const SHARE_EVENT: &str = "sio-admin:session";

/// Who may open the admin namespace (Node's `auth` option).
#[derive(Clone)]
pub enum Auth {
    /// Anyone who can reach the server (Node's `auth: false`): for a page on a private
    /// network only.
    None,
    /// A user name and a bcrypt hash of the password (Node's `{ type: "basic", ... }`).
    Basic {
        /// The user name the page must send.
        username: String,
        /// The bcrypt hash of the password (`$2b$10$...`).
        password_hash: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

impl Auth {
    /// Basic authentication; fails when `password_hash` is not a bcrypt hash, as Node's
    /// `instrument` does.
    ///
    /// ```
    /// use sio_server::admin::Auth;
    /// assert!(Auth::basic("admin", "changeit").is_err());
    /// let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
    /// assert!(Auth::basic("admin", hash).is_ok());
    /// ```
    pub fn basic(
        username: impl Into<String>,
        password_hash: impl Into<String>,
    ) -> Result<Auth, AdminError> {
        let password_hash = password_hash.into();
        password_hash
            .parse::<bcrypt::HashParts>()
            .map_err(|e| AdminError::InvalidHash(e.to_string()))?;
        Ok(Auth::Basic {
            username: username.into(),
            password_hash,
        })
    }
}

/// Login sessions of this server and of the sio servers it heard from.
#[derive(Default)]
struct Sessions(Mutex<HashMap<String, Instant>>);

impl Sessions {
    fn contains(&self, id: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id).is_some_and(|at| at.elapsed() < SESSION_TTL)
    }

    fn insert(&self, id: String) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, at| at.elapsed() < SESSION_TTL);
        map.insert(id, Instant::now());
    }
}

/// Puts `auth` in front of the admin namespace.
pub(super) fn guard(ns: &Namespace, auth: &Auth) {
    let Auth::Basic {
        username,
        password_hash,
    } = auth
    else {
        tracing::warn!(nsp = %ns.path(), "admin UI without authentication: anyone who reaches the server can open it");
        return;
    };
    let sessions = Arc::new(Sessions::default());
    let peers = sessions.clone();
    ns.on_server_side(SHARE_EVENT, move |args, _reply| {
        if let Some(id) = args.get(0).and_then(Value::as_str) {
            peers.insert(id.to_owned());
        }
        async {}
    });
    let (username, hash) = (
        Arc::<str>::from(username.as_str()),
        Arc::<str>::from(password_hash.as_str()),
    );
    ns.use_middleware(move |socket| {
        let (sessions, username, hash) = (sessions.clone(), username.clone(), hash.clone());
        async move {
            let auth = socket.auth();
            if let Some(id) = auth.get("sessionId").and_then(Value::as_str)
                && sessions.contains(id)
            {
                return Ok(());
            }
            let user = auth.get("username").and_then(Value::as_str);
            let password = auth.get("password").and_then(Value::as_str);
            if let (Some(user), Some(password)) = (user, password)
                && user == &*username
                && verify(password.to_owned(), hash).await
            {
                let id = sio_types::SocketId::random().as_str().to_owned();
                sessions.insert(id.clone());
                let ns = socket.namespace();
                let shared = id.clone();
                tokio::spawn(async move {
                    let args = vec![Value::String(shared)];
                    if let Err(e) = ns.server_side_emit(SHARE_EVENT, args).await {
                        tracing::debug!(error = %e, "admin session not shared with the cluster");
                    }
                });
                // Held until the CONNECT answer, so the page has it before `config`.
                let _ = socket.emit("session", &id);
                return Ok(());
            }
            Err(ConnectError {
                message: "invalid credentials".into(),
                data: None,
            })
        }
    });
}

/// Checks `password` against the bcrypt hash off the runtime's threads: one check costs
/// tens of milliseconds of CPU by design.
async fn verify(password: String, hash: Arc<str>) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}
