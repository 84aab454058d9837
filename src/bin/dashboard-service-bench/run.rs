//! Drives a running server: every scenario runs with N concurrent callers for a fixed
//! duration; Health/Check runs first, in the same process and setup, as the ceiling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use dashboard_service::pb::sharing_service_client::SharingServiceClient;
use dashboard_service::server::BoxError;
use dashboard_service::server::auth::{KeyMaterial, Minter, TokenRequest};
use dashboard_service::server::config::Config;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tonic::Request;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::seed::{ADMIN, MEMBER, dashboard_id, dashboard_index, has_widgets};

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// The seeded organization.
    #[arg(long, default_value = "bench")]
    pub org: String,
    /// Concurrent callers per scenario.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// HTTP/2 connections the callers share.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
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
    /// The server's key configuration (JWT_SECRET, DATABASE_URL for the generated secret...).
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Health,
    GetBasic,
    GetBasicMember,
    GetFull,
    ListAdmin,
    ListMember,
    ListMemberDeep,
    CheckAccess,
    BatchCheckAccess,
    Update,
    Create,
}

impl Scenario {
    const ALL: [Scenario; 11] = [
        Scenario::Health,
        Scenario::GetBasic,
        Scenario::GetBasicMember,
        Scenario::GetFull,
        Scenario::ListAdmin,
        Scenario::ListMember,
        Scenario::ListMemberDeep,
        Scenario::CheckAccess,
        Scenario::BatchCheckAccess,
        Scenario::Update,
        Scenario::Create,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Health => "Health/Check",
            Self::GetBasic => "GetDashboard BASIC",
            Self::GetBasicMember => "GetDashboard BASIC member",
            Self::GetFull => "GetDashboard FULL",
            Self::ListAdmin => "ListDashboards admin p1",
            Self::ListMember => "ListDashboards member p1",
            Self::ListMemberDeep => "ListDashboards member p11",
            Self::CheckAccess => "CheckAccess",
            Self::BatchCheckAccess => "BatchCheckAccess(100)",
            Self::Update => "UpdateDashboard",
            Self::Create => "CreateDashboard",
        }
    }

    fn key(self) -> String {
        self.name()
            .to_lowercase()
            .replace([' ', '/', '(', ')'], "-")
    }
}

/// What every caller shares.
struct Setup {
    channels: Vec<Channel>,
    admin_token: String,
    member_token: String,
    /// Dashboards to read (any, as the admin) and dashboards the member can read.
    any: Vec<String>,
    members: Vec<String>,
    /// Seeded dashboards that carry widgets (what the FULL view is for); `any` if none.
    with_widgets: Vec<String>,
    deep_token: String,
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
    /// Errors by status code (`Unavailable`, ...): how many, and the first message.
    error_codes: BTreeMap<String, (u64, String)>,
    ratio_to_health: f64,
    /// The server's peak resident set during the scenario, with `--server-pid`.
    server_rss_mib: Option<f64>,
}

fn authed<T>(message: T, token: &str) -> Result<Request<T>, BoxError> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

