use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = admin_cli::Cli::parse();
    match admin_cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", admin_cli::error_message(&error));
            ExitCode::from(admin_cli::exit_code_of(&error))
        }
    }
}
