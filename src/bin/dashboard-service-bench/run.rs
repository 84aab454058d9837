//! Drives a running server: every scenario runs with N concurrent callers for a fixed
//! duration; Health/Check runs first, in the same process and setup, as the ceiling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dashboard_service::server::BoxError;
use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::rss::RssWatch;
use crate::target::{self, Scenario, Setup, TargetArgs, call, shed_delay};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Concurrent callers per scenario.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long each scenario runs.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Only these scenarios (comma-separated names); health always runs.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// The server's process id, to report its peak resident memory during each scenario
    /// (read from /proc; Linux only).
    #[arg(long)]
    pub server_pid: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Outcome {
    rpc: String,
    calls: u64,
    calls_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    errors: u64,
    /// Calls the server shed (RESOURCE_EXHAUSTED, OVERLOADED): not in `calls`, nor in the
    /// latencies; their callers waited the RetryInfo delay before calling again.
    shed: u64,
    /// Errors by status code (`Unavailable`, ...): how many, and the first message.
    error_codes: BTreeMap<String, (u64, String)>,
    ratio_to_health: f64,
    /// The server's peak resident set during the scenario, with `--server-pid`.
    server_rss_mib: Option<f64>,
}

pub async fn run(args: RunArgs) -> Result<(), BoxError> {
    let with_restore =
        args.only.is_empty() || args.only.iter().any(|o| *o == Scenario::Restore.key());
    let setup = target::prepare(&args.target, with_restore).await?;
    println!("{} callers, {:?} per RPC", args.concurrency, args.duration);

    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut health_rate = 0.0;
    for scenario in Scenario::ALL {
        if scenario != Scenario::Health
            && !args.only.is_empty()
            && !args.only.iter().any(|o| *o == scenario.key())
        {
            continue;
        }
        let rss = args.server_pid.map(RssWatch::start);
        let Measured {
            histogram,
            calls,
            shed,
            errors,
            elapsed,
        } = drive(scenario, &setup, args.concurrency, args.duration).await?;
        let server_rss_mib = match rss {
            Some(watch) => watch.peak_mib().await,
            None => None,
        };
        let rate = calls as f64 / elapsed.as_secs_f64();
        if scenario == Scenario::Health {
            health_rate = rate;
        }
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        let outcome = Outcome {
            rpc: scenario.name().to_string(),
            calls,
            calls_per_sec: rate,
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            errors: errors.values().map(|(n, _)| n).sum(),
            shed,
            error_codes: errors,
            ratio_to_health: if health_rate > 0.0 {
                rate / health_rate
            } else {
                0.0
            },
            server_rss_mib,
        };
        println!(
            "{:<28} {:>9.0} calls/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p999 {:>7.2} ms  errors {:>5}  {:>5.0}% of health",
            outcome.rpc,
            outcome.calls_per_sec,
            outcome.p50_ms,
            outcome.p99_ms,
            outcome.p999_ms,
            outcome.errors,
            outcome.ratio_to_health * 100.0
        );
        for (code, (n, message)) in &outcome.error_codes {
            println!("{:<28} {n} x {code}: {message}", "");
        }
        if outcome.shed > 0 {
            println!(
                "{:<28} {} calls shed (RESOURCE_EXHAUSTED, OVERLOADED; see MAX_CONCURRENT_CALLS)",
                "", outcome.shed
            );
        }
        if let Some(mib) = outcome.server_rss_mib {
            println!("{:<28} server peak RSS {mib:.0} MiB", "");
        }
        outcomes.push(outcome);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&outcomes)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// What one scenario measured: the merged latency histogram (microseconds) of the calls the
/// server admitted, their count, the shed calls, errors by status code (with the first message
/// of each) and the elapsed time.
struct Measured {
    histogram: Histogram<u64>,
    calls: u64,
    shed: u64,
    errors: BTreeMap<String, (u64, String)>,
    elapsed: Duration,
}

/// Runs one scenario with `concurrency` callers.
async fn drive(
    scenario: Scenario,
    setup: &Arc<Setup>,
    concurrency: usize,
    duration: Duration,
) -> Result<Measured, BoxError> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency.max(1) {
        let setup = setup.clone();
        workers.push(tokio::spawn(async move {
            let channel = setup.channels[worker % setup.channels.len()].clone();
            let mut rng = StdRng::seed_from_u64(worker as u64);
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut calls = 0u64;
            let mut shed = 0u64;
            let mut n = 0u64;
            let mut errors: BTreeMap<String, (u64, String)> = BTreeMap::new();
            let mut last_progress = Instant::now();
            while Instant::now() < deadline {
                let begin = Instant::now();
                let outcome = call(scenario, &setup, channel.clone(), &mut rng, worker, n).await?;
                n += 1;
                if let Err(status) = &outcome
                    && let Some(delay) = shed_delay(status)
                {
                    shed += 1;
                    tokio::time::sleep(
                        delay.min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                    continue;
                }
                histogram.saturating_record(begin.elapsed().as_micros() as u64);
                calls += 1;
                if let Err(status) = outcome {
                    let entry = errors
                        .entry(format!("{:?}", status.code()))
                        .or_insert_with(|| (0, status.message().to_string()));
                    entry.0 += 1;
                }
                if worker == 0 && last_progress.elapsed() > Duration::from_secs(5) {
                    eprintln!("  {}: {calls} calls from caller 0 so far", scenario.name());
                    last_progress = Instant::now();
                }
            }
            Ok::<_, BoxError>((histogram, calls, shed, errors))
        }));
    }
    let mut merged = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut calls = 0;
    let mut shed = 0;
    let mut errors: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for worker in workers {
        let (histogram, c, s, e) = worker.await??;
        merged.add(&histogram)?;
        calls += c;
        shed += s;
        for (code, (n, message)) in e {
            errors.entry(code).or_insert((0, message)).0 += n;
        }
    }
    Ok(Measured {
        histogram: merged,
        calls,
        shed,
        errors,
        elapsed: started.elapsed(),
    })
}
