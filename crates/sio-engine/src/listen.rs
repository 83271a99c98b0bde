//! The engine's own listener: hyper over a tokio socket with a large accept backlog.

use std::net::SocketAddr;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;

use crate::request::{Continuation, RemoteAddr};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

    /// Stops accepting connections. Open connections are not closed.
    pub fn shutdown(&self) {
        self.task.abort();
    }
}

/// Serves `svc` on `addr`: HTTP/1.1 with upgrades, a backlog of 1,024, `TCP_NODELAY`, and
/// each request's peer address in its extensions as [`RemoteAddr`].
pub async fn listen<S, B>(svc: S, addr: SocketAddr) -> std::io::Result<ListenHandle>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
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
            drop(tokio::spawn(async move {
                let next = Continuation::default();
                let slot = next.clone();
                let conn_svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(RemoteAddr(peer));
                    req.extensions_mut().insert(slot.clone());
                    svc.call(req)
                });
                // Boxed, so hyper's connection state is freed once it hands the
                // connection over, rather than kept in this task for a WebSocket's life.
                let conn = Box::pin(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), conn_svc)
                        .with_upgrades(),
                );
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, error = %e, "http connection ended with an error");
                }
                // A WebSocket opened on this connection runs here: no second task, and no
                // hop through the scheduler between the upgrade and the first frame.
                if let Some(ws) = next.take() {
                    ws.await;
                }
            }));
            // Let the connections already in flight run before accepting the next one: a
            // burst of connects otherwise queues their I/O wake-ups behind up to a coop
            // budget's worth of new connections.
            tokio::task::yield_now().await;
        }
    });
    Ok(ListenHandle { local_addr, task })
}
