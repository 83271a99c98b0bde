//! The engine: its session table and how a request reaches a transport.

use std::sync::Arc;

use bytes::Bytes;
use dashmap::DashMap;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::Full;
use sio_protocol::engineio::{OpenPacket, Query};

use crate::config::EngineConfig;
use crate::error::{ErrorCode, error_response};
use crate::frame::Frame;
use crate::handler::{CloseReason, Handler};
use crate::heartbeat::Timers;
use crate::request::detach_head;
use crate::service::{EngineLayer, EngineService, NotFound};
use crate::session::{Session, Sid};
use crate::transport::{self, TransportKind};

/// What every session of an engine shares.
pub(crate) struct Shared<H: Handler> {
    pub(crate) handler: H,
    pub(crate) config: EngineConfig,
    pub(crate) sessions: DashMap<Sid, Arc<Session<H>>>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) cors: Option<tower_http::cors::CorsLayer>,
}

impl<H: Handler> Drop for Shared<H> {
    fn drop(&mut self) {
        self.timers.stop();
    }
}

/// An engine.io server: the sessions of one [`Handler`]. Cheap to clone (a reference).
///
/// Serve it with [`service`](Engine::service) / [`layer`](Engine::layer) under hyper or
/// axum, or with [`listen`](crate::listen::listen).
pub struct Engine<H: Handler> {
    pub(crate) shared: Arc<Shared<H>>,
}

impl<H: Handler> Clone for Engine<H> {
    fn clone(&self) -> Self {
        Engine {
            shared: self.shared.clone(),
        }
    }
}

