//! WebSocket: tungstenite's framing over hyper's upgraded connection, one task per
//! connection that both reads and writes.
//!
//! The task polls three things in one future: the session's queue (taking every queued
//! frame at once and feeding them to tungstenite's write buffer, flushed once, so a burst
//! is one `write` system call), the socket for incoming frames, and the session's close.
//! Handlers run on it, so a client that floods the server is slowed by its own TCP window.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, Stream};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use sio_protocol::Limits;
use sio_protocol::engineio::Packet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::error::ErrorCode;
use crate::frame::Frame;
use crate::handler::{CloseReason, Handler, Message as EngineMessage};
use crate::request::Continuation;
use crate::session::{Session, StreamTake};
use crate::transport::{Incoming, TransportKind, receive};

/// tungstenite writes its buffer out past this many bytes even before a flush; frames
/// queued together are written together up to it.
const WRITE_BUFFER: usize = 16 * 1024;

/// How long the close frame (and, for a close the server decided, what was queued) may
/// take to go out before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Whether the request asks to switch to WebSocket.
pub(crate) fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    req.method() == http::Method::GET
        && has_token(req.headers(), header::CONNECTION, "upgrade")
        && has_token(req.headers(), header::UPGRADE, "websocket")
}

/// `Sec-WebSocket-Accept` for a version 13 handshake, or `None` when it is not one.
pub(crate) fn accept_key(parts: &Parts) -> Option<String> {
    let h = &parts.headers;
    if h.get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return None;
    }
    let key = h.get(header::SEC_WEBSOCKET_KEY)?;
    Some(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

/// The `101 Switching Protocols` answer.
pub(crate) fn switching_protocols(accept: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}

/// A WebSocket for an open polling session: the upgrade, probed before it completes.
pub(crate) fn upgrade<H: Handler, B>(
    session: Arc<Session<H>>,
    mut req: Request<B>,
) -> Response<Full<Bytes>> {
    if !is_upgrade_request(&req) {
        return ErrorCode::BadRequest.response();
    }
    let (parts, body) = req.into_parts();
    let Some(key) = accept_key(&parts) else {
        return ErrorCode::BadRequest.response();
    };
    {
        let mut st = session.lock();
        let refused = !session.engine.config.allow_upgrades
            || st.kind != TransportKind::Polling
            || st.stream_task
            || st.upgrading
            || st.is_closing();
        if refused {
            drop(st);
            tracing::debug!(sid = %session.id(), "WebSocket upgrade refused (already upgraded or upgrading)");
            return ErrorCode::BadRequest.response();
        }
        st.stream_task = true;
        st.upgrading = true;
    }
    req = Request::from_parts(parts, body);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let next = req.extensions_mut().remove::<Continuation>();
    session.start_upgrade_timer();
    spawn(session, on_upgrade, next);
    switching_protocols(&key)
}

/// Runs the WebSocket once hyper hands over the upgraded connection: on the connection's
/// own task when the server offers it (`next`, the engine's listener), else on a new task.
pub(crate) fn spawn<H: Handler>(
    session: Arc<Session<H>>,
    on_upgrade: OnUpgrade,
    next: Option<Continuation>,
) {
    let fut = Box::pin(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(sid = %session.id(), error = %e, "WebSocket upgrade failed");
                end(&session, CloseReason::TransportError);
                return;
            }
        };
        let config = WebSocketConfig::default()
            .read_buffer_size(session.engine.config.ws_read_buffer_size)
            .write_buffer_size(WRITE_BUFFER)
            .max_message_size(Some(session.engine.config.max_payload_usize()))
            .max_frame_size(Some(session.engine.config.max_payload_usize()));
        // Under hyper-util's TokioIo (our listener, axum::serve) the connection is a plain
        // TcpStream: take it back, rather than reading through hyper's boxed `Upgraded`.
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                // hyper's leftover bytes are a slice of its connection read buffer: copy
                // them (usually none) and let that buffer go now, not when the session ends.
                let read_ahead = parts.read_buf.to_vec();
                let io = parts.io.into_inner();
                drop(parts.read_buf);
                // As Node's `ws` does: small frames go out at once, not after the peer's
                // delayed ACK.
                let _ = io.set_nodelay(true);
                let ws = WebSocketStream::from_partially_read(
                    io,
                    read_ahead,
                    Role::Server,
                    Some(config),
                )
                .await;
                run(&session, ws).await;
            }
            Err(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                run(&session, ws).await;
            }
        }
    });
    let fut = match next {
        Some(next) => match next.set(fut) {
            Ok(()) => return,
            Err(fut) => fut,
        },
        None => fut,
    };
    drop(tokio::spawn(fut));
}

