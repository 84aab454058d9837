//! The load generator: `seed` fills a database with a realistic dataset in bulk, `run`
//! drives a running server over gRPC and reports throughput and latency per RPC next to
//! grpc.health.v1.Health/Check measured in the same run (the ceiling of this stack here);
//! `overload` drives one RPC past saturation and reports what the server sheds; `watch`
//! holds WatchDashboards streams open under writes and reports events/s and end-to-end lag.

mod overload;
mod rss;
mod run;
mod seed;
mod target;
mod watch;
mod watch_tasks;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dashboard-service-bench",
    about = "Seed a dataset and load-test dashboard-service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill a database (migrating it first) with a deterministic dataset.
    Seed(seed::SeedArgs),
    /// Drive a running server and print per-RPC calls/s and latency percentiles.
    Run(Box<run::RunArgs>),
    /// Find the concurrency that saturates one RPC, then drive it at a multiple of that and
    /// report admitted calls' latency, shed calls and Health/Check answered meanwhile.
    Overload(Box<overload::OverloadArgs>),
    /// Open WatchDashboards streams (admin and org members), write meanwhile, and report
    /// events delivered per second, end-to-end lag and missed or duplicated events.
    Watch(Box<watch::WatchArgs>),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Seed(args) => seed::seed(args).await,
        Command::Run(args) => run::run(*args).await,
        Command::Overload(args) => overload::overload(*args).await,
        Command::Watch(args) => watch::watch(*args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
