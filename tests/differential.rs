//! DESIGN §3 rule 4: the policy exists once. Over random fixtures built through the public
//! API (orgs, tenants, users of every platform role, groups, custom roles, shares of every
//! grantee kind, expired and revoked shares, public links, trashed dashboards), every
//! caller's ListDashboards (walked to the end) must be exactly the dashboards CheckAccess
//! says it may READ — with dashboards in random folder trees that carry shares at every level,
//! cut points (`inherit_access = false` on folders and dashboards), a cut toggled and a folder
//! moved after the shares — and GetDashboard must agree with both; a few filters that depend on
//! access (`shared_with_me`, `owner`, `creator`, `visibility`, `starred`: stars made
//! before access changed) are checked against what CheckAccess and ListShares imply.
//!
//! The fixtures come from a seeded RNG; the seed is printed and `DIFFERENTIAL_SEED=<n>`
//! replays a run.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Caller, server, token, unique_org};
use dashboard_service::core::PlatformRole;
use dashboard_service::pb;
use dashboard_service::pb::grantee::Kind;
use tokio::sync::Semaphore;
use tonic::Code;
use tonic::transport::Channel;

const ORGS: usize = 5;
const DASHBOARDS_PER_ORG: usize = 24;
const FOLDERS_PER_ORG: usize = 8;
const TENANTS: [&str; 3] = ["t1", "t2", "t3"];
/// How long a "near" expiry lasts: the checks start after every one of them has passed.
const NEAR_EXPIRY: Duration = Duration::from_millis(2000);
/// Callers checked at once.
const PARALLEL_CALLERS: usize = 6;

// ---- a small deterministic RNG (splitmix64): the seed alone fixes the fixtures ----

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed() -> u64 {
    match std::env::var("DIFFERENTIAL_SEED") {
        Ok(s) if !s.trim().is_empty() => s.trim().parse().expect("DIFFERENTIAL_SEED is a u64"),
        _ => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos() as u64,
    }
}

fn timestamp_in(d: Duration) -> prost_types::Timestamp {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock") + d;
    prost_types::Timestamp {
        seconds: t.as_secs() as i64,
        nanos: t.subsec_nanos() as i32,
    }
}

fn is_past(t: &Option<prost_types::Timestamp>) -> bool {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    match t {
        None => false,
        Some(t) => (t.seconds, t.nanos) <= (now.as_secs() as i64, now.subsec_nanos() as i32),
    }
}

// ---- identities ----

/// One caller of the fixture: its token's claims and what the directory says.
#[derive(Clone, Debug)]
struct Who {
    org: String,
    sub: String,
    tenant: Option<String>,
    /// The token's role.
    role: PlatformRole,
    /// Set when an ADMIN lowered the role in the directory (DESIGN 4.3).
    demoted_to: Option<PlatformRole>,
    /// Recorded in the directory before the fixtures were built (can be shared with).
    recorded: bool,
    groups: Vec<String>,
    token: String,
    /// The dashboards it starred (while it could read them).
    starred: BTreeSet<String>,
}

impl Who {
    fn new(org: &str, sub: &str, tenant: Option<&str>, role: PlatformRole) -> Self {
        Who {
            org: org.to_string(),
            sub: sub.to_string(),
            tenant: tenant.map(str::to_string),
            role,
            demoted_to: None,
            recorded: false,
            groups: Vec::new(),
            token: token(org, sub, tenant, role),
            starred: BTreeSet::new(),
        }
    }

    fn name(&self) -> String {
        format!("users/{}", self.sub)
    }

    fn email(&self) -> String {
        format!("{}@{}.test", self.sub, self.org)
    }

    fn effective_role(&self) -> PlatformRole {
        self.demoted_to.unwrap_or(self.role)
    }

    fn is_admin(&self) -> bool {
        self.effective_role() == PlatformRole::Admin
    }

    fn caller(&self, channel: &Channel) -> Caller {
        Caller::on(channel, self.token.clone(), &self.org, &self.sub)
    }

    fn describe(&self) -> String {
        format!(
            "{} (org {}, token role {:?}{}, tenant {:?}, groups {:?})",
            self.name(),
            self.org,
            self.role,
            self.demoted_to
                .map(|r| format!(", demoted to {r:?}"))
                .unwrap_or_default(),
            self.tenant,
            self.groups,
        )
    }
}

/// A dashboard of the fixture and what was done to it.
#[derive(Clone, Debug)]
struct Dash {
    name: String,
    title: String,
    /// `folders/F`, or empty at the root; `(no inherit)` when it stops inheritance.
    folder: String,
    creator: String,
    trashed: bool,
    /// Has an unexpired public link.
    public: bool,
    /// Filled after the fixtures: its shares, as the ADMIN's ListShares shows them.
    shares: Vec<pb::Share>,
}

impl Dash {
    fn describe(&self) -> String {
        let shares: Vec<String> = self.shares.iter().map(describe_share).collect();
        format!(
            "{} {:?} in {:?} (creator {}, {}{}) shares [{}]",
            self.name,
            self.title,
            self.folder,
            self.creator,
            if self.trashed { "trashed" } else { "live" },
            if self.public { ", public link" } else { "" },
            shares.join("; ")
        )
    }

    /// Active direct owner shares: who `owner = users/X` names.
    fn owners(&self) -> BTreeSet<String> {
        self.shares
            .iter()
            .filter(|s| s.role == "roles/owner" && !is_past(&s.expire_time))
            .filter_map(|s| match s.grantee.as_ref().and_then(|g| g.kind.as_ref()) {
                Some(Kind::User(u)) => Some(u.clone()),
                _ => None,
            })
            .collect()
    }
}

fn describe_share(s: &pb::Share) -> String {
    let grantee = match s.grantee.as_ref().and_then(|g| g.kind.as_ref()) {
        Some(Kind::User(u)) => u.clone(),
        Some(Kind::Email(e)) => format!("email:{e}"),
        Some(Kind::Group(g)) => g.clone(),
        Some(Kind::Tenant(t)) => format!("tenant:{t}"),
        Some(Kind::AllTenants(_)) => "all_tenants".into(),
        Some(Kind::OrgMembers(_)) => "org_members".into(),
        Some(Kind::Everyone(_)) => "everyone".into(),
        None => "?".into(),
    };
    let expiry = match &s.expire_time {
        None => String::new(),
        Some(t) if is_past(&s.expire_time) => format!(" expired@{}", t.seconds),
        Some(t) => format!(" until@{}", t.seconds),
    };
    format!("{grantee}={}{expiry}", s.role)
}

struct Org {
    id: String,
    admin: Who,
    members: Vec<Who>,
    dashboards: Vec<Dash>,
    /// Group name -> display name.
    groups: BTreeMap<String, String>,
    /// Custom role name -> what it is.
    roles: BTreeMap<String, String>,
    /// Folder name -> its parent, cut and shares, for a reader of a failure.
    folders: BTreeMap<String, String>,
    shares: usize,
    /// Shares made while their dashboard was in the trash.
    trashed_shares: usize,
}

