//! The standalone listener: hyper over a tokio socket with a large accept backlog.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, Uri};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;

use crate::handshake::RemoteAddr;
use crate::io::SocketIoService;

/// Connection bursts (thousands of clients reconnecting at once) overflow the kernel's
/// default backlog of 128 and get refused; 1,024 absorbs them.
const BACKLOG: u32 = 1024;

/// A running listener. Dropping it keeps the server running; call
/// [`shutdown`](ListenHandle::shutdown) to stop accepting.
#[derive(Debug)]
pub struct ListenHandle {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ListenHandle {
    /// The address bound (with the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections. Open connections are not closed: use
    /// [`SocketIo::close`](crate::SocketIo::close) for that.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

pub(crate) async fn listen(
    svc: SocketIoService,
    addr: SocketAddr,
) -> std::io::Result<ListenHandle> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?;
    let local_addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Typically EMFILE: back off a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let svc = svc.clone();
            tokio::spawn(async move {
                let conn_svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(RemoteAddr(peer));
                    detach_head(&mut req);
                    svc.call(req)
                });
                let res = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), conn_svc)
                    .with_upgrades()
                    .await;
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "http connection ended with an error");
                }
            });
        }
    });
    Ok(ListenHandle { local_addr, task })
}

/// Moves the request's URI and header values out of hyper's read buffer.
///
/// hyper parses them as slices of its 8 KiB connection read buffer, and engineioxide keeps
/// a session's request head for the whole session: without this, every idle connection
/// pins that buffer (measured: 8 KiB of the 27 KiB an idle WebSocket cost). One
/// allocation the size of the values replaces it.
fn detach_head<B>(req: &mut Request<B>) {
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
}
