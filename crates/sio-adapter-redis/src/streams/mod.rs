//! `@socket.io/redis-streams-adapter` 0.3's transport.
//!
//! - Messages other servers must not miss (broadcasts without ack, joins, leaves,
//!   disconnects) are appended with `XADD <stream> MAXLEN ~ <maxLen> * uid <uid> nsp <nsp>
//!   type <n> [data <d>]`, `d` being the message data as JSON, or as base64 msgpack when it
//!   holds binary. The entry id is the message's offset: every server hands the same one to
//!   its clients, so a client can resume on any of them.
//! - Every server reads each stream from the last entry it saw (`XREAD BLOCK`), so after a
//!   lost connection it reads what was appended meanwhile: a Redis blip loses nothing.
//! - Short-lived traffic (broadcasts with acks, server-side emits, fetches) and every answer
//!   goes over pub/sub as msgpack, on `<prefix>#<nsp>#` and `<prefix>#<nsp>#<uid>#`.
//! - Servers are counted with NUMSUB (or SHARDNUMSUB) on `<prefix>#<nsp>#`.

mod log;
mod sessions;

use std::sync::{Arc, OnceLock};

use futures_core::future::BoxFuture;
use sio_types::AdapterError;

use crate::adapter::{Route, Shared};
use crate::cluster::{ClusterNode, Deliver, Message, SessionStore, Transport};
use crate::publisher::Kind;
use crate::wire;
pub(crate) use log::{Readers, start_readers};
use log::{encode_entry, stream_name, text_of};

/// One namespace's streams transport.
pub(crate) struct Streams {
    shared: Arc<Shared>,
    readers: Arc<Readers>,
    nsp: String,
    stream: String,
    /// `<prefix>#<nsp>#`.
    public: String,
    /// `<prefix>#<nsp>#<uid>#`, known once the node exists.
    private: OnceLock<String>,
    sharded_pubsub: bool,
    /// The `mid` of the next entry this node appends.
    next_mid: std::sync::atomic::AtomicU64,
}

impl Streams {
    pub(crate) fn new(
        shared: Arc<Shared>,
        readers: Arc<Readers>,
        nsp: &str,
        sharded_pubsub: bool,
    ) -> Self {
        let stream = stream_name(&shared.config.streams, nsp);
        let public = format!("{}#{nsp}#", shared.config.key_prefix);
        Streams {
            shared,
            readers,
            nsp: nsp.to_owned(),
            stream,
            public,
            private: OnceLock::new(),
            sharded_pubsub,
            next_mid: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn kind(&self) -> Kind {
        if self.sharded_pubsub {
            Kind::SPublish
        } else {
            Kind::Publish
        }
    }

    fn channels(&self) -> Vec<String> {
        let mut out = vec![self.public.clone()];
        out.extend(self.private.get().cloned());
        out
    }

    /// The XADD of `msg`, and its size. Beside Node's fields it carries `mid`, this node's
    /// count of its entries: a blip may make an XADD reach Redis twice (it is sent again
    /// when the answer was lost), and readers drop the copy. Node ignores the field.
    /// Queue the command right away, so that `mid`s follow queue order.
    fn xadd(&self, msg: &Message) -> Result<(redis::Cmd, usize), AdapterError> {
        let opts = &self.shared.config.streams;
        let fields = encode_entry(msg, opts.only_plaintext)?;
        let bytes = fields.iter().map(|(_, v)| v.len()).sum();
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(opts.max_len)
            .arg("*");
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        let mid = self
            .next_mid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cmd.arg("mid").arg(mid);
        Ok((cmd, bytes))
    }
}

impl Transport for Streams {
    fn broadcast<'a>(
        &'a self,
        msg: Message,
        _room: Option<String>,
        deliver: Deliver,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        let (cmd, bytes) = match self.xadd(&msg) {
            Ok(c) => c,
            Err(e) => {
                deliver(None);
                return Box::pin(async move { Err(e) });
            }
        };
        let (done, outcome) = tokio::sync::oneshot::channel();
        let readers = self.readers.clone();
        let stream = self.stream.clone();
        // Queued now, delivered locally in queue order with the entry id as offset; sent
        // again through a blip.
        self.shared.publisher.query_retrying(
            cmd,
            bytes,
            Box::new(move |answer| {
                let id = answer.as_ref().ok().and_then(text_of);
                if let Some(id) = &id {
                    readers.saw(&stream, id);
                }
                deliver(id.as_deref());
                let _ = done.send(answer.map(drop));
            }),
        );
        if self.shared.publisher.fire_and_forget() {
            // Queued, and sent again through a blip: only a Redis gone for longer fails it,
            // and that is logged.
            drop(outcome);
            return Box::pin(async { Ok(()) });
        }
        Box::pin(async move {
            outcome
                .await
                .unwrap_or_else(|_| Err("the publisher task has stopped".into()))
                .map_err(AdapterError::Transport)
        })
    }

    fn publish(&self, msg: Message) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            if !msg.is_ephemeral() {
                let (cmd, bytes) = self.xadd(&msg)?;
                let (done, answer) = tokio::sync::oneshot::channel();
                self.shared.publisher.query_retrying(
                    cmd,
                    bytes,
                    Box::new(move |r| drop(done.send(r))),
                );
                let id = answer
                    .await
                    .unwrap_or_else(|_| Err("the publisher task has stopped".into()))
                    .map_err(AdapterError::Transport)?;
                if let Some(id) = text_of(&id) {
                    self.readers.saw(&self.stream, &id);
                }
                return Ok(());
            }
            let payload = wire::encode_msgpack(&msg.to_value())?;
            self.shared
                .publisher
                .publish(self.kind(), self.public.clone(), payload)
                .await
                .map_err(AdapterError::Transport)
        })
    }

    fn publish_response(&self, requester: &str, msg: Message) {
        match wire::encode_msgpack(&msg.to_value()) {
            Ok(b) => self.shared.publisher.publish_later(
                self.kind(),
                format!("{}{requester}#", self.public),
                b,
            ),
            Err(e) => tracing::warn!(nsp = %self.nsp, "cannot answer: {e}"),
        }
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        let kind = if self.sharded_pubsub {
            "SHARDNUMSUB"
        } else {
            "NUMSUB"
        };
        Box::pin(self.shared.numsub(kind, &self.public))
    }

    fn init<'a>(&'a self, node: &'a Arc<ClusterNode>) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let _ = self.private.set(format!("{}{}#", self.public, node.uid));
            self.readers.register(&self.nsp, node);
            let channels = self.channels();
            for c in &channels {
                self.shared
                    .routes
                    .set_exact(c.clone(), Route::Cluster(Arc::downgrade(node)));
            }
            self.shared.subscribe(&channels, self.sharded_pubsub).await
        })
    }

    fn sessions(&self) -> Option<&dyn SessionStore> {
        Some(self)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            self.readers.unregister(&self.nsp);
            let channels = self.channels();
            for c in &channels {
                self.shared.routes.remove_exact(c);
            }
            self.shared
                .unsubscribe(&channels, self.sharded_pubsub)
                .await
        })
    }
}
