//! `sio-bench`: the driver behind `cargo xtask bench [--smoke] [--runs N] [key=value...]
//! [s1 s2 s3 s4 s5]`.
//!
//! For every scenario and server it starts the server pinned to core 0 (`taskset`), the
//! load generator pinned to core 1, records one JSON line per run under `target/bench/`,
//! and (unless `--smoke`) rewrites the generated part of `docs/benchmarks.md` with a table
//! per scenario and an SVG chart under `docs/bench/`. `--smoke` runs tiny sizes once and
//! fails unless every server answered and every message / ack / socket arrived.
//!
//! S3 (idle memory) runs "ours" twice: on sio's own listener and mounted under axum
//! (`sio-bench-ours --mount axum`), since per-socket memory depends on the HTTP server that
//! holds the connection and most applications serve sio through axum.
//!
//! C1 (`client_load`) is the client side: sio-client and socket.io-client as the load.
//!
//! `--sweep` runs the cost curves instead (1,000 to 100,000 sockets, see [`sweep`]) and
//! rewrites their own section of `docs/benchmarks.md` ([`sweep_report`]); `--smoke` without
//! scenario names also runs a tiny sweep.
//!
//! Sizes: `c1.sockets=500 c1.inflight=50 c1.acks=200 s1.sockets=2000 s1.inflight=200 s2.sockets=1000 s2.burst=2000 s2.size=100
//! s3.sockets=10000 s4.sockets=1000 s4.burst=2000 s5.sockets=100 s5.acks=100`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

mod client_load;
mod report;
mod sweep;
mod sweep_report;

type Res<T> = Result<T, String>;

/// One server process kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Echo,
    Ours,
    /// Our server as an axum layer (`sio-bench-ours --mount axum`); S3 only.
    OursAxum,
    Node,
    Socketioxide,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Echo => "loadgen alone (echo)",
            Kind::Ours => "ours",
            Kind::OursAxum => "ours (axum)",
            Kind::Node => "node",
            Kind::Socketioxide => "socketioxide",
        }
    }
}

struct Ctx {
    root: PathBuf,
    bin: PathBuf,
    out: PathBuf,
    jsonl: std::fs::File,
    sizes: BTreeMap<String, String>,
    smoke: bool,
    runs: usize,
    logs: PathBuf,
}

impl Ctx {
    fn size(&self, key: &str, default: usize, smoke: usize) -> usize {
        self.sizes
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(if self.smoke { smoke } else { default })
    }
}

fn free_port() -> Res<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn wait_port(port: u16, child: &mut Child) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("server on port {port} exited early: {status}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listens on port {port} after 30 s"))
}

/// `sh -c` raises the open-files limit (10,000 sockets need it; the sweep's 100,000 too):
/// to the kernel's `fs.nr_open` where allowed (root), else the soft limit to the hard one;
/// then pins the program to `core`. Only the started process gets the limit.
fn pinned(core: u32, program: &Path, args: &[String]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(
            "ulimit -n \"$(cat /proc/sys/fs/nr_open)\" 2>/dev/null || ulimit -n \"$(ulimit -Hn)\" 2>/dev/null; \
             exec taskset -c \"$0\" \"$@\"",
        )
        .arg(core.to_string())
        .arg(program)
        .args(args);
    c
}

/// A started process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server on port 0 and reads the port it bound from its first stdout line
/// (`listening 127.0.0.1:PORT`): no window in which another process can take the port.
fn start_server(ctx: &Ctx, kind: Kind, redis: Option<(&str, &str)>) -> Res<(u16, Proc)> {
    let mut args = vec!["0".to_owned()];
    if let Some((url, prefix)) = redis {
        args.push(url.to_owned());
        args.push(prefix.to_owned());
    }
    let mut cmd = match kind {
        Kind::Node => {
            let mut a = vec!["server.js".to_owned()];
            a.extend(args);
            let mut c = pinned(0, Path::new("node"), &a);
            c.current_dir(ctx.root.join("bench/node"));
            c
        }
        Kind::Echo => pinned(0, &ctx.bin.join("sio-bench-echo"), &args),
        Kind::Ours => pinned(0, &ctx.bin.join("sio-bench-ours"), &args),
        Kind::OursAxum => {
            let mut a = vec!["--mount".to_owned(), "axum".to_owned()];
            a.extend(args);
            pinned(0, &ctx.bin.join("sio-bench-ours"), &a)
        }
        Kind::Socketioxide => pinned(0, &ctx.bin.join("sio-bench-socketioxide"), &args),
    };
    let log = std::fs::File::create(ctx.logs.join(format!("{kind:?}-{}.log", now_ms())))
        .map_err(|e| format!("log file: {e}"))?;
    cmd.stdout(Stdio::piped()).stderr(log);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
    let Some(stdout) = child.stdout.take() else {
        return Err("no stdout pipe".into());
    };
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads to the end so that a later line never meets a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let port = line
                .strip_prefix("listening ")
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.trim_end_matches(')').parse::<u16>().ok());
            if let Some(p) = port {
                let _ = tx.send(p);
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| {
        format!(
            "{} did not say which port it listens on within 30 s",
            kind.name()
        )
    })?;
    Ok((port, proc))
}

