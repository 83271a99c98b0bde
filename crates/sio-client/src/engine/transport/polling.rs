//! The HTTP long-polling transport, on the hyper 1 client.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use sio_protocol::Limits;
use sio_protocol::engineio::{self, Packet};

use crate::config::Endpoint;
use crate::error::Error;

#[cfg(not(feature = "tls"))]
type Connector = hyper_util::client::legacy::connect::HttpConnector;
#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

type HttpClient = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// A long-polling session: one HTTP client (its pool keeps the GET and the POST on separate
/// connections) and the session's URL.
#[derive(Clone, Debug)]
pub(crate) struct Polling {
    client: HttpClient,
    headers: Vec<(HeaderName, HeaderValue)>,
    limits: Limits,
}

impl Polling {
    /// A client that sends `headers` with every request.
    pub(crate) fn new(endpoint: &Endpoint, limits: Limits) -> Result<Self, Error> {
        let headers = super::parse_headers(&endpoint.headers)?;
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        // The request and its body leave in one go instead of waiting for the ACK of the
        // headers, as on the WebSocket.
        http.set_nodelay(super::NO_DELAY);
        #[cfg(not(feature = "tls"))]
        let connector = http;
        #[cfg(feature = "tls")]
        let connector = {
            // https_or_http() lets the wrapped connector see https URLs too.
            http.enforce_http(false);
            match &endpoint.tls {
                Some(tls) => {
                    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config((**tls).clone())
                }
                None => hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots(),
            }
            .https_or_http()
            .enable_http1()
            .wrap_connector(http)
        };
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Polling {
            client,
            headers,
            limits,
        })
    }

    async fn request(&self, method: Method, url: &str, body: Bytes) -> Result<Bytes, Error> {
        let mut builder = Request::builder().method(method.clone()).uri(url);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if method == Method::POST {
            builder = builder.header(http::header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| Error::Config(format!("invalid polling request to {url:?}: {e}")))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| Error::Transport(format!("polling {method} {url}: {}", chain(&e))))?;
        let status = response.status();
        let limit = self.limits.max_packet_size;
        // An announced length over the limit is refused before reading anything.
        let announced = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(size) = announced.filter(|n| *n > limit) {
            return Err(Error::PayloadTooLarge { size, limit });
        }
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    Error::PayloadTooLarge {
                        size: limit.saturating_add(1),
                        limit,
                    }
                } else {
                    Error::Transport(format!("polling {method} {url}: {e}"))
                }
            })?
            .to_bytes();
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(Error::Transport(format!(
                "polling {method} {url}: HTTP {status}: {text}"
            )));
        }
        Ok(body)
    }

    /// One GET: the packets the server had for us.
    pub(crate) async fn poll(&self, url: &str) -> Result<Vec<Packet>, Error> {
        let body = self.request(Method::GET, url, Bytes::new()).await?;
        engineio::decode_payload(&body, &self.limits).map_err(|e| {
            Error::Protocol(format!(
                "polling payload {:?}: {e}",
                super::websocket::preview(&String::from_utf8_lossy(&body[..body.len().min(128)]))
            ))
        })
    }

    /// One POST carrying `body`, an encoded payload.
    pub(crate) async fn post(&self, url: &str, body: String) -> Result<(), Error> {
        self.request(Method::POST, url, Bytes::from(body))
            .await
            .map(drop)
    }
}

/// An error with its causes, as hyper's own message ("client error (Connect)") hides them.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
