//! socket.io mounted in an axum app, with CORS for any origin:
//! `cargo run -p sio-server --example axum_echo`.
use axum::routing::get;
use sio_server::SocketIo;
use sio_server::config::Cors;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // CORS is the server's own option (preflights included), as socket.io's `cors`.
    let io = SocketIo::builder().cors(Cors::default()).build();
    io.ns("/", |socket| async move {
        socket.on("message", |socket, args, _ack| async move {
            let _ = socket.emit_args("message-back", args.into_vec());
        });
    });
    let app = axum::Router::new()
        .route("/", get(|| async { "hello from axum" }))
        // socket.io answers under /socket.io/, everything else reaches the router.
        .layer(io.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
