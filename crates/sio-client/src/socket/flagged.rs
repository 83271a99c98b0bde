//! Emits with per-packet flags: volatile, compress.

use serde::Serialize;
use sio_types::{Packet, Value};

use super::{Socket, refuse_reserved};
use crate::error::Error;

/// An emit with per-packet flags, from [`Socket::volatile`] or [`Socket::compress`].
///
/// The flags apply to this emit only, as socket.io-client's do.
#[derive(Debug, Clone, Copy)]
#[must_use = "a FlaggedEmit sends nothing until `emit` is called"]
pub struct FlaggedEmit<'a> {
    pub(super) socket: &'a Socket,
    pub(super) volatile: bool,
    pub(super) compress: bool,
}

impl FlaggedEmit<'_> {
    /// Makes this emit volatile: see [`Socket::volatile`].
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sets the `compress` flag (default `true`).
    ///
    /// socket.io-client hands it to the transport, where only Node's WebSocket uses it, to
    /// choose per-message deflate for the frame. Here every packet goes out uncompressed
    /// whatever the flag says (docs/compatibility.md, client section): it is kept so code
    /// ported from JavaScript compiles and reads the same, and [`is_compressed`](Self::is_compressed)
    /// reports it.
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Whether the emit is volatile.
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// The `compress` flag as set (it has no effect on the wire, see [`compress`](Self::compress)).
    pub fn is_compressed(&self) -> bool {
        self.compress
    }

    /// Emits `event` with `args`. A volatile emit while the socket is not connected is
    /// dropped and still returns `Ok(())`, as socket.io-client discards it silently; other
    /// emits behave as [`Socket::emit`].
    pub fn emit(self, event: &str, args: Vec<Value>) -> Result<(), Error> {
        if !self.volatile {
            return self.socket.emit(event, args);
        }
        refuse_reserved(event)?;
        let inner = &self.socket.inner;
        inner
            .send_volatile(Packet::event(inner.nsp.clone(), event, args))
            .map(|_| ())
    }

    /// Emits `event` and waits for the server's ack within [`ClientConfig::ack_timeout`](crate::ClientConfig::ack_timeout).
    /// A volatile emit is not retried, and fails at once with [`AckError::Send`](sio_types::AckError::Send) when it is
    /// dropped because the socket is not connected ([`AckError::Disconnected`](sio_types::AckError::Disconnected) when the
    /// connection went away between the emit and the send); other emits behave as
    /// [`Socket::emit_with_ack`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), sio_client::Error> {
    /// use sio_client::Value;
    ///
    /// let socket = sio_client::ClientConfig::builder("http://127.0.0.1:3000").build().connect().await?;
    /// let reply = socket.volatile().emit_with_ack("ping", vec![Value::from(1)]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack(self, event: &str, args: Vec<Value>) -> Result<Vec<Value>, Error> {
        if !self.volatile {
            return self.socket.emit_with_ack(event, args).await;
        }
        refuse_reserved(event)?;
        let inner = &self.socket.inner;
        inner
            .emit_with_ack_once(event, args, inner.config.ack_timeout, true)
            .await
    }

    /// Emits `event` with one argument serialized from `data`, as [`emit`](Self::emit).
    pub fn emit_serde<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), Error> {
        self.emit(event, vec![sio_types::value::to_value(data)?])
    }
}
