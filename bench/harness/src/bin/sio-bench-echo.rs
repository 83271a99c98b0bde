//! A trivial server for measuring the load generator alone: just enough engine.io/socket.io
//! text frames for every scenario (open, CONNECT, `authenticated`, acked `join`/`echo`,
//! `bcast`/`send` to every joined socket, one room for all), with each broadcast encoded
//! once. It implements no protocol rules beyond that; it is not a server to compare with.
//!
//! Usage: `sio-bench-echo PORT`.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

type Members = Arc<Mutex<Vec<mpsc::UnboundedSender<Utf8Bytes>>>>;

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

async fn conn(stream: TcpStream, members: Members) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let open = r#"0{"sid":"echo","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Utf8Bytes>();
    loop {
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { break };
                // Batch what is queued into one flush, as a real server would.
                let mut batch = vec![m];
                while let Ok(m) = rx.try_recv() {
                    batch.push(m);
                }
                let mut ok = true;
                for m in batch {
                    ok &= ws.feed(Message::Text(m)).await.is_ok();
                }
                if !ok || ws.flush().await.is_err() { break }
            }
            m = ws.next() => {
                let Some(Ok(Message::Text(t))) = m else { break };
                let t = t.as_str();
                let reply = if t.starts_with("40") {
                    Some(r#"40{"sid":"echo"}"#.to_owned())
                } else if t.starts_with("42") {
                    let (ack, body) = split_ack(t);
                    if body.starts_with(r#"["authenticate""#) {
                        Some(r#"42["authenticated",{"id":"echo"}]"#.to_owned())
                    } else if body.starts_with(r#"["join""#) {
                        members.lock().unwrap_or_else(|e| e.into_inner()).push(tx.clone());
                        ack.map(|id| format!("43{id}[]"))
                    } else if body.starts_with(r#"["echo","#) {
                        ack.map(|id| format!("43{id}[{}", &body[8..]))
                    } else if let Some(rest) = body.strip_prefix(r#"["bcast","#).or(body.strip_prefix(r#"["send","#)) {
                        // rest = "room","data"]: keep the data, encode once for all.
                        if let Some(comma) = rest.find("\",") {
                            let frame = Utf8Bytes::from(format!(r#"42["msg",{}"#, &rest[comma + 2..]));
                            let list = members.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            for m in list {
                                let _ = m.send(frame.clone());
                            }
                        }
                        None
                    } else {
                        None
                    }
                } else {
                    None
                };
                if let Some(r) = reply
                    && ws.send(Message::text(r)).await.is_err()
                {
                    break;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening {}", listener.local_addr()?);
    let members: Members = Arc::default();
    loop {
        let (s, _) = listener.accept().await?;
        tokio::spawn(conn(s, members.clone()));
    }
}
