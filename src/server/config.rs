//! Configuration: every flag has an environment variable; every limit and timeout is here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::core::dashboard::Limits;
use crate::core::widget::WidgetLimits;
use crate::server::auth::JwtOptions;
use crate::server::cli::Cli;
use crate::server::tls::TlsFiles;
use crate::store::{DbOptions, SqliteSynchronous};

/// Room a response keeps below `MAX_MESSAGE_BYTES` for its page token and framing.
const RESPONSE_HEADROOM_BYTES: usize = 64 * 1024;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://dashboards.db?mode=rwc";

/// SQLite's `synchronous` setting (with WAL): how durable an acknowledged commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    /// Every commit is on disk before it is acknowledged, through an OS crash or power loss.
    Full,
    /// Extra: also syncs the directory after deleting a journal (no difference under WAL).
    Extra,
    /// Faster commits; an OS crash or power loss can lose the last acknowledged ones (never
    /// corrupts the database).
    Normal,
    /// No syncs at all: only for throwaway databases.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// gRPC listen address.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "0.0.0.0:50051",
        global = true
    )]
    pub listen_addr: SocketAddr,

    /// `sqlite://path?mode=rwc` (embedded default) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// Connection pool size; default 4 per CPU core (between 4 and 32).
    #[arg(long, env = "DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// How long a call waits for a pooled connection before UNAVAILABLE.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub db_acquire_timeout: Duration,

    /// How long SQLite waits for a lock held by another process.
    #[arg(long, env = "SQLITE_BUSY_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub sqlite_busy_timeout: Duration,

    /// SQLite durability: `full` (default) keeps every acknowledged commit through an OS
    /// crash or power loss; `normal` commits faster but may lose the last ones.
    #[arg(
        long,
        env = "SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full",
        global = true
    )]
    pub sqlite_synchronous: SqliteSync,

    /// HS256 shared secret (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// File holding the HS256 secret.
    #[arg(long, env = "JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,

    /// RS256 or ES256 public key (PEM) to verify tokens with.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<PathBuf>,

    /// JWKS document (RS256/ES256 keys selected by `kid`).
    #[arg(long, env = "JWT_JWKS_FILE", global = true)]
    pub jwt_jwks_file: Option<PathBuf>,

    /// The identity provider's JWKS endpoint (https): fetched at start, refreshed every
    /// JWT_JWKS_REFRESH, and refetched when a token names an unknown `kid`.
    #[arg(long, env = "JWT_JWKS_URL", global = true)]
    pub jwt_jwks_url: Option<String>,

    /// How often the JWKS of JWT_JWKS_URL is refetched (keys dropped from it stop verifying).
    #[arg(long, env = "JWT_JWKS_REFRESH", default_value = "5m", value_parser = humantime::parse_duration, global = true)]
    pub jwt_jwks_refresh: Duration,

    /// Least time between two refetches of JWT_JWKS_URL caused by tokens with unknown kids.
    #[arg(long, env = "JWT_JWKS_MIN_REFETCH", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub jwt_jwks_min_refetch: Duration,

    /// Timeout of one fetch of JWT_JWKS_URL (connecting, answer and body).
    #[arg(long, env = "JWT_JWKS_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub jwt_jwks_timeout: Duration,

    /// Private key (PEM) matching JWT_PUBLIC_KEY_FILE, for the `token` command only.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE", global = true)]
    pub jwt_private_key_file: Option<PathBuf>,

    /// Key material for page tokens (at least 32 bytes); by default derived from the HS256
    /// JWT secret (see `core::page_token::key_from_config`).
    #[arg(long, env = "PAGE_TOKEN_SECRET", hide_env_values = true, global = true)]
    pub page_token_secret: Option<String>,

    /// Required `iss` claim.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// How long a deleted dashboard stays in the trash before it is purged.
    #[arg(long, env = "TRASH_RETENTION", default_value = "30d", value_parser = humantime::parse_duration, global = true)]
    pub trash_retention: Duration,

    /// How long events stay in the change log (the audit trail) before they are purged.
    #[arg(long, env = "EVENT_RETENTION", default_value = "400d", value_parser = humantime::parse_duration, global = true)]
    pub event_retention: Duration,

    /// Dashboard versions always kept: the newest this many of each dashboard.
    #[arg(long, env = "VERSIONS_KEEP_MIN", default_value_t = 50, global = true)]
    pub versions_keep_min: usize,

    /// Older versions are kept this long (named versions, with a message, forever).
    #[arg(long, env = "VERSION_RETENTION", default_value = "90d", value_parser = humantime::parse_duration, global = true)]
    pub version_retention: Duration,

    /// How often the trash, the change log and dashboard versions past their retention are
    /// purged.
    #[arg(long, env = "PURGE_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration, global = true)]
    pub purge_interval: Duration,

    /// A WatchDashboards stream that sent nothing for this long sends a BOOKMARK with the
    /// revision it reached.
    #[arg(long, env = "WATCH_BOOKMARK_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub watch_bookmark_interval: Duration,

    /// How often health re-checks the database (`store::breaker`); also the retry delay
    /// callers are told while the database is unreachable.
    #[arg(long, env = "HEALTH_CHECK_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration, global = true)]
    pub health_check_interval: Duration,

    /// How long the database may take to answer a health check ping before it counts as
    /// unreachable: calls then fail fast with UNAVAILABLE and health is NOT_SERVING.
    #[arg(long, env = "HEALTH_CHECK_TIMEOUT", default_value = "500ms", value_parser = humantime::parse_duration, global = true)]
    pub health_check_timeout: Duration,

    /// After the shutdown delay, how long in-flight calls may take to finish before the process
    /// exits.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_grace: Duration,

    /// Upper bound on any call: the shorter of this and the client's deadline applies.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub request_timeout: Duration,

    /// Calls in flight at once (health and reflection not counted); a call over the limit is
    /// refused at once with RESOURCE_EXHAUSTED (reason OVERLOADED) and a RetryInfo delay.
    /// Default: one per core (at least 2), at most the database pool size (see
    /// `default_concurrent_calls`);
    /// 0 means no limit.
    #[arg(long, env = "MAX_CONCURRENT_CALLS", global = true)]
    pub max_concurrent_calls: Option<usize>,

    /// Concurrent streams per HTTP/2 connection. Keep it above MAX_CONCURRENT_CALLS, so that
    /// overload reaches callers as RESOURCE_EXHAUSTED rather than as calls queued in their
    /// own client for a free stream.
    #[arg(
        long,
        env = "MAX_CONCURRENT_STREAMS",
        default_value_t = 256,
        global = true
    )]
    pub max_concurrent_streams: u32,

    /// Largest request or response message.
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024, global = true)]
    pub max_message_bytes: usize,

    #[arg(long, env = "MAX_TITLE_CHARS", default_value_t = 200, global = true)]
    pub max_title_chars: usize,

    #[arg(
        long,
        env = "MAX_DESCRIPTION_CHARS",
        default_value_t = 4_000,
        global = true
    )]
    pub max_description_chars: usize,

    #[arg(long, env = "MAX_METADATA_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_metadata_bytes: usize,

    #[arg(
        long,
        env = "MAX_SHARES_PER_DASHBOARD",
        default_value_t = 1_000,
        global = true
    )]
    pub max_shares_per_dashboard: usize,

    /// How deep folders nest (1: directly under the root); deeper is INVALID_ARGUMENT
    /// `FOLDER_TOO_DEEP`.
    #[arg(
        long,
        env = "MAX_FOLDER_DEPTH",
        default_value_t = crate::core::folder::DEFAULT_MAX_FOLDER_DEPTH,
        global = true
    )]
    pub max_folder_depth: usize,

    /// A member's listing lists at most this many folders reached through folder shares as
    /// one ordered arm each (more: a walk of the org's sort-key index).
    #[arg(long, env = "LISTING_FOLDER_ARMS", default_value_t = 32, global = true)]
    pub listing_folder_arms: usize,

    /// From this share of the org's folders (percent) reached by a member, its walk tests
    /// each entry against a bitmap of its reach; below it, against a subquery (over 100:
    /// never the bitmap).
    #[arg(
        long,
        env = "LISTING_DENSE_REACH_PERCENT",
        default_value_t = 10,
        global = true
    )]
    pub listing_dense_reach_percent: usize,

    /// Memory for the per-replica cache of access facts (`app::facts`), in MiB; 0 turns it
    /// off (every decision reads the database).
    #[arg(long, env = "FACT_CACHE_MIB", default_value_t = 64, global = true)]
    pub fact_cache_mib: u64,

    /// On PostgreSQL, the longest a cached access fact is used before it is read again,
    /// whatever the other replicas' notifications say: the bound on staleness should they be
    /// lost (one process owns a SQLite file, and its cache is exact).
    #[arg(long, env = "FACT_CACHE_MAX_AGE", default_value = "500ms", value_parser = humantime::parse_duration, global = true)]
    pub fact_cache_max_age: Duration,

    /// Largest ListDashboards page; bigger requests are coerced down.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 1_000, global = true)]
    pub max_page_size: usize,

    /// Widgets one dashboard may hold; the next CreateWidget is FAILED_PRECONDITION.
    #[arg(
        long,
        env = "MAX_WIDGETS_PER_DASHBOARD",
        default_value_t = 200,
        global = true
    )]
    pub max_widgets_per_dashboard: usize,

    /// Largest widget `config` (protobuf-encoded) and data-source query, in bytes.
    #[arg(long, env = "MAX_CONFIG_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_config_bytes: usize,

    #[arg(
        long,
        env = "MAX_DATA_SOURCES_PER_WIDGET",
        default_value_t = 50,
        global = true
    )]
    pub max_data_sources_per_widget: usize,

    // ---- operations: drain, metrics (issue 13) ----
    /// After SIGTERM/SIGINT, how long the server keeps accepting and serving while reporting
    /// NOT_SERVING, so load balancers and meshes see it and stop routing before it closes.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_delay: Duration,

    /// Prometheus metrics listen address (plain HTTP, path `/metrics`, no authentication).
    #[arg(
        long,
        env = "METRICS_ADDR",
        default_value = "0.0.0.0:9090",
        global = true
    )]
    pub metrics_addr: SocketAddr,

    /// Origins (comma-separated, e.g. `https://app.example.com`) whose browser pages may call
    /// the API with gRPC-Web across origins (CORS); `*` allows any. Empty: same origin only.
    #[arg(
        long,
        env = "GRPC_WEB_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub grpc_web_allowed_origins: Vec<String>,

    // ---- TLS on the gRPC port ----
    /// Certificate chain (PEM, leaf first): with TLS_KEY_FILE, the gRPC port serves TLS.
    #[arg(long, env = "TLS_CERT_FILE", global = true)]
    pub tls_cert_file: Option<PathBuf>,

    /// Private key (PEM) of TLS_CERT_FILE.
    #[arg(long, env = "TLS_KEY_FILE", global = true)]
    pub tls_key_file: Option<PathBuf>,

    /// CA certificates (PEM): clients must present a certificate signed by one (mutual TLS).
    #[arg(long, env = "TLS_CLIENT_CA_FILE", global = true)]
    pub tls_client_ca_file: Option<PathBuf>,

    // ---- tracing: OTLP export (issue 13), the standard OpenTelemetry variables ----
    /// OTLP/gRPC collector (e.g. `http://otel-collector:4317`): every call's server span is
    /// exported there. Unset: no spans, no exporter.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    /// Collector for traces only; wins over OTEL_EXPORTER_OTLP_ENDPOINT.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", global = true)]
    pub otlp_traces_endpoint: Option<String>,

    /// `service.name` of the exported spans; default: the one in OTEL_RESOURCE_ATTRIBUTES,
    /// else `dashboard-service`.
    #[arg(long, env = "OTEL_SERVICE_NAME", global = true)]
    pub otel_service_name: Option<String>,

    /// How long exported spans may wait to be batched; `None`: the SDK's
    /// (`OTEL_BSP_SCHEDULE_DELAY`, 5s). For tests and embedding.
    #[arg(skip)]
    pub otlp_batch_delay: Option<Duration>,
}

