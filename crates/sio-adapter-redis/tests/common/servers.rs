//! What stands around the servers under test: a steerable TCP proxy (the load balancer),
//! redis-servers and Redis Clusters of a test's own, and a look into a stream.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::{Child, Command};

use super::{WAIT, eventually, unique_prefix};

/// A TCP proxy the test steers: what a load balancer is to a cluster. It can move its
/// clients to another backend (cutting their connections), or turn new ones away.
pub struct Proxy {
    pub port: u16,
    target: Arc<Mutex<std::net::SocketAddr>>,
    refuse: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Proxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(Mutex::new(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            target_port,
        ))));
        let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (t, r, c) = (target.clone(), refuse.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    continue;
                }
                let to = *t.lock().unwrap();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Proxy {
            port,
            target,
            refuse,
            conns,
            accept,
        }
    }

    /// Closes every connection through it now.
    pub fn cut(&self) {
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// New connections go to `port`; the current ones are cut.
    pub fn move_to(&self, port: u16) {
        *self.target.lock().unwrap() = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        self.cut();
    }

    /// Turns new connections away (closed at once) until called with `false`.
    pub fn refuse(&self, on: bool) {
        self.refuse.store(on, Ordering::SeqCst);
    }
}

// ------------------------------------------------------------------ own redis-servers

/// A redis-server of the test's own (no persistence), on `port`, killed when dropped.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_redis(port: u16) -> Child {
    start_redis_with(port, &[]).await
}

pub async fn start_redis_with(port: u16, extra: &[&str]) -> Child {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server on PATH");
    assert!(
        serving(&mut child, port, WAIT).await,
        "redis-server did not start on {port}"
    );
    child
}

/// Whether `child` serves `port` within `wait`: the server answering there is this one, not
/// another test's that took the port first.
async fn serving(child: &mut Child, port: u16, wait: Duration) -> bool {
    let ours = format!("process_id:{}", child.id().unwrap_or_default());
    let deadline = std::time::Instant::now() + wait;
    loop {
        match query(port, &["INFO", "server"]).await {
            Ok(v) if text(&v).contains(&ours) => return true,
            // A password-protected server refuses INFO; no other test sets a password.
            Err(e) if e.to_string().contains("NOAUTH") => return true,
            _ => {}
        }
        if std::time::Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Redis Cluster of the test's own: `masters` masters with one replica each, on free
/// ports, in a directory of its own; killed when dropped.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    nodes: Vec<Option<Child>>,
    dir: PathBuf,
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in self.nodes.iter_mut().flatten() {
            let _ = n.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_cluster_port() -> u16 {
    loop {
        let p = free_port();
        if p < 55_000 && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return p;
        }
    }
}

async fn query(port: u16, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(&mut conn).await
}

fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::VerbatimString { text, .. } => text.clone(),
        other => format!("{other:?}"),
    }
}

/// A cluster-enabled redis-server on `port`, once it answers; `None` if it did not start.
async fn spawn_cluster_node(dir: &std::path::Path, port: u16) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            &format!("nodes-{port}.conf"),
            "--cluster-node-timeout",
            "1000",
            // Replicas sync at once (Redis 7 waits 5 s by default), so they can be promoted
            // as soon as the test kills a master.
            "--repl-diskless-sync-delay",
            "0",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server on PATH");
    if serving(&mut child, port, Duration::from_secs(3)).await {
        return Some(child);
    }
    let _ = child.kill().await;
    None
}

impl RedisCluster {
    pub async fn start(masters: usize) -> Self {
        let dir = std::env::temp_dir().join(unique_prefix("redis-cluster"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ports = Vec::new();
        let mut nodes = Vec::new();
        while ports.len() < masters * 2 {
            // Another test may take the port between the probe and the spawn: then another.
            let p = free_cluster_port();
            if let Some(child) = spawn_cluster_node(&dir, p).await {
                ports.push(p);
                nodes.push(Some(child));
            }
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli on PATH");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let me = RedisCluster { ports, nodes, dir };
        me.wait_ok().await;
        me
    }

    /// Seed URLs (every node).
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .zip(&self.nodes)
            .filter(|(_, n)| n.is_some())
            .map(|(p, _)| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// Until every live node says `cluster_state:ok` and every replica is in sync.
    pub async fn wait_ok(&self) {
        eventually("the cluster ok", 20, || async {
            for (p, n) in self.ports.iter().zip(&self.nodes) {
                if n.is_none() {
                    continue;
                }
                let info = query(*p, &["CLUSTER", "INFO"]).await.map(|v| text(&v));
                let repl = query(*p, &["INFO", "replication"]).await.map(|v| text(&v));
                let ok = info.is_ok_and(|i| i.contains("cluster_state:ok"))
                    && repl.is_ok_and(|r| {
                        r.contains("role:master") || r.contains("master_link_status:up")
                    });
                if !ok {
                    return None;
                }
            }
            Some(())
        })
        .await;
    }

    /// The port of the master serving `key`'s slot (a channel's, for sharded pub/sub), if
    /// one is up (none while a failover is under way).
    pub async fn master_of(&self, key: &str) -> Option<u16> {
        let live = self
            .ports
            .iter()
            .zip(&self.nodes)
            .find(|(_, n)| n.is_some())
            .map(|(p, _)| *p)
            .unwrap();
        let slot = match query(live, &["CLUSTER", "KEYSLOT", key]).await.unwrap() {
            redis::Value::Int(s) => s,
            other => panic!("KEYSLOT: {other:?}"),
        };
        let nodes = text(&query(live, &["CLUSTER", "NODES"]).await.unwrap());
        for line in nodes.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            for range in &f[8..] {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(lo), Ok(hi)) = (lo.parse::<i64>(), hi.parse::<i64>())
                    && (lo..=hi).contains(&slot)
                {
                    let port = f[1].split(['@', ':']).nth(1).unwrap();
                    return Some(port.parse().unwrap());
                }
            }
        }
        None
    }

    /// Kills (-9) the node on `port`.
    pub async fn kill(&mut self, port: u16) {
        let i = self.ports.iter().position(|p| *p == port).unwrap();
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill().await;
        }
    }
}
