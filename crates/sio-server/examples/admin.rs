//! A server the official admin page can watch: open <https://admin.socket.io> (or the
//! npm package's `ui/dist`), enter `http://localhost:3000`, user `admin`, password
//! `changeit`. Run with `cargo run -p sio-server --features admin --example admin`.

use sio_server::SocketIo;
use sio_server::admin::{self, AdminOptions, Auth};
use sio_server::config::{Cors, CorsOrigin};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let io = SocketIo::builder()
        // The hosted admin page connects from this origin, with credentials.
        .cors(Cors {
            origin: CorsOrigin::List(vec!["https://admin.socket.io".into()]),
            credentials: true,
            ..Cors::default()
        })
        .build();
    io.ns("/", |socket| async move {
        socket.on("echo", |socket, args, _ack| async move {
            let _ = socket.emit_args("echo-back", args.into_vec());
        });
    });
    // bcrypt of "changeit" (`bcrypt.hashSync("changeit", 10)` in Node).
    let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
    admin::instrument(
        &io,
        AdminOptions::builder(Auth::basic("admin", hash)?).build(),
    )?;
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let handle = io.listen(format!("127.0.0.1:{port}").parse()?).await?;
    tracing::info!(addr = %handle.local_addr(), "listening; admin namespace /admin");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