/// The task ended: a session this WebSocket carried is finished.
fn end<H: Handler>(session: &Arc<Session<H>>, reason: CloseReason) {
    let carried = session.transport() == TransportKind::WebSocket;
    session.stream_ended();
    if carried {
        session.finish(reason);
    }
}

enum Event {
    Message(Message),
    /// The session is closing (the batch holds what was still queued).
    Closing(CloseReason),
    /// This WebSocket no longer serves the session (an upgrade given up).
    Detached,
    Gone(CloseReason),
}

fn to_message(f: Frame) -> Message {
    if f.is_binary() {
        Message::Binary(f.payload().clone())
    } else {
        // A text frame straight from the shared bytes: no copy, no UTF-8 check per
        // recipient (the bytes were a `str` when the frame was built).
        Message::Frame(WsFrame::message(
            f.payload().clone(),
            OpCode::Data(Data::Text),
            true,
        ))
    }
}

/// Why the connection ended, as socket.io reports it: a dropped connection is a
/// `transport close` (as in Node, with or without a close frame), anything else an error.
fn reason_of(e: &WsError) -> CloseReason {
    use std::io::ErrorKind;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => CloseReason::TransportClose,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            CloseReason::TransportClose
        }
        WsError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            ) =>
        {
            CloseReason::TransportClose
        }
        _ => CloseReason::TransportError,
    }
}