fn start_redis(ctx: &Ctx) -> Res<(Proc, String)> {
    let port = free_port()?;
    let args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = std::fs::File::create(ctx.logs.join(format!("redis-{port}.log")))
        .map_err(|e| format!("log file: {e}"))?;
    let mut child = pinned(0, Path::new("redis-server"), &args)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e}"))?;
    wait_port(port, &mut child)?;
    Ok((Proc(child), format!("redis://127.0.0.1:{port}")))
}

fn loadgen(ctx: &Ctx, scenario: &str, args: &[String]) -> Value {
    loadgen_bin(ctx, "sio-bench-loadgen", scenario, args)
}

/// Runs load generator `binary` pinned to core 1; its last JSON line, or `{"error"}`.
fn loadgen_bin(ctx: &Ctx, binary: &str, scenario: &str, args: &[String]) -> Value {
    let mut a = vec![scenario.to_owned()];
    a.extend(args.iter().cloned());
    let out = pinned(1, &ctx.bin.join(binary), &a)
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines()
                .rev()
                .find_map(|l| serde_json::from_str::<Value>(l).ok())
                .unwrap_or_else(|| json!({ "error": format!("no result ({})", o.status) }))
        }
        Err(e) => json!({ "error": format!("cannot start the load generator: {e}") }),
    }
}

/// What one measured run starts and asks of the load generator.
struct Job<'a> {
    scenario: &'a str,
    variant: &'a str,
    servers: &'a [Kind],
    redis_url: Option<&'a str>,
    loadgen: &'a str,
    params: &'a [(&'a str, usize)],
    extra: &'a [String],
}

