//! `cargo xtask bench --sweep`: how each cost grows with the number of sockets, for ours,
//! socketioxide and Node in the same sweep.
//!
//! Three parts, each a fresh server process per run, pinned as the scenarios are (server on
//! core 0, `sio-bench-sweep-load` on core 1):
//! - `grow`: one load generator holds idle authenticated WebSocket sockets and grows through
//!   `sweep.sizes`; at each size it records RSS, the CPU to open them, the idle CPU over a
//!   window that holds every socket's heartbeats, and `sweep.rounds` broadcasts to all.
//!   A server that fails at a size (open failures, a disconnect, a lost delivery, or the
//!   process gone) stops there, and the line says where and why;
//! - `poll`: the same over HTTP long-polling at `sweep.poll` sizes;
//! - `storm`: connect storms (S1's flow) of `sweep.storms` sockets, `sweep.inflight` at a
//!   time, `--runs` runs each.
//!
//! Keys (`sweep.key=value`): `servers=ours,socketioxide,node`, `parts=grow,poll,storm`,
//! `sizes=1000,10000,50000,100000`, `poll=1000,5000`, `storms=10000,50000`,
//! `inflight=1000`, `window_ms=32000`, `settle_ms=3000`, `rounds=3`, `grow_runs=1`.
//! Results go to `target/bench/sweep-*.jsonl`; [`crate::sweep_report`] writes the docs.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Ctx, Kind, Res, now_ms, start_server};

/// The sweep's sizes and which parts run, from `sweep.*` keys (smaller under `--smoke`).
struct Plan {
    servers: Vec<Kind>,
    parts: Vec<String>,
    sizes: String,
    poll: String,
    storms: Vec<usize>,
    inflight: usize,
    window_ms: usize,
    settle_ms: usize,
    rounds: usize,
    grow_runs: usize,
}

impl Plan {
    fn new(ctx: &Ctx) -> Res<Self> {
        let text = |k: &str, full: &str, smoke: &str| {
            ctx.sizes
                .get(&format!("sweep.{k}"))
                .cloned()
                .unwrap_or_else(|| (if ctx.smoke { smoke } else { full }).to_owned())
        };
        let servers = text(
            "servers",
            "ours,socketioxide,node",
            "ours,socketioxide,node",
        )
        .split(',')
        .map(|s| match s {
            "ours" => Ok(Kind::Ours),
            "socketioxide" => Ok(Kind::Socketioxide),
            "node" => Ok(Kind::Node),
            other => Err(format!("sweep.servers: unknown server `{other}`")),
        })
        .collect::<Res<Vec<_>>>()?;
        let storms = text("storms", "10000,50000", "30")
            .split(',')
            .map(|s| s.parse().map_err(|_| format!("sweep.storms: `{s}`")))
            .collect::<Res<Vec<usize>>>()?;
        Ok(Self {
            servers,
            parts: text("parts", "grow,poll,storm", "grow,poll,storm")
                .split(',')
                .map(str::to_owned)
                .collect(),
            sizes: text("sizes", "1000,10000,50000,100000", "20"),
            poll: text("poll", "1000,5000", "10"),
            storms,
            inflight: ctx.size("sweep.inflight", 1000, 10),
            // 32 s: past the engine.io PING interval (25 s) and the helper's `ping` event
            // (30 s), so every socket's heartbeats fall inside it.
            window_ms: ctx.size("sweep.window_ms", 32_000, 100),
            settle_ms: ctx.size("sweep.settle_ms", 3000, 50),
            rounds: ctx.size("sweep.rounds", 3, 1),
            grow_runs: ctx.size("sweep.grow_runs", 1, 1),
        })
    }
}

/// The last lines of the newest log of `kind` (the server's stderr): why it died.
fn log_tail(ctx: &Ctx, kind: Kind) -> Option<String> {
    let prefix = format!("{kind:?}-");
    let newest = std::fs::read_dir(&ctx.logs)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .max()?;
    let text = std::fs::read_to_string(newest).ok()?;
    let lines: Vec<&str> = text.lines().rev().take(6).collect();
    Some(lines.into_iter().rev().collect::<Vec<_>>().join(" | "))
}

