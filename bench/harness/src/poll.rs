//! Just enough engine.io v4 HTTP long-polling for the sweep's polling clients: HTTP/1.1
//! requests with `Content-Length` bodies over keep-alive connections, one for the pending
//! `GET` and one for `POST`s, as a browser's connection pool would hold them.
//!
//! The `POST` connection is idle between heartbeats (25 s) and a server may close an idle
//! keep-alive connection before that (Node's `keepAliveTimeout` is 5 s): a request that meets
//! a closed connection is sent once more on a new one, as browsers do.

use std::io;
use std::net::SocketAddrV4;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The separator of packets in a polling body.
const SEP: char = '\u{1e}';
/// A response head or body longer than this is refused (no scenario sends more than a few KiB
/// per poll).
const MAX_BODY: usize = 16 * 1024 * 1024;

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
struct Http {
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    from: Option<SocketAddrV4>,
    port: u16,
}

impl Http {
    fn new(from: Option<SocketAddrV4>, port: u16) -> Self {
        Self {
            stream: None,
            buf: Vec::new(),
            from,
            port,
        }
    }

    /// Sends one request and reads its response body; retries once on a new connection
    /// when a kept-alive one turns out closed before any byte of the answer came.
    async fn request(&mut self, method: &str, path: &str, body: &str) -> io::Result<String> {
        let reused = self.stream.is_some();
        match self.try_request(method, path, body).await {
            Err(e)
                if reused
                    && matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::BrokenPipe
                    ) =>
            {
                self.stream = None;
                self.try_request(method, path, body).await
            }
            r => r,
        }
    }

    async fn try_request(&mut self, method: &str, path: &str, body: &str) -> io::Result<String> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = crate::dial(self.from, self.port).await?;
                s.set_nodelay(true)?;
                self.buf.clear();
                self.stream.insert(s)
            }
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let answer = async {
            stream.write_all(req.as_bytes()).await?;
            read_response(stream, &mut self.buf).await
        }
        .await;
        if answer.is_err() {
            self.stream = None;
        }
        answer
    }
}

/// Reads one response with a `Content-Length` body; bytes past it stay in `buf`.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<String> {
    let mut got_any = !buf.is_empty();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_BODY {
            return Err(bad("response head too long".into()));
        }
        if stream.read_buf(buf).await? == 0 {
            // Closed before answering: the caller may retry on a new connection.
            let kind = if got_any {
                io::ErrorKind::UnexpectedEof
            } else {
                io::ErrorKind::ConnectionAborted
            };
            return Err(io::Error::new(kind, "connection closed"));
        }
        got_any = true;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("non-UTF-8 head".into()))?;
    let status = head.split(' ').nth(1).unwrap_or_default();
    let len = head
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .ok_or_else(|| bad(format!("no Content-Length in {head:.120}")))?;
    if len > MAX_BODY {
        return Err(bad("response body too long".into()));
    }
    if status != "200" {
        return Err(bad(format!("HTTP {status}: {head:.120}")));
    }
    while buf.len() < head_end + len {
        if stream.read_buf(buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
    }
    let body = String::from_utf8(buf[head_end..head_end + len].to_vec())
        .map_err(|_| bad("non-UTF-8 body".into()))?;
    buf.drain(..head_end + len);
    Ok(body)
}

/// One engine.io session over HTTP long-polling.
#[derive(Debug)]
pub struct Client {
    get: Http,
    post: Http,
    /// `/socket.io/?EIO=4&transport=polling&sid=...`
    path: String,
    pings: u64,
}

impl Client {
    /// The opening `GET` (engine.io handshake); returns the client and the open packet's
    /// sid.
    pub async fn open(from: Option<SocketAddrV4>, port: u16) -> io::Result<Self> {
        let mut get = Http::new(from, port);
        let body = get
            .request("GET", "/socket.io/?EIO=4&transport=polling", "")
            .await?;
        let open = body
            .strip_prefix('0')
            .ok_or_else(|| bad(format!("expected engine.io open, got {body:.60}")))?;
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .ok_or_else(|| bad(format!("no sid in {open:.80}")))?;
        Ok(Self {
            path: format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            get,
            // `from` carries a port of its own: the POST connection lets the kernel choose
            // (polling runs stay far below one address's ports).
            post: Http::new(None, port),
            pings: 0,
        })
    }

