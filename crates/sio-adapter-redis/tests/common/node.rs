//! A Node member of the cluster: tests/interop/redis/node-cluster-node.js, driven over a
//! pipe (`sio_tests::node::Piped`); values between the two as JSON (binary as
//! `{"$bin": hex}`, as the script encodes it).

use serde_json::{Value as Json, json};
use sio_adapter_redis::Mode;
use sio_tests::node::Piped;
use sio_types::Value;

use super::{REDIS, WAIT_SECS, eventually, mode_arg};

// ------------------------------------------------------------------ value <-> JSON pipe

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Binary(b) => {
            json!({ "$bin": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Object(m) if m.len() == 1 && m.get("$bin").is_some_and(Json::is_string) => {
            let hex = m["$bin"].as_str().unwrap();
            Value::from(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect::<Vec<u8>>(),
            )
        }
        Json::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
        Json::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        other => Value::from(other.clone()),
    }
}

// ------------------------------------------------------------------ Node member

/// A Node cluster member (tests/interop/redis/node-cluster-node.js).
pub struct NodeMember {
    script: Piped,
    /// Client name -> socket id.
    pub ids: std::collections::HashMap<String, String>,
}

impl std::ops::Deref for NodeMember {
    type Target = Piped;
    fn deref(&self) -> &Piped {
        &self.script
    }
}

impl NodeMember {
    pub async fn start(prefix: &str, mode: Mode, clients: &[&str]) -> Self {
        Self::start_with_url(REDIS, prefix, mode, clients).await
    }

    pub async fn start_with_url(url: &str, prefix: &str, mode: Mode, clients: &[&str]) -> Self {
        let mut args = vec![url, prefix, mode_arg(mode)];
        args.extend(clients);
        let (script, ready) = Piped::start("redis/node-cluster-node.js", &args).await;
        let ids = ready["ids"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        NodeMember { script, ids }
    }

    pub fn id(&self, client: &str) -> String {
        self.ids[client].clone()
    }

    /// Waits until `client`'s socket is in `room` on the Node server (or, with `in_room`
    /// false, no longer is).
    pub async fn wait_room(&self, client: &str, room: &str, in_room: bool) {
        let what = format!("{client} {} {room}", if in_room { "in" } else { "out of" });
        eventually(&what, WAIT_SECS, || async {
            let rooms = self
                .cmd(json!({"op": "localRooms", "client": client}))
                .await
                .unwrap();
            let found = rooms.as_array().unwrap().iter().any(|r| r == room);
            (found == in_room).then_some(())
        })
        .await;
    }

    /// Events a client received: (event, args).
    pub fn received(&self, client: &str, event: &str) -> Vec<Vec<Value>> {
        self.events()
            .iter()
            .filter(|e| e["type"] == "recv" && e["client"] == client && e["event"] == event)
            .map(|e| {
                e["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(from_json)
                    .collect()
            })
            .collect()
    }

    pub async fn stop(self) {
        self.script.stop().await;
    }

    pub async fn kill(self) {
        self.script.kill().await;
    }
}