/// The soft open-files limit of process `pid`, as `/proc/<pid>/limits` gives it.
fn nofile_of(pid: u32) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3).map(str::to_owned)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "?".into())
}

/// Sockets one process holds at most here: this machine's hard `RLIMIT_NOFILE` is 20,000
/// and cannot be raised without `CAP_SYS_RESOURCE`, which this container lacks (root or
/// not). A size past it runs on `ceil(size / PER_PROCESS)` server processes sharing Redis
/// (the bench servers' cluster mode, as S4) and as many load-generator workers.
pub(crate) const PER_PROCESS: usize = 18_000;

/// The servers of one run: one process, or a cluster of shards on a private Redis.
struct Cluster {
    procs: Vec<super::Proc>,
    ports: Vec<u16>,
    pids: Vec<u32>,
    _redis: Option<super::Proc>,
}

fn start_cluster(ctx: &Ctx, kind: Kind, shards: usize) -> Res<Cluster> {
    let redis = if shards > 1 {
        Some(super::start_redis(ctx)?)
    } else {
        None
    };
    let prefix = format!("sio-sweep-{}-{}", std::process::id(), now_ms());
    let mut c = Cluster {
        procs: Vec::new(),
        ports: Vec::new(),
        pids: Vec::new(),
        _redis: None,
    };
    for _ in 0..shards {
        let r = redis
            .as_ref()
            .map(|(_, url)| (url.as_str(), prefix.as_str()));
        let (port, proc) = start_server(ctx, kind, r)?;
        c.pids.push(proc.0.id());
        c.ports.push(port);
        c.procs.push(proc);
    }
    c._redis = redis.map(|(p, _)| p);
    Ok(c)
}

/// Load-generator workers on core 1, driven line by line.
struct Workers {
    kids: Vec<(
        super::Proc,
        std::process::ChildStdin,
        BufReader<std::process::ChildStdout>,
    )>,
    pids: Vec<u32>,
    /// The open-files limit the first worker runs with (after raising its own).
    nofile: Value,
}

impl Workers {
    fn start(ctx: &Ctx, n: usize, ports: &[u16], total: usize, transport: &str) -> Res<Self> {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let args = vec![
            format!("ports={}", ports.join(",")),
            format!("total={total}"),
            format!("transport={transport}"),
        ];
        let mut w = Workers {
            kids: Vec::new(),
            pids: Vec::new(),
            nofile: Value::Null,
        };
        for _ in 0..n {
            let mut child = super::pinned(1, &ctx.bin.join("sio-bench-sweep-load"), &args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start sio-bench-sweep-load: {e}"))?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err("no pipes to the worker".into());
            };
            w.pids.push(child.id());
            let mut out = BufReader::new(stdout);
            let ready = read_reply(&mut out)?;
            if w.nofile.is_null() {
                w.nofile = ready["nofile"].clone();
            }
            w.kids.push((super::Proc(child), stdin, out));
        }
        Ok(w)
    }

    /// Sends `cmds[i]` to worker `i` (all first, so they work at once), then reads every
    /// reply; `None` skips a worker.
    fn ask(&mut self, cmds: &[Option<String>]) -> Res<Vec<Value>> {
        for ((_, stdin, _), cmd) in self.kids.iter_mut().zip(cmds) {
            if let Some(c) = cmd {
                writeln!(stdin, "{c}").map_err(|e| format!("worker gone: {e}"))?;
            }
        }
        let mut out = Vec::new();
        for ((_, _, stdout), cmd) in self.kids.iter_mut().zip(cmds) {
            if cmd.is_some() {
                out.push(read_reply(stdout)?);
            }
        }
        Ok(out)
    }

    fn all(&mut self, cmd: &str) -> Res<Vec<Value>> {
        let cmds = vec![Some(cmd.to_owned()); self.kids.len()];
        self.ask(&cmds)
    }
}

