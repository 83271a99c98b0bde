//! `createShardedAdapter`'s transport (Redis ≥ 7): cluster messages SPUBLISHed on the
//! namespace's channel, on a channel per room in the dynamic modes, and answers on the
//! requester's own channel; servers counted with SHARDNUMSUB.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use futures_core::future::BoxFuture;
use sio_types::{AdapterError, LocalNamespace, Room, SocketId};

use crate::adapter::{Route, Shared};
use crate::cluster::{ClusterNode, Deliver, Message, Transport};
use crate::config::SubscriptionMode;
use crate::conn::SubOp;
use crate::publisher::Kind;
use crate::wire;

pub(crate) struct Sharded {
    shared: Arc<Shared>,
    mode: SubscriptionMode,
    /// `<prefix>#<nsp>#`; room channels append `<room>#`.
    main: String,
    /// `<prefix>#<nsp>#<uid>#`, known once the node exists.
    own: OnceLock<String>,
    /// The room channels subscribed (dynamic modes).
    dynamic: Mutex<HashSet<String>>,
}

impl Sharded {
    pub(crate) fn new(shared: Arc<Shared>, nsp: &str, mode: SubscriptionMode) -> Self {
        let main = format!("{}#{nsp}#", shared.config.key_prefix);
        Sharded {
            shared,
            mode,
            main,
            own: OnceLock::new(),
            dynamic: Mutex::default(),
        }
    }

    /// `shouldUseASeparateNamespace`: public rooms in dynamic mode, every room in
    /// dynamic-private mode.
    fn wants_room_channel(&self, ns: &Arc<dyn LocalNamespace>, room: &str) -> bool {
        match self.mode {
            SubscriptionMode::DynamicPrivate => true,
            SubscriptionMode::Dynamic => {
                let private = room
                    .parse::<SocketId>()
                    .ok()
                    .is_some_and(|id| ns.socket_rooms(id).is_some());
                !private
            }
            SubscriptionMode::Static => false,
        }
    }

    /// The channel of a broadcast without ack (`computeChannel` in sharded-adapter.ts).
    fn channel(&self, room: Option<&str>) -> String {
        if let Some(room) = room {
            let separate = match self.mode {
                SubscriptionMode::Dynamic => room.len() != 20,
                SubscriptionMode::DynamicPrivate => true,
                SubscriptionMode::Static => false,
            };
            if separate {
                return format!("{}{room}#", self.main);
            }
        }
        self.main.clone()
    }

    fn encode(msg: &Message) -> Result<Vec<u8>, AdapterError> {
        let v = msg.to_value();
        if msg.may_contain_binary() {
            wire::encode_auto(&v)
        } else {
            Ok(wire::encode_json(&v))
        }
    }

    fn channels(&self) -> Vec<String> {
        let mut out = vec![self.main.clone()];
        out.extend(self.own.get().cloned());
        out
    }

    fn room_changed(&self, node: &Arc<ClusterNode>, room: &str, created: bool) {
        let Some(ns) = node.ns_weak().upgrade() else {
            return;
        };
        let channel = format!("{}{room}#", self.main);
        let Ok(mut dynamic) = self.dynamic.lock() else {
            return;
        };
        let routes = &self.shared.routes;
        if created {
            if dynamic.contains(&channel) || !self.wants_room_channel(&ns, room) {
                return;
            }
            dynamic.insert(channel.clone());
            routes.set_exact(channel.clone(), Route::Cluster(Arc::downgrade(node)));
            self.shared.subscribe_later(SubOp::SSubscribe, channel);
        } else if dynamic.remove(&channel) {
            routes.remove_exact(&channel);
            self.shared.subscribe_later(SubOp::SUnsubscribe, channel);
        }
    }
}

impl Transport for Sharded {
    fn broadcast<'a>(
        &'a self,
        msg: Message,
        room: Option<String>,
        deliver: Deliver,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        // Nothing here gives offsets: local sockets get it first, as Node's do.
        deliver(None);
        Box::pin(async move {
            let payload = Self::encode(&msg)?;
            let channel = self.channel(room.as_deref());
            self.shared
                .publisher
                .publish_soon(Kind::SPublish, channel, payload)
                .await
                .map_err(AdapterError::Transport)
        })
    }

    fn publish(&self, msg: Message) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let payload = Self::encode(&msg)?;
            self.shared
                .publisher
                .publish(Kind::SPublish, self.main.clone(), payload)
                .await
                .map_err(AdapterError::Transport)
        })
    }

    fn publish_response(&self, requester: &str, msg: Message) {
        match Self::encode(&msg) {
            Ok(b) => self.shared.publisher.publish_later(
                Kind::SPublish,
                format!("{}{requester}#", self.main),
                b,
            ),
            Err(e) => tracing::warn!(nsp = %msg.nsp, "cannot answer: {e}"),
        }
    }

    fn server_count(&self) -> BoxFuture<'_, Result<usize, AdapterError>> {
        Box::pin(self.shared.numsub("SHARDNUMSUB", &self.main))
    }

    fn init<'a>(&'a self, node: &'a Arc<ClusterNode>) -> BoxFuture<'a, Result<(), AdapterError>> {
        Box::pin(async move {
            let _ = self.own.set(format!("{}{}#", self.main, node.uid));
            let mut channels = self.channels();
            if self.mode != SubscriptionMode::Static
                && let Some(ns) = node.ns_weak().upgrade()
            {
                for room in ns.rooms() {
                    if self.wants_room_channel(&ns, &room) {
                        let c = format!("{}{room}#", self.main);
                        if let Ok(mut d) = self.dynamic.lock() {
                            d.insert(c.clone());
                        }
                        channels.push(c);
                    }
                }
            }
            for c in &channels {
                self.shared
                    .routes
                    .set_exact(c.clone(), Route::Cluster(Arc::downgrade(node)));
            }
            self.shared.subscribe(&channels, true).await
        })
    }

    fn close(&self) -> BoxFuture<'_, Result<(), AdapterError>> {
        Box::pin(async move {
            let mut channels = self.channels();
            if let Ok(mut d) = self.dynamic.lock() {
                channels.extend(d.drain());
            }
            for c in &channels {
                self.shared.routes.remove_exact(c);
            }
            self.shared.unsubscribe(&channels, true).await
        })
    }

    fn on_room_created(&self, node: &Arc<ClusterNode>, room: &Room) {
        self.room_changed(node, room, true);
    }

    fn on_room_deleted(&self, node: &Arc<ClusterNode>, room: &Room) {
        self.room_changed(node, room, false);
    }
}
