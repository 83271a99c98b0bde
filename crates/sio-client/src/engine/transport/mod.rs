//! The two engine.io transports.

pub(crate) mod polling;
pub(crate) mod websocket;

use http::{HeaderName, HeaderValue};

use crate::error::Error;

/// `TCP_NODELAY` on every client connection (the `disable_nagle` argument of
/// tokio-tungstenite, the HTTP connector of the polling transport), as Node's `ws` and
/// `http` set it: a small write right after another must not wait for the peer's delayed
/// ACK (40 ms on Linux) before leaving.
pub(crate) const NO_DELAY: bool = true;

/// The configured extra headers as HTTP types; both transports send them, so a bad name or
/// value is refused with the same message whichever transport meets it first.
pub(crate) fn parse_headers(
    headers: &[(String, String)],
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| Error::Config(format!("invalid header name {name:?}: {e}")))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|e| Error::Config(format!("invalid value of header {name}: {e}")))?;
            Ok((name, value))
        })
        .collect()
}