#[derive(Default)]
struct Stats {
    callers: usize,
    pairs: usize,
    readable_pairs: usize,
    listings: usize,
    pages: usize,
    filters: usize,
    foreign_checks: usize,
}

// ---- fixtures ----

async fn record(channel: &Channel, who: &mut Who) {
    let mut caller = who.caller(channel);
    let request = caller.req(pb::GetUserRequest {
        name: "users/me".into(),
    });
    caller
        .directory
        .get_user(request)
        .await
        .unwrap_or_else(|e| panic!("recording {}: {e:?}", who.name()));
    who.recorded = true;
}

async fn create_role(admin: &mut Caller, display: &str, permissions: &[pb::Permission]) -> String {
    let request = admin.req(pb::CreateRoleRequest {
        role: Some(pb::Role {
            display_name: display.into(),
            permissions: permissions.iter().map(|p| *p as i32).collect(),
            ..Default::default()
        }),
    });
    admin
        .directory
        .create_role(request)
        .await
        .unwrap_or_else(|e| panic!("create role {display}: {e:?}"))
        .into_inner()
        .name
}

async fn set_role_permissions(admin: &mut Caller, role: &str, permissions: &[pb::Permission]) {
    let request = admin.req(pb::UpdateRoleRequest {
        role: Some(pb::Role {
            name: role.into(),
            permissions: permissions.iter().map(|p| *p as i32).collect(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["permissions".into()],
        }),
    });
    admin
        .directory
        .update_role(request)
        .await
        .unwrap_or_else(|e| panic!("update role {role}: {e:?}"));
}

/// Builds one org's fixtures; returns it and the instant after which every near expiry has
/// passed.
async fn build_org(channel: Channel, seed: u64, index: usize) -> (Org, Instant) {
    use PlatformRole::*;
    let mut rng = Rng(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let org = unique_org();
    let mut latest_expiry = Instant::now();

    // Users of every platform role; most are recorded (so they can be shared with), a few
    // ("lurkers") make their first call only when checked.
    let mut admin = Who::new(&org, "admin", None, Admin);
    record(&channel, &mut admin).await;
    let mut members = Vec::new();
    for i in 0..7 {
        members.push(Who::new(&org, &format!("author{i}"), None, Author));
    }
    for i in 0..6 {
        members.push(Who::new(&org, &format!("viewer{i}"), None, Viewer));
    }
    members.push(Who::new(&org, "admin2", None, Admin));
    for tenant in TENANTS {
        for i in 0..4 {
            members.push(Who::new(
                &org,
                &format!("{tenant}-power{i}"),
                Some(tenant),
                PowerUser,
            ));
        }
        for i in 0..2 {
            members.push(Who::new(
                &org,
                &format!("{tenant}-viewer{i}"),
                Some(tenant),
                Viewer,
            ));
        }
    }
    // Demoted in the directory: an ADMIN token now worth AUTHOR, an AUTHOR worth VIEWER.
    members.push(Who::new(&org, "demoted-admin", None, Admin));
    members.push(Who::new(&org, "demoted-author", None, Author));
    for member in members.iter_mut() {
        record(&channel, member).await;
    }
    let mut admin_caller = admin.caller(&channel);
    for (sub, role) in [("demoted-admin", Author), ("demoted-author", Viewer)] {
        let who = members
            .iter_mut()
            .find(|m| m.sub == sub)
            .expect("demoted member");
        let request = admin_caller.req(pb::UpsertUserRequest {
            user: Some(pb::User {
                name: who.name(),
                email: who.email(),
                display_name: who.sub.clone(),
                role: match role {
                    Viewer => pb::PlatformRole::Viewer,
                    _ => pb::PlatformRole::Author,
                } as i32,
                tenant: String::new(),
                ..Default::default()
            }),
        });
        admin_caller
            .directory
            .upsert_user(request)
            .await
            .unwrap_or_else(|e| panic!("demote {sub}: {e:?}"));
        who.demoted_to = Some(role);
    }
    // Lurkers: never shared with directly, recorded by their first (checked) call.
    for (sub, tenant, role) in [
        ("lurker-viewer", None, Viewer),
        ("lurker-author", None, Author),
        ("lurker-admin", None, Admin),
        ("lurker-t1-power", Some("t1"), PowerUser),
        ("lurker-t3-viewer", Some("t3"), Viewer),
        ("lurker-t9-power", Some("t9"), PowerUser),
    ] {
        members.push(Who::new(&org, sub, tenant, role));
    }

    // Groups: org groups with anyone recorded, one tenant group per tenant, one empty.
    let mut groups = BTreeMap::new();
    let mut org_groups = Vec::new();
    let recorded: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].recorded)
        .collect();
    for g in 0..4 {
        let chosen: Vec<usize> = recorded
            .iter()
            .copied()
            .filter(|_| rng.chance(25))
            .collect();
        let creator = if rng.chance(50) {
            admin.clone()
        } else {
            members[rng.below(7)].clone() // an author
        };
        let group = create_group(
            &channel,
            &creator,
            &format!("group{g}"),
            None,
            &members,
            &chosen,
        )
        .await;
        for &i in &chosen {
            members[i].groups.push(group.clone());
        }
        groups.insert(group.clone(), format!("group{g}"));
        org_groups.push(group);
    }
    for tenant in TENANTS {
        let chosen: Vec<usize> = recorded
            .iter()
            .copied()
            .filter(|&i| members[i].tenant.as_deref() == Some(tenant) && rng.chance(50))
            .collect();
        let display = format!("tenant-group-{tenant}");
        let group = create_group(&channel, &admin, &display, Some(tenant), &members, &chosen).await;
        for &i in &chosen {
            members[i].groups.push(group.clone());
        }
        groups.insert(group, display);
    }
    let empty = create_group(&channel, &admin, "empty", None, &members, &[]).await;
    groups.insert(empty, "empty".into());
    let group_names: Vec<String> = groups.keys().cloned().collect();

    // Custom roles, two of them changed after they were granted.
    use pb::Permission as P;
    let reader = create_role(&mut admin_caller, "Reader", &[P::Read]).await;
    let labeler = create_role(&mut admin_caller, "Labeler", &[P::Read, P::UpdateLabels]).await;
    let no_read = create_role(&mut admin_caller, "No read", &[P::UpdateLabels, P::Write]).await;
    let flip = create_role(&mut admin_caller, "Flip", &[P::Read]).await;
    let flop = create_role(&mut admin_caller, "Flop", &[P::UpdateLabels]).await;
    let doomed = create_role(&mut admin_caller, "Doomed", &[P::Read, P::Write]).await;
    let roles: Vec<String> = [
        "roles/viewer",
        "roles/editor",
        "roles/contributor",
        "roles/owner",
        "readonly",
        "readwrite",
    ]
    .into_iter()
    .map(str::to_string)
    .chain([
        reader,
        labeler,
        no_read,
        flip.clone(),
        flop.clone(),
        doomed.clone(),
    ])
    .collect();

    // Dashboards by whoever may create them.
    let creators: Vec<Who> = std::iter::once(admin.clone())
        .chain(
            members
                .iter()
                .filter(|m| m.recorded && m.effective_role() != Viewer)
                .cloned(),
        )
        .collect();
    let mut dashboards = Vec::new();
    for _ in 0..DASHBOARDS_PER_ORG {
        let creator = rng.pick(&creators).clone();
        // Few distinct titles: ties in the title order cross page boundaries.
        let title = format!("dash-{}", rng.below(8));
        let mut caller = creator.caller(&channel);
        let created = caller.create(&title).await;
        dashboards.push(Dash {
            name: created.name,
            title,
            folder: String::new(),
            creator: creator.name(),
            trashed: false,
            public: false,
            shares: Vec::new(),
        });
    }

    // A folder tree (by the ADMIN): each folder under a random earlier one or at the root,
    // a quarter of them stopping inheritance; most dashboards moved into a folder, a few of
    // them stopping inheritance themselves.
    let mut folders: Vec<(String, String, bool)> = Vec::new();
    for i in 0..FOLDERS_PER_ORG {
        let parent = if i < 2 || rng.chance(15) {
            String::new()
        } else {
            folders[rng.below(folders.len())].0.clone()
        };
        let inherit = !rng.chance(25);
        let folder = admin_caller
            .try_folder(&format!("folder-{i}"), &parent, Some(inherit))
            .await
            .unwrap_or_else(|e| panic!("folder {i} under {parent:?}: {e:?}"));
        folders.push((folder.name, parent, inherit));
    }
    for dash in dashboards.iter_mut() {
        if !rng.chance(70) {
            continue;
        }
        let folder = folders[rng.below(folders.len())].0.clone();
        admin_caller
            .move_dashboard(&dash.name, &folder, false)
            .await
            .unwrap_or_else(|e| panic!("move {} into {folder}: {e:?}", dash.name));
        dash.folder = folder;
        if rng.chance(15) {
            let request = admin_caller.req(pb::UpdateDashboardRequest {
                version_message: String::new(),
                dashboard: Some(pb::Dashboard {
                    name: dash.name.clone(),
                    inherit_access: Some(false),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["inherit_access".into()],
                }),
            });
            admin_caller
                .dashboards
                .update_dashboard(request)
                .await
                .unwrap_or_else(|e| panic!("stop inheritance on {}: {e:?}", dash.name));
            dash.folder.push_str(" (no inherit)");
        }
    }
    // Shares on every folder: grantees of every kind, many roles, some expiring.
    let mut folder_shares: Vec<String> = Vec::new();
    for (folder, _, _) in &folders {
        for _ in 0..rng.below(4) {
            let kind = match rng.below(100) {
                0..30 => Kind::User(rng.pick(&members).name()),
                30..55 => Kind::Group(rng.pick(&group_names).clone()),
                55..70 => Kind::Tenant(rng.pick(&["t1", "t2", "t3"]).to_string()),
                70..80 => Kind::AllTenants(true),
                80..90 => Kind::OrgMembers(true),
                _ => Kind::Everyone(true),
            };
            if let Kind::User(u) = &kind
                && !members.iter().any(|m| m.recorded && &m.name() == u)
            {
                continue;
            }
            let role = rng.pick(&roles).clone();
            let expire_time = match rng.below(100) {
                0..15 => {
                    latest_expiry = latest_expiry.max(Instant::now() + NEAR_EXPIRY);
                    Some(timestamp_in(NEAR_EXPIRY))
                }
                _ => None,
            };
            let request = admin_caller.req(pb::ShareDashboardRequest {
                name: folder.clone(),
                grantee: Some(pb::Grantee {
                    kind: Some(kind.clone()),
                }),
                role: role.clone(),
                expire_time,
            });
            let share = admin_caller
                .sharing
                .share_dashboard(request)
                .await
                .unwrap_or_else(|e| panic!("share {folder} with {kind:?} as {role}: {e:?}"))
                .into_inner();
            folder_shares.push(share.name);
        }
    }

    // Shares of every grantee kind and many roles, by the ADMIN or an org-user creator.
    let mut share_count = 0;
    let mut trashed_shares = 0;
    let mut made: Vec<(usize, String)> = Vec::new();
    for (d, dash) in dashboards.iter().enumerate() {
        let sharer = match creators.iter().find(|c| c.name() == dash.creator) {
            Some(c) if c.tenant.is_none() && rng.chance(40) => c.clone(),
            _ => admin.clone(),
        };
        let mut sharer = sharer.caller(&channel);
        for _ in 0..rng.below(6) {
            let kind = match rng.below(100) {
                0..30 => Kind::User(pick_grantee(&mut rng, &members, &dash.creator).name()),
                30..40 => Kind::Email(pick_grantee(&mut rng, &members, &dash.creator).email()),
                40..60 => Kind::Group(rng.pick(&group_names).clone()),
                60..75 => Kind::Tenant(rng.pick(&["t1", "t2", "t3", "t-nobody"]).to_string()),
                75..83 => Kind::AllTenants(true),
                83..91 => Kind::OrgMembers(true),
                _ => Kind::Everyone(true),
            };
            let role = rng.pick(&roles).clone();
            let expire_time = match rng.below(100) {
                0..15 => {
                    latest_expiry = latest_expiry.max(Instant::now() + NEAR_EXPIRY);
                    Some(timestamp_in(NEAR_EXPIRY))
                }
                15..25 => Some(timestamp_in(Duration::from_secs(3600))),
                _ => None,
            };
            let request = sharer.req(pb::ShareDashboardRequest {
                name: dash.name.clone(),
                grantee: Some(pb::Grantee {
                    kind: Some(kind.clone()),
                }),
                role: role.clone(),
                expire_time,
            });
            let share = sharer
                .sharing
                .share_dashboard(request)
                .await
                .unwrap_or_else(|e| panic!("share {} with {kind:?} as {role}: {e:?}", dash.name))
                .into_inner();
            share_count += 1;
            made.push((d, share.name));
        }
    }
    // Stars, while the shares are fresh: the revocations, expiries, role and membership
    // changes below make some of them invisible (never an error).
    for who in members
        .iter_mut()
        .chain(std::iter::once(&mut admin))
        .filter(|w| w.recorded)
    {
        let mut caller = who.caller(&channel);
        for dash in &dashboards {
            if !rng.chance(25) {
                continue;
            }
            let request = caller.req(pb::StarDashboardRequest {
                name: dash.name.clone(),
            });
            match caller.dashboards.star_dashboard(request).await {
                Ok(_) => {
                    who.starred.insert(dash.name.clone());
                }
                Err(e) if e.code() == Code::NotFound => {}
                Err(e) => panic!("star {} as {}: {e:?}", dash.name, who.name()),
            }
        }
    }
    // Some shares revoked.
    for (_, share) in &made {
        if rng.chance(10) {
            let request = admin_caller.req(pb::RevokeShareRequest {
                name: share.clone(),
            });
            // Re-sharing the same grantee updates one share: it may be revoked already.
            match admin_caller.sharing.revoke_share(request).await {
                Ok(_) => {}
                Err(e) if e.code() == Code::NotFound => {}
                Err(e) => panic!("revoke {share}: {e:?}"),
            }
        }
    }
    // The changed roles: Flip loses READ, Flop gains it, Doomed goes.
    set_role_permissions(&mut admin_caller, &flip, &[P::UpdateLabels]).await;
    set_role_permissions(&mut admin_caller, &flop, &[P::Read, P::Write]).await;
    let request = admin_caller.req(pb::DeleteRoleRequest {
        name: doomed.clone(),
        etag: String::new(),
    });
    // Refused while shares (even expired ones) hold it: then it stays.
    let doomed_display = match admin_caller.directory.delete_role(request).await {
        Ok(_) => "Doomed, deleted",
        Err(e) if e.code() == Code::FailedPrecondition => "Doomed, in use so kept",
        Err(e) => panic!("delete role {doomed}: {e:?}"),
    };
    let mut role_names: BTreeMap<String, String> = BTreeMap::new();
    for (role, display) in [
        (&flip, "Flip, READ removed"),
        (&flop, "Flop, READ added"),
        (&doomed, doomed_display),
    ] {
        role_names.insert(role.clone(), display.into());
    }
    for (role, display) in roles[6..9].iter().zip(["Reader", "Labeler", "No read"]) {
        role_names.insert(role.clone(), display.into());
    }

    // Membership changes after the shares: a group deleted, a member removed, one added.
    let gone = org_groups[3].clone();
    let request = admin_caller.req(pb::DeleteGroupRequest {
        name: gone.clone(),
        etag: String::new(),
    });
    admin_caller
        .directory
        .delete_group(request)
        .await
        .unwrap_or_else(|e| panic!("delete group {gone}: {e:?}"));
    groups.insert(gone.clone(), "group3, deleted".into());
    for member in members.iter_mut() {
        member.groups.retain(|g| g != &gone);
    }
    let leaving: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].groups.contains(&org_groups[0]))
        .collect();
    if !leaving.is_empty() {
        let i = *rng.pick(&leaving);
        let request = admin_caller.req(pb::RemoveGroupMemberRequest {
            group: org_groups[0].clone(),
            user: members[i].name(),
        });
        admin_caller
            .directory
            .remove_group_member(request)
            .await
            .unwrap_or_else(|e| panic!("remove member: {e:?}"));
        members[i].groups.retain(|g| g != &org_groups[0]);
    }
    let joining: Vec<usize> = recorded
        .iter()
        .copied()
        .filter(|&i| !members[i].groups.contains(&org_groups[1]))
        .collect();
    if !joining.is_empty() {
        let i = *rng.pick(&joining);
        let request = admin_caller.req(pb::AddGroupMemberRequest {
            group: org_groups[1].clone(),
            user: members[i].name(),
        });
        admin_caller
            .directory
            .add_group_member(request)
            .await
            .unwrap_or_else(|e| panic!("add member: {e:?}"));
        members[i].groups.push(org_groups[1].clone());
    }

    // After the shares: some folder shares revoked, one folder's cut toggled, one folder
    // moved (a move into its own subtree is refused and skipped).
    for share in &folder_shares {
        if rng.chance(10) {
            let request = admin_caller.req(pb::RevokeShareRequest {
                name: share.clone(),
            });
            match admin_caller.sharing.revoke_share(request).await {
                Ok(_) => {}
                Err(e) if e.code() == Code::NotFound => {}
                Err(e) => panic!("revoke {share}: {e:?}"),
            }
        }
    }
    let toggled = rng.below(folders.len());
    let (name, _, inherit) = folders[toggled].clone();
    admin_caller
        .update_folder(
            pb::Folder {
                name: name.clone(),
                inherit_access: Some(!inherit),
                ..Default::default()
            },
            &["inherit_access"],
        )
        .await
        .unwrap_or_else(|e| panic!("toggle the cut of {name}: {e:?}"));
    folders[toggled].2 = !inherit;
    let moved = rng.below(folders.len());
    let destination = if rng.chance(30) {
        String::new()
    } else {
        folders[rng.below(folders.len())].0.clone()
    };
    let name = folders[moved].0.clone();
    match admin_caller.move_folder(&name, &destination, false).await {
        Ok(_) => folders[moved].1 = destination,
        Err(e) if e.code() == Code::FailedPrecondition => {}
        Err(e) => panic!("move {name} into {destination:?}: {e:?}"),
    }

    // Public links (some expiring), renamed dashboards, trash (some restored).
    for dash in dashboards.iter_mut() {
        if rng.chance(20) {
            let near = rng.chance(30);
            let expire_time = near.then(|| {
                latest_expiry = latest_expiry.max(Instant::now() + NEAR_EXPIRY);
                timestamp_in(NEAR_EXPIRY)
            });
            let request = admin_caller.req(pb::CreatePublicLinkRequest {
                name: dash.name.clone(),
                expire_time,
            });
            admin_caller
                .sharing
                .create_public_link(request)
                .await
                .unwrap_or_else(|e| panic!("public link on {}: {e:?}", dash.name));
            dash.public |= !near;
        }
        if rng.chance(15) {
            let title = format!("dash-{}", rng.below(8));
            let request = admin_caller.req(pb::UpdateDashboardRequest {
                version_message: String::new(),
                dashboard: Some(pb::Dashboard {
                    name: dash.name.clone(),
                    title: title.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
            });
            admin_caller
                .dashboards
                .update_dashboard(request)
                .await
                .unwrap_or_else(|e| panic!("rename {}: {e:?}", dash.name));
            dash.title = title;
        }
        if rng.chance(20) {
            let request = admin_caller.req(pb::DeleteDashboardRequest {
                name: dash.name.clone(),
                etag: String::new(),
            });
            admin_caller
                .dashboards
                .delete_dashboard(request)
                .await
                .unwrap_or_else(|e| panic!("trash {}: {e:?}", dash.name));
            dash.trashed = true;
            if rng.chance(25) {
                let request = admin_caller.req(pb::UndeleteDashboardRequest {
                    name: dash.name.clone(),
                });
                admin_caller
                    .dashboards
                    .undelete_dashboard(request)
                    .await
                    .unwrap_or_else(|e| panic!("restore {}: {e:?}", dash.name));
                dash.trashed = false;
            }
        }
        if dash.trashed && rng.chance(50) {
            // A share on a trashed dashboard (if allowed) must not list it.
            let request = admin_caller.req(pb::ShareDashboardRequest {
                name: dash.name.clone(),
                grantee: Some(pb::Grantee {
                    kind: Some(Kind::Everyone(true)),
                }),
                role: "roles/viewer".into(),
                expire_time: None,
            });
            match admin_caller.sharing.share_dashboard(request).await {
                Ok(_) => {
                    share_count += 1;
                    trashed_shares += 1;
                }
                Err(e) if matches!(e.code(), Code::FailedPrecondition | Code::NotFound) => {}
                Err(e) => panic!("share trashed {}: {e:?}", dash.name),
            }
        }
        if rng.chance(15) {
            // A widget moves the dashboard's update_time (and the grants' copy of it).
            let mut widgets = pb::widget_service_client::WidgetServiceClient::new(channel.clone());
            let request = admin_caller.req(pb::CreateWidgetRequest {
                version_message: String::new(),
                parent: dash.name.clone(),
                widget: Some(pb::Widget {
                    r#type: pb::WidgetType::Chart as i32,
                    title: "chart".into(),
                    ..Default::default()
                }),
                source_widget: String::new(),
            });
            match widgets.create_widget(request).await {
                Ok(_) => {}
                Err(e) if dash.trashed && e.code() == Code::FailedPrecondition => {}
                Err(e) => panic!("widget on {}: {e:?}", dash.name),
            }
        }
    }

    let mut folder_notes = BTreeMap::new();
    for (name, parent, inherit) in &folders {
        let request = admin_caller.req(pb::ListSharesRequest {
            parent: name.clone(),
        });
        let shares = admin_caller
            .sharing
            .list_shares(request)
            .await
            .unwrap_or_else(|e| panic!("list shares of {name}: {e:?}"))
            .into_inner();
        let shares: Vec<String> = shares
            .users
            .iter()
            .chain(&shares.groups)
            .chain(&shares.tenants)
            .chain(&shares.org_wide)
            .map(describe_share)
            .collect();
        folder_notes.insert(
            name.clone(),
            format!(
                "under {parent:?}{}, shares [{}]",
                if *inherit { "" } else { ", stops inheritance" },
                shares.join("; ")
            ),
        );
    }

    let org = Org {
        id: org,
        admin,
        members,
        dashboards,
        groups,
        folders: folder_notes,
        roles: role_names,
        shares: share_count + folder_shares.len(),
        trashed_shares,
    };
    (org, latest_expiry)
}

/// A recorded user of the org other than the dashboard's creator (whose owner share a
/// re-share would demote).
fn pick_grantee<'a>(rng: &mut Rng, members: &'a [Who], creator: &str) -> &'a Who {
    loop {
        let who = rng.pick(members);
        if who.recorded && who.name() != creator {
            return who;
        }
    }
}

