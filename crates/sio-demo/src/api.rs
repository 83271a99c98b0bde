//! The admin HTTP API and the health check.
//!
//! Every error is JSON `{"error": "<code>", "message": "<what was wrong>"}`:
//!
//! | status | code | when |
//! |---|---|---|
//! | 404 | `api_disabled` | the server was started without `ADMIN_TOKEN` |
//! | 401 | `missing_token` | no `Authorization: Bearer …` header |
//! | 401 | `invalid_token` | a bearer token that is not `ADMIN_TOKEN` |
//! | 405 | `method_not_allowed` | a known path with another method (`GET /api/send`) |
//! | 413 | `body_too_large` | a `POST /api/send` body over 64 KiB |
//! | 415 | `unsupported_media_type` | `POST /api/send` without `Content-Type: application/json` |
//! | 400 | `invalid_json` | a body that is not JSON, or not a JSON object |
//! | 400 | `invalid_field` | `topic`, `destination` or `data` of the wrong type or empty |
//! | 404 | `not_found` | any other path under `/api/` |
//! | 502 | `cluster_unavailable` | the cluster (Redis) did not answer |
//!
//! The token is checked first, whatever else is wrong with a request: without it, every
//! answer is the same 404 or 401.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

use crate::realtime::Realtime;

/// Largest `POST /api/send` body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// An API error: status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What was wrong, for a human.
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn field(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(json!({"error": self.code, "message": self.message}));
        let mut res = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"sio-demo\""),
            );
        }
        res
    }
}

#[derive(Clone)]
struct Api {
    admin_token: Option<Arc<str>>,
    realtime: Arc<Realtime>,
}

/// `GET /healthz`: `{"status":"ok"}`, no token needed.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The routes under `/api`; with no admin token every one answers 404 `api_disabled`.
pub fn routes(admin_token: Option<&str>, realtime: Arc<Realtime>) -> Router {
    let state = Api {
        admin_token: admin_token.map(Arc::from),
        realtime,
    };
    Router::new()
        .route("/clients", get(clients))
        .route("/send", post(send))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        // The body limit is the handler's, checked after the token: axum's own limit
        // would answer an anonymous client first, in plain text.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// `err`, once the token is right; the token's own error before that, so an anonymous
/// client learns nothing about the API.
fn behind_token(api: &Api, headers: &HeaderMap, err: ApiError) -> Response {
    authorize(api, headers).err().unwrap_or(err).into_response()
}

async fn wrong_method(State(api): State<Api>, headers: HeaderMap) -> Response {
    let err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "the API has GET /api/clients and POST /api/send",
    );
    behind_token(&api, &headers, err)
}

async fn not_found(State(api): State<Api>, headers: HeaderMap) -> Response {
    let err = ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint: the API has GET /api/clients and POST /api/send",
    );
    behind_token(&api, &headers, err)
}

/// Compares in time independent of where the first difference is, so that response
/// timing does not reveal how much of a guessed token was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of `Bearer <token>`: the scheme in any case (RFC 7235), one space, then the
/// token exactly as sent (no trimming: `Bearer  tok` does not carry `tok`).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case("bearer ").then_some(token)
}

fn authorize(api: &Api, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &api.admin_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "api_disabled",
            "the HTTP API is off: start the server with ADMIN_TOKEN set",
        ));
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "missing header `Authorization: Bearer <ADMIN_TOKEN>`",
        ));
    };
    let given = value.to_str().ok().and_then(bearer);
    match given {
        Some(t) if same_secret(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the bearer token is not the ADMIN_TOKEN",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "the Authorization header must be `Bearer <ADMIN_TOKEN>`",
        )),
    }
}

async fn clients(State(api): State<Api>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&api, &headers) {
        return e.into_response();
    }
    match api.realtime.clients().await {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "cluster_unavailable",
            format!("cannot list the cluster's clients: {e}"),
        )
        .into_response(),
    }
}

/// A checked `POST /api/send` body.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    /// Socket id or room; `None` sends to everyone.
    pub destination: Option<String>,
    /// The event name.
    pub topic: String,
    /// The event's one argument.
    pub data: Json,
}

fn is_falsy(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty(),
        Json::Array(_) | Json::Object(_) => false,
    }
}

