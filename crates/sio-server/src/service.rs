//! The tower layer and hyper / tower service that put socket.io under an HTTP server.
//!
//! Both wrap engineioxide's and add one thing: the URI and header values of a request that
//! opens a session are moved out of hyper's 8 KiB connection read buffer before
//! engineioxide keeps that request head for the whole session (hyper parses them as slices
//! of that buffer, so every idle connection would pin it: 8 KiB of the 27 KiB an idle
//! WebSocket cost, measured). Requests of an open session (`sid=` in the query) are not
//! kept, so they are passed on untouched.

use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use engineioxide::layer::EngineIoLayer;
use engineioxide::service::{EngineIoService, NotFoundService};
use http::{HeaderValue, Request, Uri};

use crate::engine::EngineHandler;

/// The tower layer that serves socket.io under an axum or hyper app: requests under the
/// server's path are served by socket.io, the others go to the inner service. Made by
/// [`SocketIo::layer`](crate::SocketIo::layer).
#[derive(Clone, Debug)]
pub struct SocketIoLayer(pub(crate) EngineIoLayer<EngineHandler>);

impl<S: Clone> tower_layer::Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> SocketIoService<S> {
        SocketIoService(self.0.layer(inner))
    }
}

/// The tower / hyper service that serves socket.io, passing other requests to `S` (by
/// default a 404). Made by [`SocketIo::service`](crate::SocketIo::service) or by
/// [`SocketIoLayer`].
#[derive(Clone, Debug)]
pub struct SocketIoService<S = NotFoundService>(pub(crate) EngineIoService<EngineHandler, S>);

impl<B, S> tower_service::Service<Request<B>> for SocketIoService<S>
where
    EngineIoService<EngineHandler, S>: tower_service::Service<Request<B>>,
{
    type Response =
        <EngineIoService<EngineHandler, S> as tower_service::Service<Request<B>>>::Response;
    type Error = <EngineIoService<EngineHandler, S> as tower_service::Service<Request<B>>>::Error;
    type Future = <EngineIoService<EngineHandler, S> as tower_service::Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        detach_head(&mut req);
        self.0.call(req)
    }
}

impl<B, S> hyper::service::Service<Request<B>> for SocketIoService<S>
where
    EngineIoService<EngineHandler, S>: hyper::service::Service<Request<B>>,
{
    type Response =
        <EngineIoService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Response;
    type Error = <EngineIoService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Error;
    type Future =
        <EngineIoService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Future;

    fn call(&self, mut req: Request<B>) -> Self::Future {
        detach_head(&mut req);
        self.0.call(req)
    }
}

/// Moves the URI and header values of a session-opening request out of hyper's read
/// buffer into one allocation the size of the values (module docs).
fn detach_head<B>(req: &mut Request<B>) {
    if req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("sid=")))
    {
        return;
    }
    let size: usize = req.headers().values().map(HeaderValue::len).sum();
    let mut buf = BytesMut::with_capacity(size);
    for v in req.headers().values() {
        buf.extend_from_slice(v.as_bytes());
    }
    let mut buf = buf.freeze();
    for v in req.headers_mut().values_mut() {
        let own = buf.split_to(v.len());
        // The bytes are those of a valid value, so this cannot fail; keep the old one if
        // it somehow did.
        if let Ok(mut nv) = HeaderValue::from_maybe_shared(own) {
            nv.set_sensitive(v.is_sensitive());
            *v = nv;
        }
    }
    let uri = Bytes::copy_from_slice(req.uri().to_string().as_bytes());
    if let Ok(uri) = Uri::from_maybe_shared(uri) {
        *req.uri_mut() = uri;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn detached_head_keeps_its_values_and_lets_the_read_buffer_go() {
        // Stands in for hyper's read buffer: the URI and values are slices of it.
        let read_buf =
            Bytes::from(b"/socket.io/?EIO=4&transport=websocketexample.comsecret-token".to_vec());
        let mut token = HeaderValue::from_maybe_shared(read_buf.slice(48..)).unwrap();
        token.set_sensitive(true);
        let mut req = Request::builder()
            .uri(Uri::from_maybe_shared(read_buf.slice(..37)).unwrap())
            .header(
                "host",
                HeaderValue::from_maybe_shared(read_buf.slice(37..48)).unwrap(),
            )
            .header("x-token", token)
            .body(())
            .unwrap();
        assert!(!read_buf.is_unique());
        detach_head(&mut req);
        assert!(
            read_buf.is_unique(),
            "the request still points into the read buffer"
        );
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(req.headers()["host"], "example.com");
        assert_eq!(req.headers()["x-token"], "secret-token");
        assert!(req.headers()["x-token"].is_sensitive());
    }

    #[test]
    fn requests_of_an_open_session_are_left_alone() {
        let read_buf = Bytes::from(b"/socket.io/?EIO=4&transport=polling&sid=abc".to_vec());
        let mut req = Request::builder()
            .uri(Uri::from_maybe_shared(read_buf.slice(..)).unwrap())
            .body(())
            .unwrap();
        detach_head(&mut req);
        // Still a slice of the read buffer: nothing was copied for a request not kept.
        assert!(!read_buf.is_unique());
        assert_eq!(req.uri(), "/socket.io/?EIO=4&transport=polling&sid=abc");
    }
}