async fn create_group(
    channel: &Channel,
    creator: &Who,
    display: &str,
    tenant: Option<&str>,
    members: &[Who],
    chosen: &[usize],
) -> String {
    let mut caller = creator.caller(channel);
    let request = caller.req(pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: display.into(),
            kind: if tenant.is_some() {
                pb::GroupKind::Tenant as i32
            } else {
                pb::GroupKind::Org as i32
            },
            tenant: tenant.unwrap_or_default().into(),
            ..Default::default()
        }),
        members: chosen.iter().map(|&i| members[i].name()).collect(),
    });
    caller
        .directory
        .create_group(request)
        .await
        .unwrap_or_else(|e| panic!("create group {display}: {e:?}"))
        .into_inner()
        .name
}

/// Fills each dashboard's shares from the ADMIN's ListShares.
async fn load_shares(channel: &Channel, org: &mut Org) {
    let mut admin = org.admin.caller(channel);
    for dash in org.dashboards.iter_mut() {
        let request = admin.req(pb::ListSharesRequest {
            parent: dash.name.clone(),
        });
        let shares = admin
            .sharing
            .list_shares(request)
            .await
            .unwrap_or_else(|e| panic!("list shares of {}: {e:?}", dash.name))
            .into_inner();
        dash.shares = shares
            .users
            .into_iter()
            .chain(shares.groups)
            .chain(shares.tenants)
            .chain(shares.org_wide)
            .collect();
    }
}

