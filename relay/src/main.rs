//! The `switchboard` binary: reads the command line, sets up logging, calls the library.

use clap::Parser;
use switchboard_relay::config::{Cli, Command, LogFormat};
use switchboard_relay::{app::Application, cli};
use tracing_subscriber::EnvFilter;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(args.log_format);
            let app = Application::build(&args).await?;
            app.run().await
        }
        Command::Agent(cmd) => {
            init_logging(LogFormat::Text);
            cli::agent(cmd).await
        }
        Command::Site(cmd) => {
            init_logging(LogFormat::Text);
            cli::site(cmd).await
        }
    }
}