pub async fn run(args: RunArgs) -> Result<(), BoxError> {
    let options = args.config.jwt_options();
    let minter = Minter::new(&KeyMaterial::load(&options)?, &options)?;
    let token = |sub: &str, role| {
        minter.mint(&TokenRequest {
            sub: sub.into(),
            org: args.org.clone(),
            tenant: None,
            role,
            email: Some(format!("{sub}@{}.bench", args.org)),
            name: None,
            ttl: Duration::from_secs(3600),
        })
    };
    let admin_token = token(ADMIN, PlatformRole::Admin)?;
    let member_token = token(MEMBER, PlatformRole::Author)?;
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(Channel::from_shared(args.addr.clone())?.connect().await?);
    }
    let mut dashboards = DashboardServiceClient::new(channels[0].clone());
    let list = |page_size, page_token: String| pb::ListDashboardsRequest {
        page_size,
        page_token,
        ..Default::default()
    };
    let any: Vec<String> = dashboards
        .list_dashboards(authed(list(1000, String::new()), &admin_token)?)
        .await?
        .into_inner()
        .dashboards
        .into_iter()
        .map(|d| d.name)
        .collect();
    // The member's first page, and the token of its 11th page.
    let first = dashboards
        .list_dashboards(authed(list(50, String::new()), &member_token)?)
        .await?
        .into_inner();
    let mut members: Vec<String> = first.dashboards.iter().map(|d| d.name.clone()).collect();
    let mut deep_token = first.next_page_token;
    for _ in 0..9 {
        if deep_token.is_empty() {
            break;
        }
        let page = dashboards
            .list_dashboards(authed(list(50, deep_token), &member_token)?)
            .await?
            .into_inner();
        members.extend(page.dashboards.into_iter().map(|d| d.name));
        deep_token = page.next_page_token;
    }
    if any.is_empty() || members.is_empty() {
        return Err(
            "the seeded dataset is empty or the member reads nothing: run `seed` first".into(),
        );
    }
    // The seed gives widgets to every hundredth dashboard: read those in FULL, from a wider
    // sample than `any` (which holds ~10 of them). The newest seeded index bounds the range.
    let seeded = any
        .iter()
        .filter_map(|n| dashboard_index(n))
        .max()
        .map_or(0, |i| i + 1);
    let mut with_widgets: Vec<String> = (0..seeded.min(100_000))
        .filter(|i| has_widgets(*i))
        .map(|i| format!("dashboards/{}", dashboard_id(i)))
        .collect();
    let probe = dashboards
        .get_dashboard(authed(
            pb::GetDashboardRequest {
                name: with_widgets.first().cloned().unwrap_or_default(),
                view: pb::DashboardView::Full as i32,
            },
            &admin_token,
        )?)
        .await;
    let full_sample = if matches!(&probe, Ok(d) if !d.get_ref().widgets.is_empty()) {
        format!("{} seeded dashboards with widgets", with_widgets.len())
    } else {
        // Newer dashboards hide the seeded ones from the sample: re-seed to measure widgets.
        with_widgets = any.clone();
        "the sample (no seeded widgets found in it)".to_string()
    };
    println!(
        "setup: sampled {} dashboards, member reads {} on its first 10 pages, FULL reads {}; {} callers over {} connections, {:?} per RPC",
        any.len(),
        members.len(),
        full_sample,
        args.concurrency,
        channels.len(),
        args.duration
    );
    let setup = Arc::new(Setup {
        channels,
        admin_token,
        member_token,
        any,
        members,
        with_widgets,
        deep_token,
    });

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

/// What one scenario measured: the merged latency histogram (microseconds), calls, errors
/// by status code (with the first message of each) and the elapsed time.
struct Measured {
    histogram: Histogram<u64>,
    calls: u64,
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
            let mut errors: BTreeMap<String, (u64, String)> = BTreeMap::new();
            let mut last_progress = Instant::now();
            while Instant::now() < deadline {
                let begin = Instant::now();
                let outcome =
                    call(scenario, &setup, channel.clone(), &mut rng, worker, calls).await?;
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
            Ok::<_, BoxError>((histogram, calls, errors))
        }));
    }
    let mut merged = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut calls = 0;
    let mut errors: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for worker in workers {
        let (histogram, c, e) = worker.await??;
        merged.add(&histogram)?;
        calls += c;
        for (code, (n, message)) in e {
            errors.entry(code).or_insert((0, message)).0 += n;
        }
    }
    Ok(Measured {
        histogram: merged,
        calls,
        errors,
        elapsed: started.elapsed(),
    })
}

