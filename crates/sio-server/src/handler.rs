//! Handler types: events, connections, middlewares, disconnections.
//!
//! Handlers are plain async closures. They are boxed once, when registered; calling one
//! allocates its future and nothing else.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_core::future::BoxFuture;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use sio_types::value::from_value;
use sio_types::{ConnectError, Value, ValueError};

use crate::ack::AckSender;
use crate::socket::{DisconnectReason, Socket};

/// The arguments of an event or an ack.
///
/// ```
/// use sio_server::Args;
/// use sio_types::Value;
///
/// let args = Args::from(vec![Value::from("hi"), Value::from(2)]);
/// assert_eq!(args.len(), 2);
/// assert_eq!(args.get(0).and_then(Value::as_str), Some("hi"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args(pub Vec<Value>);

impl Args {
    /// Decodes the arguments into a serde type: a single argument decodes as itself, several
    /// as a sequence (so a tuple takes them one by one). Binary arguments decode into
    /// `bytes::Bytes` or `serde_bytes` fields.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        match self.0.as_slice() {
            [one] => from_value(one.clone()),
            many => from_value(Value::Array(many.to_vec())),
        }
    }

    /// Like [`decode`](Args::decode), consuming the arguments (no clone).
    pub fn into_decoded<T: DeserializeOwned>(self) -> Result<T, ValueError> {
        let mut v = self.0;
        if v.len() == 1 {
            from_value(v.pop().unwrap_or_default())
        } else {
            from_value(Value::Array(v))
        }
    }

    /// The argument at `index`.
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.0.get(index)
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The arguments as a vector.
    pub fn into_vec(self) -> Vec<Value> {
        self.0
    }
}

impl From<Vec<Value>> for Args {
    fn from(v: Vec<Value>) -> Self {
        Args(v)
    }
}

pub(crate) type BoxedEventHandler =
    Arc<dyn Fn(Socket, Args, Option<AckSender>) -> BoxFuture<'static, ()> + Send + Sync>;
pub(crate) type BoxedConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture<'static, ()> + Send + Sync>;
pub(crate) type BoxedMiddleware =
    Arc<dyn Fn(Socket) -> BoxFuture<'static, Result<(), ConnectError>> + Send + Sync>;
pub(crate) type DisconnectFn = Box<dyn FnOnce(Socket, DisconnectReason) + Send>;
pub(crate) type ServerSideHandler =
    Arc<dyn Fn(Args, Option<sio_types::ServerSideReply>) -> BoxFuture<'static, ()> + Send + Sync>;

pub(crate) fn box_event<F, Fut>(f: F) -> BoxedEventHandler
where
    F: Fn(Socket, Args, Option<AckSender>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s, a, ack| Box::pin(f(s, a, ack)))
}

pub(crate) fn box_connect<F, Fut>(f: F) -> BoxedConnectHandler
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |s| Box::pin(f(s)))
}

pub(crate) fn box_middleware<F, Fut>(f: F) -> BoxedMiddleware
where
    F: Fn(Socket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
{
    Arc::new(move |s| Box::pin(f(s)))
}

/// Runs a handler future, turning a panic into a logged error so one bad handler never
/// takes down its socket's queue or other sockets.
pub(crate) async fn run_guarded<T>(what: &str, fut: impl Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(v) => Some(v),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".into());
            tracing::error!(handler = what, panic = %msg, "handler panicked");
            None
        }
    }
}

/// Runs a synchronous callback, catching and logging a panic.
pub(crate) fn call_guarded(what: &str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into());
        tracing::error!(handler = what, panic = %msg, "callback panicked");
    }
}

/// Runs `fut` on the caller's task as far as it gets without waiting, and gives it a task
/// of its own only if it has to wait. A panic in that first poll is logged as `what`.
///
/// Most connect flows and event handlers finish without waiting; run this way they cost no
/// task and no trip through the scheduler.
pub(crate) fn run_inline(what: &str, fut: impl Future<Output = ()> + Send + 'static) {
    let mut fut = Box::pin(fut);
    // A waker that does nothing is enough for this one poll: a pending future goes to
    // tokio::spawn, whose first poll registers the task's real waker.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))) {
        Ok(std::task::Poll::Ready(())) => {}
        Ok(std::task::Poll::Pending) => drop(tokio::spawn(fut)),
        Err(_) => tracing::error!(handler = what, "panicked"),
    }
}
