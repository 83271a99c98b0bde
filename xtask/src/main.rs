//! Developer commands for the sio workspace: `cargo xtask <command>`.
//!
//! Standard library only, so that `cargo xtask` builds in seconds on a cold machine.
//! Each subcommand is one function in [`COMMANDS`]; a CI run is a list of [`Step`]s.

mod api;

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// A subcommand: its name, a one-line description, and the function that runs it
/// with the remaining command-line arguments.
struct Subcommand {
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Result<(), String>,
}

/// Adding a subcommand means adding one row here and one function.
const COMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "ci",
        usage: "ci",
        about: "the whole CI: npm ci (when stale), fmt, clippy, tests, doctests, conformance vs Node, browser test, bench smoke, public API, cargo deny, rustdoc, publish --dry-run",
        run: ci,
    },
    Subcommand {
        name: "demo",
        usage: "demo [flags]",
        about: "npm ci for the demo page (when stale), then run sio-demo (release); flags pass through, `demo --help` lists them",
        run: demo,
    },
    Subcommand {
        name: "bench",
        usage: "bench [--smoke] [--sweep] [--runs N] [sX.key=N..] [sweep.key=V..] [s1..s5 c1]",
        about: "ours vs Node socket.io vs socketioxide (release), writes docs/benchmarks.md; --sweep: cost against 1k..100k sockets; --smoke: tiny (a tiny sweep too), checks delivery only",
        run: bench,
    },
    Subcommand {
        name: "api",
        usage: "api [--bless]",
        about: "the published crates' public API (cargo public-api) against api/*.txt; --bless records it (no removal within a released version)",
        run: api::run,
    },
    Subcommand {
        name: "fuzz",
        usage: "fuzz [secs]",
        about: "run every cargo-fuzz target of sio-protocol for [secs] seconds each (default 300)",
        run: fuzz,
    },
    Subcommand {
        name: "help",
        usage: "help",
        about: "print this help",
        run: help,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let name = args.first().map(String::as_str).unwrap_or("help");
    let Some(cmd) = COMMANDS.iter().find(|c| c.name == name) else {
        eprintln!("xtask: unknown command `{name}`\n");
        print_help();
        return ExitCode::from(2);
    };
    match (cmd.run)(&args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask {}: {msg}", cmd.name);
            ExitCode::FAILURE
        }
    }
}

fn help(_: &[String]) -> Result<(), String> {
    print_help();
    Ok(())
}

fn print_help() {
    println!("usage: cargo xtask <command>\n\ncommands:");
    for c in COMMANDS {
        println!("  {}\n      {}", c.usage, c.about);
    }
}

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// One external command of a pipeline, with the environment and directory it needs,
/// so that a failure can print a line the developer can paste into a shell.
struct Step {
    name: &'static str,
    program: &'static str,
    args: Vec<&'static str>,
    envs: Vec<(&'static str, String)>,
    dir: PathBuf,
}

impl Step {
    fn new(name: &'static str, program: &'static str, args: &[&'static str]) -> Self {
        Step {
            name,
            program,
            args: args.to_vec(),
            envs: Vec::new(),
            dir: root(),
        }
    }

    fn env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.envs.push((key, value.into()));
        self
    }

    fn dir(mut self, dir: PathBuf) -> Self {
        self.dir = dir;
        self
    }

    fn repro(&self) -> String {
        let mut s = String::new();
        if self.dir != root() {
            let _ = write!(s, "(cd {} && ", self.dir.display());
        }
        for (k, v) in &self.envs {
            let _ = write!(s, "{k}={} ", shell_quote(v));
        }
        s.push_str(self.program);
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        if self.dir != root() {
            s.push(')');
        }
        s
    }

