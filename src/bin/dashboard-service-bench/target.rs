//! What both `run` and `overload` drive: the server's address and key configuration, the
//! shared setup (tokens, connections, the sampled dashboards), the scenarios and one call.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::dashboard_service_client::DashboardServiceClient;
use dashboard_service::pb::sharing_service_client::SharingServiceClient;
use dashboard_service::pb::version_service_client::VersionServiceClient;
use dashboard_service::pb::widget_service_client::WidgetServiceClient;
use dashboard_service::server::BoxError;
use dashboard_service::server::auth::{KeyMaterial, Minter, TokenRequest};
use dashboard_service::server::config::Config;
use rand::Rng;
use rand::rngs::StdRng;
use tonic::Request;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::seed::{ADMIN, MEMBER, dashboard_id, dashboard_index, has_widgets};

#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// The seeded organization.
    #[arg(long, default_value = "bench")]
    pub org: String,
    /// HTTP/2 connections the callers share.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// The server's key configuration (JWT_SECRET, DATABASE_URL for the generated secret...).
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Health,
    GetBasic,
    GetBasicMember,
    GetFull,
    ListAdmin,
    ListMember,
    ListMemberDeep,
    ListMemberLabel,
    CheckAccess,
    BatchCheckAccess,
    Update,
    Create,
    Restore,
}

impl Scenario {
    pub const ALL: [Scenario; 13] = [
        Scenario::Health,
        Scenario::GetBasic,
        Scenario::GetBasicMember,
        Scenario::GetFull,
        Scenario::ListAdmin,
        Scenario::ListMember,
        Scenario::ListMemberDeep,
        Scenario::ListMemberLabel,
        Scenario::CheckAccess,
        Scenario::BatchCheckAccess,
        Scenario::Update,
        Scenario::Create,
        Scenario::Restore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Health => "Health/Check",
            Self::GetBasic => "GetDashboard BASIC",
            Self::GetBasicMember => "GetDashboard BASIC member",
            Self::GetFull => "GetDashboard FULL",
            Self::ListAdmin => "ListDashboards admin p1",
            Self::ListMember => "ListDashboards member p1",
            Self::ListMemberDeep => "ListDashboards member p11",
            Self::ListMemberLabel => "ListDashboards member label",
            Self::CheckAccess => "CheckAccess",
            Self::BatchCheckAccess => "BatchCheckAccess(100)",
            Self::Update => "UpdateDashboard",
            Self::Create => "CreateDashboard",
            Self::Restore => "RestoreDashboardVersion",
        }
    }

    pub fn key(self) -> String {
        self.name()
            .to_lowercase()
            .replace([' ', '/', '(', ')'], "-")
    }
}

/// What every caller shares.
pub struct Setup {
    pub channels: Vec<Channel>,
    /// A connection of its own for health probes, as a kubelet or a mesh would have.
    pub health_channel: Channel,
    pub admin_token: String,
    pub member_token: String,
    /// Dashboards to read (any, as the admin) and dashboards the member can read.
    pub any: Vec<String>,
    pub members: Vec<String>,
    /// Seeded dashboards that carry widgets (what the FULL view is for); `any` if none.
    pub with_widgets: Vec<String>,
    pub deep_token: String,
    /// Versions to restore (`dashboards/D/versions/N`), made by `prepare` for the Restore
    /// scenario: a few dashboards of the admin's, each with widgets and a few versions.
    pub restorable: Vec<String>,
}

/// Dashboards the Restore scenario restores versions of.
const RESTORE_DASHBOARDS: usize = 8;

pub fn authed<T>(message: T, token: &str) -> Result<Request<T>, BoxError> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

/// For a call the server shed (RESOURCE_EXHAUSTED, reason OVERLOADED): the RetryInfo delay
/// it asked for (zero without one). `None` for any other status.
pub fn shed_delay(status: &tonic::Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    let reason = status.get_details_error_info().map(|info| info.reason);
    (status.code() == tonic::Code::ResourceExhausted && reason.as_deref() == Some("OVERLOADED"))
        .then(|| {
            status
                .get_details_retry_info()
                .and_then(|r| r.retry_delay)
                .unwrap_or_default()
        })
}

/// Mints tokens for org users of the seeded org with the server's key configuration.
pub struct Tokens {
    minter: Minter,
    org: String,
}

impl Tokens {
    pub fn new(target: &TargetArgs) -> Result<Self, BoxError> {
        let options = target.config.jwt_options();
        Ok(Self {
            minter: Minter::new(&KeyMaterial::load(&options)?, &options)?,
            org: target.org.clone(),
        })
    }

