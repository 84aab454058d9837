//! Overload: how the server behaves past its capacity (issue 13).
//!
//! 1. A sweep over concurrency levels finds where one RPC saturates: the smallest level
//!    whose admitted calls/s reach 90% of the best level's (throughput stops growing).
//! 2. The lowest level's p99 is the unloaded p99.
//! 3. The RPC then runs at `--factor` (4) times the saturating concurrency while a probe loop
//!    calls Health/Check on a connection of its own: admitted calls' latency, shed calls
//!    (RESOURCE_EXHAUSTED with reason OVERLOADED; any other error is counted apart) and every
//!    probe's outcome are reported, with the server's resident memory before, during and
//!    after the burst when `--server-pid` is given.
//!
//! Callers behave like well-mannered clients: after a shed call they wait the RetryInfo delay
//! the server sent before calling again (`--ignore-retry-info`: at once). Timings are printed,
//! never asserted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dashboard_service::server::BoxError;
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::rss::{RssWatch, cpu_seconds, rss_kib};
use crate::target::{self, Scenario, Setup, TargetArgs, call, shed_delay};

#[derive(Debug, Clone, Args)]
pub struct OverloadArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The RPC to drive: a scenario of `run` (`listdashboards-member-p1`, `getdashboard-basic`...).
    #[arg(long, default_value = "listdashboards-member-p1")]
    pub scenario: String,
    /// Concurrency levels of the sweep (the first one gives the unloaded p99).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32")]
    pub levels: Vec<usize>,
    /// How long each level of the sweep runs.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub step: Duration,
    /// The overload phase runs at this many times the saturating concurrency.
    #[arg(long, default_value_t = 4)]
    pub factor: usize,
    /// Callers of the overload phase, instead of `--factor` times the saturating concurrency
    /// (e.g. 4x a saturation measured earlier with MAX_CONCURRENT_CALLS=0).
    #[arg(long)]
    pub callers: Option<usize>,
    /// How long the overload phase runs.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// How often the probe loop calls Health/Check during the overload phase.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    pub probe_interval: Duration,
    /// A probe that takes longer than this counts as failed (a kubelet's default is 1 s).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub probe_timeout: Duration,
    /// Call again at once after a shed call instead of waiting its RetryInfo delay.
    #[arg(long)]
    pub ignore_retry_info: bool,
    /// The server's process id: its resident memory idle, at its peak during the overload
    /// phase and while it settles afterwards (read from /proc; Linux only).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// How long to watch the server's memory settle after the overload phase.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub settle: Duration,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// One phase: `callers` callers of the RPC for a while.
#[derive(Debug, Serialize)]
struct Phase {
    callers: usize,
    /// Calls the server admitted (not shed), per second, and their latency.
    admitted_per_sec: f64,
    admitted: u64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    /// Calls refused with RESOURCE_EXHAUSTED / OVERLOADED, and how fast the refusal came.
    shed: u64,
    shed_p99_ms: f64,
    /// Every other error, by code (and reason): how many, and the first message.
    errors: BTreeMap<String, (u64, String)>,
}

#[derive(Debug, Default, Serialize)]
struct Probes {
    sent: u64,
    serving: u64,
    not_serving: u64,
    /// Errors and probes past `--probe-timeout`.
    failed: u64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    rpc: String,
    sweep: Vec<Phase>,
    saturating_callers: usize,
    unloaded_p99_ms: f64,
    overload: Phase,
    admitted_p99_over_unloaded: f64,
    health: Probes,
    honoured_retry_info: bool,
    /// CPU seconds the server used during the overload phase (`--server-pid`).
    server_cpu_seconds: Option<f64>,
    /// Resident memory (MiB): idle before, peak during the overload phase, then after it
    /// (seconds after the phase, MiB).
    rss_idle_mib: Option<f64>,
    rss_peak_mib: Option<f64>,
    rss_after_mib: Vec<(u64, f64)>,
}

