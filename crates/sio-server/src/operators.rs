//! Broadcast operators: who receives a packet, with which flags.
//!
//! Every operation goes through the namespace's [`Adapter`](sio_types::Adapter), so it
//! reaches the whole cluster unless `local()` is set, and works the same with the
//! in-memory adapter and the Redis one.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use sio_types::IntoRoom;
use sio_types::constants::is_reserved_event;
use sio_types::value::to_value;
use sio_types::{
    AckResponse, AckStream, AdapterError, BroadcastOptions, Handshake, Packet, Room, SocketId,
    SocketInfo, Value,
};

use crate::error::EmitError;
use crate::namespace::NamespaceInner;

/// A broadcast being built: `to`/`except` rooms and flags, then an operation.
///
/// ```no_run
/// # async fn f(io: sio_server::SocketIo) -> Result<(), sio_server::EmitError> {
/// io.to("room1").except("room2").volatile().emit("tick", &1).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    ns: Arc<NamespaceInner>,
    opts: BroadcastOptions,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("nsp", &self.ns.path)
            .field("opts", &self.opts)
            .finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(ns: Arc<NamespaceInner>) -> Self {
        BroadcastOperator {
            ns,
            opts: BroadcastOptions::default(),
        }
    }

    /// Adds a target room.
    pub fn to(mut self, room: impl IntoRoom) -> Self {
        self.opts = self.opts.to(room);
        self
    }

    /// Same as [`to`](BroadcastOperator::to).
    pub fn within(self, room: impl IntoRoom) -> Self {
        self.to(room)
    }

    /// Adds several target rooms.
    pub fn to_many(mut self, rooms: impl IntoIterator<Item = impl IntoRoom>) -> Self {
        for r in rooms {
            self.opts = self.opts.to(r);
        }
        self
    }

    /// Leaves out the sockets of `room`.
    pub fn except(mut self, room: impl IntoRoom) -> Self {
        self.opts = self.opts.except(room);
        self
    }

    /// Only this server's sockets.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// The packet may be dropped for sockets that cannot take it now (counted).
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Sets the compression flag. sio-engine negotiates no WebSocket permessage-deflate,
    /// so the flag travels to the cluster (Node servers honour it) but does not change
    /// this server's frames; polling responses are compressed by size
    /// ([`http_compression`](crate::SocketIoBuilder::http_compression)), whatever the
    /// flag. See the crate docs on compression.
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = compress;
        self
    }

    /// Ack timeout for [`emit_with_ack`](BroadcastOperator::emit_with_ack).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// The options built so far.
    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    /// Emits `event` with one argument to the selected sockets.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let v = to_value(data)?;
        self.emit_args(event, vec![v]).await
    }

    /// Emits `event` with these arguments to the selected sockets.
    pub async fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let packet = Packet::event(self.ns.path.clone(), event, args);
        if self.opts.flags.local {
            // No cluster round trip for local broadcasts: straight to the room index.
            self.ns.deliver(&packet, &self.opts);
            return Ok(());
        }
        self.ns
            .adapter
            .broadcast(packet, self.opts.clone())
            .await
            .map_err(EmitError::from)
    }

    /// Emits `event` and returns the answers of every selected socket as they come; each
    /// socket that does not answer within the timeout (the `timeout` flag, else the
    /// server's ack timeout) yields `AckError::Timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<AckStream, EmitError> {
        if is_reserved_event(event) {
            return Err(EmitError::Reserved(event.to_owned()));
        }
        let timeout = self
            .opts
            .flags
            .timeout
            .unwrap_or(self.ns.config.ack_timeout);
        let packet = Packet::event(self.ns.path.clone(), event, args);
        Ok(self
            .ns
            .adapter
            .broadcast_with_ack(packet, self.opts.clone(), timeout)
            .await?)
    }

    /// Like [`emit_with_ack`](BroadcastOperator::emit_with_ack), collecting every answer
    /// (or its error) once all came or timed out.
    pub async fn emit_with_ack_all(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<AckResponse>, EmitError> {
        let stream = self.emit_with_ack(event, args).await?;
        Ok(stream.collect().await)
    }

    /// Describes the selected sockets, on every server.
    pub async fn fetch_sockets(&self) -> Result<Vec<SocketInfo>, AdapterError> {
        if self.opts.flags.local {
            return Ok(sio_types::LocalNamespace::fetch_sockets(
                &*self.ns, &self.opts,
            ));
        }
        self.ns.adapter.fetch_sockets(self.opts.clone()).await
    }

    /// The selected sockets, on every server, as handles that can emit to them, make them
    /// join or leave rooms, or disconnect them (socket.io's `fetchSockets()`).
    pub async fn fetch_remote_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        Ok(self
            .fetch_sockets()
            .await?
            .into_iter()
            .map(|info| RemoteSocket {
                info,
                ns: self.ns.clone(),
            })
            .collect())
    }

    /// Makes the selected sockets join `rooms`.
    pub async fn sockets_join(
        &self,
        rooms: impl IntoIterator<Item = impl IntoRoom>,
    ) -> Result<(), AdapterError> {
        let rooms: Vec<Room> = rooms.into_iter().map(IntoRoom::into_room).collect();
        if self.opts.flags.local {
            sio_types::LocalNamespace::add_sockets(&*self.ns, &self.opts, &rooms);
            return Ok(());
        }
        self.ns.adapter.add_sockets(self.opts.clone(), rooms).await
    }

    /// Makes the selected sockets leave `rooms`.
    pub async fn sockets_leave(
        &self,
        rooms: impl IntoIterator<Item = impl IntoRoom>,
    ) -> Result<(), AdapterError> {
        let rooms: Vec<Room> = rooms.into_iter().map(IntoRoom::into_room).collect();
        if self.opts.flags.local {
            sio_types::LocalNamespace::del_sockets(&*self.ns, &self.opts, &rooms);
            return Ok(());
        }
        self.ns.adapter.del_sockets(self.opts.clone(), rooms).await
    }

    /// Disconnects the selected sockets; `close` closes their whole connection.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        if self.opts.flags.local {
            sio_types::LocalNamespace::disconnect_sockets(&*self.ns, &self.opts, close);
            return Ok(());
        }
        self.ns
            .adapter
            .disconnect_sockets(self.opts.clone(), close)
            .await
    }
}