// ---- the checks ----

/// What CheckAccess said about one dashboard for the caller.
#[derive(Clone, Debug)]
struct Decision {
    readable: bool,
    /// Some matching active grant's role includes READ (the caller reaches it by a share).
    shared: bool,
    explanation: String,
}

/// Walks a listing to its end, asserting page sizes and the absence of duplicates.
async fn walk(
    caller: &mut Caller,
    mut request: pb::ListDashboardsRequest,
    stats: &Mutex<Stats>,
) -> Result<Vec<pb::Dashboard>, String> {
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = caller
            .list(request.clone())
            .await
            .map_err(|e| format!("ListDashboards {request:?} failed: {e:?}"))?;
        pages += 1;
        if request.page_size > 0 && page.dashboards.len() > request.page_size as usize {
            return Err(format!(
                "a page of {} for page_size {}",
                page.dashboards.len(),
                request.page_size
            ));
        }
        all.extend(page.dashboards);
        if page.next_page_token.is_empty() {
            break;
        }
        if pages > 500 {
            return Err("more than 500 pages".into());
        }
        request.page_token = page.next_page_token;
    }
    let mut stats = stats.lock().expect("stats");
    stats.listings += 1;
    stats.pages += pages;
    Ok(all)
}

/// The sort key of `order_by`, for checking the walk's order.
fn in_order(order_by: &str, listed: &[pb::Dashboard]) -> bool {
    let descending = order_by.is_empty() || order_by.ends_with("desc");
    let key = |d: &pb::Dashboard| -> (String, i64, i32) {
        let ts = |t: &Option<prost_types::Timestamp>| {
            t.as_ref().map(|t| (t.seconds, t.nanos)).unwrap_or_default()
        };
        if order_by.starts_with("title") {
            (d.title.clone(), 0, 0)
        } else if order_by.starts_with("update_time") {
            let (s, n) = ts(&d.update_time);
            (String::new(), s, n)
        } else {
            let (s, n) = ts(&d.create_time);
            (String::new(), s, n)
        }
    };
    listed.windows(2).all(|w| {
        let (a, b) = (key(&w[0]), key(&w[1]));
        if descending { a >= b } else { a <= b }
    })
}

