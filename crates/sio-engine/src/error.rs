//! Errors: a packet that could not be queued, and the HTTP errors engine.io answers with.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::Full;

/// A packet [`Session::send`](crate::Session::send) did not queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session's queue is at one of its bounds; nothing was queued.
    #[error(
        "outgoing queue full ({queued_bytes} bytes, {queued_packets} packets queued; over the {} bound)",
        if *over_bytes { "byte" } else { "packet" }
    )]
    Full {
        /// Bytes queued when the send was refused.
        queued_bytes: usize,
        /// Packets queued when the send was refused.
        queued_packets: usize,
        /// Whether the byte bound (rather than the packet bound) refused it.
        over_bytes: bool,
    },
    /// The session is closed or closing.
    #[error("the session is closed")]
    Closed,
}

/// engine.io's error codes, sent as `{"code":N,"message":...}` with an HTTP error status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `0` Transport unknown.
    UnknownTransport = 0,
    /// `1` Session ID unknown.
    UnknownSid = 1,
    /// `2` Bad handshake method.
    BadHandshakeMethod = 2,
    /// `3` Bad request.
    BadRequest = 3,
    /// `4` Forbidden.
    Forbidden = 4,
    /// `5` Unsupported protocol version.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// engine.io's message for this code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The error response: status 400 (403 for `Forbidden`) and engine.io's JSON body.
    pub(crate) fn response(self) -> Response<Full<Bytes>> {
        let status = if self == ErrorCode::Forbidden {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        error_response(status, self as u8, self.message())
    }
}

/// An engine.io error response with any status and message.
pub(crate) fn error_response(status: StatusCode, code: u8, message: &str) -> Response<Full<Bytes>> {
    let mut body = String::with_capacity(32 + message.len());
    body.push_str("{\"code\":");
    body.push_str(itoa::Buffer::new().format(code));
    body.push_str(",\"message\":");
    body.push_str(&json_string(message));
    body.push('}');
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// A plain response with a status and no body (413, 404).
pub(crate) fn status_response(status: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_engine_io_json() {
        let res = ErrorCode::UnknownSid.response();
        assert_eq!(res.status(), 400);
        let res = error_response(StatusCode::FORBIDDEN, 4, "no \"token\"");
        assert_eq!(res.status(), 403);
        let body = res.into_body();
        let bytes = futures_util::FutureExt::now_or_never(http_body_util::BodyExt::collect(body))
            .unwrap()
            .unwrap()
            .to_bytes();
        assert_eq!(&bytes[..], br#"{"code":4,"message":"no \"token\""}"#);
    }
}
