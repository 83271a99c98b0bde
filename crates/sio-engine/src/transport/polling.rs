//! HTTP long-polling: a GET waits for packets, a POST carries the client's.
//!
//! A session has no task of its own here: a waiting GET registers its waker on the session
//! and is answered by the hyper connection task that carries it.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use sio_protocol::Limits;
use sio_protocol::engineio::{Packet, decode_payload};

use crate::error::{ErrorCode, status_response};
use crate::frame::{Frame, polling_body};
use crate::handler::{CloseReason, Handler};
use crate::session::{PollAnswer, PollEnd, Session};
use crate::transport::{Incoming, receive};

/// How long a session closed by the client's POST `1` waits for a poll sent at the same
/// time (engine.io, on one event loop, always sees that GET first and answers it `6`).
const CLIENT_CLOSE_GRACE: Duration = Duration::from_millis(100);

/// Clears the session's poll when the GET ends. A GET dropped before it was answered (its
/// connection closed) ends the session, as in engine.io (`transport error`).
struct ActiveGet<'a, H: Handler> {
    session: &'a Arc<Session<H>>,
    answered: bool,
}

impl<H: Handler> Drop for ActiveGet<'_, H> {
    fn drop(&mut self) {
        self.session.end_get();
        if !self.answered {
            tracing::debug!(sid = %self.session.id(), "poll connection closed before its answer, closing the session");
            self.session
                .close_now(CloseReason::TransportError, PollEnd::Close);
        }
    }
}

/// Answers a GET: what is queued, or waits until something is.
pub(crate) async fn get<H: Handler>(
    session: Arc<Session<H>>,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    {
        let mut st = session.lock();
        if st.kind.is_stream() {
            return ErrorCode::BadRequest.response();
        }
        if st.get_active {
            drop(st);
            tracing::warn!(sid = %session.id(), "two concurrent polls, closing the session");
            session.close_now(CloseReason::TransportError, PollEnd::Close);
            return ErrorCode::BadRequest.response();
        }
        st.get_active = true;
    }
    let answer = {
        let mut active = ActiveGet {
            session: &session,
            answered: false,
        };
        let answer = std::future::poll_fn(|cx| session.poll_get(cx)).await;
        active.answered = true;
        answer
    };
    let (frames, end) = match answer {
        PollAnswer::Frames(frames, end) => (frames, end),
        PollAnswer::End(reason, end) => (Vec::new(), Some((reason, end))),
        PollAnswer::Noop => (vec![Frame::control("6")], None),
    };
    let mut frames = frames;
    match end {
        Some((_, PollEnd::Close)) => frames.push(Frame::control("1")),
        Some((_, PollEnd::Noop)) if frames.is_empty() => frames.push(Frame::control("6")),
        _ => {}
    }
    let body = polling_body(&frames);
    if let Some((reason, _)) = end {
        session.finish(reason);
    }
    let threshold = session.engine.config.http_compression;
    text_response(body, headers, threshold)
}

/// Takes a POST: decodes its packets and hands them to the session.
pub(crate) async fn post<H, B>(session: Arc<Session<H>>, body: B) -> Response<Full<Bytes>>
where
    H: Handler,
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    {
        let mut st = session.lock();
        if st.kind.is_stream() {
            return ErrorCode::BadRequest.response();
        }
        if st.post_active {
            drop(st);
            tracing::warn!(sid = %session.id(), "two concurrent POSTs, closing the session");
            session.close_now(CloseReason::TransportError, PollEnd::Close);
            return ErrorCode::BadRequest.response();
        }
        st.post_active = true;
    }
    let res = read_post(&session, body).await;
    session.lock().post_active = false;
    res
}