/// A pool sized for the machine: queries are short, so a few connections per core keep the
/// cores busy while some wait on I/O, without piling up work the database cannot run.
fn default_pool_size() -> u32 {
    (cores() as u32 * 4).clamp(4, 32)
}

/// The limit of concurrent calls: one per core (at least two), and never more than the
/// database pool.
///
/// A call here is CPU work (SQLite runs its statements on this machine's cores; with
/// PostgreSQL the server still decodes rows, checks policy and encodes responses) between
/// short waits on the database; beyond about one per core, calls only queue for the cores and
/// everyone's latency grows with the queue while throughput does not. Measured with
/// `dashboard-service-bench overload` on 2 cores shared with other work (README "Overload"):
/// member ListDashboards reaches its calls/s at 2 callers; with a limit of 4, admitted p99 at
/// 4x saturation was 3.8x and 4.1x the p99 of a lone caller in two runs, with a limit of 2
/// it was 2.0x, at the same calls/s. A call holds a database connection for most of its
/// life, so more calls than the pool has connections would wait for one and then fail
/// UNAVAILABLE after `DB_ACQUIRE_TIMEOUT`: the pool caps the limit. With PostgreSQL on
/// another machine calls wait longer on the network: measure and raise it.
fn default_concurrent_calls(cores: usize, pool_size: u32) -> usize {
    cores.max(2).clamp(1, pool_size.max(1) as usize)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn defaults() -> Self {
        <Cli as clap::Parser>::parse_from(["dashboard-service"]).config
    }

    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            url: self.database_url.clone(),
            max_connections: self.db_max_connections.unwrap_or_else(default_pool_size),
            acquire_timeout: self.db_acquire_timeout,
            sqlite_busy_timeout: self.sqlite_busy_timeout,
            sqlite_synchronous: match self.sqlite_synchronous {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Extra => SqliteSynchronous::Extra,
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Off => SqliteSynchronous::Off,
            },
            statement_timeout: Some(self.request_timeout),
            health_check_interval: self.health_check_interval,
            health_check_timeout: self.health_check_timeout,
        }
    }

    /// The limit of concurrent calls (0: none).
    pub fn concurrent_calls(&self) -> usize {
        self.max_concurrent_calls.unwrap_or_else(|| {
            default_concurrent_calls(
                cores(),
                self.db_max_connections.unwrap_or_else(default_pool_size),
            )
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_title_chars: self.max_title_chars,
            max_description_chars: self.max_description_chars,
            max_metadata_bytes: self.max_metadata_bytes,
            max_page_size: self.max_page_size,
            max_shares_per_dashboard: self.max_shares_per_dashboard,
            max_folder_depth: self.max_folder_depth,
            widgets: WidgetLimits {
                max_widgets_per_dashboard: self.max_widgets_per_dashboard,
                max_config_bytes: self.max_config_bytes,
                max_data_sources_per_widget: self.max_data_sources_per_widget,
                max_content_bytes: self
                    .max_message_bytes
                    .saturating_sub(self.dashboard_headroom()),
            },
            max_response_bytes: self
                .max_message_bytes
                .saturating_sub(RESPONSE_HEADROOM_BYTES),
            ..Limits::default()
        }
    }

    /// What a FULL view needs besides its widgets: the dashboard's own fields at their
    /// limits (4 bytes a character at most) plus the response's framing and page token.
    fn dashboard_headroom(&self) -> usize {
        4 * (self.max_title_chars + self.max_description_chars)
            + self.max_metadata_bytes
            + RESPONSE_HEADROOM_BYTES
    }

    pub fn jwt_options(&self) -> JwtOptions {
        JwtOptions {
            secret: self.jwt_secret.clone(),
            secret_file: self.jwt_secret_file.clone(),
            public_key_file: self.jwt_public_key_file.clone(),
            jwks_file: self.jwt_jwks_file.clone(),
            jwks_url: self.jwt_jwks_url.clone(),
            jwks_refresh: self.jwt_jwks_refresh,
            jwks_min_refetch: self.jwt_jwks_min_refetch,
            jwks_timeout: self.jwt_jwks_timeout,
            private_key_file: self.jwt_private_key_file.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            generated_secret_file: self.sqlite_path().map(|db| {
                let mut path = db.into_os_string();
                path.push(".jwt-secret");
                PathBuf::from(path)
            }),
        }
    }

    /// The TLS files of the gRPC port.
    pub fn tls_files(&self) -> TlsFiles<'_> {
        TlsFiles {
            cert: self.tls_cert_file.as_deref(),
            key: self.tls_key_file.as_deref(),
            client_ca: self.tls_client_ca_file.as_deref(),
        }
    }

    /// The database file of a `sqlite:` URL (none for in-memory databases).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        Some(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::defaults();
        assert_eq!(c.listen_addr.to_string(), "0.0.0.0:50051");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.trash_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(c.event_retention, Duration::from_secs(400 * 86_400));
        assert_eq!(c.watch_bookmark_interval, Duration::from_secs(30));
        assert_eq!(c.shutdown_delay, Duration::from_secs(5));
        assert_eq!(c.shutdown_grace, Duration::from_secs(10));
        assert_eq!(c.metrics_addr.to_string(), "0.0.0.0:9090");
        // A frozen database turns NOT_SERVING within two intervals (tests/pg_faults.rs).
        assert_eq!(c.health_check_interval, Duration::from_secs(1));
        assert_eq!(c.health_check_timeout, Duration::from_millis(500));
        assert!(c.grpc_web_allowed_origins.is_empty());
        // No OTLP export unless the environment asks for it.
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
            assert_eq!(c.otlp_endpoint, None);
        }
        assert_eq!(c.concurrent_calls(), cores().max(2));
        assert_eq!(default_concurrent_calls(2, 8), 2);
        assert_eq!(default_concurrent_calls(1, 8), 2, "at least two");
        assert_eq!(default_concurrent_calls(64, 32), 32, "the pool caps it");
        assert_eq!(default_concurrent_calls(4, 3), 3);
        let cli =
            <Cli as clap::Parser>::parse_from(["dashboard-service", "--db-max-connections=1"]);
        assert_eq!(cli.config.concurrent_calls(), 1);
        let cli =
            <Cli as clap::Parser>::parse_from(["dashboard-service", "--max-concurrent-calls=0"]);
        assert_eq!(cli.config.concurrent_calls(), 0);
        // Durable commits unless SQLITE_SYNCHRONOUS=normal opts out (store/sqlite.rs tests
        // that the setting reaches every pooled connection).
        assert_eq!(c.db_options().sqlite_synchronous, SqliteSynchronous::Full);
        let cli =
            <Cli as clap::Parser>::parse_from(["dashboard-service", "--sqlite-synchronous=normal"]);
        assert_eq!(
            cli.config.db_options().sqlite_synchronous,
            SqliteSynchronous::Normal
        );
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("dashboards.db")));
        let widgets = c.limits().widgets;
        assert_eq!(widgets.max_widgets_per_dashboard, 200);
        assert_eq!(widgets.max_config_bytes, 65_536);
        assert_eq!(widgets.max_data_sources_per_widget, 50);
        // The JWKS URL defaults are spelled twice (here for clap, in auth for JwtOptions).
        let jwt = c.jwt_options();
        let defaults = JwtOptions::default();
        assert_eq!(jwt.jwks_refresh, defaults.jwks_refresh);
        assert_eq!(jwt.jwks_min_refetch, defaults.jwks_min_refetch);
        assert_eq!(jwt.jwks_timeout, defaults.jwks_timeout);
        assert_eq!(jwt.jwks_refresh, Duration::from_secs(300));
        assert!(c.tls_files().cert.is_none() && c.tls_files().key.is_none());
        assert_eq!(
            c.jwt_options().generated_secret_file,
            Some(PathBuf::from("dashboards.db.jwt-secret"))
        );
    }

    #[test]
    fn sqlite_paths() {
        let mut c = Config::defaults();
        c.database_url = "sqlite:///var/lib/d/x.db?mode=rwc".into();
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("/var/lib/d/x.db")));
        c.database_url = "sqlite::memory:".into();
        assert_eq!(c.sqlite_path(), None);
        c.database_url = "postgres://postgres@localhost/test".into();
        assert_eq!(c.sqlite_path(), None);
    }
}
