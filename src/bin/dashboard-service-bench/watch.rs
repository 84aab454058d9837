//! Watch: WatchDashboards under writes (issue 14).
//!
//! 1. Setup, as the seed's ADMIN: `--dashboards` dashboards made for the run, each shared
//!    with the org's members (viewer), so that every subscriber can read every one of them.
//! 2. `--subscribers` streams from now (start_revision 0), alternately as the ADMIN and as
//!    distinct org users of the seed (AUTHORs, who read the run's dashboards through the
//!    org-members share), `--per-connection` streams per HTTP/2 connection. All are open
//!    before the first write, so each must deliver every write of the run exactly once.
//! 3. `--writers` writers retitle the run's dashboards for `--duration`, as fast as they can
//!    (or `--rate` writes/s in all), noting when each write's response arrived, by revision.
//! 4. Once the writers stop, each subscriber reads on until it has the last revision (at most
//!    `--drain`). Lag = arrival at the subscriber - arrival of the write's response at the
//!    writer, both in this process; an event can arrive before the response (the server
//!    rings the watchers before its response is on the wire): such lags count as 0.
//!
//! Calls the server sheds (RESOURCE_EXHAUSTED, OVERLOADED) are tried again after the
//! RetryInfo delay. Timings are printed, never asserted; the run fails (non-zero exit) when a
//! subscriber's stream failed, an event was missed or delivered twice, or a write failed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dashboard_service::core::PlatformRole;
use dashboard_service::server::BoxError;
use hdrhistogram::Histogram;
use serde::Serialize;
use tonic::transport::Channel;

use crate::rss::{RssWatch, rss_kib};
use crate::seed::{ADMIN, maybe_tenant_user, user_id};
use crate::target::{TargetArgs, Tokens};
use crate::watch_tasks::{self, End, Received, Writes, describe};

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// `--connections` is the writers' (at most one per writer).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Watch streams: half as the admin, half as distinct org members.
    #[arg(long, default_value_t = 100)]
    pub subscribers: usize,
    /// Streams per HTTP/2 connection (the server allows MAX_CONCURRENT_STREAMS, 256).
    #[arg(long, default_value_t = 10)]
    pub per_connection: usize,
    /// Concurrent writers (UpdateDashboard, a new title each time).
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    /// Writes per second over all writers; unset: as fast as they can.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Dashboards made for the run, which the writers retitle in turn.
    #[arg(long, default_value_t = 8)]
    pub dashboards: usize,
    /// How long the writers write.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// After the writes, how long the subscribers may take to receive the last one.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// The server's process id: its resident memory before, at its peak during and after
    /// the run (read from /proc; Linux only).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// Deliveries and lag of a group of subscribers.
#[derive(Debug, Serialize)]
struct Group {
    subscribers: usize,
    events: u64,
    events_per_sec: f64,
    lag_p50_ms: f64,
    lag_p99_ms: f64,
    lag_max_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    subscribers: usize,
    subscriber_connections: usize,
    writers: usize,
    writer_connections: usize,
    dashboards: usize,
    duration_s: f64,
    rate: Option<f64>,
    writes: u64,
    writes_per_sec: f64,
    write_p50_ms: f64,
    write_p99_ms: f64,
    write_shed: u64,
    write_errors: BTreeMap<String, (u64, String)>,
    /// Stream openings the server shed and the subscriber tried again.
    open_shed: u64,
    /// Events (not BOOKMARKs) delivered, summed over the subscribers; per second from the
    /// first write to the last delivery.
    all: Group,
    admin: Group,
    members: Group,
    bookmarks: u64,
    /// Deliveries that arrived before the writer had the write's response (lag taken as 0).
    lag_clamped: u64,
    /// Write revisions a subscriber never received, and ones it received more than once,
    /// summed over the subscribers.
    missing: u64,
    duplicates: u64,
    /// Events of revisions this run did not write (another client's writes).
    other_events: u64,
    /// Subscribers that had not received the last write when `--drain` ended.
    incomplete: usize,
    /// Streams that failed or ended before the run did: `Code REASON: message`.
    subscriber_errors: Vec<String>,
    rss_before_mib: Option<f64>,
    rss_peak_mib: Option<f64>,
    rss_after_mib: Option<f64>,
}