    /// Posts `packets` (joined with the separator) and expects `ok`.
    pub async fn send(&mut self, packets: &[&str]) -> io::Result<()> {
        let body = packets.join(&SEP.to_string());
        let r = self.post.request("POST", &self.path, &body).await?;
        if r == "ok" {
            Ok(())
        } else {
            Err(bad(format!("POST answered {r:.60}")))
        }
    }

    /// One long poll: the packets of the next `GET`'s body, engine.io pings answered on
    /// the way (`3` posted) and not returned. Cancel-unsafe: hold it in one task.
    pub async fn poll(&mut self) -> io::Result<Vec<String>> {
        let body = self.get.request("GET", &self.path, "").await?;
        let mut out = Vec::new();
        let mut pongs = 0;
        for p in body.split(SEP) {
            match p {
                "2" => pongs += 1,
                "6" | "" => {}
                other => out.push(other.to_owned()),
            }
        }
        if pongs > 0 {
            self.pings += pongs;
            let three = vec!["3"; pongs as usize];
            self.send(&three).await?;
        }
        Ok(out)
    }

    /// How many engine.io pings this client has answered.
    pub fn pings_answered(&self) -> u64 {
        self.pings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Reads one request (head + `Content-Length` body) from `s`; returns its first line
    /// and body.
    async fn request(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<(String, String)> {
        loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < i + 4 + len {
                    s.read_buf(buf).await?;
                }
                let body = String::from_utf8_lossy(&buf[i + 4..i + 4 + len]).to_string();
                buf.drain(..i + 4 + len);
                let line = head.lines().next().unwrap_or_default().to_owned();
                return Ok((line, body));
            }
            if s.read_buf(buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn respond(s: &mut TcpStream, body: &str) -> io::Result<()> {
        let r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(r.as_bytes()).await
    }

    #[tokio::test]
    async fn opens_answers_pings_and_reconnects_a_closed_post_connection() -> io::Result<()> {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let port = l.local_addr()?.port();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            // The GET connection: the handshake, then a poll that carries a ping and an event.
            let (mut get, _) = l.accept().await?;
            let mut gbuf = Vec::new();
            seen.push(request(&mut get, &mut gbuf).await?);
            respond(&mut get, r#"0{"sid":"abc","pingInterval":25000}"#).await?;
            // The first POST, on its own connection, which the server then closes (as
            // Node's keepAliveTimeout does).
            let (mut post, _) = l.accept().await?;
            let mut pbuf = Vec::new();
            seen.push(request(&mut post, &mut pbuf).await?);
            respond(&mut post, "ok").await?;
            drop(post);
            seen.push(request(&mut get, &mut gbuf).await?);
            respond(&mut get, "2\u{1e}42[\"msg\",1]").await?;
            // The pong arrives on a new connection.
            let (mut post, _) = l.accept().await?;
            let mut pbuf = Vec::new();
            seen.push(request(&mut post, &mut pbuf).await?);
            respond(&mut post, "ok").await?;
            io::Result::Ok(seen)
        });
        let mut c = Client::open(None, port).await?;
        c.send(&["40{}"]).await?;
        let got = c.poll().await?;
        assert_eq!(got, vec![r#"42["msg",1]"#.to_owned()]);
        assert_eq!(c.pings_answered(), 1);
        let seen = server.await.map_err(io::Error::other)??;
        let lines: Vec<&str> = seen.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            lines,
            [
                "GET /socket.io/?EIO=4&transport=polling HTTP/1.1",
                "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1",
                "GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1",
                "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1",
            ]
        );
        assert_eq!(seen[1].1, "40{}");
        assert_eq!(seen[3].1, "3");
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_request_is_an_error_with_its_status() -> io::Result<()> {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        let port = l.local_addr()?.port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await?;
            request(&mut s, &mut Vec::new()).await?;
            s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await?;
            io::Result::Ok(())
        });
        let e = Client::open(None, port).await.err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("HTTP 400")),
            "{e:?}"
        );
        Ok(())
    }
}