/// One measured run: the job's servers started fresh, the load generator, one JSON line.
fn run_one(ctx: &mut Ctx, job: Job<'_>, run: usize) -> Value {
    let Job {
        scenario,
        variant,
        servers,
        redis_url,
        loadgen: lg_scenario,
        params,
        extra,
    } = job;
    let label = if servers.len() > 1 && servers[0] != servers[1] {
        "mixed (ours + node)".to_owned()
    } else {
        servers[0].name().to_owned()
    };
    let prefix = format!("sio-bench-{}-{run}-{}", std::process::id(), now_ms());
    let mut procs = Vec::new();
    let mut ports = Vec::new();
    let mut result = Value::Null;
    for &k in servers {
        let started = start_server(ctx, k, redis_url.map(|u| (u, prefix.as_str())));
        match started {
            Ok((p, s)) => {
                ports.push(p);
                procs.push(s);
            }
            Err(e) => {
                result = json!({ "error": e });
                break;
            }
        }
    }
    if result.is_null() {
        let pids: Vec<String> = procs.iter().map(|p| p.0.id().to_string()).collect();
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let mut args = vec![
            format!("ports={}", ports.join(",")),
            format!("pids={}", pids.join(",")),
        ];
        args.extend(params.iter().map(|(k, v)| format!("{k}={v}")));
        args.extend(extra.iter().cloned());
        result = loadgen(ctx, lg_scenario, &args);
        for p in &mut procs {
            if let Ok(Some(status)) = p.0.try_wait() {
                result["error"] = json!(format!("server exited during the run: {status}"));
            }
        }
    }
    drop(procs);
    let line = json!({
        "time_ms": now_ms(), "scenario": scenario, "variant": variant, "server": label,
        "run": run, "smoke": ctx.smoke,
        "params": params.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "result": result,
    });
    let _ = writeln!(ctx.jsonl, "{line}");
    eprintln!("    {scenario} {variant} {label} run {run}: {result}");
    line
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn scenarios(ctx: &mut Ctx, which: &[String]) -> Res<Vec<Value>> {
    let want = |s: &str| which.is_empty() || which.iter().any(|w| w.eq_ignore_ascii_case(s));
    let mut lines = Vec::new();
    let peers = [Kind::Echo, Kind::Ours, Kind::Node, Kind::Socketioxide];
    let runs = ctx.runs;
    if want("s1") {
        let p = [
            ("sockets", ctx.size("s1.sockets", 2000, 50)),
            ("inflight", ctx.size("s1.inflight", 200, 10)),
        ];
        for k in peers {
            for r in 1..=runs {
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S1",
                        variant: "connect + authenticate",
                        servers: &[k],
                        redis_url: None,
                        loadgen: "connect",
                        params: &p,
                        extra: &[],
                    },
                    r,
                ));
            }
        }
    }
    if want("s2") {
        let p = [
            ("sockets", ctx.size("s2.sockets", 1000, 20)),
            ("burst", ctx.size("s2.burst", 2000, 20)),
            ("size", ctx.size("s2.size", 100, 100)),
        ];
        for k in peers {
            for r in 1..=runs {
                let e = ["event=bcast".to_owned()];
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S2",
                        variant: "io.to(room).emit",
                        servers: &[k],
                        redis_url: None,
                        loadgen: "fanout",
                        params: &p,
                        extra: &e,
                    },
                    r,
                ));
            }
        }
        for r in 1..=runs {
            let e = ["event=send".to_owned()];
            lines.push(run_one(
                ctx,
                Job {
                    scenario: "S2",
                    variant: "helper send",
                    servers: &[Kind::Ours],
                    redis_url: None,
                    loadgen: "fanout",
                    params: &p,
                    extra: &e,
                },
                r,
            ));
        }
    }
    if want("s3") {
        let p = [
            ("sockets", ctx.size("s3.sockets", 10_000, 50)),
            ("settle_s", ctx.size("s3.settle_s", 3, 1)),
        ];
        for k in [Kind::Ours, Kind::OursAxum, Kind::Node, Kind::Socketioxide] {
            for r in 1..=runs {
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S3",
                        variant: "idle authenticated sockets",
                        servers: &[k],
                        redis_url: None,
                        loadgen: "idle",
                        params: &p,
                        extra: &[],
                    },
                    r,
                ));
            }
        }
    }
    if want("s4") {
        let (redis, url) = start_redis(ctx)?;
        let p = [
            ("sockets", ctx.size("s4.sockets", 1000, 20)),
            ("burst", ctx.size("s4.burst", 2000, 20)),
            ("size", ctx.size("s4.size", 100, 100)),
        ];
        let groups: [(&str, &str, &[Kind]); 7] = [
            ("adapter", "bcast", &[Kind::Ours, Kind::Ours]),
            ("adapter", "bcast", &[Kind::Node, Kind::Node]),
            (
                "adapter",
                "bcast",
                &[Kind::Socketioxide, Kind::Socketioxide],
            ),
            ("adapter", "bcast", &[Kind::Ours, Kind::Node]),
            ("emitter", "send", &[Kind::Ours, Kind::Ours]),
            ("emitter", "send", &[Kind::Node, Kind::Node]),
            ("emitter", "send", &[Kind::Ours, Kind::Node]),
        ];
        for (variant, event, servers) in groups {
            for r in 1..=runs {
                let e = [format!("event={event}")];
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S4",
                        variant,
                        servers,
                        redis_url: Some(&url),
                        loadgen: "fanout",
                        params: &p,
                        extra: &e,
                    },
                    r,
                ));
            }
        }
        // The streams adapter, ours against Node's @socket.io/redis-streams-adapter: the
        // first server broadcasts, its XADD reaches the other through the stream.
        let streams_url = format!("{url}?adapter=streams");
        let streams: [&[Kind]; 3] = [
            &[Kind::Ours, Kind::Ours],
            &[Kind::Node, Kind::Node],
            &[Kind::Ours, Kind::Node],
        ];
        for servers in streams {
            for r in 1..=runs {
                let e = ["event=bcast".to_owned()];
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S4",
                        variant: "streams",
                        servers,
                        redis_url: Some(&streams_url),
                        loadgen: "fanout",
                        params: &p,
                        extra: &e,
                    },
                    r,
                ));
            }
        }
        drop(redis);
    }
    if want("s5") {
        let p = [
            ("sockets", ctx.size("s5.sockets", 100, 5)),
            ("acks", ctx.size("s5.acks", 1000, 5)),
        ];
        for k in peers {
            for r in 1..=runs {
                lines.push(run_one(
                    ctx,
                    Job {
                        scenario: "S5",
                        variant: "emit with ack",
                        servers: &[k],
                        redis_url: None,
                        loadgen: "ack",
                        params: &p,
                        extra: &[],
                    },
                    r,
                ));
            }
        }
    }
    if want("c1") {
        lines.extend(client_load::run(ctx));
    }
    Ok(lines)
}

