//! The client helper: connect, authenticate with a token, join a room, print `news`.
//!
//! ```sh
//! cargo run -p sio-client --example helper -- http://127.0.0.1:3000 my-token
//! ```

use std::time::Duration;

use sio_client::{ClientConfig, ClientHelper, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let token = args.next().unwrap_or_default();
    let config = ClientConfig::builder(url)
        .auth(Value::from_iter([("token", token)]))
        .build();
    let helper = ClientHelper::builder(config)
        .on_connected(|h| h.authenticate())
        .on_authenticated(|h, data| {
            println!("authenticated: {data:?}");
            h.join_rooms(&["news"]);
        })
        .on_unauthenticated(|_, data| println!("unauthenticated: {data:?}"))
        .on_error(|_, e| println!("error: {e}"))
        .build()?;
    helper.subscribe(
        "news",
        |ctx| {
            println!("news: {:?}", ctx.data());
            Ok(())
        },
        true,
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Resolves once the DISCONNECT is written and the connection closed.
    helper.shutdown().await;
    Ok(())
}
