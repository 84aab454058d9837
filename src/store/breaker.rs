//! The database breaker: whether this process knows the database to be unreachable.
//!
//! Without it, a stopped database made every call wait the whole pool acquire timeout (sqlx
//! retries a refused connection until then), and a frozen one made calls hang to their
//! deadline while health stayed SERVING. It is one fact about the database, kept here:
//!
//! - The [`Prober`] asks the database `SELECT 1`-style pings on a connection of its own, not
//!   one of the pool (a pool busy with slow calls is not an outage), each bounded by
//!   `HEALTH_CHECK_TIMEOUT`: every `HEALTH_CHECK_INTERVAL`, and at once when a call asks
//!   ([`Breaker::suspect`]).
//! - A failed or timed-out probe opens the breaker; the next probe that answers closes it
//!   (half-open probing: while it is open no call reaches the database, only the probes do).
//!   Before it closes, pooled connections that died in the outage are dropped, so the first
//!   calls after it do not fail on them.
//! - Calls feed it through the server's breaker layer (`server::layers::breaker`): a call
//!   that failed with UNAVAILABLE, or has been running for [`SUSPECT_SLOW_CALLS_AFTER`], asks
//!   for a probe; so a frozen database is found one probe timeout after a call first waits on
//!   it, not a health check interval later. While the breaker is open the layer answers
//!   UNAVAILABLE at once, and when it opens the layer ends the calls still waiting on the
//!   database with UNAVAILABLE.
//! - Health reports NOT_SERVING exactly while the breaker is open (`server::jobs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{ConnectOptions, Connection};
use tokio::sync::{Mutex, Notify, watch};

/// A call still running after this asks for a probe. Well under the time a caller of a healthy
/// service waits; a probe costs one round trip on an idle connection, and probes that a healthy
/// database answers are spaced by [`MIN_PROBE_SPACING`], so slow calls cannot flood it.
pub const SUSPECT_SLOW_CALLS_AFTER: Duration = Duration::from_millis(200);

/// After a probe the database answered, the next one waits at least this long.
pub const MIN_PROBE_SPACING: Duration = Duration::from_millis(100);

/// Whether the database is known to be unreachable, and the calls' way to ask for a probe.
pub struct Breaker {
    open: watch::Sender<bool>,
    suspicion: Notify,
    retry_after: Duration,
}

/// A change of the breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Opened,
    Closed,
}

impl Breaker {
    /// A closed breaker. `retry_after` is the delay callers are told to wait while it is open:
    /// the time to the next probe.
    pub fn new(retry_after: Duration) -> Self {
        Self {
            open: watch::Sender::new(false),
            suspicion: Notify::new(),
            retry_after,
        }
    }