struct Ctx {
    channel: Channel,
    /// Servers on the same database whose listing reaches folders each its own way (see
    /// `listing_servers`); each caller lists through one of them.
    listing: Vec<Channel>,
    org: Arc<Org>,
    failures: Mutex<Vec<String>>,
    stats: Mutex<Stats>,
}

impl Ctx {
    /// Records a disagreement, with custom roles and groups named for a reader.
    fn fail(&self, mut message: String) {
        for (name, display) in self
            .org
            .roles
            .iter()
            .chain(&self.org.groups)
            .chain(&self.org.folders)
        {
            message = message.replace(name, &format!("{name}({display})"));
        }
        self.failures.lock().expect("failures").push(message);
    }

    fn dash(&self, name: &str) -> Option<&Dash> {
        self.org.dashboards.iter().find(|d| d.name == name)
    }

    fn describe_names<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> String {
        names
            .into_iter()
            .map(|n| match self.dash(n) {
                Some(d) => format!("\n      {}", d.describe()),
                None => format!("\n      {n} (not a dashboard of org {})", self.org.id),
            })
            .collect()
    }

    /// Compares a listing with the expected set; reports both differences with the shares.
    fn compare(
        &self,
        who: &Who,
        what: &str,
        listed: &[pb::Dashboard],
        expected: &BTreeSet<String>,
        decisions: &HashMap<String, Decision>,
    ) {
        let got: BTreeSet<String> = listed.iter().map(|d| d.name.clone()).collect();
        if got.len() != listed.len() {
            self.fail(format!(
                "{}: {what} lists a dashboard twice: {:?}",
                who.describe(),
                listed.iter().map(|d| &d.name).collect::<Vec<_>>()
            ));
        }
        if &got == expected {
            return;
        }
        let extra: Vec<&String> = got.difference(expected).collect();
        let missing: Vec<&String> = expected.difference(&got).collect();
        let why = |names: &[&String]| -> String {
            if names.is_empty() {
                return " (none)".into();
            }
            names
                .iter()
                .map(|n| {
                    let decision = decisions
                        .get(*n)
                        .map(|d| d.explanation.clone())
                        .unwrap_or_default();
                    format!("{}{}", self.describe_names([*n]), decision)
                })
                .collect()
        };
        self.fail(format!(
            "{}: {what} disagrees with CheckAccess\n    listed but not expected:{}\n    expected but not listed:{}",
            who.describe(),
            why(&extra),
            why(&missing),
        ));
    }

