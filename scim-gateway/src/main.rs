use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser as _;
use scim_gateway::{Config, Gateway, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let provider = telemetry::init("scim-gateway")?;
    let result = run(config).await;
    let _ = provider.shutdown();
    result
}

async fn run(config: Config) -> anyhow::Result<()> {
    let gateway = Gateway::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("LISTENING {addr}");
    std::io::stdout().flush()?;
    tracing::info!(%addr, directory = %config.directory_url, "gateway listening");
    gateway.serve(listener, shutdown_signal()).await?;
    tracing::info!("gateway stopped");
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                () = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => ctrl_c.await,
    }
}