async fn read_post<H, B>(session: &Arc<Session<H>>, body: B) -> Response<Full<Bytes>>
where
    H: Handler,
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = session.engine.config.max_payload_usize();
    let bytes = match Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                tracing::warn!(sid = %session.id(), max_payload = max, "POST body over max_payload, closing the session");
                session.close_now(CloseReason::TransportError, PollEnd::Close);
                return status_response(StatusCode::PAYLOAD_TOO_LARGE);
            }
            tracing::debug!(sid = %session.id(), error = %e, "POST body could not be read, closing the session");
            session.close_now(CloseReason::TransportError, PollEnd::Close);
            return ErrorCode::BadRequest.response();
        }
    };
    let limits = Limits {
        max_packet_size: max,
        ..Limits::default()
    };
    let packets = match decode_payload(&bytes, &limits) {
        Ok(p) => p,
        Err(e) => {
            // engine.io takes the body (`ok`), then closes on the parse error.
            tracing::warn!(sid = %session.id(), error = %e, "invalid polling payload, closing the session");
            session.close_now(CloseReason::ParseError, PollEnd::Close);
            return ok();
        }
    };
    for p in packets {
        if let Packet::Close = p {
            tracing::debug!(sid = %session.id(), "client closed the session");
            session.close_after(CloseReason::TransportClose, CLIENT_CLOSE_GRACE);
            break;
        }
        // The handler's back-pressure: the rest of the body waits, and the client's next
        // POST with it, until the handler is ready or the session closes.
        std::future::poll_fn(|cx| {
            if session.engine.handler.poll_ready(session, cx).is_ready()
                || session.closing_or_wake(cx)
            {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        if session.is_closed() {
            break;
        }
        if receive(session, Incoming::Packet(p)).is_some() || session.is_closed() {
            break;
        }
    }
    ok()
}

fn ok() -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    res
}

/// A polling body, compressed when it is large enough and the client accepts it.
fn text_response(
    body: Bytes,
    headers: &HeaderMap,
    threshold: Option<usize>,
) -> Response<Full<Bytes>> {
    let encoding = threshold
        .filter(|t| body.len() >= *t)
        .and_then(|_| accepted_encoding(headers));
    let (body, encoding) = match encoding.and_then(|e| compress(&body, e).map(|b| (b, e))) {
        Some((compressed, e)) => (compressed, Some(e)),
        None => (body, None),
    };
    let mut res = Response::new(Full::new(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    if let Some(e) = encoding {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(e.as_str()),
        );
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    res
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// gzip when the client accepts it, else deflate, else none (as engine.io picks).
fn accepted_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let mut gzip = false;
    let mut deflate = false;
    for v in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            gzip |= name.eq_ignore_ascii_case("gzip") || name == "*";
            deflate |= name.eq_ignore_ascii_case("deflate");
        }
    }
    if gzip {
        Some(Encoding::Gzip)
    } else if deflate {
        Some(Encoding::Deflate)
    } else {
        None
    }
}

fn compress(body: &[u8], e: Encoding) -> Option<Bytes> {
    let level = flate2::Compression::default();
    let out = match e {
        Encoding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 2), level);
            enc.write_all(body).ok()?;
            enc.finish().ok()?
        }
        // HTTP's `deflate` is the zlib format, as Node's zlib.createDeflate writes it.
        Encoding::Deflate => {
            let mut enc =
                flate2::write::ZlibEncoder::new(Vec::with_capacity(body.len() / 2), level);
            enc.write_all(body).ok()?;
            enc.finish().ok()?
        }
    };
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn encoding_follows_accept_encoding() {
        assert_eq!(
            accepted_encoding(&accept("gzip, deflate, br")),
            Some(Encoding::Gzip)
        );
        assert_eq!(
            accepted_encoding(&accept("deflate")),
            Some(Encoding::Deflate)
        );
        assert_eq!(
            accepted_encoding(&accept("gzip;q=0, deflate")),
            Some(Encoding::Deflate)
        );
        assert_eq!(accepted_encoding(&accept("br")), None);
        assert_eq!(accepted_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn large_bodies_are_compressed_small_ones_not() {
        let big = Bytes::from("4".repeat(2000));
        let res = text_response(big.clone(), &accept("gzip"), Some(1024));
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        let small = Bytes::from_static(b"4hello");
        let res = text_response(small, &accept("gzip"), Some(1024));
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        let res = text_response(big, &accept("gzip"), None);
        assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    }
}
