//! `dashboard-service`: `serve` (default), `migrate`, `token`, `health`.

use std::process::ExitCode;

use clap::Parser;
use dashboard_service::server;
use dashboard_service::server::auth::{KeyMaterial, Minter, TokenRequest};
use dashboard_service::server::cli::{Cli, Command, HealthArgs, TokenArgs};
use dashboard_service::server::config::{Config, LogFormat};
use dashboard_service::server::probe::ProbeTls;
use tracing_subscriber::EnvFilter;

/// jemalloc, with its background threads on (the crate's `background_threads` feature): they
/// purge freed pages after `dirty_decay_ms` even while the process sits idle, so the resident
/// set comes back down after a burst. With glibc's malloc it did not (issue 13: RSS stayed at
/// ~1.2 GiB when idle after an overload burst; with jemalloc, back to ~65 MiB in 10 s).
/// `_RJEM_MALLOC_CONF` tunes it at run time (e.g. `dirty_decay_ms:1000`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of main: dropping it flushes the lines still queued.
    let _log_writer = init_tracing(cli.config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => server::open_store(&cli.config).await.map(|_| {
            tracing::info!("migrations applied");
        }),
        Command::Token(args) => token(&cli.config, args),
        Command::Health(args) => return health(&cli.config, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr from a writer thread of their own: a call's access-log line is queued,
/// not written by the worker serving calls (an unbuffered write to stderr per call cost the
/// hot paths their tail latency). Lossless: when the queue is full, callers wait for it.
fn init_tracing(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(server::logging::DEFAULT_FILTER));
    // Colours only on a terminal: not in files, journald or container logs.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    server::logging::subscriber(format, filter, ansi, writer).init();
    guard
}

async fn serve(config: Config) -> Result<(), server::BoxError> {
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen_addr))?;
    server::serve(config, listener, server::shutdown_signal()).await
}

fn token(config: &Config, args: TokenArgs) -> Result<(), server::BoxError> {
    let options = config.jwt_options();
    let keys = KeyMaterial::load(&options)?;
    let token = Minter::new(&keys, &options)?.mint(&TokenRequest {
        sub: args.sub,
        org: args.org,
        tenant: args.tenant,
        role: args.role,
        email: args.email,
        name: args.name,
        ttl: args.ttl,
    })?;
    println!("{token}");
    Ok(())
}

/// Exit 0 when the server reports SERVING, 1 otherwise: a Docker HEALTHCHECK probe.
async fn health(config: &Config, args: HealthArgs) -> ExitCode {
    use tonic_health::pb::health_check_response::ServingStatus;

    let addr = args
        .addr
        .clone()
        .unwrap_or_else(|| format!("127.0.0.1:{}", config.listen_addr.port()));
    let (https, authority) = match (addr.strip_prefix("https://"), addr.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => (false, addr.as_str()),
    };
    let tls = args.tls
        || https
        || config.tls_cert_file.is_some()
        || args.ca_file.is_some()
        || args.client_cert_file.is_some();
    let tls = tls.then(|| ProbeTls {
        ca_file: args.ca_file.clone(),
        server_cert_file: config.tls_cert_file.clone(),
        server_name: args.server_name.clone(),
        client_cert_file: args.client_cert_file.clone(),
        client_key_file: args.client_key_file.clone(),
    });
    let check = server::probe::check(authority, &args.service, tls.as_ref());
    match tokio::time::timeout(args.timeout, check).await {
        Ok(Ok(ServingStatus::Serving)) => {
            println!("SERVING");
            ExitCode::SUCCESS
        }
        Ok(Ok(status)) => {
            println!("{}", status.as_str_name());
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("health check of {addr} failed: {}", chain(err.as_ref()));
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("health check of {addr} timed out after {:?}", args.timeout);
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes (tonic's transport error alone says "transport error").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