    fn run(&self) -> Result<(), String> {
        let status = Command::new(self.program)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .status()
            .map_err(|e| format!("could not start `{}`: {e}", self.program))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("exited with {status}"))
        }
    }
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn has_program(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the steps in order, one summary line each; stops at the first failure and
/// prints the command that reproduces it.
fn run_pipeline(steps: &[Step]) -> Result<(), String> {
    let mut summary = Vec::new();
    let total = Instant::now();
    for step in steps {
        eprintln!("==> [{}] {}", step.name, step.repro());
        let start = Instant::now();
        let result = step.run();
        let secs = start.elapsed().as_secs_f64();
        let ok = result.is_ok();
        summary.push(format!(
            "{:<16} {:<7} {:>7.1}s",
            step.name,
            if ok { "ok" } else { "FAILED" },
            secs
        ));
        if let Err(why) = result {
            print_summary(&summary, total.elapsed().as_secs_f64());
            return Err(format!(
                "step `{}` failed ({why}); reproduce with:\n    {}",
                step.name,
                step.repro()
            ));
        }
    }
    print_summary(&summary, total.elapsed().as_secs_f64());
    Ok(())
}

fn print_summary(lines: &[String], total: f64) {
    println!("\n---- xtask summary ----");
    for l in lines {
        println!("{l}");
    }
    println!("{:<16} {:<7} {:>7.1}s", "total", "", total);
}

fn interop_dir() -> PathBuf {
    root().join("tests").join("interop")
}

/// Compares the committed lock with npm's own record of what is installed
/// (`node_modules/.package-lock.json`): same set of packages, same versions and
/// integrity hashes. Anything unreadable counts as stale, so `npm ci` runs.
const NPM_FRESH_CHECK: &str = r#"
const fs = require('fs');
try {
  const want = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')).packages || {};
  const have = JSON.parse(fs.readFileSync('node_modules/.package-lock.json', 'utf8')).packages || {};
  const keys = Object.keys(want).filter(k => k !== '');
  const same = keys.length === Object.keys(have).length && keys.every(k => have[k]
    && have[k].version === want[k].version && have[k].integrity === want[k].integrity);
  process.exit(same ? 0 : 1);
} catch (e) { process.exit(1); }
"#;

fn npm_is_fresh() -> bool {
    npm_is_fresh_in(&interop_dir())
}

fn npm_is_fresh_in(dir: &Path) -> bool {
    Command::new("node")
        .args(["-e", NPM_FRESH_CHECK])
        .current_dir(dir)
        .status()
        .is_ok_and(|s| s.success())
}

fn ci(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("unexpected argument `{a}`"));
    }
    let mut steps = Vec::new();
    if npm_is_fresh() {
        eprintln!("==> [npm ci] skipped: tests/interop/node_modules matches package-lock.json");
    } else {
        steps.push(
            Step::new("npm ci", "npm", &["ci", "--no-audit", "--no-fund"]).dir(interop_dir()),
        );
    }
    steps.push(Step::new(
        "fmt",
        "cargo",
        &["fmt", "--all", "--", "--check"],
    ));
    steps.push(Step::new(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ));
    if has_program("cargo-nextest", "--version") {
        steps.push(Step::new(
            "test",
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast"],
        ));
    } else {
        steps.push(Step::new(
            "test",
            "cargo",
            &["test", "--workspace", "--no-fail-fast"],
        ));
    }
    // nextest does not run doctests.
    steps.push(Step::new(
        "doctest",
        "cargo",
        &["test", "--workspace", "--doc"],
    ));
    // The conformance suite proves itself against the official Node server; the
    // binaries are already built by the test step, so this costs only the run.
    steps.push(
        Step::new(
            "conformance-node",
            "cargo",
            // --workspace, not -p sio-tests: the same feature unification as the test
            // step, so nothing is rebuilt.
            &["test", "--workspace", "--test", "conformance*"],
        )
        .env("SIO_CONFORMANCE_SERVER", "node"),
    );
    // The demo page in Debian's chromium (playwright-core), against a real sio-demo.
    if !npm_is_fresh_in(&demo_web_dir()) {
        steps.push(
            Step::new("npm ci (demo)", "npm", &["ci", "--no-audit", "--no-fund"])
                .dir(demo_web_dir()),
        );
    }
    // The test step built sio-demo (its tests run the binary) with the workspace's
    // features; `cargo run -p sio-demo` would build it again with its own.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    steps.push(
        Step::new(
            "browser-test",
            "node",
            &["crates/sio-demo/tests/browser.js"],
        )
        .env(
            "SIO_DEMO_BIN",
            target.join("debug/sio-demo").to_string_lossy().into_owned(),
        ),
    );
    // Tiny sizes, asserts only that every server answered and nothing was lost.
    steps.push(Step::new(
        "bench smoke",
        "cargo",
        &["xtask", "bench", "--smoke"],
    ));
    // Licenses, duplicate versions and sources of the published crates' dependencies
    // (deny.toml). `.ci/run` installs cargo-deny when it is missing.
    steps.push(Step::new(
        "deny",
        "cargo",
        &["deny", "check", "licenses", "bans", "sources"],
    ));
    // The published crates' docs as docs.rs builds them: every feature, `--cfg docsrs`
    // (feature badges need nightly rustdoc). Without a nightly toolchain, stable rustdoc
    // still checks every crate's docs, without the badges.
    let nightly = Command::new("cargo")
        .args(["+nightly", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if nightly {
        let mut args = vec!["+nightly", "doc", "--no-deps", "--all-features"];
        for krate in api::PUBLISHED {
            args.extend(["-p", krate]);
        }
        steps.push(
            Step::new("rustdoc (docs.rs)", "cargo", &args)
                .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings"),
        );
    } else {
        eprintln!(
            "==> no nightly toolchain: rustdoc runs on stable, without docs.rs's --cfg docsrs"
        );
        steps.push(
            Step::new("rustdoc", "cargo", &["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        );
    }
    // Every public API change is a reviewed diff of api/*.txt, and none removes an item
    // within a released version. It reads nightly rustdoc's JSON; `.ci/run` installs
    // cargo-public-api when it is missing.
    if nightly {
        steps.push(Step::new("api", "cargo", &["xtask", "api"]));
    } else {
        eprintln!("==> no nightly toolchain: the public API check (cargo xtask api) cannot run");
    }
    // `cargo publish --dry-run`, not `cargo package`: both package dependent workspace
    // members together (cargo >= 1.90, so unpublished sio-* dependencies resolve), but
    // only publish skips `publish = false` members (tests, xtask, bench, demo).
    // --allow-dirty: this checks that each crate packages and builds alone, not the
    // state of the checkout.
    steps.push(Step::new(
        "package",
        "cargo",
        &["publish", "--workspace", "--dry-run", "--allow-dirty"],
    ));
    run_pipeline(&steps)
}

fn demo_web_dir() -> PathBuf {
    root().join("crates").join("sio-demo").join("web")
}

/// Installs the page's npm packages (the socket.io-client bundle) from the committed lock
/// when stale, then runs the demo in the foreground; Ctrl-C reaches it directly and it
/// shuts down gracefully.
fn demo(args: &[String]) -> Result<(), String> {
    if npm_is_fresh_in(&demo_web_dir()) {
        eprintln!(
            "==> [npm ci] skipped: crates/sio-demo/web/node_modules matches package-lock.json"
        );
    } else {
        let step =
            Step::new("npm ci", "npm", &["ci", "--no-audit", "--no-fund"]).dir(demo_web_dir());
        eprintln!("==> [npm ci] {}", step.repro());
        step.run()
            .map_err(|e| format!("npm ci failed ({e}); reproduce with:\n    {}", step.repro()))?;
    }
    let status = Command::new("cargo")
        .args(["run", "--release", "-p", "sio-demo", "--"])
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start `cargo`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("sio-demo exited with {status}"))
    }
}

fn fuzz(args: &[String]) -> Result<(), String> {
    let secs = match args.first() {
        None => 300,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("seconds must be a whole number, got `{s}`"))?,
    };
    let crate_dir = root().join("crates").join("sio-protocol");
    let targets_dir = crate_dir.join("fuzz").join("fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&targets_dir)
        .map_err(|e| format!("cannot list {}: {e}", targets_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    targets.sort();
    if targets.is_empty() {
        return Err(format!("no fuzz targets in {}", targets_dir.display()));
    }
    // Step holds &'static str so that the CI list stays a plain literal; fuzz target
    // names are discovered at run time, hence the one-off leaks (a short-lived CLI).
    let max_time: &'static str = Box::leak(format!("-max_total_time={secs}").into_boxed_str());
    let steps: Vec<Step> = targets
        .into_iter()
        .map(|t| {
            let t: &'static str = Box::leak(t.into_boxed_str());
            Step::new(t, "cargo", &["+nightly", "fuzz", "run", t, "--", max_time])
                .dir(crate_dir.clone())
        })
        .collect();
    run_pipeline(&steps)
}

/// Builds the bench binaries (release, or dev for `--smoke`, which CI runs after the test
/// build) and hands every argument to the `sio-bench` driver (`bench/harness`).
fn bench(args: &[String]) -> Result<(), String> {
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut build = vec!["build", "-p", "sio-bench", "-p", "sio-bench-socketioxide"];
    let mut run = vec!["run", "--quiet", "-p", "sio-bench", "--bin", "sio-bench"];
    if !smoke {
        build.push("--release");
        run.push("--release");
    }
    run.push("--");
    for (what, cargo_args) in [("build", &build), ("run", &run)] {
        let status = Command::new("cargo")
            .args(cargo_args.iter())
            .args(if what == "run" { args } else { &[] })
            .current_dir(root())
            .status()
            .map_err(|e| format!("could not start cargo: {e}"))?;
        if !status.success() {
            return Err(format!(
                "cargo {} exited with {status}",
                cargo_args.join(" ")
            ));
        }
    }
    Ok(())
}