pub async fn watch(args: WatchArgs) -> Result<(), BoxError> {
    if args.subscribers == 0 || args.writers == 0 || args.dashboards == 0 {
        return Err("--subscribers, --writers and --dashboards: at least 1 each".into());
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err("--rate: writes per second, more than 0".into());
    }
    let epoch = Instant::now();
    let tokens = Tokens::new(&args.target)?;
    let admin = tokens.mint(ADMIN, PlatformRole::Admin)?;
    let members = org_members(args.subscribers / 2);
    let mut callers = Vec::with_capacity(args.subscribers);
    for i in 0..args.subscribers {
        // Alternate, so that every connection carries both kinds.
        callers.push(match i % 2 {
            0 => admin.clone(),
            _ => tokens.mint(&members[i / 2], PlatformRole::Author)?,
        });
    }
    let connect = |n: usize| {
        let addr = args.target.addr.clone();
        async move {
            let mut channels = Vec::new();
            for _ in 0..n.max(1) {
                channels.push(Channel::from_shared(addr.clone())?.connect().await?);
            }
            Ok::<_, BoxError>(channels)
        }
    };
    let writer_channels = connect(args.target.connections.min(args.writers)).await?;
    let stream_channels = connect(args.subscribers.div_ceil(args.per_connection.max(1))).await?;
    let dashboards =
        Arc::new(watch_tasks::make_dashboards(&writer_channels[0], &admin, args.dashboards).await?);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let rss_before = args.server_pid.and_then(rss_kib).map(mib);
    println!(
        "watch: {} subscribers ({} as the admin, {} as org members) on {} connections; {} writers on {} connections retitle {} dashboards for {:?}{}",
        args.subscribers,
        args.subscribers.div_ceil(2),
        args.subscribers / 2,
        stream_channels.len(),
        args.writers,
        writer_channels.len(),
        args.dashboards,
        args.duration,
        args.rate
            .map_or(", as fast as they can".into(), |r| format!(
                ", {r} writes/s"
            ))
    );

    // Every stream is open before the first write.
    let rss = args.server_pid.map(RssWatch::start);
    let mut opening = Vec::new();
    for (i, token) in callers.into_iter().enumerate() {
        let channel = stream_channels[i / args.per_connection.max(1)].clone();
        opening.push(tokio::spawn(watch_tasks::open(channel, token)));
    }
    let mut streams = Vec::new();
    let mut open_shed = 0;
    for (i, opened) in opening.into_iter().enumerate() {
        let (stream, shed) = opened
            .await?
            .map_err(|status| format!("subscriber {i}: WatchDashboards: {}", describe(&status)))?;
        open_shed += shed;
        streams.push(stream);
    }
    let (end_tx, end_rx) = tokio::sync::watch::channel::<End>(None);
    let readers: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(watch_tasks::receive(stream, epoch, end_rx.clone())))
        .collect();

    let started = watch_tasks::micros_since(epoch);
    let deadline = Instant::now() + args.duration;
    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64(args.writers as f64 / r));
    let mut writing = Vec::new();
    for w in 0..args.writers {
        writing.push(tokio::spawn(watch_tasks::write(
            writer_channels[w % writer_channels.len()].clone(),
            admin.clone(),
            dashboards.clone(),
            w,
            args.writers,
            deadline,
            interval,
            epoch,
        )));
    }
    let mut writes = Vec::new();
    for writer in writing {
        writes.push(writer.await??);
    }
    let write_secs = (watch_tasks::micros_since(epoch) - started) as f64 / 1e6;
    let last = writes
        .iter()
        .flat_map(|w| w.committed.iter().map(|(r, _)| *r))
        .max()
        .unwrap_or(0);
    end_tx.send_replace(Some((last, Instant::now() + args.drain)));
    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await?);
    }
    let rss_peak = match rss {
        Some(watch) => watch.peak_mib().await,
        None => None,
    };
    // The server's state with our streams closed.
    drop(stream_channels);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = args.server_pid.and_then(rss_kib).map(mib);
    watch_tasks::trash(&writer_channels[0], &admin, &dashboards).await;

    let report = analyse(&args, &writes, &received, started, write_secs, open_shed)?;
    let report = Report {
        subscriber_connections: args.subscribers.div_ceil(args.per_connection.max(1)),
        writer_connections: writer_channels.len(),
        rss_before_mib: rss_before,
        rss_peak_mib: rss_peak,
        rss_after_mib: rss_after,
        ..report
    };
    print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
        println!("wrote {}", path.display());
    }
    let write_errors: u64 = report.write_errors.values().map(|(n, _)| n).sum();
    if !report.subscriber_errors.is_empty()
        || report.missing > 0
        || report.duplicates > 0
        || write_errors > 0
        || report.writes == 0
    {
        return Err(format!(
            "watch check failed: {} subscriber errors, {} missing, {} duplicates, {write_errors} write errors, {} writes",
            report.subscriber_errors.len(),
            report.missing,
            report.duplicates,
            report.writes
        )
        .into());
    }
    Ok(())
}

/// `n` distinct org users of the seed after the admin (`u00001`, `u00002`, ...), skipping the
/// ones a seed with tenants made tenant users: org-members shares do not reach those.
fn org_members(n: usize) -> Vec<String> {
    (1..)
        .filter(|i| !maybe_tenant_user(*i))
        .take(n)
        .map(user_id)
        .collect()
}

