//! What the Node agreement tests share: running a script of the real JavaScript packages
//! (tests/interop/node_modules) over lines on stdin.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Lower-case hex, the tests' line format for bytes.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `script` with `node -e`, the interop packages on `NODE_PATH` and `lines` on stdin
/// (one per line); returns the lines it printed. `package` is one the script requires: a
/// missing `npm ci` is then reported as such rather than as a Node stack trace.
pub(crate) fn node_lines(script: &str, package: &str, lines: &[String]) -> Vec<String> {
    let modules =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/node_modules");
    // Node resolves `..` by text, the kernel through symlinks; give Node the real path.
    let modules = modules.canonicalize().unwrap_or(modules);
    assert!(
        modules.join(package).is_dir(),
        "run `npm ci` in tests/interop first ({} has no {package})",
        modules.display()
    );
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .env("NODE_PATH", &modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node must be on PATH for the interop tests");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    // Written from another thread so that a large input cannot deadlock on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{package} refused our input: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.join().unwrap().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}
