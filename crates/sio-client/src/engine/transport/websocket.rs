//! The WebSocket transport, on tokio-tungstenite.

use futures_util::{SinkExt, StreamExt};
use sio_protocol::Limits;
use sio_protocol::engineio::{Packet, WsFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::NO_DELAY;
use crate::config::Endpoint;
use crate::error::Error;
use crate::socket::DisconnectReason;

/// How much one read from the socket may take. tungstenite zero-fills this much before
/// every read: its default of 128 KiB made the fill a third of the client's CPU time for
/// small messages (C1 of `cargo xtask bench`); a larger frame still arrives whole, in more
/// reads.
const READ_BUFFER: usize = 8 * 1024;

/// An open WebSocket.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `url` with the extra headers.
pub(crate) async fn connect(
    url: &str,
    endpoint: &Endpoint,
    limits: &Limits,
) -> Result<WsStream, Error> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::Config(format!("invalid websocket url {url:?}: {e}")))?;
    for (name, value) in super::parse_headers(&endpoint.headers)? {
        request.headers_mut().insert(name, value);
    }
    // The limits bound what one frame may cost us before any decoder sees it.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limits.max_packet_size))
        .max_frame_size(Some(limits.max_packet_size));
    #[cfg(feature = "tls")]
    let connected = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        NO_DELAY,
        endpoint
            .tls
            .clone()
            .map(tokio_tungstenite::Connector::Rustls),
    )
    .await;
    #[cfg(not(feature = "tls"))]
    let connected =
        tokio_tungstenite::connect_async_with_config(request, Some(config), NO_DELAY).await;
    let (ws, _response) = connected.map_err(map_ws_error)?;
    Ok(ws)
}

/// Turns a tungstenite error into ours, keeping the size of oversized messages.
pub(crate) fn map_ws_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Capacity(cap) => match cap {
            tungstenite::error::CapacityError::MessageTooLong { size, max_size } => {
                Error::PayloadTooLarge {
                    size,
                    limit: max_size,
                }
            }
            other => Error::Protocol(format!("websocket: {other}")),
        },
        other => Error::Transport(format!("websocket: {other}")),
    }
}

/// Why a WebSocket failed, as socket.io-client tells it: Node's `ws` reports the end of
/// the TCP connection (a reset, an EOF without a close frame: a server process that died)
/// as a close, and only protocol violations as errors.
pub(crate) fn ws_reason(e: tungstenite::Error) -> DisconnectReason {
    match e {
        tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed
        | tungstenite::Error::Io(_)
        | tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => DisconnectReason::TransportClose,
        other => DisconnectReason::TransportError(map_ws_error(other)),
    }
}

/// Sends one engine.io packet as a frame.
pub(crate) async fn send(ws: &mut WsStream, packet: &Packet) -> Result<(), DisconnectReason> {
    let msg = match packet.encode_ws() {
        WsFrame::Text(t) => Message::text(t),
        WsFrame::Binary(b) => Message::binary(b),
    };
    ws.send(msg).await.map_err(ws_reason)
}

/// How long a close we started waits for the server's answer to it.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Ends the WebSocket as RFC 6455 asks of the side that closes: our close frame, then what
/// the server still sends until its own close frame or the end of the stream (at most
/// [`CLOSE_WAIT`]). The server answers only once it has read everything before our close,
/// so what was queued before it has been read when this returns. Dropping the socket
/// earlier, with the server's data unread, makes the kernel answer with a reset, and a
/// server that had not yet read our last frames loses them.
pub(crate) async fn close_and_drain(ws: &mut WsStream) {
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Reads the next engine.io packet; `Ok(None)` when the server closed the socket. A packet
/// the decoder refuses is a transport error, as engine.io-client treats it.
pub(crate) async fn recv(
    ws: &mut WsStream,
    limits: &Limits,
) -> Result<Option<Packet>, DisconnectReason> {
    let refused = |e: Error| DisconnectReason::TransportError(e);
    loop {
        let msg = match ws.next().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(ws_reason(e)),
            Some(Ok(m)) => m,
        };
        return match msg {
            Message::Text(t) => Packet::decode_ws_text(t.as_str(), limits)
                .map(Some)
                .map_err(|e| {
                    refused(Error::Protocol(format!(
                        "engine.io packet {:?}: {e}",
                        preview(t.as_str())
                    )))
                }),
            Message::Binary(b) => Packet::decode_ws_binary(b, limits)
                .map(Some)
                .map_err(|e| refused(Error::Protocol(format!("engine.io binary frame: {e}")))),
            Message::Close(_) => Ok(None),
            // tungstenite answers pings itself; raw frames never surface when reading.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
        };
    }
}

/// The start of a text for error messages, so a huge payload does not flood the logs.
pub(crate) fn preview(text: &str) -> String {
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else {
        text.to_owned()
    }
}