/// One call of the scenario; `Ok(Err(status))` when the server answered with an error.
async fn call(
    scenario: Scenario,
    setup: &Setup,
    channel: Channel,
    rng: &mut StdRng,
    worker: usize,
    n: u64,
) -> Result<Result<(), tonic::Status>, BoxError> {
    let any = || setup.any[rng_index(setup.any.len(), n, worker)].clone();
    let pick = |names: &[String], rng: &mut StdRng| names[rng.random_range(0..names.len())].clone();
    let mut dashboards = DashboardServiceClient::new(channel.clone());
    let mut sharing = SharingServiceClient::new(channel.clone());
    let result = match scenario {
        Scenario::Health => HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|_| ()),
        Scenario::GetBasic | Scenario::GetBasicMember | Scenario::GetFull => {
            let view = if scenario == Scenario::GetFull {
                pb::DashboardView::Full
            } else {
                pb::DashboardView::Basic
            };
            // The admin reads any dashboard (no grant lookup); the member reads through its
            // grants (one indexed lookup joined to its group memberships).
            let (name, token) = match scenario {
                Scenario::GetBasicMember => (pick(&setup.members, rng), &setup.member_token),
                Scenario::GetFull => (pick(&setup.with_widgets, rng), &setup.admin_token),
                _ => (pick(&setup.any, rng), &setup.admin_token),
            };
            dashboards
                .get_dashboard(authed(
                    pb::GetDashboardRequest {
                        name,
                        view: view as i32,
                    },
                    token,
                )?)
                .await
                .map(|_| ())
        }
        Scenario::ListAdmin | Scenario::ListMember | Scenario::ListMemberDeep => {
            let (token, page_token) = match scenario {
                Scenario::ListAdmin => (&setup.admin_token, String::new()),
                Scenario::ListMember => (&setup.member_token, String::new()),
                _ => (&setup.member_token, setup.deep_token.clone()),
            };
            let request = pb::ListDashboardsRequest {
                page_size: 50,
                page_token,
                ..Default::default()
            };
            dashboards
                .list_dashboards(authed(request, token)?)
                .await
                .map(|_| ())
        }
        Scenario::CheckAccess => {
            let name = pick(&setup.members, rng);
            let request = pb::CheckAccessRequest {
                name,
                permission: pb::Permission::Write as i32,
                principal: String::new(),
            };
            sharing
                .check_access(authed(request, &setup.member_token)?)
                .await
                .map(|_| ())
        }
        Scenario::BatchCheckAccess => {
            let names = (0..100).map(|_| pick(&setup.any, rng)).collect();
            let request = pb::BatchCheckAccessRequest {
                names,
                permission: pb::Permission::Read as i32,
                principal: String::new(),
            };
            sharing
                .batch_check_access(authed(request, &setup.member_token)?)
                .await
                .map(|_| ())
        }
        Scenario::Update => {
            let request = pb::UpdateDashboardRequest {
                dashboard: Some(pb::Dashboard {
                    name: any(),
                    title: format!("Updated by {worker}/{n}"),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
                ..Default::default()
            };
            dashboards
                .update_dashboard(authed(request, &setup.admin_token)?)
                .await
                .map(|_| ())
        }
        Scenario::Create => {
            let request = pb::CreateDashboardRequest {
                dashboard: Some(pb::Dashboard {
                    title: format!("Bench {worker}/{n}"),
                    ..Default::default()
                }),
                request_id: String::new(),
            };
            dashboards
                .create_dashboard(authed(request, &setup.admin_token)?)
                .await
                .map(|_| ())
        }
    };
    Ok(result)
}

/// Spreads writers over the sample so they rarely collide on one dashboard.
fn rng_index(len: usize, n: u64, worker: usize) -> usize {
    (n as usize * 7919 + worker * 104_729) % len.max(1)
}

/// Samples a process's resident set (VmRSS in /proc/{pid}/status) every 50 ms while a
/// scenario runs, keeping the peak.
struct RssWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Option<u64>>,
}

impl RssWatch {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak: Option<u64> = None;
            loop {
                if let Some(kib) = rss_kib(pid) {
                    peak = Some(peak.map_or(kib, |p| p.max(kib)));
                }
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return peak;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        Self { stop, task }
    }

    async fn peak_mib(self) -> Option<f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let kib = self.task.await.ok().flatten()?;
        Some(kib as f64 / 1024.0)
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
