use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    support_agent::cli::main().await
}
