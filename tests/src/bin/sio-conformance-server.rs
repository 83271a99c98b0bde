//! The sio-server configured as the official socket.io-protocol conformance suite expects.
//!
//! Contract (shared with `tests/interop/conformance-server.js`): env `PORT` (0 = a free
//! port), prints `LISTENING <port>` on stdout once ready, exits when stdin closes (the
//! process contract of `sio_tests::server_process`), path `/socket.io/`, pingInterval
//! 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, connectTimeout 1,000 ms, CORS (any
//! origin), namespaces `/` and `/custom` that emit `auth` with the handshake auth on
//! connect, echo `message` as `message-back` and ack `message-with-ack` with its arguments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sio_server::config::Cors;
use sio_server::{Socket, SocketIo};

async fn on_connection(socket: Socket) {
    let _ = socket.emit_args("auth", vec![socket.auth().clone()]);
    socket.on("message", |socket, args, _ack| async move {
        let _ = socket.emit_args("message-back", args.into_vec());
    });
    socket.on("message-with-ack", |_socket, args, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send_args(args.into_vec());
        }
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = sio_tests::server_process::init();

    let io = SocketIo::builder()
        .path("/socket.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .cors(Cors::default())
        .build();
    io.ns("/", on_connection);
    io.ns("/custom", on_connection);

    // Mounted under axum, as most applications mount it.
    let app = axum::Router::new().layer(io.layer());

    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    sio_tests::server_process::listening(listener.local_addr()?.port());

    axum::serve(listener, app).await
}