fn read_reply(r: &mut BufReader<std::process::ChildStdout>) -> Res<Value> {
    let mut line = String::new();
    let n = r.read_line(&mut line).map_err(|e| format!("worker: {e}"))?;
    if n == 0 {
        return Err("a load-generator worker exited".into());
    }
    let v: Value = serde_json::from_str(&line).map_err(|e| format!("worker said {line:?}: {e}"))?;
    match v.get("error") {
        Some(e) => Err(format!("worker: {e}")),
        None => Ok(v),
    }
}

fn cpu_sum(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|p| sio_bench::cpu_time(Some(*p)).map_or(f64::NAN, |d| d.as_secs_f64()))
        .sum()
}

fn rss_sum(pids: &[u32]) -> Option<u64> {
    pids.iter().map(|p| sio_bench::rss_bytes(*p)).sum()
}

/// CPU of the servers and of the workers over `f`, and its wall time.
fn measured<T>(servers: &[u32], workers: &[u32], f: impl FnOnce() -> T) -> (T, f64, f64, f64) {
    let (s0, l0, t0) = (cpu_sum(servers), cpu_sum(workers), Instant::now());
    let out = f();
    let wall = t0.elapsed().as_secs_f64();
    (out, cpu_sum(servers) - s0, cpu_sum(workers) - l0, wall)
}

