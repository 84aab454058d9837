//! The command line: the subcommands and their own arguments. The settings every command
//! shares (flags with environment variables) are `config::Config`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::core::PlatformRole;
use crate::server::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "dashboard-service",
    version,
    about = "gRPC service for dashboards, widgets and sharing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Mint a token signed with the server's key.
    Token(TokenArgs),
    /// Probe the health service of a running server; exit 0 when SERVING.
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// User id (`sub`).
    #[arg(long)]
    pub sub: String,
    /// Organization id.
    #[arg(long)]
    pub org: String,
    /// VIEWER, POWER_USER, AUTHOR or ADMIN.
    #[arg(long, value_parser = parse_role)]
    pub role: PlatformRole,
    /// Tenant id, for users of a customer tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime, e.g. `1h`, `30m`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Address to probe (`host:port`, `https://host:port` for TLS); defaults to the listen
    /// port on 127.0.0.1.
    #[arg(long)]
    pub addr: Option<String>,
    /// Service name to check; empty means the whole server.
    #[arg(long, default_value = "")]
    pub service: String,
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Speak TLS; implied when TLS_CERT_FILE is set (the server's own settings), by the
    /// options below, or when --addr starts with `https://`.
    #[arg(long)]
    pub tls: bool,
    /// Verify the server against these CA certificates (PEM). Without it, the probe accepts
    /// exactly the certificate of TLS_CERT_FILE: the local server's own.
    #[arg(long, env = "HEALTH_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// The name verified with --ca-file; default: the host of --addr.
    #[arg(long, env = "HEALTH_SERVER_NAME")]
    pub server_name: Option<String>,
    /// Client certificate (PEM), for a server with TLS_CLIENT_CA_FILE.
    #[arg(long, env = "HEALTH_CLIENT_CERT_FILE")]
    pub client_cert_file: Option<PathBuf>,
    /// Private key (PEM) of --client-cert-file.
    #[arg(long, env = "HEALTH_CLIENT_KEY_FILE")]
    pub client_key_file: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<PlatformRole, String> {
    s.parse()
}
