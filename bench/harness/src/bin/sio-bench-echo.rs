//! A trivial server for measuring the load generator alone: just enough engine.io/socket.io
//! text frames for every scenario (open, CONNECT, `authenticated`, acked `join`/`echo`,
//! `bcast`/`send` to every joined socket, one room for all), with each broadcast encoded
//! once. It implements no protocol rules beyond that; it is not a server to compare with.
//! It uses the load generator's WebSocket code ([`sio_bench::ws`]) and a current-thread
//! runtime, so that "loadgen alone" stays a ceiling above the servers, not a peer of them.
//!
//! Usage: `sio-bench-echo PORT`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sio_bench::ws::Conn;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

type Members = Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<str>>>>>;

/// The ack id and the rest of a `42<id>[...]` frame.
fn split_ack(t: &str) -> (Option<&str>, &str) {
    let body = &t[2..];
    let digits = body.find('[').unwrap_or(0);
    if digits == 0 {
        (None, body)
    } else {
        (Some(&body[..digits]), &body[digits..])
    }
}

/// Writes the reply to `t` (if any) into `out`; a `bcast`/`send` goes to every member.
fn handle(t: &str, out: &mut String, tx: &mpsc::UnboundedSender<Arc<str>>, members: &Members) {
    if t.starts_with("40") {
        out.push_str(r#"40{"sid":"echo"}"#);
    } else if t.starts_with("42") {
        let (ack, body) = split_ack(t);
        if body.starts_with(r#"["authenticate""#) {
            out.push_str(r#"42["authenticated",{"id":"echo"}]"#);
        } else if body.starts_with(r#"["join""#) {
            members
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(tx.clone());
            if let Some(id) = ack {
                let _ = write!(out, "43{id}[]");
            }
        } else if let Some(arg) = body.strip_prefix(r#"["echo","#) {
            if let Some(id) = ack {
                let _ = write!(out, "43{id}[{arg}");
            }
        } else if let Some(rest) = body
            .strip_prefix(r#"["bcast","#)
            .or(body.strip_prefix(r#"["send","#))
        {
            // rest = "room","data"]: keep the data, encode once for all.
            if let Some(comma) = rest.find("\",") {
                let frame: Arc<str> = format!(r#"42["msg",{}"#, &rest[comma + 2..]).into();
                let list = members.lock().unwrap_or_else(|e| e.into_inner()).clone();
                for m in list {
                    let _ = m.send(frame.clone());
                }
            }
        }
    }
}

async fn conn(stream: TcpStream, members: Members) {
    let Ok(mut ws) = Conn::accept(stream).await else {
        return;
    };
    ws.queue_text(r#"0{"sid":"echo","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#);
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<str>>();
    let mut out = String::new();
    loop {
        // Answer everything already read, then write all replies with one flush.
        loop {
            out.clear();
            match ws.try_text() {
                Ok(Some(t)) => handle(t, &mut out, &tx, &members),
                Ok(None) => break,
                Err(_) => return,
            }
            if !out.is_empty() {
                ws.queue_text(&out);
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { return };
                // Batch what is queued into one flush, as a real server would.
                ws.queue_text(&m);
                while let Ok(m) = rx.try_recv() {
                    ws.queue_text(&m);
                }
            }
            r = ws.fill() => if r.is_err() { return },
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // `TcpListener::bind` listens with a backlog of 128: fewer than S1's 200 connects in
    // flight, and an overflow costs a SYN retransmit (1 s) that would then be measured.
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(4096)?;
    println!("listening {}", listener.local_addr()?);
    let members: Members = Arc::default();
    loop {
        let (s, _) = listener.accept().await?;
        tokio::spawn(conn(s, members.clone()));
    }
}