    pub fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Resolves once the breaker is open (at once if it is).
    pub fn opened(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut open = self.open.subscribe();
        async move {
            if open.wait_for(|open| *open).await.is_err() {
                // The store is gone: nothing will open the breaker any more.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The state, to follow its changes (health does).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.open.subscribe()
    }

    /// A call failed in a way that may mean the database is gone, or is taking long: probe
    /// now rather than at the next interval. Repeated requests before the probe runs make one.
    pub fn suspect(&self) {
        if !self.is_open() {
            self.suspicion.notify_one();
        }
    }

    /// How long a caller refused by the open breaker should wait before retrying.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// Records what a probe found; returns the transition it made, if any.
    pub(crate) fn record(&self, reachable: bool) -> Option<Transition> {
        let open = !reachable;
        let changed = self.open.send_if_modified(|state| {
            let changed = *state != open;
            *state = open;
            changed
        });
        changed.then_some(if open {
            Transition::Opened
        } else {
            Transition::Closed
        })
    }

    pub(crate) async fn suspicion(&self) {
        self.suspicion.notified().await;
    }
}

/// Where the probe connects: the database of the pool, on a connection of its own.
pub(crate) enum ProbeTarget {
    Postgres(PgConnectOptions),
    Sqlite(SqliteConnectOptions),
}

enum ProbeConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Pings the database on its own connection, bounded by a timeout; reconnects after a failure.
pub(crate) struct Prober {
    target: ProbeTarget,
    connection: Mutex<Option<ProbeConnection>>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    /// When the breaker last opened, for the log line of its closing.
    opened_at: std::sync::Mutex<Option<Instant>>,
}

impl Prober {
    pub(crate) fn new(target: ProbeTarget, interval: Duration, timeout: Duration) -> Self {
        Self {
            target,
            connection: Mutex::new(None),
            interval,
            timeout,
            opened_at: std::sync::Mutex::new(None),
        }
    }

    /// One ping within the timeout; `Err` says why it failed (for the log, never for callers).
    pub(crate) async fn probe(&self) -> Result<(), String> {
        let mut connection = self.connection.lock().await;
        let outcome = tokio::time::timeout(self.timeout, ping(&self.target, &mut connection)).await;
        let failure = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        // A connection cut off mid-ping is in no known state: the next probe opens another.
        *connection = None;
        Err(failure)
    }

    pub(crate) fn mark_opened(&self) {
        if let Ok(mut at) = self.opened_at.lock() {
            *at = Some(Instant::now());
        }
    }

    /// How long the breaker was open, when it closes.
    pub(crate) fn outage(&self) -> Option<Duration> {
        self.opened_at
            .lock()
            .ok()
            .and_then(|mut at| at.take())
            .map(|at| at.elapsed())
    }
}

/// Pings on the kept connection; if that one is dead (the server closed it: a restart, an idle
/// timeout, a proxy), once more on a new one, so a stale connection is not taken for an outage.
async fn ping(
    target: &ProbeTarget,
    connection: &mut Option<ProbeConnection>,
) -> Result<(), sea_orm::sqlx::Error> {
    if let Some(kept) = connection.as_mut() {
        if kept.ping().await.is_ok() {
            return Ok(());
        }
        *connection = None;
    }
    let fresh = connection.insert(match target {
        ProbeTarget::Postgres(options) => ProbeConnection::Postgres(options.connect().await?),
        ProbeTarget::Sqlite(options) => ProbeConnection::Sqlite(options.connect().await?),
    });
    fresh.ping().await
}

impl ProbeConnection {
    async fn ping(&mut self) -> Result<(), sea_orm::sqlx::Error> {
        match self {
            Self::Postgres(conn) => conn.ping().await,
            Self::Sqlite(conn) => conn.ping().await,
        }
    }
}

/// The breaker and its prober, shared by every clone of the store.
pub(crate) struct DatabaseHealth {
    pub(crate) breaker: Arc<Breaker>,
    pub(crate) prober: Prober,
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn postgres_at(port: u16) -> ProbeTarget {
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        ProbeTarget::Postgres(PgConnectOptions::from_str(&url).expect("url"))
    }

    /// A port nothing listens on (connections are refused).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }

    #[tokio::test]
    async fn a_refused_connection_fails_the_probe_at_once() {
        let prober = Prober::new(
            postgres_at(closed_port()),
            Duration::from_secs(1),
            Duration::from_secs(5),
        );
        let started = Instant::now();
        assert!(prober.probe().await.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    /// A server that accepts connections and never answers, as a frozen (SIGSTOPped)
    /// PostgreSQL does: the probe fails at its timeout.
    #[tokio::test]
    async fn a_silent_database_fails_the_probe_at_its_timeout() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = silent.local_addr().expect("addr").port();
        let timeout = Duration::from_millis(300);
        let prober = Prober::new(postgres_at(port), Duration::from_secs(1), timeout);
        let started = Instant::now();
        let failure = prober
            .probe()
            .await
            .expect_err("a silent server is unreachable");
        assert!(failure.contains("no answer within 300 ms"), "{failure}");
        assert!(started.elapsed() >= timeout);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(silent);
    }

    #[tokio::test]
    async fn a_database_that_answers_passes_the_probe() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        let target = ProbeTarget::Sqlite(SqliteConnectOptions::from_str(&url).expect("url"));
        let prober = Prober::new(target, Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(prober.probe().await, Ok(()));
        assert_eq!(prober.probe().await, Ok(()), "the connection is kept");
    }

    /// On PostgreSQL (`TEST_DATABASE_URL`): the server closing the kept connection (here
    /// `pg_terminate_backend`, as a restart or an idle timeout would) is not an outage.
    #[tokio::test]
    async fn a_kept_connection_the_server_closed_is_replaced() {
        use sea_orm::sqlx;
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        if !url.starts_with("postgres") {
            return;
        }
        let name = format!("probe-test-{}", uuid::Uuid::now_v7().simple());
        let options = PgConnectOptions::from_str(&url).expect("url");
        let target = ProbeTarget::Postgres(options.clone().application_name(&name));
        let prober = Prober::new(target, Duration::from_secs(1), Duration::from_secs(5));
        assert_eq!(prober.probe().await, Ok(()));

        let mut admin = options.connect().await.expect("connect");
        let backends = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .expect("terminate");
        assert_eq!(terminated, [true]);
        for _ in 0..100 {
            let left: i64 = sqlx::query_scalar(backends)
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .expect("count");
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        assert_eq!(prober.probe().await, Ok(()), "a new connection answers");
        let now: i64 = sqlx::query_scalar(backends)
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("count");
        assert_eq!(now, 1);
    }

    #[tokio::test]
    async fn the_breaker_opens_and_closes_once_per_change() {
        let breaker = Breaker::new(Duration::from_secs(1));
        assert!(!breaker.is_open());
        assert_eq!(breaker.record(true), None);
        let opened = breaker.opened();
        assert_eq!(breaker.record(false), Some(Transition::Opened));
        assert_eq!(breaker.record(false), None);
        assert!(breaker.is_open());
        tokio::time::timeout(Duration::from_secs(1), opened)
            .await
            .expect("opened() resolves when it opens");
        assert_eq!(breaker.record(true), Some(Transition::Closed));
        assert!(!breaker.is_open());
    }
}
