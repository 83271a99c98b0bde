//! `sio-demo`: see `sio-demo --help`.

use std::process::ExitCode;

use clap::Parser;
use sio_demo::Config;
use tracing_subscriber::EnvFilter;

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let tokens = config.tokens();
    if tokens.is_empty() {
        eprintln!("sio-demo: AUTH_TOKENS has no token: nobody could log in");
        return ExitCode::from(2);
    }
    let api = config.admin_token().is_some();
    let cluster = config.redis_url.is_some();
    let result = sio_demo::run(
        config,
        |addr| {
            // stdout carries exactly this line so scripts and tests can find the port.
            println!("sio-demo listening on http://{addr}");
            tracing::info!(
                tokens = tokens.len(),
                api = if api { "on" } else { "off (no ADMIN_TOKEN)" },
                cluster = if cluster { "redis" } else { "single node" },
                "open the page and log in with one of AUTH_TOKENS"
            );
        },
        stop_signal(),
    )
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sio-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
