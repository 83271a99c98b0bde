//! What the server knows of a client when it connects.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::value::Value;

/// The handshake of a socket: the seed's `IHandshake`, field for field.
///
/// It serializes to the same JSON shape as socket.io's `socket.handshake`, which is also what
/// `fetchSockets()` sends across a Redis cluster, so Node and Rust servers read each other's.
///
/// ```
/// use sio_types::Handshake;
///
/// let hs = Handshake {
///     address: "127.0.0.1".into(),
///     issued: 1_700_000_000_000,
///     time: sio_types::handshake::iso8601(1_700_000_000_000),
///     ..Default::default()
/// };
/// assert_eq!(hs.time, "2023-11-14T22:13:20.000Z");
/// assert_eq!(hs.auth_str("token"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Handshake {
    /// HTTP headers of the request that opened the connection, names in lower case.
    /// Repeated headers are joined with `", "` as Node does.
    pub headers: IndexMap<String, String>,
    /// When the connection was made, as an ISO 8601 string.
    pub time: String,
    /// The client's IP address.
    pub address: String,
    /// Whether the request came from another origin (it carried an `Origin` header).
    pub xdomain: bool,
    /// Whether the connection uses TLS.
    pub secure: bool,
    /// When the handshake was issued, in milliseconds since the Unix epoch.
    pub issued: i64,
    /// The request URL (path and query).
    pub url: String,
    /// The parsed query string; a repeated key keeps its last value.
    pub query: IndexMap<String, String>,
    /// The auth payload the client sent with its CONNECT packet (`{}` when none).
    pub auth: Value,
}

impl Handshake {
    /// The string under `key` in the auth payload, e.g. `auth_str("token")`.
    pub fn auth_str(&self, key: &str) -> Option<&str> {
        self.auth.get(key).and_then(Value::as_str)
    }

    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Formats milliseconds since the Unix epoch as JavaScript's `Date.toISOString()` does:
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// ```
/// assert_eq!(sio_types::handshake::iso8601(0), "1970-01-01T00:00:00.000Z");
/// assert_eq!(sio_types::handshake::iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
/// ```
pub fn iso8601(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's days-to-civil algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_match_javascript() {
        // Values checked against `new Date(n).toISOString()` in Node 20.
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_732_476_477_123), "2024-11-24T19:27:57.123Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso8601(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn json_shape_matches_socket_io() {
        let mut hs = Handshake {
            address: "::1".into(),
            secure: true,
            url: "/socket.io/?EIO=4&transport=websocket".into(),
            ..Default::default()
        };
        hs.headers.insert("host".into(), "localhost:3000".into());
        hs.query.insert("EIO".into(), "4".into());
        let json = serde_json::to_value(&hs).unwrap();
        let obj = json.as_object().unwrap();
        for key in [
            "headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth",
        ] {
            assert!(obj.contains_key(key), "missing {key}");
        }
        assert_eq!(obj.len(), 9);
        assert_eq!(json["headers"]["host"], "localhost:3000");
        assert_eq!(hs.header("HOST"), Some("localhost:3000"));
    }
}
