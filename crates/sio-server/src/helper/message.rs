//! What [`ServerHelper::send`](super::ServerHelper::send) sends: [`SendMessage`], the
//! seed's `{destination, payload: {topic, data}, doLog, cb}`.

use serde::Serialize;
use sio_types::Value;

/// What [`ServerHelper::send`](super::ServerHelper::send) emits: the seed's `{destination, payload: {topic, data},
/// doLog, cb}`.
///
/// ```
/// use sio_server::helper::SendMessage;
/// let msg = SendMessage::new("news", "hi").to("io-default").log(true);
/// assert_eq!(msg.topic, "news");
/// ```
#[non_exhaustive]
pub struct SendMessage {
    /// A socket id or a room; `None` sends to every client.
    pub destination: Option<String>,
    /// The event name.
    pub topic: String,
    /// The payload.
    pub data: Value,
    /// Log the message (the seed's `doLog`): destination, topic and size at INFO; the
    /// payload itself only at TRACE, since it is application data.
    pub log: bool,
    /// Called once the emit was handed over (the seed's `cb`).
    pub callback: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendMessage")
            .field("destination", &self.destination)
            .field("topic", &self.topic)
            .field("data", &self.data)
            .field("log", &self.log)
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl SendMessage {
    /// A message to everyone.
    pub fn new(topic: impl Into<String>, data: impl Into<Value>) -> Self {
        SendMessage {
            destination: None,
            topic: topic.into(),
            data: data.into(),
            log: false,
            callback: None,
        }
    }

    /// A message to everyone whose payload is any serde type (a struct, a map, ...), in
    /// one call; fails only when the type cannot be represented (a map with non-string
    /// keys, say).
    ///
    /// ```
    /// use sio_server::helper::SendMessage;
    /// #[derive(serde::Serialize)]
    /// struct News<'a> { title: &'a str, score: u32 }
    ///
    /// let msg = SendMessage::typed("news", &News { title: "hi", score: 3 })?.to("io-default");
    /// assert_eq!(msg.data.get("score").and_then(|v| v.as_i64()), Some(3));
    /// # Ok::<(), sio_server::sio_types::ValueError>(())
    /// ```
    pub fn typed<T: Serialize + ?Sized>(
        topic: impl Into<String>,
        data: &T,
    ) -> Result<Self, sio_types::ValueError> {
        Ok(Self::new(topic, sio_types::value::to_value(data)?))
    }

    /// To a socket id or a room.
    pub fn to(mut self, destination: impl Into<String>) -> Self {
        self.destination = Some(destination.into());
        self
    }

    /// Logs the message when sent.
    pub fn log(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// Runs `f` once the emit was handed over.
    pub fn callback(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.callback = Some(Box::new(f));
        self
    }
}

/// JavaScript falsiness, for the seed's "no-op when data is falsy".
pub(super) fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        other => other.as_f64().is_some_and(|n| n == 0.0 || n.is_nan()),
    }
}
