//! Starts the Node socket.io servers of `tests/interop/client/` on free ports.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// A Node server process, killed on drop.
pub struct NodeServer {
    child: Child,
    pub port: u16,
    script: String,
    env: Vec<(String, String)>,
}

impl NodeServer {
    pub async fn start(script: &str, env: &[(&str, &str)]) -> NodeServer {
        Self::start_on(script, 0, env).await
    }

    pub async fn start_on(script: &str, port: u16, env: &[(&str, &str)]) -> NodeServer {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut last_err = String::new();
        // A port just freed by a killed server can take a moment to be reusable.
        for _ in 0..50 {
            let mut child = Command::new("node")
                .arg(format!("client/{script}"))
                .current_dir(interop_dir())
                .env("PORT", port.to_string())
                .envs(env.iter().cloned())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("node must be on PATH");
            let stdout = child.stdout.take().unwrap();
            let mut lines = BufReader::new(stdout).lines();
            let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line()).await;
            if let Ok(Ok(Some(line))) = line {
                if let Some(p) = line.strip_prefix("PORT ") {
                    let port: u16 = p.trim().parse().unwrap();
                    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                    if let Some(stderr) = child.stderr.take() {
                        tokio::spawn(async move {
                            let mut l = BufReader::new(stderr).lines();
                            while let Ok(Some(line)) = l.next_line().await {
                                eprintln!("[node] {line}");
                            }
                        });
                    }
                    return NodeServer {
                        child,
                        port,
                        script: script.into(),
                        env,
                    };
                }
                last_err = line;
            } else if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let mut s = String::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), e.read_to_string(&mut s)).await;
                last_err = s;
            }
            let _ = child.kill().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {script} did not start: {last_err}");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process and waits until it is gone.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Starts the same script again on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let fresh = NodeServer::start_on(&self.script, self.port, &env).await;
        *self = fresh;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Waits until `cond` holds, failing the test after `secs` seconds.
pub async fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `f` until it returns `Some`, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
