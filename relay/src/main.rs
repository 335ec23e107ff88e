//! The `switchboard` binary: reads the command line, sets up logging, calls the library.

use clap::Parser;
use std::io::IsTerminal;
use switchboard_relay::config::{Cli, Command, LogFormat};
use switchboard_relay::{app::Application, cli};
use tracing_subscriber::EnvFilter;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    // Colour only for a terminal: a log file or journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Allocations of 256 KiB and more are mmapped and go back to the system when freed. glibc's
/// default threshold is dynamic: after the first free of argon2's 19 MiB block (one per
/// login) it rises to 19 MiB, later blocks come from the heap and stay there, fragmented. With
/// 100 agents logged in, the relay held 72–184 MiB before any visitor connected and 15 MiB
/// with this (docs/PERFORMANCE.md). A fixed threshold also turns the dynamic one off.
/// `MALLOC_MMAP_THRESHOLD_` in the environment wins.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

fn main() -> anyhow::Result<()> {
    return_large_blocks_to_the_system();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
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
        Command::Migrate(store) => {
            init_logging(LogFormat::Text);
            cli::migrate(&store).await
        }
    }
}