impl<H: Handler> std::fmt::Debug for Engine<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.shared.config)
            .field("sessions", &self.shared.sessions.len())
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Engine<H> {
    /// An engine of `handler` with these options.
    pub fn new(handler: H, config: EngineConfig) -> Engine<H> {
        Engine {
            shared: Arc::new(Shared {
                handler,
                timers: Timers::new(&config),
                cors: config.cors.as_ref().map(crate::config::Cors::layer),
                config,
                sessions: DashMap::new(),
            }),
        }
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// The options in effect.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The open session `sid`.
    pub fn session(&self, sid: &Sid) -> Option<Arc<Session<H>>> {
        self.shared.sessions.get(sid).map(|s| s.value().clone())
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// Closes every session (`server shutting down`), delivering what they have queued.
    pub fn close_all(&self) {
        let sessions: Vec<_> = self
            .shared
            .sessions
            .iter()
            .map(|s| s.value().clone())
            .collect();
        for s in sessions {
            s.close(CloseReason::ServerShuttingDown);
        }
    }

    /// A tower / hyper service answering the engine's path and 404 elsewhere.
    pub fn service(&self) -> EngineService<H, NotFound> {
        EngineService::new(self.clone(), NotFound)
    }

    /// A tower layer: the engine's path goes to the engine, the rest to the inner service.
    pub fn layer(&self) -> EngineLayer<H> {
        EngineLayer::new(self.clone())
    }

    /// Whether `path` is this engine's.
    pub(crate) fn owns(&self, path: &str) -> bool {
        let own = self.shared.config.path.trim_end_matches('/');
        path.strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// Serves one request of the engine's path.
    pub(crate) async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let query = req.uri().query().unwrap_or_default();
        let q = Query::parse(query);
        if q.eio != Some("4") {
            return ErrorCode::UnsupportedProtocolVersion.response();
        }
        let kind = match q.transport {
            Some("polling") if self.shared.config.transports.polling() => TransportKind::Polling,
            Some("websocket") if self.shared.config.transports.websocket() => {
                TransportKind::WebSocket
            }
            _ => return ErrorCode::UnknownTransport.response(),
        };
        let sid = q.sid.map(|s| s.parse::<Sid>());
        let Some(sid) = sid else {
            return self.handshake(req, kind).await;
        };
        let Some(session) = sid.ok().and_then(|sid| self.session(&sid)) else {
            return ErrorCode::UnknownSid.response();
        };
        match kind {
            TransportKind::Polling => match *req.method() {
                Method::GET => transport::polling::get(session, req.headers()).await,
                Method::POST => transport::polling::post(session, req.into_body()).await,
                _ => ErrorCode::BadRequest.response(),
            },
            TransportKind::WebSocket => transport::websocket::upgrade(session, req),
        }
    }

    /// A request without `sid`: checks it, opens a session and answers its OPEN packet
    /// (over polling) or switches protocols (WebSocket).
    async fn handshake<B>(
        &self,
        mut req: Request<B>,
        kind: TransportKind,
    ) -> Response<Full<Bytes>> {
        let ws = kind == TransportKind::WebSocket;
        if ws && !transport::websocket::is_upgrade_request(&req) {
            return ErrorCode::BadRequest.response();
        }
        if !ws && req.method() != Method::GET {
            return ErrorCode::BadHandshakeMethod.response();
        }
        let on_upgrade = ws.then(|| hyper::upgrade::on(&mut req));
        let next = req
            .extensions_mut()
            .remove::<crate::request::Continuation>();
        detach_head(&mut req);
        let (mut parts, _body) = req.into_parts();
        if let Some(hook) = &self.shared.config.allow_request
            && let Err(refusal) = hook.check(&parts).await
        {
            tracing::debug!(message = %refusal.message, status = %refusal.status, "handshake refused by allow_request");
            return error_response(refusal.status, ErrorCode::Forbidden as u8, &refusal.message);
        }
        let accept_key = if ws {
            match transport::websocket::accept_key(&parts) {
                Some(k) => Some(k),
                None => return ErrorCode::BadRequest.response(),
            }
        } else {
            None
        };
        // A session keeps the head's method, URI and headers, not the extensions other
        // layers left (only the peer address, kept inline).
        let remote = parts.extensions.remove::<crate::RemoteAddr>();
        parts.extensions = http::Extensions::new();
        let session = self.open(kind, parts, remote.map(|r| r.0));
        let mut res = match (on_upgrade, accept_key) {
            (Some(on_upgrade), Some(key)) => {
                transport::websocket::spawn(session.clone(), on_upgrade, next);
                transport::websocket::switching_protocols(&key)
            }
            _ => transport::polling::get(session.clone(), &http::HeaderMap::new()).await,
        };
        if let Some(cookie) = &self.shared.config.cookie
            && let Ok(v) = HeaderValue::from_str(&cookie.header_value(session.id().as_str()))
        {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        res
    }

    /// Creates a session, queues its OPEN packet, starts its timers and tells the handler.
    fn open(
        &self,
        kind: TransportKind,
        parts: Parts,
        remote: Option<std::net::SocketAddr>,
    ) -> Arc<Session<H>> {
        let session = Arc::new(Session::new(self.shared.clone(), kind, parts, remote));
        let config = &self.shared.config;
        let upgrades = if kind == TransportKind::Polling
            && config.allow_upgrades
            && config.transports.websocket()
        {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        };
        let open = OpenPacket {
            sid: session.id().as_str().to_owned(),
            upgrades,
            ping_interval: u64::try_from(config.ping_interval.as_millis()).unwrap_or(u64::MAX),
            ping_timeout: u64::try_from(config.ping_timeout.as_millis()).unwrap_or(u64::MAX),
            max_payload: config.max_payload,
        };
        let text = match sio_protocol::engineio::Packet::Open(open).encode_ws() {
            sio_protocol::engineio::WsFrame::Text(t) => t,
            sio_protocol::engineio::WsFrame::Binary(_) => String::new(),
        };
        session.send_control(Frame::control_owned(text));
        self.shared.sessions.insert(session.id(), session.clone());
        session.start_timers();
        tracing::debug!(sid = %session.id(), transport = kind.as_str(), "engine.io session opened");
        self.shared.handler.on_open(&session);
        session
    }
}