    /// CheckAccess, GetDashboard and BatchCheckAccess on every dashboard of the org.
    async fn decisions(&self, who: &Who) -> HashMap<String, Decision> {
        let names: Vec<String> = self.org.dashboards.iter().map(|d| d.name.clone()).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for name in names.clone() {
            let mut caller = who.caller(&self.channel);
            tasks.spawn(async move {
                let request = caller.req(pb::CheckAccessRequest {
                    name: name.clone(),
                    permission: 0,
                    principal: String::new(),
                });
                let check = caller
                    .sharing
                    .check_access(request)
                    .await
                    .map(|r| r.into_inner());
                let get = caller.get(&name).await;
                (name, check, get)
            });
        }
        let mut decisions = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (name, check, get) = joined.expect("check task");
            let dash = self.dash(&name).expect("fixture dashboard").clone();
            let decision = match check {
                Ok(response) => {
                    let read = response.permissions().any(|p| p == pb::Permission::Read);
                    if !read || !response.allowed {
                        self.fail(format!(
                            "{}: CheckAccess answered OK without READ on {}: {response:?}",
                            who.describe(),
                            dash.describe()
                        ));
                    }
                    let shared = response.grants.iter().any(|g| {
                        g.role_permissions.contains(&(pb::Permission::Read as i32))
                            && !is_past(&g.expire_time)
                    });
                    let grants: Vec<String> = response
                        .grants
                        .iter()
                        .map(|g| {
                            let permissions: Vec<&str> = g
                                .role_permissions
                                .iter()
                                .map(|p| {
                                    pb::Permission::try_from(*p)
                                        .map(|p| p.as_str_name())
                                        .unwrap_or("?")
                                })
                                .collect();
                            format!("{} {} {permissions:?}", g.share, g.role)
                        })
                        .collect();
                    Decision {
                        readable: read,
                        shared,
                        explanation: format!(
                            "\n        CheckAccess: READ, implicit_owner {}, grants {grants:?}",
                            response.implicit_owner
                        ),
                    }
                }
                Err(e) if e.code() == Code::NotFound => Decision {
                    readable: false,
                    shared: false,
                    explanation: "\n        CheckAccess: NOT_FOUND".into(),
                },
                Err(e) => {
                    self.fail(format!(
                        "{}: CheckAccess on {} failed: {e:?}",
                        who.describe(),
                        dash.describe()
                    ));
                    continue;
                }
            };
            if !who.is_admin() && decision.readable != decision.shared {
                self.fail(format!(
                    "{}: CheckAccess on {} says READ {} but its grants say {}{}",
                    who.describe(),
                    dash.describe(),
                    decision.readable,
                    decision.shared,
                    decision.explanation
                ));
            }
            match (&get, decision.readable) {
                (Ok(got), true) => {
                    if got.is_public != dash.public {
                        self.fail(format!(
                            "{}: GetDashboard {} says is_public {}",
                            who.describe(),
                            dash.describe(),
                            got.is_public
                        ));
                    }
                    if got.delete_time.is_some() != dash.trashed {
                        self.fail(format!(
                            "{}: GetDashboard {} says delete_time {:?}",
                            who.describe(),
                            dash.describe(),
                            got.delete_time
                        ));
                    }
                }
                (Err(e), false) if e.code() == Code::NotFound => {}
                (get, readable) => self.fail(format!(
                    "{}: GetDashboard on {} answered {:?} but CheckAccess says readable={readable}{}",
                    who.describe(),
                    dash.describe(),
                    get.as_ref().map(|d| &d.name),
                    decision.explanation
                )),
            }
            decisions.insert(name, decision);
        }
        // The ADMIN asking about this caller (DESIGN 4.3: CheckAccess about a user counts
        // what the user's own calls count) agrees too.
        if who.org == self.org.id && !who.is_admin() {
            let mut admin = self.org.admin.caller(&self.channel);
            let request = admin.req(pb::BatchCheckAccessRequest {
                names: names.clone(),
                permission: 0,
                principal: who.name(),
            });
            match admin.sharing.batch_check_access(request).await {
                Ok(response) => {
                    for result in response.into_inner().results {
                        let own = decisions.get(&result.name).map(|d| d.readable);
                        if own != Some(result.allowed) {
                            self.fail(format!(
                                "{}: the ADMIN's BatchCheckAccess about it says {} on {} where its own CheckAccess says {own:?}",
                                who.describe(),
                                result.allowed,
                                self.describe_names([&result.name]),
                            ));
                        }
                    }
                }
                Err(e) => self.fail(format!(
                    "{}: the ADMIN's BatchCheckAccess about it: {e:?}",
                    who.describe()
                )),
            }
        }
        // BatchCheckAccess agrees too.
        let mut caller = who.caller(&self.channel);
        let request = caller.req(pb::BatchCheckAccessRequest {
            names: names.clone(),
            permission: 0,
            principal: String::new(),
        });
        match caller.sharing.batch_check_access(request).await {
            Ok(response) => {
                for result in response.into_inner().results {
                    let single = decisions.get(&result.name).map(|d| d.readable);
                    if single != Some(result.allowed) {
                        self.fail(format!(
                            "{}: BatchCheckAccess says {} on {} where CheckAccess says {single:?}",
                            who.describe(),
                            result.allowed,
                            self.describe_names([&result.name]),
                        ));
                    }
                }
            }
            Err(e) => self.fail(format!("{}: BatchCheckAccess: {e:?}", who.describe())),
        }
        decisions
    }

    async fn check_caller(&self, who: Who, seed: u64) {
        let mut rng = Rng(seed);
        let decisions = self.decisions(&who).await;
        let stats_pairs = decisions.len();
        let readable: BTreeSet<String> = decisions
            .iter()
            .filter(|(_, d)| d.readable)
            .map(|(n, _)| n.clone())
            .collect();
        let live = |names: &BTreeSet<String>| -> BTreeSet<String> {
            names
                .iter()
                .filter(|n| self.dash(n).is_some_and(|d| !d.trashed))
                .cloned()
                .collect()
        };
        let readable_live = live(&readable);
        let listing = &self.listing[(seed % self.listing.len() as u64) as usize];
        let mut caller = who.caller(listing);
        let page_sizes = [1, 2, 3, 4, 7, 10, 0, 100];
        let orders = [
            "",
            "create_time",
            "create_time asc",
            "update_time desc",
            "update_time asc",
            "title",
            "title desc",
        ];
        let mut filters = 0;

        // The listing itself.
        let order_by = rng.pick(&orders).to_string();
        let request = pb::ListDashboardsRequest {
            page_size: *rng.pick(&page_sizes),
            order_by: order_by.clone(),
            ..Default::default()
        };
        let what = format!(
            "ListDashboards(page_size {}, order_by {order_by:?})",
            request.page_size
        );
        match walk(&mut caller, request, &self.stats).await {
            Ok(listed) => {
                self.compare(&who, &what, &listed, &readable_live, &decisions);
                if !in_order(&order_by, &listed) {
                    self.fail(format!("{}: {what} is out of order", who.describe()));
                }
            }
            Err(e) => self.fail(format!("{}: {what}: {e}", who.describe())),
        }
        // With the trash.
        if rng.chance(40) {
            let request = pb::ListDashboardsRequest {
                page_size: *rng.pick(&page_sizes),
                order_by: rng.pick(&orders).to_string(),
                show_deleted: true,
                ..Default::default()
            };
            let what = format!(
                "ListDashboards(show_deleted, page_size {})",
                request.page_size
            );
            match walk(&mut caller, request, &self.stats).await {
                Ok(listed) => self.compare(&who, &what, &listed, &readable, &decisions),
                Err(e) => self.fail(format!("{}: {what}: {e}", who.describe())),
            }
        }
        // Filters that depend on access.
        let shared: BTreeSet<String> = readable_live
            .iter()
            .filter(|n| {
                decisions.get(*n).is_some_and(|d| d.shared)
                    && self.dash(n).is_some_and(|d| d.creator != who.name())
            })
            .cloned()
            .collect();
        let starred: BTreeSet<String> = readable_live.intersection(&who.starred).cloned().collect();
        let someone = rng.pick(&self.org.members).name();
        let mut cases: Vec<(String, BTreeSet<String>)> = vec![
            ("shared_with_me = true".into(), shared.clone()),
            (
                "shared_with_me = false".into(),
                readable_live.difference(&shared).cloned().collect(),
            ),
            (
                "owner = \"users/me\"".into(),
                readable_live
                    .iter()
                    .filter(|n| {
                        self.dash(n)
                            .is_some_and(|d| d.owners().contains(&who.name()))
                    })
                    .cloned()
                    .collect(),
            ),
            (
                format!("owner = \"{someone}\""),
                readable_live
                    .iter()
                    .filter(|n| self.dash(n).is_some_and(|d| d.owners().contains(&someone)))
                    .cloned()
                    .collect(),
            ),
            (
                "creator = \"users/me\"".into(),
                readable_live
                    .iter()
                    .filter(|n| self.dash(n).is_some_and(|d| d.creator == who.name()))
                    .cloned()
                    .collect(),
            ),
            (
                "visibility = public".into(),
                readable_live
                    .iter()
                    .filter(|n| self.dash(n).is_some_and(|d| d.public))
                    .cloned()
                    .collect(),
            ),
            ("starred = true".into(), starred.clone()),
            (
                "starred = false".into(),
                readable_live.difference(&starred).cloned().collect(),
            ),
            (
                "starred = true AND NOT title = \"dash-0\"".into(),
                starred
                    .iter()
                    .filter(|n| self.dash(n).is_some_and(|d| d.title != "dash-0"))
                    .cloned()
                    .collect(),
            ),
            (
                // Facts kept by dashboard id only: tested on the listing's index entries.
                "starred = true OR NOT visibility = public".into(),
                readable_live
                    .iter()
                    .filter(|n| starred.contains(*n) || self.dash(n).is_some_and(|d| !d.public))
                    .cloned()
                    .collect(),
            ),
            (
                "shared_with_me = true AND NOT title = \"dash-0\"".into(),
                shared
                    .iter()
                    .filter(|n| self.dash(n).is_some_and(|d| d.title != "dash-0"))
                    .cloned()
                    .collect(),
            ),
        ];
        cases.retain(|_| rng.chance(35));
        for (filter, expected) in cases {
            let request = pb::ListDashboardsRequest {
                page_size: *rng.pick(&page_sizes),
                order_by: rng.pick(&orders).to_string(),
                filter: filter.clone(),
                ..Default::default()
            };
            let what = format!(
                "ListDashboards(filter {filter:?}, page_size {})",
                request.page_size
            );
            match walk(&mut caller, request, &self.stats).await {
                Ok(listed) => self.compare(&who, &what, &listed, &expected, &decisions),
                Err(e) => self.fail(format!("{}: {what}: {e}", who.describe())),
            }
            filters += 1;
        }
        let mut stats = self.stats.lock().expect("stats");
        stats.callers += 1;
        stats.pairs += stats_pairs;
        stats.readable_pairs += readable.len();
        stats.filters += filters;
    }

    /// A caller of another org: nothing of this org exists for it.
    async fn check_foreigner(&self, who: &Who) {
        let mut caller = who.caller(&self.channel);
        for dash in &self.org.dashboards {
            let request = caller.req(pb::CheckAccessRequest {
                name: dash.name.clone(),
                permission: 0,
                principal: String::new(),
            });
            let check = caller.sharing.check_access(request).await;
            let get = caller.get(&dash.name).await;
            for (what, code) in [
                ("CheckAccess", check.err().map(|e| e.code())),
                ("GetDashboard", get.err().map(|e| e.code())),
            ] {
                if code != Some(Code::NotFound) {
                    self.fail(format!(
                        "{} of another org: {what} on {} answered {code:?}, not NOT_FOUND",
                        who.describe(),
                        dash.describe()
                    ));
                }
            }
        }
        self.stats.lock().expect("stats").foreign_checks += self.org.dashboards.len();
    }
}

