//! A standalone echo server: `cargo run -p sio-server --example standalone`, then connect
//! a socket.io client to http://127.0.0.1:3000.
use sio_server::SocketIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let io = SocketIo::builder().build();
    io.ns("/", |socket| async move {
        socket.on("message", |socket, args, ack| async move {
            let _ = socket.emit_args("message-back", args.0.clone());
            if let Some(ack) = ack {
                let _ = ack.send_args(args.into_vec());
            }
        });
    });
    let server = io.listen(([127, 0, 0, 1], 3000).into()).await?;
    println!("listening on {}", server.local_addr());
    tokio::signal::ctrl_c().await?;
    io.close().await;
    Ok(())
}
