//! The tower / hyper service and layer that put the engine under an HTTP server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame as BodyFrame;
use http_body_util::Full;

use crate::engine::Engine;
use crate::handler::Handler;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type EngineFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

/// The service behind the engine when none is given: `404 Not Found` for every request
/// outside the engine's path.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> tower_service::Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        std::future::ready(Ok(crate::error::status_response(StatusCode::NOT_FOUND)))
    }
}

impl<B> hyper::service::Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn call(&self, _req: Request<B>) -> Self::Future {
        std::future::ready(Ok(crate::error::status_response(StatusCode::NOT_FOUND)))
    }
}

/// The tower layer of an engine: requests under its path are the engine's, the others go
/// to the inner service. Made by [`Engine::layer`].
pub struct EngineLayer<H: Handler> {
    engine: Engine<H>,
}

impl<H: Handler> EngineLayer<H> {
    pub(crate) fn new(engine: Engine<H>) -> Self {
        EngineLayer { engine }
    }
}

impl<H: Handler> Clone for EngineLayer<H> {
    fn clone(&self) -> Self {
        EngineLayer {
            engine: self.engine.clone(),
        }
    }
}

impl<H: Handler> std::fmt::Debug for EngineLayer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineLayer").finish_non_exhaustive()
    }
}

impl<H: Handler, S> tower_layer::Layer<S> for EngineLayer<H> {
    type Service = EngineService<H, S>;

    fn layer(&self, inner: S) -> EngineService<H, S> {
        EngineService::new(self.engine.clone(), inner)
    }
}

/// The tower / hyper service of an engine, passing requests outside its path to `S`.
pub struct EngineService<H: Handler, S = NotFound> {
    engine: Engine<H>,
    inner: S,
}

impl<H: Handler, S: Clone> Clone for EngineService<H, S> {
    fn clone(&self) -> Self {
        EngineService {
            engine: self.engine.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<H: Handler, S> std::fmt::Debug for EngineService<H, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineService").finish_non_exhaustive()
    }
}

impl<H: Handler, S> EngineService<H, S> {
    pub(crate) fn new(engine: Engine<H>, inner: S) -> Self {
        EngineService { engine, inner }
    }

    /// The engine served.
    pub fn engine(&self) -> &Engine<H> {
        &self.engine
    }

    fn engine_call<B>(&self, req: Request<B>) -> EngineFuture
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let engine = self.engine.clone();
        Box::pin(async move { engine.serve(req).await })
    }
}

impl<H: Handler> Engine<H> {
    /// Serves a request of the engine's path, through CORS when it is configured.
    pub(crate) async fn serve<B>(self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        match self.shared.cors.clone() {
            None => self.handle(req).await,
            Some(cors) => {
                use tower_service::Service as _;
                let mut svc = tower_layer::Layer::layer(&cors, Core(self));
                match svc.call(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                }
            }
        }
    }
}

/// The engine as a tower service, for tower-http's CORS to wrap.
struct Core<H: Handler>(Engine<H>);

impl<H: Handler, B> tower_service::Service<Request<B>> for Core<H>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let engine = self.0.clone();
        Box::pin(async move { Ok(engine.handle(req).await) })
    }
}

impl<H, S, B, ResBody> tower_service::Service<Request<B>> for EngineService<H, S>
where
    H: Handler,
    S: tower_service::Service<Request<B>, Response = Response<ResBody>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if self.engine.owns(req.uri().path()) {
            ResponseFuture::engine(self.engine_call(req))
        } else {
            ResponseFuture::inner(self.inner.call(req))
        }
    }
}

impl<H, S, B, ResBody> hyper::service::Service<Request<B>> for EngineService<H, S>
where
    H: Handler,
    S: hyper::service::Service<Request<B>, Response = Response<ResBody>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn call(&self, req: Request<B>) -> Self::Future {
        if self.engine.owns(req.uri().path()) {
            ResponseFuture::engine(self.engine_call(req))
        } else {
            ResponseFuture::inner(self.inner.call(req))
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`EngineService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: FutureInner<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = FutureProj]
    enum FutureInner<F> {
        Engine { fut: EngineFuture },
        Inner { #[pin] fut: F },
    }
}

impl<F> ResponseFuture<F> {
    fn engine(fut: EngineFuture) -> Self {
        ResponseFuture {
            inner: FutureInner::Engine { fut },
        }
    }

    fn inner(fut: F) -> Self {
        ResponseFuture {
            inner: FutureInner::Inner { fut },
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            FutureProj::Engine { fut } => fut
                .as_mut()
                .poll(cx)
                .map(|res| Ok(res.map(ResponseBody::engine))),
            FutureProj::Inner { fut } => fut
                .poll(cx)
                .map(|r| r.map(|res| res.map(ResponseBody::inner))),
        }
    }
}

pin_project_lite::pin_project! {
    /// The body of [`EngineService`]'s responses: the engine's or the inner service's.
    pub struct ResponseBody<B> {
        #[pin]
        inner: BodyInner<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = BodyProj]
    enum BodyInner<B> {
        Engine { #[pin] body: Full<Bytes> },
        Inner { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    fn engine(body: Full<Bytes>) -> Self {
        ResponseBody {
            inner: BodyInner::Engine { body },
        }
    }

    fn inner(body: B) -> Self {
        ResponseBody {
            inner: BodyInner::Inner { body },
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl<B> http_body::Body for ResponseBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, B::Error>>> {
        match self.project().inner.project() {
            BodyProj::Engine { body } => body
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(|never| match never {}))),
            BodyProj::Inner { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            BodyInner::Engine { body } => body.is_end_stream(),
            BodyInner::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.inner {
            BodyInner::Engine { body } => body.size_hint(),
            BodyInner::Inner { body } => body.size_hint(),
        }
    }
}
