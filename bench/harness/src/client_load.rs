//! Scenario C1: the client as the load. sio-client (`sio-bench-client`) and
//! socket.io-client 4.8 under Node (`bench/node/client-load.js`) run the same phases against
//! the same server (ours, fresh per run, on core 0), each pinned to core 1 as the load
//! generator is: connect + authenticate, then acked round trips.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use super::{Ctx, Kind, now_ms, pinned, start_server};

/// The two clients, by the label their rows get: "ours" and "node", so the report's ratio
/// of medians compares them as it compares servers.
const CLIENTS: [&str; 2] = ["ours (sio-client)", "node"];

pub(crate) fn run(ctx: &mut Ctx) -> Vec<Value> {
    let params = [
        ("sockets", ctx.size("c1.sockets", 500, 5)),
        ("inflight", ctx.size("c1.inflight", 50, 5)),
        ("acks", ctx.size("c1.acks", 200, 5)),
    ];
    let mut lines = Vec::new();
    for client in CLIENTS {
        for run in 1..=ctx.runs {
            lines.push(one(ctx, client, &params, run));
        }
    }
    lines
}

/// One run: a fresh server, the client program, one JSON line.
fn one(ctx: &mut Ctx, client: &str, params: &[(&str, usize)], run: usize) -> Value {
    let result = match start_server(ctx, Kind::Ours, None) {
        Err(e) => json!({ "error": e }),
        Ok((port, mut server)) => {
            let mut args = vec![format!("ports={port}"), format!("pids={}", server.0.id())];
            args.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
            let mut cmd = if client == "node" {
                let mut a = vec!["client-load.js".to_owned()];
                a.extend(args);
                let mut c = pinned(1, Path::new("node"), &a);
                c.current_dir(ctx.root.join("bench/node"));
                c
            } else {
                pinned(1, &ctx.bin.join("sio-bench-client"), &args)
            };
            let mut result = match cmd.stderr(Stdio::inherit()).output() {
                Ok(o) => String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .rev()
                    .find_map(|l| serde_json::from_str::<Value>(l).ok())
                    .unwrap_or_else(|| json!({ "error": format!("no result ({})", o.status) })),
                Err(e) => json!({ "error": format!("cannot start {client}: {e}") }),
            };
            if let Ok(Some(status)) = server.0.try_wait() {
                result["error"] = json!(format!("server exited during the run: {status}"));
            }
            result
        }
    };
    let line = json!({
        "time_ms": now_ms(), "scenario": "C1", "variant": "connect + authenticate, acked echo",
        "server": client, "run": run, "smoke": ctx.smoke,
        "params": params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "result": result,
    });
    let _ = writeln!(ctx.jsonl, "{line}");
    eprintln!("    C1 {client} run {run}: {result}");
    line
}
