//! Connects to a socket.io server, answers its `question` acks and prints what it sends.
//!
//! ```sh
//! cargo run -p sio-client --example answer -- http://127.0.0.1:3000
//! ```

use std::time::Duration;

use sio_client::{ClientConfig, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), sio_client::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let socket = ClientConfig::builder(url)
        .ack_timeout(Duration::from_secs(5))
        .build()
        .connect()
        .await?;
    println!("connected as {:?}", socket.id());
    socket.on("question", |mut ev| {
        let n: i64 = ev.arg(0).unwrap_or(0);
        ev.ack(vec![Value::from(n + 1)]);
    });
    socket.on_disconnect(|reason| println!("disconnected: {reason}"));
    match socket
        .emit_with_ack("echo-ack", vec![Value::from("hello")])
        .await
    {
        Ok(reply) => println!("ack: {reply:?}"),
        Err(e) => println!("no ack: {e}"),
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}