/// Matches every delivery with the write of its revision.
fn analyse(
    args: &WatchArgs,
    writes: &[Writes],
    received: &[Received],
    started: i64,
    write_secs: f64,
    open_shed: u64,
) -> Result<Report, BoxError> {
    let mut write_latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut write_errors: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut committed: HashMap<i64, i64> = HashMap::new();
    let mut write_shed = 0;
    for w in writes {
        write_latency.add(&w.latency)?;
        committed.extend(w.committed.iter().copied());
        write_shed += w.shed;
        for (key, (n, message)) in &w.errors {
            write_errors
                .entry(key.clone())
                .or_insert((0, message.clone()))
                .0 += n;
        }
    }
    let new_lag = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
    // Subscriber i is the admin when i is even (see `watch`).
    let mut lags = [new_lag()?, new_lag()?];
    let mut events = [0u64; 2];
    let (mut missing, mut duplicates, mut other, mut clamped, mut bookmarks) = (0, 0, 0, 0, 0);
    let mut last_delivery = started;
    let mut errors = Vec::new();
    for (i, got) in received.iter().enumerate() {
        let kind = i % 2;
        bookmarks += got.bookmarks;
        if let Some(error) = &got.error {
            errors.push(format!("subscriber {i}: {error}"));
        }
        let mut seen = HashSet::with_capacity(committed.len());
        let mut matched = 0u64;
        for &(revision, at) in &got.deliveries {
            events[kind] += 1;
            last_delivery = last_delivery.max(at);
            if !seen.insert(revision) {
                duplicates += 1;
                continue;
            }
            let Some(&wrote) = committed.get(&revision) else {
                other += 1;
                continue;
            };
            matched += 1;
            let lag = at - wrote;
            if lag < 0 {
                clamped += 1;
            }
            lags[kind].saturating_record(lag.max(0) as u64);
        }
        missing += committed.len() as u64 - matched;
    }
    let span = ((last_delivery - started) as f64 / 1e6).max(1e-6);
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let group = |subscribers: usize, events: u64, lag: &Histogram<u64>| Group {
        subscribers,
        events,
        events_per_sec: events as f64 / span,
        lag_p50_ms: ms(lag, 0.50),
        lag_p99_ms: ms(lag, 0.99),
        lag_max_ms: lag.max() as f64 / 1000.0,
    };
    let mut all_lag = new_lag()?;
    all_lag.add(&lags[0])?;
    all_lag.add(&lags[1])?;
    let writes_count = committed.len() as u64;
    Ok(Report {
        subscribers: args.subscribers,
        subscriber_connections: 0,
        writers: args.writers,
        writer_connections: 0,
        dashboards: args.dashboards,
        duration_s: args.duration.as_secs_f64(),
        rate: args.rate,
        writes: writes_count,
        writes_per_sec: writes_count as f64 / write_secs.max(1e-6),
        write_p50_ms: ms(&write_latency, 0.50),
        write_p99_ms: ms(&write_latency, 0.99),
        write_shed,
        write_errors,
        open_shed,
        all: group(args.subscribers, events[0] + events[1], &all_lag),
        admin: group(args.subscribers.div_ceil(2), events[0], &lags[0]),
        members: group(args.subscribers / 2, events[1], &lags[1]),
        bookmarks,
        lag_clamped: clamped,
        missing,
        duplicates,
        other_events: other,
        incomplete: received.iter().filter(|r| r.incomplete).count(),
        subscriber_errors: errors,
        rss_before_mib: None,
        rss_peak_mib: None,
        rss_after_mib: None,
    })
}

fn print(r: &Report) {
    println!(
        "{:<22} {:>10} {:>12} {:>12} {:>12} {:>12}",
        "subscribers", "events", "events/s", "lag p50 ms", "lag p99 ms", "lag max ms"
    );
    for (label, g) in [
        ("admin", &r.admin),
        ("org members", &r.members),
        ("all", &r.all),
    ] {
        println!(
            "{:<22} {:>10} {:>12.0} {:>12.2} {:>12.2} {:>12.2}",
            format!("{label} ({})", g.subscribers),
            g.events,
            g.events_per_sec,
            g.lag_p50_ms,
            g.lag_p99_ms,
            g.lag_max_ms
        );
    }
    let write_errors: u64 = r.write_errors.values().map(|(n, _)| n).sum();
    println!(
        "writes: {} committed, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms; shed {} (stream opens shed {}); errors {write_errors}",
        r.writes, r.writes_per_sec, r.write_p50_ms, r.write_p99_ms, r.write_shed, r.open_shed
    );
    for (code, (n, message)) in &r.write_errors {
        println!("  {n} x {code}: {message}");
    }
    println!(
        "check: missing {}, duplicates {}, subscriber errors {}, incomplete {}; other events {}, bookmarks {}; {} deliveries arrived before the writer's response (lag counted as 0)",
        r.missing,
        r.duplicates,
        r.subscriber_errors.len(),
        r.incomplete,
        r.other_events,
        r.bookmarks,
        r.lag_clamped
    );
    for error in r.subscriber_errors.iter().take(5) {
        println!("  {error}");
    }
    if r.rss_before_mib.is_some() {
        let show = |m: Option<f64>| m.map_or("-".into(), |m| format!("{m:.0}"));
        println!(
            "server RSS (MiB): before {}, peak with the streams open {}, 1 s after they closed {}",
            show(r.rss_before_mib),
            show(r.rss_peak_mib),
            show(r.rss_after_mib)
        );
    }
}