pub async fn overload(args: OverloadArgs) -> Result<(), BoxError> {
    let scenario = Scenario::ALL
        .into_iter()
        .find(|s| s.key() == args.scenario && *s != Scenario::Health)
        .ok_or_else(|| {
            let keys: Vec<String> = Scenario::ALL[1..].iter().map(|s| s.key()).collect();
            format!(
                "unknown --scenario {:?}; one of {}",
                args.scenario,
                keys.join(", ")
            )
        })?;
    if args.levels.is_empty() || args.levels.contains(&0) {
        return Err("--levels: one or more concurrency levels, each at least 1".into());
    }
    let setup = target::prepare(&args.target, false).await?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let rss_idle = args.server_pid.and_then(rss_kib).map(mib);
    let retry = !args.ignore_retry_info;

    println!(
        "{}: sweep over {:?} callers, {:?} each",
        scenario.name(),
        args.levels,
        args.step
    );
    let mut sweep = Vec::new();
    for &callers in &args.levels {
        let phase = drive(scenario, &setup, callers, args.step, retry).await?;
        print_phase(&phase);
        sweep.push(phase);
    }
    let best = sweep.iter().map(|p| p.admitted_per_sec).fold(0.0, f64::max);
    let saturating = sweep
        .iter()
        .find(|p| p.admitted_per_sec >= 0.9 * best)
        .map_or(1, |p| p.callers);
    let unloaded_p99 = sweep[0].p99_ms;
    println!(
        "saturation: {saturating} callers (the first level within 10% of the best, {best:.0} calls/s); \
         unloaded p99 ({} caller(s)): {unloaded_p99:.2} ms",
        sweep[0].callers
    );

    let callers = args
        .callers
        .unwrap_or(saturating * args.factor.max(1))
        .max(1);
    println!(
        "overload: {callers} callers ({:.1}x the saturating {saturating}) for {:?}, Health/Check every {:?} on its own connection{}",
        callers as f64 / saturating as f64,
        args.duration,
        args.probe_interval,
        if retry {
            ""
        } else {
            "; shed callers call again at once"
        }
    );
    let rss = args.server_pid.map(RssWatch::start);
    let cpu_before = args.server_pid.and_then(cpu_seconds);
    let probes = tokio::spawn(probe_loop(
        setup.health_channel.clone(),
        args.probe_interval,
        args.probe_timeout,
        args.duration,
    ));
    let phase = drive(scenario, &setup, callers, args.duration, retry).await?;
    let health = probes.await??;
    let server_cpu = args
        .server_pid
        .and_then(cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let rss_peak = match rss {
        Some(watch) => watch.peak_mib().await,
        None => None,
    };
    print_phase(&phase);
    let ratio = if unloaded_p99 > 0.0 {
        phase.p99_ms / unloaded_p99
    } else {
        0.0
    };
    println!(
        "admitted p99 {:.2} ms = {ratio:.2}x the unloaded p99 (target: at most 3x)",
        phase.p99_ms
    );
    println!(
        "shed: {} calls, all RESOURCE_EXHAUSTED/OVERLOADED (refused in p99 {:.2} ms); other errors: {}",
        phase.shed,
        phase.shed_p99_ms,
        phase.errors.values().map(|(n, _)| n).sum::<u64>()
    );
    if let Some(cpu) = server_cpu {
        println!(
            "server CPU during the overload: {cpu:.1} s in {:.1} s ({:.2} cores)",
            args.duration.as_secs_f64(),
            cpu / args.duration.as_secs_f64()
        );
    }
    println!(
        "health: {} probes, {} SERVING, {} NOT_SERVING, {} failed; p99 {:.2} ms, max {:.2} ms",
        health.sent,
        health.serving,
        health.not_serving,
        health.failed,
        health.p99_ms,
        health.max_ms
    );

    // The server's idle state after the burst: no client connections left open.
    drop(setup);
    let mut rss_after = Vec::new();
    if let Some(pid) = args.server_pid {
        let start = Instant::now();
        let marks = [1u64, 2, 5, 10, 20, 30, 60, 120];
        for mark in marks
            .into_iter()
            .filter(|m| Duration::from_secs(*m) <= args.settle)
        {
            tokio::time::sleep_until((start + Duration::from_secs(mark)).into()).await;
            if let Some(kib) = rss_kib(pid) {
                rss_after.push((mark, mib(kib)));
            }
        }
        let after: Vec<String> = rss_after
            .iter()
            .map(|(s, m)| format!("{s}s {m:.0}"))
            .collect();
        println!(
            "server RSS (MiB): idle {}, peak during the overload {}, after it (our connections closed): {}",
            rss_idle.map_or("-".into(), |m| format!("{m:.0}")),
            rss_peak.map_or("-".into(), |m| format!("{m:.0}")),
            after.join(", ")
        );
    }

    if let Some(path) = &args.json {
        let report = Report {
            rpc: scenario.name().to_string(),
            sweep,
            saturating_callers: saturating,
            unloaded_p99_ms: unloaded_p99,
            overload: phase,
            admitted_p99_over_unloaded: ratio,
            health,
            honoured_retry_info: retry,
            server_cpu_seconds: server_cpu,
            rss_idle_mib: rss_idle,
            rss_peak_mib: rss_peak,
            rss_after_mib: rss_after,
        };
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_phase(phase: &Phase) {
    println!(
        "{:>5} callers {:>8.0} admitted/s  p50 {:>8.2} ms  p99 {:>8.2} ms  p999 {:>8.2} ms  shed {:>7}  errors {:>5}",
        phase.callers,
        phase.admitted_per_sec,
        phase.p50_ms,
        phase.p99_ms,
        phase.p999_ms,
        phase.shed,
        phase.errors.values().map(|(n, _)| n).sum::<u64>()
    );
    for (code, (n, message)) in &phase.errors {
        println!("{:<14}{n} x {code}: {message}", "");
    }
}

/// What one caller saw.
struct Tally {
    admitted: Histogram<u64>,
    shed: Histogram<u64>,
    errors: BTreeMap<String, (u64, String)>,
}

impl Tally {
    fn new() -> Result<Self, BoxError> {
        Ok(Self {
            admitted: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            shed: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            errors: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: Tally) -> Result<(), BoxError> {
        self.admitted.add(&other.admitted)?;
        self.shed.add(&other.shed)?;
        for (code, (n, message)) in other.errors {
            self.errors.entry(code).or_insert((0, message)).0 += n;
        }
        Ok(())
    }
}

/// `callers` callers of `scenario` for `duration`. Every call the server did not shed counts
/// as admitted, errors included (a call admitted and then failing slowly must show).
async fn drive(
    scenario: Scenario,
    setup: &Arc<Setup>,
    callers: usize,
    duration: Duration,
    honour_retry_info: bool,
) -> Result<Phase, BoxError> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..callers {
        let setup = setup.clone();
        workers.push(tokio::spawn(async move {
            let channel = setup.channels[worker % setup.channels.len()].clone();
            let mut rng = StdRng::seed_from_u64(worker as u64);
            let mut tally = Tally::new()?;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let begin = Instant::now();
                let outcome = call(scenario, &setup, channel.clone(), &mut rng, worker, n).await?;
                let micros = begin.elapsed().as_micros() as u64;
                n += 1;
                let Err(status) = outcome else {
                    tally.admitted.saturating_record(micros);
                    continue;
                };
                if let Some(delay) = shed_delay(&status) {
                    tally.shed.saturating_record(micros);
                    if honour_retry_info {
                        let left = deadline.saturating_duration_since(Instant::now());
                        tokio::time::sleep(delay.min(left)).await;
                    }
                    continue;
                }
                tally.admitted.saturating_record(micros);
                let reason = status.get_details_error_info().map(|info| info.reason);
                let key = match reason {
                    Some(reason) => format!("{:?} {reason}", status.code()),
                    None => format!("{:?}", status.code()),
                };
                tally
                    .errors
                    .entry(key)
                    .or_insert_with(|| (0, status.message().to_string()))
                    .0 += 1;
            }
            Ok::<_, BoxError>(tally)
        }));
    }
    let mut total = Tally::new()?;
    for worker in workers {
        total.merge(worker.await??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    Ok(Phase {
        callers,
        admitted_per_sec: total.admitted.len() as f64 / elapsed,
        admitted: total.admitted.len(),
        p50_ms: ms(&total.admitted, 0.50),
        p99_ms: ms(&total.admitted, 0.99),
        p999_ms: ms(&total.admitted, 0.999),
        shed: total.shed.len(),
        shed_p99_ms: ms(&total.shed, 0.99),
        errors: total.errors,
    })
}

/// Health/Check every `interval` for `duration`, each with `timeout` as its deadline.
async fn probe_loop(
    channel: Channel,
    interval: Duration,
    timeout: Duration,
    duration: Duration,
) -> Result<Probes, BoxError> {
    let mut health = HealthClient::new(channel);
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut probes = Probes::default();
    let deadline = Instant::now() + duration;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < deadline {
        tick.tick().await;
        let begin = Instant::now();
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let answer = tokio::time::timeout(timeout, health.check(request)).await;
        latency.saturating_record(begin.elapsed().as_micros() as u64);
        probes.sent += 1;
        match answer {
            Ok(Ok(response)) if response.get_ref().status() == ServingStatus::Serving => {
                probes.serving += 1;
            }
            Ok(Ok(_)) => probes.not_serving += 1,
            Ok(Err(_)) | Err(_) => probes.failed += 1,
        }
    }
    probes.p99_ms = latency.value_at_quantile(0.99) as f64 / 1000.0;
    probes.max_ms = latency.max() as f64 / 1000.0;
    Ok(probes)
}
