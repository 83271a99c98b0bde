//! The browser page: three files compiled into the binary, plus the official
//! socket.io-client bundle read from the web npm project at start.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Where the bundle lives inside the web npm project.
const BUNDLE: &str = "node_modules/socket.io-client/dist/socket.io.min.js";

#[derive(Clone)]
pub(crate) struct Assets {
    bundle: Option<Bytes>,
    bundle_map: Option<Bytes>,
}

impl Assets {
    /// Reads the bundle once; without it the page still loads and says what to run.
    pub(crate) fn load(web_dir: &Path) -> Arc<Self> {
        let path = web_dir.join(BUNDLE);
        let bundle = match std::fs::read(&path) {
            Ok(b) => Some(Bytes::from(b)),
            Err(e) => {
                tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "socket.io-client bundle missing: run `cargo xtask demo` (it runs npm ci in crates/sio-demo/web)"
                );
                None
            }
        };
        let bundle_map = std::fs::read(web_dir.join(format!("{BUNDLE}.map")))
            .ok()
            .map(Bytes::from);
        Arc::new(Assets { bundle, bundle_map })
    }
}

fn text(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn routes(assets: Arc<Assets>) -> Router {
    let bundle = assets.clone();
    let map = assets;
    Router::new()
        .route("/", get(|| async { text("text/html; charset=utf-8", INDEX) }))
        .route(
            "/app.js",
            get(|| async { text("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { text("text/css; charset=utf-8", STYLE) }),
        )
        // The page links the SVG; browsers that ask for /favicon.ico anyway get it too.
        .route("/favicon.svg", get(|| async { text("image/svg+xml", FAVICON) }))
        .route("/favicon.ico", get(|| async { text("image/svg+xml", FAVICON) }))
        .route(
            "/vendor/socket.io.min.js",
            get(move || {
                let b = bundle.bundle.clone();
                async move {
                    match b {
                        Some(b) => (
                            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                            b,
                        )
                            .into_response(),
                        None => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                            "console.error('socket.io-client is not installed: run `cargo xtask demo`');",
                        )
                            .into_response(),
                    }
                }
            }),
        )
        .route(
            "/vendor/socket.io.min.js.map",
            get(move || {
                let m = map.bundle_map.clone();
                async move {
                    match m {
                        Some(m) => ([(header::CONTENT_TYPE, "application/json")], m).into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
}

/// Where the official admin page lives inside the web npm project.
const ADMIN_UI: &str = "node_modules/@socket.io/admin-ui/ui/dist";

/// The official Socket.IO Admin UI page, as the `@socket.io/admin-ui` npm package builds
/// it, served as files (tower-http's `ServeDir` keeps requests inside the folder).
pub(crate) fn admin_ui(web_dir: &Path) -> tower_http::services::ServeDir {
    let dir = web_dir.join(ADMIN_UI);
    if !dir.join("index.html").is_file() {
        tracing::warn!(path = %dir.display(), "admin UI page missing: run `cargo xtask demo` (npm ci in crates/sio-demo/web)");
    }
    tower_http::services::ServeDir::new(dir)
}
