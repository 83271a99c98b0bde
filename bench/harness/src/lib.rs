//! Shared parts of the `cargo xtask bench` binaries: process accounting from `/proc` and
//! percentiles. The binaries are the load generator, our server, a trivial echo server and
//! the driver (`sio-bench`); see `docs/benchmarks.md` for what each scenario measures.
#![deny(missing_docs)]

use std::time::Duration;

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
///
/// `pid` `None` means this process. Returns `None` when the process is gone or the file
/// cannot be read; the accounting is in clock ticks of 10 ms (the kernel's `USER_HZ`).
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ... utime(11) stime(12), in ticks.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Resident set size of a process in bytes, from `/proc/<pid>/status` (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The `q`-quantile (0.0..=1.0) of `sorted` (ascending), nearest rank; 0 when empty.
///
/// ```
/// assert_eq!(sio_bench::quantile(&[1, 2, 3, 4], 0.5), 2);
/// assert_eq!(sio_bench::quantile(&[1, 2, 3, 4], 0.99), 4);
/// ```
pub fn quantile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