async fn run<H: Handler, S>(session: &Arc<Session<H>>, mut ws: WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limits = Limits {
        max_packet_size: session.engine.config.max_payload_usize(),
        ..Limits::default()
    };
    let mut batch: VecDeque<Frame> = VecDeque::new();
    let mut direct: Option<Message> = None;
    let mut unflushed = false;
    // Whether this WebSocket carries the session (else it is probing an upgrade); it only
    // changes on `5`, so it is tracked here rather than read under the lock per message.
    let mut carried = session.transport() == TransportKind::WebSocket;
    let reason = loop {
        let event = std::future::poll_fn(|cx| {
            let (mut bytes, mut packets) = (0, 0);
            let outcome = loop {
                match session.stream_take(cx, &mut batch) {
                    StreamTake::Frames => {}
                    StreamTake::Idle if batch.is_empty() && direct.is_none() => break None,
                    StreamTake::Idle => {}
                    StreamTake::Closing(r) => break Some(Event::Closing(r)),
                    StreamTake::Detached => break Some(Event::Detached),
                }
                match Pin::new(&mut ws).poll_ready(cx) {
                    Poll::Pending => break None,
                    Poll::Ready(Err(e)) => break Some(Event::Gone(reason_of(&e))),
                    Poll::Ready(Ok(())) => {}
                }
                // Everything taken goes to tungstenite's buffer while it accepts more.
                let mut stalled = false;
                loop {
                    let msg = match direct.take() {
                        Some(m) => m,
                        None => match batch.pop_front() {
                            Some(f) => {
                                bytes += f.len();
                                packets += 1;
                                to_message(f)
                            }
                            None => break,
                        },
                    };
                    if let Err(e) = Pin::new(&mut ws).start_send(msg) {
                        return Poll::Ready(Event::Gone(reason_of(&e)));
                    }
                    unflushed = true;
                    match Pin::new(&mut ws).poll_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Poll::Ready(Event::Gone(reason_of(&e))),
                        Poll::Pending => {
                            stalled = true;
                            break;
                        }
                    }
                }
                if stalled {
                    break None;
                }
            };
            session.release(bytes, packets);
            if let Some(ev) = outcome {
                return Poll::Ready(ev);
            }
            if unflushed {
                match Pin::new(&mut ws).poll_flush(cx) {
                    Poll::Ready(Ok(())) => unflushed = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Event::Gone(reason_of(&e))),
                    Poll::Pending => {}
                }
            }
            // The handler's back-pressure: nothing more is read until it is ready (a probing
            // WebSocket carries no messages yet, and must finish its upgrade).
            if carried && session.engine.handler.poll_ready(session, cx).is_pending() {
                return Poll::Pending;
            }
            match Pin::new(&mut ws).poll_next(cx) {
                Poll::Ready(Some(Ok(m))) => Poll::Ready(Event::Message(m)),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Event::Gone(reason_of(&e))),
                Poll::Ready(None) => Poll::Ready(Event::Gone(CloseReason::TransportClose)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match event {
            Event::Message(m) => {
                if let Some(r) = on_frame(session, m, &limits, &mut direct, &mut carried) {
                    break r;
                }
            }
            Event::Closing(r) => {
                end(session, r);
                // What a close the server decided leaves queued still goes out.
                if !r.is_graceful() {
                    batch.clear();
                }
                let _ = tokio::time::timeout(CLOSE_GRACE, close(&mut ws, batch)).await;
                return;
            }
            Event::Detached => {
                session.stream_ended();
                let _ = tokio::time::timeout(CLOSE_GRACE, close(&mut ws, VecDeque::new())).await;
                return;
            }
            Event::Gone(r) => {
                end(session, r);
                return;
            }
        }
    };
    // The client closed, or sent what ends the session: nothing queued is worth writing.
    // (A close a handler decided on this task is an `Event::Closing` of the next poll.)
    end(session, reason);
    let _ = tokio::time::timeout(CLOSE_GRACE, close(&mut ws, VecDeque::new())).await;
}

/// Writes `rest`, then a close frame, and waits for the peer's (bounded by the caller).
async fn close<S>(ws: &mut WebSocketStream<S>, rest: VecDeque<Frame>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use futures_util::SinkExt;
    for f in rest {
        if ws.feed(to_message(f)).await.is_err() {
            return;
        }
    }
    let _ = ws.close(None).await;
}

/// Handles one incoming WebSocket message; returns the reason when it ends the session.
fn on_frame<H: Handler>(
    session: &Arc<Session<H>>,
    m: Message,
    limits: &Limits,
    direct: &mut Option<Message>,
    carried: &mut bool,
) -> Option<CloseReason> {
    match m {
        Message::Text(t) if !*carried => {
            // The probe: `2probe`, answered on this WebSocket alone, then `5`.
            match t.as_str() {
                "2probe" if session.on_probe() => {
                    *direct = Some(Message::text("3probe"));
                }
                "5" if session.complete_upgrade(TransportKind::WebSocket) => {
                    *carried = true;
                    tracing::debug!(sid = %session.id(), "upgraded to WebSocket");
                    session.engine.handler.on_upgrade(session);
                }
                other => {
                    tracing::debug!(sid = %session.id(), packet = other, "unexpected packet during the upgrade, dropping the WebSocket");
                    session.stream_ended();
                    return Some(CloseReason::TransportError);
                }
            }
            None
        }
        Message::Text(t) => {
            let text = t.as_str();
            let packet = if let Some(msg) = text.strip_prefix('4') {
                Incoming::Message(EngineMessage::Text(msg))
            } else {
                match Packet::decode_ws_text(text, limits) {
                    Ok(p) => Incoming::Packet(p),
                    Err(e) => {
                        tracing::warn!(sid = %session.id(), error = %e, "invalid engine.io packet, closing the session");
                        return Some(CloseReason::ParseError);
                    }
                }
            };
            receive(session, packet)
        }
        Message::Binary(b) if *carried => {
            receive(session, Incoming::Message(EngineMessage::Binary(b)))
        }
        Message::Binary(_) => {
            tracing::debug!(sid = %session.id(), "binary frame during the upgrade, dropping the WebSocket");
            session.stream_ended();
            Some(CloseReason::TransportError)
        }
        Message::Close(_) => Some(CloseReason::TransportClose),
        // tungstenite answers pings itself; pongs and raw frames carry nothing for us.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_needs_version_13() {
        let req = Request::builder()
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        // RFC 6455's example.
        assert_eq!(
            accept_key(&parts).as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        let req = Request::builder()
            .header("sec-websocket-version", "8")
            .header("sec-websocket-key", "x")
            .body(())
            .unwrap();
        assert_eq!(accept_key(&req.into_parts().0), None);
    }

    #[test]
    fn dropped_connections_are_transport_close() {
        let reset = WsError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(reason_of(&reset), CloseReason::TransportClose);
        assert_eq!(
            reason_of(&WsError::Utf8("bad".into())),
            CloseReason::TransportError
        );
    }
}