/// Opens sockets `from..to`, split in contiguous chunks over the workers; returns the
/// sum of `opened` and `errors`, the first error and every latency (sorted).
fn open_all(
    w: &mut Workers,
    from: usize,
    to: usize,
    inflight: usize,
) -> Res<(u64, u64, Value, Vec<u64>)> {
    let n = w.kids.len();
    let chunk = (to - from).div_ceil(n);
    let cmds: Vec<Option<String>> = (0..n)
        .map(|i| {
            let a = from + i * chunk;
            let b = (a + chunk).min(to);
            (a < b).then(|| format!("open {a} {} {}", b - a, inflight.div_ceil(n)))
        })
        .collect();
    let replies = w.ask(&cmds)?;
    let sum = |k: &str| replies.iter().filter_map(|r| r[k].as_u64()).sum::<u64>();
    let first = replies
        .iter()
        .find(|r| !r["first_error"].is_null())
        .map_or(Value::Null, |r| r["first_error"].clone());
    let mut lats: Vec<u64> = replies
        .iter()
        .flat_map(|r| r["lats"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_u64())
        .collect();
    lats.sort_unstable();
    Ok((sum("opened"), sum("errors"), first, lats))
}

fn ms(sorted: &[u64], q: f64) -> f64 {
    sio_bench::quantile(sorted, q) as f64 / 1000.0
}

/// Rounds of one broadcast to every socket; the point's broadcast figures.
fn broadcast(c: &Cluster, w: &mut Workers, receivers: u64, rounds: usize) -> Res<Value> {
    let (s0, l0) = (cpu_sum(&c.pids), cpu_sum(&w.pids));
    let (mut lasts, mut delivered) = (Vec::new(), 0);
    for _ in 0..rounds {
        w.all("arm")?;
        let stamp = sio_bench_now_us();
        let mut cmds = vec![None; w.kids.len()];
        cmds[0] = Some(format!("send {stamp}"));
        w.ask(&cmds)?;
        let replies = w.all("wait 60000")?;
        let got: u64 = replies.iter().filter_map(|r| r["got"].as_u64()).sum();
        let last = replies
            .iter()
            .filter_map(|r| r["last_us"].as_u64())
            .max()
            .unwrap_or(stamp);
        delivered += got;
        lasts.push(last.saturating_sub(stamp));
        if got < receivers {
            break;
        }
    }
    let (sc, lc) = (cpu_sum(&c.pids) - s0, cpu_sum(&w.pids) - l0);
    lasts.sort_unstable();
    // A round short of deliveries ends the rounds: expected is what the rounds run asked.
    let expected = receivers * lasts.len() as u64;
    Ok(json!({
        "bcast_rounds": lasts.len(), "bcast_delivered": delivered, "bcast_expected": expected,
        "delivery": delivered as f64 / expected.max(1) as f64,
        "bcast_last_ms": ms(&lasts, 0.5), "bcast_last_ms_max": ms(&lasts, 1.0),
        "bcast_server_cpu_s": sc,
        "bcast_cpu_s_per_million": sc / delivered.max(1) as f64 * 1e6,
        "bcast_loadgen_cpu_s_per_million": lc / delivered.max(1) as f64 * 1e6,
    }))
}

fn sio_bench_now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// A grow run: one cluster, sockets added size by size, each size measured.
fn grow(ctx: &Ctx, plan: &Plan, kind: Kind, transport: &str, sizes: &[usize]) -> Res<Value> {
    let total = sizes.iter().copied().max().unwrap_or(0);
    let procs = total.div_ceil(PER_PROCESS).max(1);
    let c = start_cluster(ctx, kind, procs)?;
    let mut w = Workers::start(ctx, procs, &c.ports, total, transport)?;
    // The servers' RSS settles after start before it is the base.
    std::thread::sleep(Duration::from_millis(if ctx.smoke { 50 } else { 500 }));
    let base = rss_sum(&c.pids).ok_or("cannot read the servers' RSS")?;
    w.ask(
        &[Some("sender".to_owned())]
            .into_iter()
            .chain(std::iter::repeat_n(None, procs - 1))
            .collect::<Vec<_>>(),
    )?;
    let mut points = Vec::new();
    let mut stopped = Value::Null;
    let mut have = 0;
    for &size in sizes {
        let (r, sc, lc, wall) = measured(&c.pids, &w.pids.clone(), || {
            open_all(&mut w, have, size, 200)
        });
        let (opened, errors, first_error, lats) = r?;
        have = size;
        std::thread::sleep(Duration::from_millis(plan.settle_ms as u64));
        let rss = rss_sum(&c.pids).ok_or("a server is gone (no RSS)")?;
        let since = w.all("since")?;
        let held: u64 = since.iter().filter_map(|r| r["sockets"].as_u64()).sum();
        let mut p = json!({
            "size": size, "authenticated": held, "errors": errors, "first_error": first_error,
            "servers": procs, "workers": procs,
            "sources": sio_bench::source_for(0, total).map_or(1, |_| total.div_ceil(sio_bench::PER_SOURCE)),
            "open_sockets_per_s": opened as f64 / wall, "open_p99_ms": ms(&lats, 0.99),
            "open_server_us_per_socket": sc / opened.max(1) as f64 * 1e6,
            "open_loadgen_us_per_socket": lc / opened.max(1) as f64 * 1e6,
            "rss_base_mib": base as f64 / 1048576.0, "rss_mib": rss as f64 / 1048576.0,
            "kib_per_socket": rss.saturating_sub(base) as f64 / held.max(1) as f64 / 1024.0,
        });
        // The idle window: long enough that every socket gets an engine.io PING (25 s) and
        // a helper `ping` event (30 s) inside it.
        w.all("mark")?;
        let window = Duration::from_millis(plan.window_ms as u64);
        let (r, sc, lc, _) = measured(&c.pids, &w.pids.clone(), || {
            std::thread::sleep(window);
            w.all("since")
        });
        let since = r?;
        let min = |k: &str| since.iter().filter_map(|r| r[k].as_u64()).min();
        let sum = |k: &str| since.iter().filter_map(|r| r[k].as_u64()).sum::<u64>();
        let secs = window.as_secs_f64();
        merge(
            &mut p,
            json!({
                "idle_window_s": secs,
                "idle_server_core_pct": sc / secs * 100.0,
                "idle_loadgen_core_pct": lc / secs * 100.0,
                "idle_pings": sum("pings_sum"), "idle_min_pings": min("pings_min"),
                "idle_events": sum("events_sum"), "idle_min_events": min("events_min"),
            }),
        );
        merge(&mut p, broadcast(&c, &mut w, held, plan.rounds)?);
        let after = w.all("since")?;
        let drops: u64 = after.iter().filter_map(|r| r["disconnects"].as_u64()).sum();
        let first_drop = after
            .iter()
            .find(|r| !r["first_disconnect"].is_null())
            .map_or(Value::Null, |r| r["first_disconnect"].clone());
        merge(
            &mut p,
            json!({ "disconnects": drops, "first_disconnect": first_drop }),
        );
        eprintln!(
            "      {} {transport} {size}: held {held}, {:.2} KiB/socket, idle {:.2} % core, min pings {}, delivery {}, {} disconnects",
            kind.name(),
            p["kib_per_socket"].as_f64().unwrap_or(0.0),
            p["idle_server_core_pct"].as_f64().unwrap_or(0.0),
            p["idle_min_pings"],
            p["delivery"],
            drops
        );
        let failed = errors > 0 || drops > 0 || p["delivery"].as_f64() != Some(1.0);
        points.push(p);
        if failed {
            stopped = json!(format!(
                "stopped at {size}: {errors} open failure(s) (first: {first_error}), {drops} disconnect(s) (first: {first_drop}), delivery {}",
                points.last().map_or(Value::Null, |p| p["delivery"].clone())
            ));
            break;
        }
    }
    let _ = w.all("quit");
    let mut exits = Vec::new();
    let mut procs_v = c.procs;
    for p in &mut procs_v {
        if let Ok(Some(status)) = p.0.try_wait() {
            exits.push(format!(
                "{status}: {}",
                log_tail(ctx, kind).unwrap_or_default()
            ));
        }
    }
    let nofile = procs_v.first().and_then(|p| nofile_of(p.0.id()));
    Ok(json!({
        "transport": transport, "points": points, "stopped": stopped,
        "server_exit": if exits.is_empty() { Value::Null } else { json!(exits.join("; ")) },
        "server_nofile": nofile, "loadgen_nofile": w.nofile,
    }))
}

/// A connect storm of `n` sockets, `inflight` at a time over all workers.
fn storm(ctx: &Ctx, kind: Kind, n: usize, inflight: usize) -> Res<Value> {
    let procs = n.div_ceil(PER_PROCESS).max(1);
    let c = start_cluster(ctx, kind, procs)?;
    let mut w = Workers::start(ctx, procs, &c.ports, n, "websocket")?;
    let (r, sc, lc, wall) = measured(&c.pids, &w.pids.clone(), || {
        open_all(&mut w, 0, n, inflight)
    });
    let (opened, errors, first_error, lats) = r?;
    let _ = w.all("quit");
    let nofile = c.pids.first().and_then(|p| nofile_of(*p));
    Ok(json!({
        "server_nofile": nofile, "loadgen_nofile": w.nofile,
        "sockets": n, "authenticated": opened, "errors": errors, "first_error": first_error,
        "servers": procs, "workers": procs,
        "sources": sio_bench::source_for(0, n).map_or(1, |_| n.div_ceil(sio_bench::PER_SOURCE)),
        "sockets_per_s": opened as f64 / wall, "p50_ms": ms(&lats, 0.5), "p99_ms": ms(&lats, 0.99),
        "wall_s": wall, "server_cpu_s": sc, "loadgen_cpu_s": lc,
        "loadgen_core_pct": lc / wall * 100.0,
    }))
}

/// One run, one JSON line (also written to `out`).
fn run_one(
    ctx: &Ctx,
    out: &mut std::fs::File,
    part: &str,
    kind: Kind,
    run: usize,
    params: Value,
    result: Res<Value>,
) -> Value {
    let result = result.unwrap_or_else(|e| json!({ "error": e }));
    let line = json!({
        "time_ms": now_ms(), "sweep": part, "server": kind.name(), "run": run,
        "smoke": ctx.smoke, "loadavg": loadavg(), "server_nofile": result["server_nofile"],
        "params": params, "result": result,
    });
    let _ = writeln!(out, "{line}");
    eprintln!(
        "    sweep {part} {} run {run}: {}",
        kind.name(),
        short(&line["result"])
    );
    line
}

/// A run's result without the per-point detail, for the console.
fn short(r: &Value) -> String {
    let mut r = r.clone();
    if let Some(ps) = r.get_mut("points").and_then(Value::as_array_mut) {
        let n = ps.len();
        *ps = Vec::new();
        r["points"] = json!(format!("{n} point(s)"));
    }
    r.to_string()
}

/// Runs the plan; returns one JSON line per run (also written to `target/bench/`).
pub(crate) fn run(ctx: &mut Ctx) -> Res<Vec<Value>> {
    let plan = Plan::new(ctx)?;
    let file = ctx.out.join(format!(
        "{}-{}.jsonl",
        if ctx.smoke { "smoke-sweep" } else { "sweep" },
        now_ms()
    ));
    let mut out = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!(
        "sio-bench: sweep {:?} on {:?}, kernel limits {:?}",
        plan.parts,
        plan.servers.iter().map(|k| k.name()).collect::<Vec<_>>(),
        sio_bench::kernel_limits()
    );
    let parse = |v: &str| -> Vec<usize> { v.split(',').filter_map(|s| s.parse().ok()).collect() };
    let (sizes, poll) = (parse(&plan.sizes), parse(&plan.poll));
    // Sizes one process holds run in one process; larger ones together on one cluster.
    let groups: Vec<Vec<usize>> = [
        sizes
            .iter()
            .copied()
            .filter(|&n| n <= PER_PROCESS)
            .collect::<Vec<_>>(),
        sizes.iter().copied().filter(|&n| n > PER_PROCESS).collect(),
    ]
    .into_iter()
    .filter(|g| !g.is_empty())
    .collect();
    let mut lines = Vec::new();
    let want = |p: &str| plan.parts.iter().any(|x| x == p);
    let params = |transport: &str, sizes: &[usize]| {
        json!({
            "transport": transport, "sizes": sizes, "window_ms": plan.window_ms,
            "settle_ms": plan.settle_ms, "rounds": plan.rounds, "inflight": 200,
        })
    };
    for &kind in &plan.servers {
        if want("grow") {
            for g in &groups {
                for r in 1..=plan.grow_runs {
                    let res = grow(ctx, &plan, kind, "websocket", g);
                    lines.push(run_one(
                        ctx,
                        &mut out,
                        "grow",
                        kind,
                        r,
                        params("websocket", g),
                        res,
                    ));
                }
            }
        }
    }
    for &kind in &plan.servers {
        if want("storm") {
            for &n in &plan.storms {
                for r in 1..=ctx.runs {
                    let res = storm(ctx, kind, n, plan.inflight);
                    let p = json!({ "sockets": n.to_string(), "inflight": plan.inflight });
                    lines.push(run_one(ctx, &mut out, "storm", kind, r, p, res));
                }
            }
        }
        if want("poll") && !poll.is_empty() {
            for r in 1..=plan.grow_runs {
                let res = grow(ctx, &plan, kind, "polling", &poll);
                lines.push(run_one(
                    ctx,
                    &mut out,
                    "poll",
                    kind,
                    r,
                    params("polling", &poll),
                    res,
                ));
            }
        }
    }
    eprintln!("sio-bench: sweep lines in {}", file.display());
    Ok(lines)
}

/// Smoke: every server held every socket, answered, and got every broadcast.
pub(crate) fn check_smoke(lines: &[Value]) -> Res<()> {
    let mut bad = Vec::new();
    for l in lines {
        let r = &l["result"];
        let who = format!("sweep {} {}", l["sweep"], l["server"]);
        let failed = ["error", "server_exit"]
            .iter()
            .find_map(|k| r.get(*k).filter(|v| !v.is_null()));
        if let Some(e) = failed {
            bad.push(format!("{who}: {e}"));
            continue;
        }
        if !r["stopped"].is_null() {
            bad.push(format!("{who}: {}", r["stopped"]));
        }
        let points = r["points"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![r.clone()]);
        for p in points {
            if p["authenticated"] != *p.get("size").unwrap_or(&p["sockets"]) {
                bad.push(format!(
                    "{who}: {} of {} sockets",
                    p["authenticated"], p["size"]
                ));
            }
            if p.get("delivery").is_some_and(|d| d.as_f64() != Some(1.0)) {
                bad.push(format!(
                    "{who}: delivery {} at {}",
                    p["delivery"], p["size"]
                ));
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("sweep smoke failed:\n  {}", bad.join("\n  ")))
    }
}