/// Channels to the shared server and to two more on its database: one that walks any
/// reach through folders tested against the bitmap, one against the subquery.
async fn listing_servers(shared: &Channel) -> (Vec<Channel>, Vec<common::TestServer>) {
    let database_url = server().config.database_url.clone();
    let plans = [(0, 0), (0, 101)];
    let servers: Vec<common::TestServer> = plans
        .into_iter()
        .map(|(arms, dense_percent)| {
            let database_url = database_url.clone();
            common::start(move |c| {
                c.database_url = database_url;
                c.listing_folder_arms = arms;
                c.listing_dense_reach_percent = dense_percent;
            })
        })
        .collect();
    let mut channels = vec![shared.clone()];
    for server in &servers {
        channels.push(server.channel().await);
    }
    (channels, servers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_agrees_with_check_access_and_get() {
    let started = Instant::now();
    let seed = seed();
    println!("differential: seed {seed} (replay with DIFFERENTIAL_SEED={seed})");
    let channel = server().channel().await;

    // Fixtures, one org per task.
    let mut builders = tokio::task::JoinSet::new();
    for index in 0..ORGS {
        builders.spawn(build_org(channel.clone(), seed, index));
    }
    let mut orgs = Vec::new();
    let mut latest_expiry = Instant::now();
    while let Some(joined) = builders.join_next().await {
        let (org, expiry) = joined.expect("fixture task");
        latest_expiry = latest_expiry.max(expiry);
        orgs.push(org);
    }
    orgs.sort_by(|a, b| a.id.cmp(&b.id));
    // Every near expiry has passed before anything is checked.
    let wait = latest_expiry.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
    tokio::time::sleep(wait).await;
    for org in orgs.iter_mut() {
        load_shares(&channel, org).await;
    }
    let built = started.elapsed();
    for org in &orgs {
        println!(
            "differential: org {}: {} callers, {} groups, {} dashboards ({} trashed, {} public), {} shares made ({} in the trash), {} stored ({} expired)",
            org.id,
            org.members.len() + 1,
            org.groups.len(),
            org.dashboards.len(),
            org.dashboards.iter().filter(|d| d.trashed).count(),
            org.dashboards.iter().filter(|d| d.public).count(),
            org.shares,
            org.trashed_shares,
            org.dashboards.iter().map(|d| d.shares.len()).sum::<usize>(),
            org.dashboards
                .iter()
                .flat_map(|d| &d.shares)
                .filter(|s| is_past(&s.expire_time))
                .count(),
        );
    }

    // Checks: every member of every org, and a few callers from elsewhere.
    let mut rng = Rng(seed.rotate_left(17));
    let strangers: Vec<Who> = (0..2)
        .map(|i| {
            Who::new(
                &unique_org(),
                &format!("stranger{i}"),
                None,
                if i == 0 {
                    PlatformRole::Admin
                } else {
                    PlatformRole::Author
                },
            )
        })
        .collect();
    let all_members: Vec<Who> = orgs
        .iter()
        .flat_map(|o| std::iter::once(o.admin.clone()).chain(o.members.iter().cloned()))
        .collect();
    // The shared server lists a member's few folders as one arm each; the other two, on
    // the same database, list any reach by the walk tested against the bitmap, and by the
    // walk tested against the subquery (`ReachPlan`).
    let (listing, _listing_servers) = listing_servers(&channel).await;
    let permits = Arc::new(Semaphore::new(PARALLEL_CALLERS));
    let mut checks = tokio::task::JoinSet::new();
    let mut contexts = Vec::new();
    for org in orgs {
        let org = Arc::new(org);
        let ctx = Arc::new(Ctx {
            channel: channel.clone(),
            listing: listing.clone(),
            org: org.clone(),
            failures: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
        });
        contexts.push(ctx.clone());
        let mut foreigners: Vec<Who> = strangers.clone();
        for _ in 0..3 {
            let who = rng.pick(&all_members);
            if who.org != org.id {
                foreigners.push(who.clone());
            }
        }
        let callers: Vec<Who> = std::iter::once(org.admin.clone())
            .chain(org.members.iter().cloned())
            .collect();
        for who in callers {
            let ctx = ctx.clone();
            let permits = permits.clone();
            let caller_seed = rng.next();
            checks.spawn(async move {
                let _permit = permits.acquire().await.expect("permit");
                ctx.check_caller(who, caller_seed).await;
            });
        }
        for who in foreigners {
            let ctx = ctx.clone();
            let permits = permits.clone();
            checks.spawn(async move {
                let _permit = permits.acquire().await.expect("permit");
                ctx.check_foreigner(&who).await;
            });
        }
    }
    // A stranger's own org has no dashboards: its listing is empty.
    for who in strangers {
        let ctx = contexts[0].clone();
        checks.spawn(async move {
            let mut caller = who.caller(&ctx.channel);
            match walk(&mut caller, Default::default(), &ctx.stats).await {
                Ok(listed) if listed.is_empty() => {}
                other => ctx.fail(format!(
                    "{}: an org without dashboards lists {other:?}",
                    who.describe()
                )),
            }
        });
    }
    while let Some(joined) = checks.join_next().await {
        joined.expect("check task");
    }

    let mut total = Stats::default();
    let mut failures = Vec::new();
    let mut dashboards = 0;
    for ctx in &contexts {
        let stats = ctx.stats.lock().expect("stats");
        total.callers += stats.callers;
        total.pairs += stats.pairs;
        total.readable_pairs += stats.readable_pairs;
        total.listings += stats.listings;
        total.pages += stats.pages;
        total.filters += stats.filters;
        total.foreign_checks += stats.foreign_checks;
        dashboards += ctx.org.dashboards.len();
        failures.extend(ctx.failures.lock().expect("failures").iter().cloned());
    }
    println!(
        "differential: {} orgs, {dashboards} dashboards, {} callers checked ({} caller x dashboard decisions, {} readable), {} listings walked ({} pages, {} filtered), {} cross-org checks; fixtures {:.1?}, total {:.1?}",
        contexts.len(),
        total.callers,
        total.pairs,
        total.readable_pairs,
        total.listings,
        total.pages,
        total.filters,
        total.foreign_checks,
        built,
        started.elapsed(),
    );
    assert!(
        total.callers >= 200,
        "only {} callers checked",
        total.callers
    );
    assert!(
        failures.is_empty(),
        "seed {seed} (DIFFERENTIAL_SEED={seed}): {} disagreements; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
