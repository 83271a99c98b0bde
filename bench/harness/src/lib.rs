//! Shared parts of the `cargo xtask bench` binaries: process accounting from `/proc` and
//! percentiles. The binaries are the load generator, our server, a trivial echo server and
//! the driver (`sio-bench`); see `docs/benchmarks.md` for what each scenario measures.
#![deny(missing_docs)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// CPU time (user + system) a process has used so far.
///
/// `pid` `None` means this process. Returns `None` when the process is gone or its
/// `/proc/<pid>/stat` cannot be read. `stat` counts in clock ticks of 10 ms, a tenth of
/// the CPU an S5 run takes; the scheduler's nanoseconds per thread (`task/*/schedstat`)
/// are exact but forget threads that exited. So the larger of the two: the exact sum while
/// no thread that used CPU has exited (then `stat`, truncated, is the smaller), the total
/// from `stat` (a tick or two short) otherwise. Hence not strictly monotonic: when a thread
/// exits, up to two ticks of its time can drop out (the servers' threads live through a
/// measured phase; the load generator has one).
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_owned(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ... utime(11) stime(12), in ticks.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = Duration::from_millis((utime + stime) * 10);
    let mut live = Duration::ZERO;
    if let Ok(tasks) = std::fs::read_dir(format!("{dir}/task")) {
        for t in tasks.flatten() {
            // A thread may exit between the listing and the read: it is then skipped.
            let ns = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok());
            live += Duration::from_nanos(ns.unwrap_or(0));
        }
    }
    Some(live.max(ticks))
}

#[cfg(test)]
mod tests {
    use super::cpu_time;
    use std::time::Duration;

    fn spin_cpu(d: Duration) -> Option<()> {
        let start = cpu_time(None)?;
        // Other test threads may exit meanwhile: see the doc on monotonicity.
        while cpu_time(None)?.saturating_sub(start) < d {}
        Some(())
    }

    #[test]
    fn cpu_time_is_finer_than_a_tick() -> Result<(), &'static str> {
        let before = cpu_time(None).ok_or("no /proc")?;
        let mut after = before;
        while after == before {
            after = cpu_time(None).ok_or("no /proc")?;
        }
        // With ticks only, the first visible step would be 10 ms.
        assert!(
            after - before < Duration::from_millis(5),
            "{:?}",
            after - before
        );
        Ok(())
    }

    #[test]
    fn cpu_time_keeps_what_exited_threads_used() -> Result<(), &'static str> {
        let before = cpu_time(None).ok_or("no /proc")?;
        std::thread::spawn(|| spin_cpu(Duration::from_millis(100)))
            .join()
            .map_err(|_| "spinner panicked")?
            .ok_or("no /proc")?;
        let after = cpu_time(None).ok_or("no /proc")?;
        // Only `stat` still holds the spinner's time, and it lags the exact figure (ticks
        // truncated, ~12 ms short here): what is checked is that the time is not lost.
        assert!(
            after.saturating_sub(before) >= Duration::from_millis(60),
            "{:?}",
            after.saturating_sub(before)
        );
        Ok(())
    }
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

/// How many connections one loopback source address takes before the load generator moves
/// on to the next (127.0.0.2, 127.0.0.3, ...): below the 28,232 ports of this machine's
/// default ephemeral range (32768-60999) with room for every other process that connects
/// from 127.0.0.1 meanwhile.
pub const PER_SOURCE: usize = 20_000;

/// The first source port of a bound connection; ports count up from here per address, to
/// 29,999 at most: below the ephemeral range, where no port the kernel hands out (nor
/// another process's wildcard-bound socket there) can clash with one chosen here.
const SOURCE_PORT_BASE: u16 = 10_000;

/// The source of connection `i` of `n`: `None` (the kernel's choice from 127.0.0.1) while
/// `n` fits in [`PER_SOURCE`], otherwise an address from 127.0.0.2 on, round robin over as
/// many addresses as `n` needs, with a port of its own (`10000 + i / addresses`). All of
/// 127.0.0.0/8 is loopback: nothing leaves the host. The port is chosen here, not by
/// `bind(port 0)`: the kernel's search for a free port per `bind` cost 1.8 ms of CPU a
/// socket at 25,000 sockets, and with `SO_REUSEADDR` it handed one port to two sockets.
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddrV4};
/// assert_eq!(sio_bench::source_for(5, 1000), None);
/// let at = |h, p| Some(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, h), p));
/// assert_eq!(sio_bench::source_for(0, 100_000), at(2, 10_000));
/// assert_eq!(sio_bench::source_for(4, 100_000), at(6, 10_000));
/// assert_eq!(sio_bench::source_for(5, 100_000), at(2, 10_001));
/// ```
pub fn source_for(i: usize, n: usize) -> Option<SocketAddrV4> {
    if n <= PER_SOURCE {
        return None;
    }
    let k = n.div_ceil(PER_SOURCE);
    let [_, a, b, c] = (0x7f00_0002u32 + (i % k) as u32).to_be_bytes();
    let port = SOURCE_PORT_BASE.checked_add(u16::try_from(i / k).ok()?)?;
    Some(SocketAddrV4::new(Ipv4Addr::new(127, a, b, c), port))
}

