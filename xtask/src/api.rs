//! `cargo xtask api [--bless]`: the public API of each published crate, as
//! `cargo public-api` lists it, against the baseline committed in `api/<crate>.txt`.
//!
//! Any difference fails until it is blessed, so every API change shows in review as a
//! diff of those files. Within a released version (a `v<version>` git tag exists) the API
//! may only grow: `--bless` refuses to record a removal until the version is bumped.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::root;

/// The crates published to crates.io, in dependency order.
pub(crate) const PUBLISHED: [&str; 6] = [
    "sio-types",
    "sio-protocol",
    "sio-engine",
    "sio-server",
    "sio-client",
    "sio-adapter-redis",
];

/// Whether `cargo public-api` can run here (it drives nightly rustdoc's JSON output).
pub(crate) fn available() -> bool {
    Command::new("cargo")
        .args(["public-api", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn baseline_path(krate: &str) -> PathBuf {
    root().join("api").join(format!("{krate}.txt"))
}

/// The workspace's version (`[workspace.package] version`), which every crate shares.
fn version() -> Result<String, String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| {
            let v = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| "no version in [workspace.package] of Cargo.toml".to_owned())
}

fn released(version: &str) -> bool {
    Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/v{version}"),
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The public items of `krate`, one per line, without blanket, auto-trait and derived
/// impls (`-sss`), with every feature on.
fn current(krate: &str) -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .args(["public-api", "-p", krate, "--all-features", "-sss"])
        .current_dir(root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo public-api: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo public-api -p {krate} failed ({})",
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The baseline: its version (from the header) and items.
fn baseline(krate: &str) -> (Option<String>, Vec<String>) {
    let Ok(text) = std::fs::read_to_string(baseline_path(krate)) else {
        return (None, Vec::new());
    };
    let mut version = None;
    let mut items = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("# ") {
            Some(header) => {
                version = header
                    .split_whitespace()
                    .nth(1)
                    .map(str::to_owned)
                    .or(version);
            }
            None => items.push(line.to_owned()),
        }
    }
    (version, items)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let bless = args.iter().any(|a| a == "--bless");
    if !available() {
        return Err("cargo-public-api is not installed: `cargo install --locked cargo-public-api` (.ci/run does it)".into());
    }
    let version = version()?;
    let released = released(&version);
    let mut failures = Vec::new();
    for krate in PUBLISHED {
        let now = current(krate)?;
        let (base_version, base) = baseline(krate);
        let (now_set, base_set): (BTreeSet<&String>, BTreeSet<&String>) =
            (now.iter().collect(), base.iter().collect());
        let added: Vec<&&String> = now_set.difference(&base_set).collect();
        let removed: Vec<&&String> = base_set.difference(&now_set).collect();
        if added.is_empty() && removed.is_empty() && base_version.as_deref() == Some(&version) {
            eprintln!(
                "==> [api] {krate}: {} items, as in api/{krate}.txt",
                now.len()
            );
            continue;
        }
        let same_release = released && base_version.as_deref() == Some(&version);
        if bless {
            if same_release && !removed.is_empty() {
                failures.push(format!(
                    "{krate}: {} items removed within released {version}; bump the version (and say so in its CHANGELOG.md) to record them",
                    removed.len()
                ));
                continue;
            }
            let mut text = format!(
                "# {krate} {version} public API (cargo public-api -sss --all-features; `cargo xtask api --bless` writes this)\n"
            );
            for item in &now {
                text.push_str(item);
                text.push('\n');
            }
            let path = baseline_path(krate);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "==> [api] {krate}: blessed ({} added, {} removed)",
                added.len(),
                removed.len()
            );
            continue;
        }
        let mut msg = format!(
            "{krate}: the public API differs from api/{krate}.txt ({} added, {} removed{})",
            added.len(),
            removed.len(),
            if base_version.as_deref() == Some(&version) {
                String::new()
            } else {
                format!(", baseline version {base_version:?} vs {version}")
            }
        );
        for item in added.iter().take(15) {
            msg.push_str(&format!("\n    + {item}"));
        }
        for item in removed.iter().take(15) {
            msg.push_str(&format!("\n    - {item}"));
        }
        failures.push(msg);
    }
    if failures.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\nrecord an intended change with `cargo xtask api --bless` and commit api/*.txt",
        failures.join("\n")
    ))
}