/// Checks a `POST /api/send` body: a JSON object with a non-empty string `topic`, an
/// optional non-empty string `destination`, and a `data` that is not falsy in the
/// JavaScript sense (the seed's `send` silently drops falsy data; the API says so instead).
///
/// ```
/// use sio_demo::api::parse_send;
///
/// let ok = parse_send(br#"{"destination":"lobby","topic":"news","data":{"n":1}}"#).unwrap();
/// assert_eq!(ok.destination.as_deref(), Some("lobby"));
/// let err = parse_send(br#"{"data":1}"#).unwrap_err();
/// assert_eq!(err.message, "`topic` is required: a non-empty string");
/// ```
pub fn parse_send(body: &[u8]) -> Result<SendRequest, ApiError> {
    let v: Json = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Json::Object(mut obj) = v else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object {destination?, topic, data}",
        ));
    };
    let topic = match obj.remove("topic") {
        Some(Json::String(t)) if !t.is_empty() => t,
        None | Some(Json::Null) | Some(Json::String(_)) => {
            return Err(ApiError::field("`topic` is required: a non-empty string"));
        }
        Some(other) => {
            return Err(ApiError::field(format!(
                "`topic` must be a string, got {}",
                kind(&other)
            )));
        }
    };
    let destination = match obj.remove("destination") {
        None | Some(Json::Null) => None,
        Some(Json::String(d)) if !d.is_empty() => Some(d),
        Some(Json::String(_)) => {
            return Err(ApiError::field(
                "`destination` must not be empty: leave it out to send to everyone",
            ));
        }
        Some(other) => {
            return Err(ApiError::field(format!(
                "`destination` must be a socket id or room name (string), got {}",
                kind(&other)
            )));
        }
    };
    let data = obj.remove("data").unwrap_or(Json::Null);
    if is_falsy(&data) {
        return Err(ApiError::field(
            "`data` is required and must not be null, false, 0 or \"\"",
        ));
    }
    Ok(SendRequest {
        destination,
        topic,
        data,
    })
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

async fn send(State(api): State<Api>, headers: HeaderMap, body: axum::body::Body) -> Response {
    if let Err(e) = authorize(&api, &headers) {
        return e.into_response();
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as `Content-Type: application/json`",
        )
        .into_response();
    }
    // Read at most one byte past the limit: a larger body is refused without being held.
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is over {MAX_BODY} bytes"),
            )
            .into_response();
        }
    };
    let req = match parse_send(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match api
        .realtime
        .send(req.destination.as_deref(), &req.topic, req.data.into())
        .await
    {
        // parse_send already refused what the seed's send would silently skip.
        Ok(_) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "status": "accepted",
                "destination": req.destination,
                "topic": req.topic,
            })),
        )
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "cluster_unavailable",
            format!("the message was not sent: {e}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_bodies() {
        let r = parse_send(br#"{"topic":"t","data":[0]}"#).unwrap();
        assert_eq!(r.destination, None);
        assert_eq!(r.data, json!([0]));
        let code = |b: &[u8]| parse_send(b).unwrap_err().code;
        assert_eq!(code(b"not json"), "invalid_json");
        assert_eq!(code(b"[1]"), "invalid_json");
        assert_eq!(code(br#"{"topic":"","data":1}"#), "invalid_field");
        assert_eq!(code(br#"{"topic":5,"data":1}"#), "invalid_field");
        assert_eq!(
            code(br#"{"topic":"t","destination":7,"data":1}"#),
            "invalid_field"
        );
        assert_eq!(
            code(br#"{"topic":"t","destination":"","data":1}"#),
            "invalid_field"
        );
        for falsy in ["null", "false", "0", "\"\""] {
            let body = format!(r#"{{"topic":"t","data":{falsy}}}"#);
            assert_eq!(code(body.as_bytes()), "invalid_field", "{falsy}");
        }
    }

    #[test]
    fn bearer_tokens_are_taken_exactly() {
        assert_eq!(bearer("Bearer tok"), Some("tok"));
        assert_eq!(bearer("bearer tok"), Some("tok"));
        assert_eq!(bearer("BEARER tok"), Some("tok"));
        assert_eq!(bearer("Bearer  tok"), Some(" tok"));
        assert_eq!(bearer("Bearer tok "), Some("tok "));
        assert_eq!(bearer("Bearertok"), None);
        assert_eq!(bearer("Basic dG9r"), None);
        assert_eq!(bearer("Bear"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
