//! The tower layer and hyper / tower service that put socket.io under an HTTP server.
//!
//! Both are the engine's (`sio-engine`), named here so that this crate's API does not
//! change with the engine's: requests under the server's path go to socket.io, the others
//! to the inner service (by default a 404).

use std::task::{Context, Poll};

use http::Request;
pub use sio_engine::service::{ResponseBody, ResponseFuture};
use sio_engine::{EngineLayer, EngineService};

use crate::engine::EngineHandler;

/// The service behind socket.io when none is given: `404 Not Found`.
pub use sio_engine::NotFound;

/// The tower layer that serves socket.io under an axum or hyper app. Made by
/// [`SocketIo::layer`](crate::SocketIo::layer).
#[derive(Clone, Debug)]
pub struct SocketIoLayer(pub(crate) EngineLayer<EngineHandler>);

impl<S> tower_layer::Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> SocketIoService<S> {
        SocketIoService(self.0.layer(inner))
    }
}

/// The tower / hyper service that serves socket.io, passing other requests to `S` (by
/// default a 404). Made by [`SocketIo::service`](crate::SocketIo::service) or by
/// [`SocketIoLayer`].
#[derive(Debug)]
pub struct SocketIoService<S = NotFound>(pub(crate) EngineService<EngineHandler, S>);

impl<S: Clone> Clone for SocketIoService<S> {
    fn clone(&self) -> Self {
        SocketIoService(self.0.clone())
    }
}

impl<B, S> tower_service::Service<Request<B>> for SocketIoService<S>
where
    EngineService<EngineHandler, S>: tower_service::Service<Request<B>>,
{
    type Response =
        <EngineService<EngineHandler, S> as tower_service::Service<Request<B>>>::Response;
    type Error = <EngineService<EngineHandler, S> as tower_service::Service<Request<B>>>::Error;
    type Future = <EngineService<EngineHandler, S> as tower_service::Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.0.call(req)
    }
}

impl<B, S> hyper::service::Service<Request<B>> for SocketIoService<S>
where
    EngineService<EngineHandler, S>: hyper::service::Service<Request<B>>,
{
    type Response =
        <EngineService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Response;
    type Error = <EngineService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Error;
    type Future = <EngineService<EngineHandler, S> as hyper::service::Service<Request<B>>>::Future;

    fn call(&self, req: Request<B>) -> Self::Future {
        self.0.call(req)
    }
}