/// TCP connect to `127.0.0.1:port`, from `from` when given. Bound sockets close with a zero
/// linger (RST): no TIME_WAIT holds their source port against the next run.
pub async fn dial(from: Option<SocketAddrV4>, port: u16) -> std::io::Result<tokio::net::TcpStream> {
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Some(src) = from else {
        return tokio::net::TcpStream::connect(to).await;
    };
    let s = tokio::net::TcpSocket::new_v4()?;
    s.set_zero_linger()?;
    s.bind(SocketAddr::V4(src))?;
    s.connect(to).await
}

/// Runs `f(i)` for every `i` of `range`, at most `inflight` at a time (each of `inflight`
/// tasks takes the next index when it is done), and returns `(i, output)` sorted by `i`.
/// The load generators open their sockets this way: a fixed number in flight, as a
/// browser fleet would, not all at once.
pub async fn in_flight<T, Fut>(
    range: std::ops::Range<usize>,
    inflight: usize,
    f: impl Fn(usize) -> Fut + Clone + Send + 'static,
) -> Vec<(usize, T)>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let tasks: Vec<_> = (0..inflight.max(1))
        .map(|_| {
            let (next, f) = (next.clone(), f.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break out;
                    }
                    out.push((i, f(i).await));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(range.len());
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort_by_key(|(i, _)| *i);
    all
}

/// One socket's opening as [`in_flight`] returns it: its index, the socket or why it
/// failed, and its latency in µs.
pub type Opened<S> = (usize, (Result<S, String>, u64));

/// Splits what [`in_flight`] returned for opened sockets (each one's result and latency)
/// into the sockets, their latencies and the errors.
pub fn split_opened<S>(all: Vec<Opened<S>>) -> (Vec<S>, Vec<u64>, Vec<String>) {
    let (mut socks, mut lats, mut errs) = (Vec::new(), Vec::new(), Vec::new());
    for (_, (r, lat)) in all {
        match r {
            Ok(s) => {
                socks.push(s);
                lats.push(lat);
            }
            Err(e) => errs.push(e),
        }
    }
    (socks, lats, errs)
}

/// Raises this process's soft and hard `RLIMIT_NOFILE` to `want` (root may raise the hard
/// limit up to `fs.nr_open`; others get at most their hard limit); returns the soft limit
/// in force afterwards. Only this process and its children are affected.
pub fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let cur = getrlimit(Resource::Nofile);
    let soft = cur.current.unwrap_or(u64::MAX);
    if soft >= want {
        return soft;
    }
    let both = Rlimit {
        current: Some(want),
        maximum: Some(want.max(cur.maximum.unwrap_or(0))),
    };
    if setrlimit(Resource::Nofile, both).is_err() {
        // Not allowed past the hard limit: take what it allows.
        let capped = Rlimit {
            current: cur.maximum.map(|m| m.min(want)),
            maximum: cur.maximum,
        };
        let _ = setrlimit(Resource::Nofile, capped);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The kernel limits that bound how many connections one host can hold on loopback, as
/// `(name, value)`: the ephemeral port range and the file limits.
pub fn kernel_limits() -> Vec<(&'static str, String)> {
    [
        (
            "net.ipv4.ip_local_port_range",
            "/proc/sys/net/ipv4/ip_local_port_range",
        ),
        ("fs.file-max", "/proc/sys/fs/file-max"),
        ("fs.nr_open", "/proc/sys/fs/nr_open"),
        ("net.ipv4.tcp_tw_reuse", "/proc/sys/net/ipv4/tcp_tw_reuse"),
        ("net.core.somaxconn", "/proc/sys/net/core/somaxconn"),
    ]
    .into_iter()
    .map(|(k, p)| {
        let v = std::fs::read_to_string(p).map_or_else(
            |_| "?".to_owned(),
            |v| v.split_whitespace().collect::<Vec<_>>().join("-"),
        );
        (k, v)
    })
    .collect()
}

pub mod poll;

/// Just enough WebSocket (RFC 6455) for the load generator and the echo server, so that
/// neither is the bottleneck of a run.
///
/// tokio-tungstenite zeroes its 128 KiB read buffer before every read (and a fresh one per
/// connection faults its pages in): in S5 that `memset` was 40% of the load generator's CPU,
/// in S1 it and the page faults were the largest items. Here a connection reads into the
/// spare capacity of a small buffer that grows only while reads fill it, parses frames in
/// place and hands out text as `&str` borrowed from it, and queues outgoing frames in one
/// buffer written by one `write` per flush. Only unfragmented text frames are supported
/// (every server under test sends those); pings are answered, a close frame ends the
/// connection.
pub mod ws {
    use std::io;
    use std::ops::Range;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;
    use tokio_tungstenite::tungstenite::handshake::client::generate_key;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

    const OP_TEXT: u8 = 1;
    const OP_CLOSE: u8 = 8;
    const OP_PING: u8 = 9;
    const OP_PONG: u8 = 10;
    /// The first read of a connection; reads that fill the buffer double it up to
    /// [`MAX_READ`] (fan-out receivers get bursts, handshakes a few hundred bytes).
    const MIN_READ: usize = 2048;
    const MAX_READ: usize = 64 * 1024;
    /// An HTTP upgrade head longer than this is refused.
    const MAX_HEAD: usize = 16 * 1024;
    /// A frame longer than this is refused (no scenario sends more than a few KiB).
    const MAX_FRAME: u64 = 16 * 1024 * 1024;

    fn bad(what: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
    }

    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed")
    }

    /// The value of header `name` in an HTTP head (status or request line first).
    fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
        head.split("\r\n").skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// XORs `data` with the 4-byte `key`, a word at a time.
    fn apply_mask(data: &mut [u8], key: [u8; 4]) {
        let word = u32::from_ne_bytes(key);
        let mut chunks = data.chunks_exact_mut(4);
        for c in &mut chunks {
            let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ word;
            c.copy_from_slice(&v.to_ne_bytes());
        }
        for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
            *b ^= key[i];
        }
    }

    /// One WebSocket connection over TCP, client or server side.
    #[derive(Debug)]
    pub struct Conn {
        stream: TcpStream,
        /// Received bytes; `rbuf[rpos..]` is not parsed yet.
        rbuf: Vec<u8>,
        rpos: usize,
        /// How much the next read asks for at least.
        read_size: usize,
        /// Frames queued by [`Conn::queue_text`] and control replies, not written yet.
        wbuf: Vec<u8>,
        /// Client side: masks outgoing frames (xorshift state for the keys) and answers
        /// engine.io pings.
        client: bool,
        rng: u32,
        /// engine.io pings answered so far (client side).
        pings: u64,
    }

    impl Conn {
        fn new(stream: TcpStream, client: bool) -> io::Result<Self> {
            stream.set_nodelay(true)?;
            // Distinct, non-zero mask seeds; masking only has to be valid, not secret here.
            static SEED: AtomicU32 = AtomicU32::new(0x9e37_79b9);
            Ok(Self {
                stream,
                rbuf: Vec::with_capacity(MIN_READ),
                rpos: 0,
                read_size: MIN_READ,
                wbuf: Vec::new(),
                client,
                rng: SEED.fetch_add(0x6d2b_79f5, Ordering::Relaxed) | 1,
                pings: 0,
            })
        }

        /// TCP connect to `127.0.0.1:port`, then the client handshake for `path` (with
        /// query); checks the `101` status and `Sec-WebSocket-Accept`.
        pub async fn connect(port: u16, path: &str) -> io::Result<Self> {
            Self::connect_from(None, port, path).await
        }

        /// [`Conn::connect`] from source address `from` (see [`crate::dial`]).
        pub async fn connect_from(
            from: Option<std::net::SocketAddrV4>,
            port: u16,
            path: &str,
        ) -> io::Result<Self> {
            let stream = crate::dial(from, port).await?;
            let mut c = Self::new(stream, true)?;
            let key = generate_key();
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
            );
            c.stream.write_all(req.as_bytes()).await?;
            let end = c.read_head().await?;
            let head = std::str::from_utf8(&c.rbuf[..end]).map_err(|_| bad("non-UTF-8 head"))?;
            if !head.starts_with("HTTP/1.1 101") {
                let line = head.lines().next().unwrap_or_default();
                return Err(bad(&format!("upgrade refused: {line}")));
            }
            if header(head, "sec-websocket-accept") != Some(&derive_accept_key(key.as_bytes())) {
                return Err(bad("wrong Sec-WebSocket-Accept"));
            }
            // Frames may have come with the head.
            c.rpos = end;
            Ok(c)
        }

        /// The server handshake on an accepted stream.
        pub async fn accept(stream: TcpStream) -> io::Result<Self> {
            let mut c = Self::new(stream, false)?;
            let end = c.read_head().await?;
            let head = std::str::from_utf8(&c.rbuf[..end]).map_err(|_| bad("non-UTF-8 head"))?;
            let key = header(head, "sec-websocket-key").ok_or_else(|| bad("no key"))?;
            let resp = format!(
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                derive_accept_key(key.as_bytes())
            );
            c.stream.write_all(resp.as_bytes()).await?;
            c.rpos = end;
            Ok(c)
        }

        /// Reads until the buffer holds an HTTP head; returns the offset just after it.
        async fn read_head(&mut self) -> io::Result<usize> {
            let mut from = 0;
            loop {
                if let Some(i) = self.rbuf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                    return Ok(from + i + 4);
                }
                if self.rbuf.len() > MAX_HEAD {
                    return Err(bad("HTTP head too long"));
                }
                from = self.rbuf.len().saturating_sub(3);
                self.fill().await?;
            }
        }

        /// One read from the socket into the buffer (at least one byte, or an error when
        /// the peer closed). Cancel-safe: usable in `select!`.
        pub async fn fill(&mut self) -> io::Result<()> {
            if self.rpos == self.rbuf.len() {
                self.rbuf.clear();
                self.rpos = 0;
            } else if self.rpos > 0 && self.rbuf.capacity() - self.rbuf.len() < self.read_size {
                self.rbuf.drain(..self.rpos);
                self.rpos = 0;
            }
            self.rbuf.reserve(self.read_size);
            let room = self.rbuf.capacity() - self.rbuf.len();
            let n = self.stream.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                return Err(closed());
            }
            if n == room && self.read_size < MAX_READ {
                self.read_size *= 2;
            }
            Ok(())
        }

        /// The next complete frame in the buffer: opcode and payload range (unmasked).
        fn parse(&mut self) -> io::Result<Option<(u8, Range<usize>)>> {
            let buf = &mut self.rbuf[self.rpos..];
            let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
                return Ok(None);
            };
            let (mut len, mut at) = (u64::from(b1 & 0x7f), 2);
            if len == 126 {
                let Some(b) = buf.get(2..4) else {
                    return Ok(None);
                };
                len = u64::from(u16::from_be_bytes([b[0], b[1]]));
                at = 4;
            } else if len == 127 {
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut be = [0; 8];
                be.copy_from_slice(b);
                len = u64::from_be_bytes(be);
                at = 10;
            }
            let mut key = None;
            if b1 & 0x80 != 0 {
                let Some(k) = buf.get(at..at + 4) else {
                    return Ok(None);
                };
                key = Some([k[0], k[1], k[2], k[3]]);
                at += 4;
            }
            if len > MAX_FRAME {
                return Err(bad("frame too long"));
            }
            let end = at + len as usize;
            if buf.len() < end {
                // Make room for the whole frame before the next read.
                self.read_size = self.read_size.max(end - buf.len());
                return Ok(None);
            }
            let (fin, op) = (b0 & 0x80 != 0, b0 & 0x0f);
            if !fin || op == 0 {
                return Err(bad("fragmented messages are not supported"));
            }
            if let Some(k) = key {
                apply_mask(&mut buf[at..end], k);
            }
            let start = self.rpos + at;
            self.rpos += end;
            Ok(Some((op, start..start + len as usize)))
        }

        /// The range of the next buffered text message; answers pings on the way.
        fn next_text_range(&mut self) -> io::Result<Option<Range<usize>>> {
            while let Some((op, r)) = self.parse()? {
                match op {
                    OP_TEXT if self.client && &self.rbuf[r.clone()] == b"2" => {
                        self.pings += 1;
                        self.queue_frame(OP_TEXT, b"3")
                    }
                    OP_TEXT => return Ok(Some(r)),
                    OP_PING => {
                        let payload = self.rbuf[r].to_vec();
                        self.queue_frame(OP_PONG, &payload);
                    }
                    OP_CLOSE => return Err(closed()),
                    _ => {}
                }
            }
            Ok(None)
        }

        /// The next text message already in the buffer, if any, without reading. On the
        /// client side an engine.io ping (`2`) is not returned but answered (`3`, queued:
        /// see [`Conn::flush`]), as are WebSocket pings.
        pub fn try_text(&mut self) -> io::Result<Option<&str>> {
            match self.next_text_range()? {
                Some(r) => std::str::from_utf8(&self.rbuf[r])
                    .map(Some)
                    .map_err(|_| bad("non-UTF-8 text")),
                None => Ok(None),
            }
        }

        /// The next text message, reading as needed; queued replies are flushed before
        /// waiting. Not cancel-safe while it flushes (only pings make it flush).
        pub async fn next_text(&mut self) -> io::Result<&str> {
            let r = loop {
                if let Some(r) = self.next_text_range()? {
                    break r;
                }
                self.flush().await?;
                self.fill().await?;
            };
            std::str::from_utf8(&self.rbuf[r]).map_err(|_| bad("non-UTF-8 text"))
        }

        fn queue_frame(&mut self, op: u8, payload: &[u8]) {
            let mask_bit = if self.client { 0x80 } else { 0 };
            let len = payload.len();
            self.wbuf.push(0x80 | op);
            if len < 126 {
                self.wbuf.push(mask_bit | len as u8);
            } else if let Ok(l) = u16::try_from(len) {
                self.wbuf.push(mask_bit | 126);
                self.wbuf.extend_from_slice(&l.to_be_bytes());
            } else {
                self.wbuf.push(mask_bit | 127);
                self.wbuf.extend_from_slice(&(len as u64).to_be_bytes());
            }
            if self.client {
                // xorshift32: a fresh key per frame for the price of three shifts.
                let mut x = self.rng;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.rng = x;
                let key = x.to_ne_bytes();
                self.wbuf.extend_from_slice(&key);
                let start = self.wbuf.len();
                self.wbuf.extend_from_slice(payload);
                apply_mask(&mut self.wbuf[start..], key);
            } else {
                self.wbuf.extend_from_slice(payload);
            }
        }

        /// Queues a text frame; nothing is written before [`Conn::flush`].
        pub fn queue_text(&mut self, text: &str) {
            self.queue_frame(OP_TEXT, text.as_bytes());
        }

        /// How many engine.io pings this client connection has answered (queued the pong).
        pub fn pings_answered(&self) -> u64 {
            self.pings
        }

        /// Bytes queued and not written yet.
        pub fn pending(&self) -> usize {
            self.wbuf.len()
        }

        /// Writes every queued frame (one `write` when the socket takes it all).
        pub async fn flush(&mut self) -> io::Result<()> {
            if !self.wbuf.is_empty() {
                self.stream.write_all(&self.wbuf).await?;
                self.wbuf.clear();
            }
            Ok(())
        }

        /// Queues a text frame and flushes.
        pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
            self.queue_text(text);
            self.flush().await
        }

        /// Sends a close frame (no status) without waiting for the peer's, then drops the
        /// connection.
        pub async fn close(mut self) {
            self.queue_frame(OP_CLOSE, &[]);
            let _ = self.flush().await;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn mask_round_trips_every_length() {
            let key = [1, 2, 3, 0xff];
            for n in 0..11 {
                let orig: Vec<u8> = (0..n as u8).collect();
                let mut d = orig.clone();
                apply_mask(&mut d, key);
                for (i, (a, b)) in d.iter().zip(&orig).enumerate() {
                    assert_eq!(*a, b ^ key[i % 4]);
                }
                apply_mask(&mut d, key);
                assert_eq!(d, orig);
            }
        }

        #[test]
        fn header_is_case_insensitive() {
            let head = "HTTP/1.1 101 x\r\nsec-WebSocket-accept:  abc \r\n\r\n";
            assert_eq!(header(head, "Sec-WebSocket-Accept"), Some("abc"));
            assert_eq!(header(head, "upgrade"), None);
        }

        #[tokio::test]
        async fn client_and_server_exchange_text_and_pings() -> io::Result<()> {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let port = l.local_addr()?.port();
            let server = tokio::spawn(async move {
                let (s, _) = l.accept().await?;
                let mut c = Conn::accept(s).await?;
                c.send_text("2").await?;
                let big = "x".repeat(70_000);
                c.queue_text(&big);
                c.queue_text("hello");
                c.flush().await?;
                let got = c.next_text().await?.to_owned();
                let pong = c.next_text().await?.to_owned();
                io::Result::Ok((got, pong))
            });
            let mut c = Conn::connect(port, "/socket.io/?EIO=4").await?;
            assert_eq!(c.next_text().await?.len(), 70_000);
            assert_eq!(c.next_text().await?, "hello");
            c.send_text(&"é".repeat(100)).await?;
            let (got, pong) = server.await.map_err(io::Error::other)??;
            // The engine.io ping was answered before the long frame was read, and counted.
            assert_eq!(got, "3");
            assert_eq!(c.pings_answered(), 1);
            assert_eq!(pong, "é".repeat(100));
            Ok(())
        }
    }
}