    /// A token for user `sub` with the role and email the seed gave it.
    pub fn mint(&self, sub: &str, role: PlatformRole) -> Result<String, BoxError> {
        Ok(self.minter.mint(&TokenRequest {
            sub: sub.into(),
            org: self.org.clone(),
            tenant: None,
            role,
            email: Some(format!("{sub}@{}.bench", self.org)),
            name: None,
            ttl: Duration::from_secs(3600),
        })?)
    }
}

/// Connects, mints the tokens and samples the seeded dataset.
pub async fn prepare(target: &TargetArgs, with_restore: bool) -> Result<Arc<Setup>, BoxError> {
    let tokens = Tokens::new(target)?;
    let admin_token = tokens.mint(ADMIN, PlatformRole::Admin)?;
    let member_token = tokens.mint(MEMBER, PlatformRole::Author)?;
    let mut channels = Vec::new();
    for _ in 0..target.connections.max(1) {
        channels.push(Channel::from_shared(target.addr.clone())?.connect().await?);
    }
    let health_channel = Channel::from_shared(target.addr.clone())?.connect().await?;
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
        "setup: sampled {} dashboards, member reads {} on its first 10 pages, FULL reads {}; {} HTTP/2 connections",
        any.len(),
        members.len(),
        full_sample,
        channels.len(),
    );
    let restorable = if with_restore {
        restorable(&channels[0], &admin_token).await?
    } else {
        Vec::new()
    };
    Ok(Arc::new(Setup {
        restorable,
        channels,
        health_channel,
        admin_token,
        member_token,
        any,
        members,
        with_widgets,
        deep_token,
    }))
}

/// Makes [`RESTORE_DASHBOARDS`] dashboards with two widgets and a retitle each (versions 1 to
/// 4), and returns versions 1 and 3 of each: restoring them in turn changes fields and widgets.
async fn restorable(channel: &Channel, token: &str) -> Result<Vec<String>, BoxError> {
    let mut dashboards = DashboardServiceClient::new(channel.clone());
    let mut widgets = WidgetServiceClient::new(channel.clone());
    let mut names = Vec::new();
    for i in 0..RESTORE_DASHBOARDS {
        let name = dashboards
            .create_dashboard(authed(
                pb::CreateDashboardRequest {
                    dashboard: Some(pb::Dashboard {
                        title: format!("Bench restore {i}"),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                token,
            )?)
            .await?
            .into_inner()
            .name;
        for w in 0..2 {
            widgets
                .create_widget(authed(
                    pb::CreateWidgetRequest {
                        parent: name.clone(),
                        widget: Some(pb::Widget {
                            r#type: pb::WidgetType::Chart as i32,
                            title: format!("widget {w}"),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    token,
                )?)
                .await?;
        }
        dashboards
            .update_dashboard(authed(
                pb::UpdateDashboardRequest {
                    dashboard: Some(pb::Dashboard {
                        name: name.clone(),
                        title: format!("Bench restore {i}, retitled"),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["title".into()],
                    }),
                    ..Default::default()
                },
                token,
            )?)
            .await?;
        names.push(format!("{name}/versions/1"));
        names.push(format!("{name}/versions/3"));
    }
    Ok(names)
}

/// One call of the scenario; `Ok(Err(status))` when the server answered with an error.
pub async fn call(
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
        Scenario::ListAdmin
        | Scenario::ListMember
        | Scenario::ListMemberDeep
        | Scenario::ListMemberLabel => {
            let (token, page_token) = match scenario {
                Scenario::ListAdmin => (&setup.admin_token, String::new()),
                Scenario::ListMember | Scenario::ListMemberLabel => {
                    (&setup.member_token, String::new())
                }
                _ => (&setup.member_token, setup.deep_token.clone()),
            };
            let filter = if scenario == Scenario::ListMemberLabel {
                format!("label = \"{}\"", crate::seed::LISTING_LABEL)
            } else {
                String::new()
            };
            let request = pb::ListDashboardsRequest {
                page_size: 50,
                page_token,
                filter,
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
        Scenario::Restore => {
            let request = pb::RestoreDashboardVersionRequest {
                name: pick(&setup.restorable, rng),
                ..Default::default()
            };
            VersionServiceClient::new(channel.clone())
                .restore_dashboard_version(authed(request, &setup.admin_token)?)
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
