//! What the engine reads from a request: its query, its peer, and the head it keeps.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, Uri};

/// The peer address of a connection, put in the request extensions by
/// [`listen`](crate::listen::listen). When you mount the service yourself, insert it in a
/// middleware so the application can see the client's address.
///
/// ```
/// use sio_engine::RemoteAddr;
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(RemoteAddr("127.0.0.1:4000".parse().unwrap()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where the engine's own listener takes the WebSocket of an upgraded connection, to run
/// it on the connection's task (in the request extensions; absent under other servers,
/// where the WebSocket gets a task of its own).
#[derive(Clone, Default)]
pub(crate) struct Continuation(Arc<Mutex<Option<BoxFuture>>>);

impl Continuation {
    /// Hands `fut` to the connection's task, or gives it back if there is already one.
    pub(crate) fn set(&self, fut: BoxFuture) -> Result<(), BoxFuture> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Err(fut);
        }
        *slot = Some(fut);
        Ok(())
    }

    pub(crate) fn take(&self) -> Option<BoxFuture> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Moves the URI and header values of a session-opening request out of hyper's read
/// buffer into one allocation the size of the values. hyper parses them as slices of its
/// 8 KiB connection buffer, so a session that kept them would pin that buffer for life.
pub(crate) fn detach_head<B>(req: &mut Request<B>) {
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

    #[test]
    fn detached_head_keeps_its_values_and_lets_the_read_buffer_go() {
        // Stands in for hyper's read buffer: the URI and values are slices of it.
        let read_buf =
            Bytes::from(b"/engine.io/?EIO=4&transport=websocketexample.comsecret-token".to_vec());
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
        assert_eq!(req.uri(), "/engine.io/?EIO=4&transport=websocket");
        assert_eq!(req.headers()["host"], "example.com");
        assert_eq!(req.headers()["x-token"], "secret-token");
        assert!(req.headers()["x-token"].is_sensitive());
    }
}