/// Smoke mode: every server answered and nothing was lost. Never a speed check.
fn check_smoke(lines: &[Value]) -> Res<()> {
    let mut bad = Vec::new();
    for l in lines {
        let r = &l["result"];
        let who = format!("{} {} {}", l["scenario"], l["variant"], l["server"]);
        if let Some(e) = r.get("error") {
            bad.push(format!("{who}: {e}"));
            continue;
        }
        let pairs = [
            ("authenticated", "sockets"),
            ("delivered", "expected"),
            ("round_trips", "expected"),
        ];
        for (got, want) in pairs {
            if let (Some(g), Some(w)) = (r.get(got), r.get(want))
                && g != w
            {
                bad.push(format!("{who}: {got} {g} != {want} {w}"));
            }
        }
        if r.get("errors").and_then(Value::as_u64).unwrap_or(0) > 0 {
            bad.push(format!(
                "{who}: {} socket(s) failed: {}",
                r["errors"], r["first_error"]
            ));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("smoke failed:\n  {}", bad.join("\n  ")))
    }
}

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> Res<()> {
    let mut smoke = false;
    let mut sweep = false;
    let mut runs = None;
    let mut sizes = BTreeMap::new();
    let mut which = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--smoke" => smoke = true,
            "--sweep" => sweep = true,
            "--runs" => {
                runs = Some(
                    args.next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|n| *n > 0)
                        .ok_or("--runs needs a positive number")?,
                )
            }
            kv if kv.contains('=') => {
                let (k, v) = kv.split_once('=').unwrap_or_default();
                sizes.insert(k.to_owned(), v.to_owned());
            }
            s if s.len() == 2 && s.starts_with(['s', 'S', 'c', 'C']) => which.push(s.to_owned()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("workspace root: {e}"))?;
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or("cannot find the binaries' directory")?;
    let out = root.join("target/bench");
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let node_dir = root.join("bench/node");
    if !node_dir.join("node_modules/socket.io").exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&node_dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("npm ci in bench/node failed".into());
        }
    }
    let file = out.join(format!(
        "{}-{}.jsonl",
        if smoke { "smoke" } else { "runs" },
        now_ms()
    ));
    let jsonl = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut ctx = Ctx {
        root: root.clone(),
        bin,
        out,
        jsonl,
        sizes,
        smoke,
        runs: runs.unwrap_or(if smoke { 1 } else { 3 }),
        logs,
    };
    let started = Instant::now();
    // `--sweep` alone runs only the sweep; the smoke run checks a tiny sweep too.
    let lines = if sweep && which.is_empty() {
        Vec::new()
    } else {
        scenarios(&mut ctx, &which)?
    };
    let swept = if sweep || (smoke && which.is_empty()) {
        sweep::run(&mut ctx)?
    } else {
        Vec::new()
    };
    eprintln!(
        "sio-bench: {} runs in {:.0} s, one JSON line each in {}",
        lines.len(),
        started.elapsed().as_secs_f64(),
        file.display()
    );
    let _ = &ctx.out;
    if smoke {
        check_smoke(&lines)?;
        return sweep::check_smoke(&swept);
    }
    if sweep {
        sweep_report::write(&root)?;
        if lines.is_empty() {
            return Ok(());
        }
    }
    report::write(&root, &lines, ctx.runs, started.elapsed())
}
