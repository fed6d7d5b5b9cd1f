use anyhow::Context as _;
use clap::Parser as _;
use directory_service::config::{Cli, Command};
use directory_service::{ServeOptions, admin, store, telemetry};
use std::io::Write as _;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let provider = telemetry::init("directory-service", cli.log_format)?;
    let result = run(cli).await;
    let _ = provider.shutdown();
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate(args) => {
            let db = store::connect(args.database_url.expose())
                .await
                .context("connecting to the database")?;
            store::migrate(&db).await.context("running migrations")?;
            tracing::info!("migrations applied");
        }
        Command::Serve(args) => {
            // Refused before anything else happens, with a message that names the setting
            // and never the value.
            directory_proto::check_credential(args.credential.expose())
                .map_err(anyhow::Error::msg)?;
            let gateway_credential = args
                .gateway_credential
                .as_ref()
                .map(|c| c.expose().to_owned())
                .filter(|c| !c.is_empty());
            if let Some(credential) = &gateway_credential {
                directory_proto::check_credential(credential)
                    .map_err(|e| anyhow::anyhow!("DIRECTORY_GATEWAY_CREDENTIAL: {e}"))?;
            }
            let db = store::connect(args.database.database_url.expose())
                .await
                .context("connecting to the database")?;
            if !args.skip_migrations {
                store::migrate(&db).await.context("running migrations")?;
            }
            let metrics = admin::install_recorder().context("installing the metrics recorder")?;
            let admin = match args.metrics_addr {
                Some(metrics_addr) => {
                    let listener = tokio::net::TcpListener::bind(metrics_addr)
                        .await
                        .with_context(|| format!("binding {metrics_addr}"))?;
                    let addr = listener.local_addr()?;
                    println!("METRICS {addr}");
                    tracing::info!(%addr, "admin listener (metrics, livez, readyz)");
                    Some((listener, metrics))
                }
                None => None,
            };
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            let addr = listener.local_addr()?;
            println!("LISTENING {addr}");
            std::io::stdout().flush()?;
            tracing::info!(%addr, "directory listening");
            let endpoint = args
                .public_base_url
                .as_deref()
                .map(directory_service::domain::workspaces::ScimEndpoint::parse)
                .transpose()
                .context("--public-base-url")?;
            let tls = args.tls()?;
            let options = ServeOptions {
                tls,
                health_interval: Duration::from_millis(args.health_interval_ms.max(100)),
                shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
                admin,
                endpoint,
                delivery: args.events.delivery_config(),
                gateway_credential,
            };
            directory_service::serve(
                listener,
                db,
                args.credential.into_inner(),
                options,
                shutdown_signal(),
            )
            .await?;
            tracing::info!("directory stopped");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
