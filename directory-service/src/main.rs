use anyhow::Context as _;
use clap::Parser as _;
use directory_service::config::{Cli, Command};
use directory_service::{store, telemetry};
use std::io::Write as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let provider = telemetry::init("directory-service")?;
    let result = run(cli).await;
    let _ = provider.shutdown();
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate(args) => {
            let db = store::connect(&args.database_url)
                .await
                .context("connecting to the database")?;
            store::migrate(&db).await.context("running migrations")?;
            tracing::info!("migrations applied");
        }
        Command::Serve(args) => {
            let db = store::connect(&args.database.database_url)
                .await
                .context("connecting to the database")?;
            if !args.skip_migrations {
                store::migrate(&db).await.context("running migrations")?;
            }
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            let addr = listener.local_addr()?;
            println!("LISTENING {addr}");
            std::io::stdout().flush()?;
            tracing::info!(%addr, "directory listening");
            let delivery = args.events.delivery_config();
            directory_service::serve(listener, db, args.credential, delivery, shutdown_signal())
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
