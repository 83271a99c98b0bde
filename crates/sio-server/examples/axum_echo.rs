//! socket.io mounted in an axum app, with CORS from tower-http:
//! `cargo run -p sio-server --example axum_echo`.
use axum::routing::get;
use sio_server::SocketIo;
use tower_http::cors::CorsLayer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::builder().build();
    io.ns("/", |socket| async move {
        socket.on("message", |socket, args, _ack| async move {
            let _ = socket.emit_args("message-back", args.into_vec());
        });
    });
    let app = axum::Router::new()
        .route("/", get(|| async { "hello from axum" }))
        // socket.io answers under /socket.io/, everything else reaches the router.
        .layer(io.layer())
        // Outside the socket.io layer so polling requests and their preflights get CORS.
        .layer(CorsLayer::permissive());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
