use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser as _;
use scim_gateway::{Config, Gateway, admin, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let provider = telemetry::init("scim-gateway", config.log_format)?;
    let result = run(config).await;
    let _ = provider.shutdown();
    result
}

async fn run(config: Config) -> anyhow::Result<()> {
    directory_proto::check_credential(&config.directory_credential).map_err(anyhow::Error::msg)?;
    let metrics = admin::install_recorder().context("installing the metrics recorder")?;
    let gateway = Gateway::new(&config)?;
    // Stops the metrics listener after the SCIM listener has drained.
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    if let Some(metrics_addr) = config.metrics_addr {
        let listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("binding {metrics_addr}"))?;
        let addr = listener.local_addr()?;
        println!("METRICS {addr}");
        tracing::info!(%addr, "metrics listening");
        tokio::spawn(admin::serve_metrics(listener, metrics, async {
            let _ = stopped_rx.await;
        }));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    println!("LISTENING {addr}");
    std::io::stdout().flush()?;
    tracing::info!(%addr, directory = %config.directory_url, "gateway listening");
    gateway.serve(listener, shutdown_signal()).await?;
    let _ = stopped_tx.send(());
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