/// A socket of any server of the cluster, as `fetch_sockets` returns it. Its operations go
/// through the adapter to wherever the socket lives.
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    ns: Arc<NamespaceInner>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl RemoteSocket {
    /// The socket id.
    pub fn id(&self) -> SocketId {
        self.info.id
    }

    /// Its rooms when fetched, its own id first.
    pub fn rooms(&self) -> &[Room] {
        &self.info.rooms
    }

    /// Its handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.info.handshake
    }

    /// Its application data (`socket.data`) when fetched.
    pub fn data(&self) -> &Value {
        &self.info.data
    }

    /// Everything fetched, as sent across the cluster.
    pub fn info(&self) -> &SocketInfo {
        &self.info
    }

    fn only(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.ns.clone()).to(self.info.id.as_str().to_owned())
    }

    /// Emits to this socket.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        self.only().emit(event, data).await
    }

    /// Makes this socket join `rooms`.
    pub async fn join(
        &self,
        rooms: impl IntoIterator<Item = impl IntoRoom>,
    ) -> Result<(), AdapterError> {
        self.only().sockets_join(rooms).await
    }

    /// Makes this socket leave `rooms`.
    pub async fn leave(
        &self,
        rooms: impl IntoIterator<Item = impl IntoRoom>,
    ) -> Result<(), AdapterError> {
        self.only().sockets_leave(rooms).await
    }

    /// Disconnects this socket; `close` closes its whole connection.
    pub async fn disconnect(&self, close: bool) -> Result<(), AdapterError> {
        self.only().disconnect_sockets(close).await
    }
}
