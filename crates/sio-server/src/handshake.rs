//! Building the [`Handshake`] of a socket from the HTTP request that opened its connection.

use http::request::Parts;
use indexmap::IndexMap;
use sio_types::handshake::iso8601;
use sio_types::{Handshake, Value};

/// The peer address of a connection, put in the request extensions by
/// [`SocketIo::listen`](crate::SocketIo::listen). When you mount the layer yourself, insert
/// it in a middleware to fill `handshake.address`.
///
/// ```
/// use sio_server::handshake::RemoteAddr;
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(RemoteAddr("127.0.0.1:4000".parse().unwrap()));
/// ```
pub use sio_engine::RemoteAddr;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The handshake socket.io builds: headers, time, address, xdomain, secure, issued, url,
/// query, auth.
pub(crate) fn build(
    parts: &Parts,
    remote: Option<std::net::SocketAddr>,
    issued: i64,
    auth: Value,
) -> Handshake {
    let mut headers: IndexMap<String, String> = IndexMap::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&v);
            })
            .or_insert_with(|| v.into_owned());
    }
    let address = remote.map(|a| a.ip().to_string()).unwrap_or_default();
    let url = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let query = parts.uri.query().map(parse_query).unwrap_or_default();
    Handshake {
        xdomain: parts.headers.contains_key(http::header::ORIGIN),
        secure: parts.uri.scheme() == Some(&http::uri::Scheme::HTTPS),
        headers,
        time: iso8601(issued),
        address,
        issued,
        url,
        query,
        auth: if auth.is_null() {
            Value::Object(Default::default())
        } else {
            auth
        },
    }
}

/// Parses `a=1&b=x%20y`; a repeated key keeps its last value, as the seed expects.
pub(crate) fn parse_query(q: &str) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(percent_decode(k), percent_decode(v));
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded_last_value_wins() {
        let q = parse_query("EIO=4&transport=polling&x=a%20b&x=c+d&bad=%zz&tail=%4");
        assert_eq!(q["EIO"], "4");
        assert_eq!(q["x"], "c d");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["tail"], "%4");
    }

    #[test]
    fn handshake_from_request() {
        let req = http::Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket&token=abc")
            .header("Origin", "http://x")
            .header("X-A", "1")
            .header("x-a", "2")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let hs = build(
            &parts,
            Some("10.0.0.1:5000".parse().unwrap()),
            0,
            Value::Null,
        );
        assert_eq!(hs.address, "10.0.0.1");
        assert!(hs.xdomain);
        assert_eq!(hs.headers["x-a"], "1, 2");
        assert_eq!(hs.query["token"], "abc");
        assert_eq!(hs.url, "/socket.io/?EIO=4&transport=websocket&token=abc");
        assert_eq!(hs.time, "1970-01-01T00:00:00.000Z");
        assert!(hs.auth.as_object().is_some());
    }
}
