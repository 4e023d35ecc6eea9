//! The Installation controller's reconcile, in the Stackable style: validate, check the
//! referenced Secrets, build the children with the pure builders, apply them (server-side
//! apply) and prune the unwanted, subscribe the Stream webhooks, read what the store knows,
//! and write the status through the status subresource (server-side apply too), only when
//! it changed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use serde_json::json;

use super::build::{self, BuildError, BuildInput, ChildNames, FIELD_MANAGER, WebhookToken, env};
use super::children::ChildRef;
use super::context::Context;
use super::error::Error;
use super::secrets;
use super::status::{self, Finding, Findings};
use super::subscriptions::{self, Wanted};
use crate::crd::common::{Problem, describe};
use crate::crd::installation::WorkerMode;
use crate::crd::installation::{InstallationStatus, LastRun, QueueStatus};
use crate::crd::validate::validate_installation;
use crate::crd::{API_VERSION, Installation, InstallationSpec};
use crate::domain::InstallationKey;
use crate::domain::Job;
use crate::domain::JobOutcome;
use crate::domain::schedule::{JobTimes, ScheduleText};
use crate::store::{JobOverview, JobRun, StoreError, WorkerHeartbeat};

pub const CONTROLLER: &str = "installation";

fn object_key(inst: &Installation) -> String {
    format!(
        "installation/{}/{}",
        inst.namespace().unwrap_or_default(),
        inst.name_any()
    )
}

pub async fn reconcile(inst: Arc<Installation>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    ctx.caches.wait_ready(Duration::from_secs(120)).await?;
    let ns = inst
        .namespace()
        .ok_or(Error::MissingMetadata("namespace"))?;
    let key = InstallationKey::new(&ns, inst.name_any());
    if inst.metadata.deletion_timestamp.is_some() {
        ctx.metrics.forget_installation(&key.id());
        let names = ChildNames::of(&key.name);
        ctx.secrets.forget_auth(&ns, &names.webhook_auth);
        ctx.applier.forget(
            &ns,
            &[
                names.config_reader,
                names.worker,
                names.webhooks,
                names.webhook_auth,
                names.identifiers,
                names.postal_services,
            ],
        );
        subscriptions::cleanup(&ctx, &inst).await?;
        return Ok(Action::await_change());
    }
    // Installations deleted while no finalizer held them are never reconciled again:
    // their gauges go here.
    let cache = &ctx.caches.installations;
    ctx.metrics.retain_installations(|id| {
        id.split_once('/')
            .is_some_and(|(ns, name)| cache.get(&ObjectRef::new(name).within(ns)).is_some())
    });
    let action = reconcile_live(&inst, &ctx, &key).await?;
    ctx.succeeded(&object_key(&inst));
    Ok(action)
}

pub fn error_policy(inst: Arc<Installation>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failure(CONTROLLER, error.kind());
    let delay = ctx.backoff(&object_key(&inst));
    tracing::warn!(
        installation = %format!("{}/{}", inst.namespace().unwrap_or_default(), inst.name_any()),
        retry_in = ?delay,
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

/// The children only a dedicated Installation has: its worker, webhook receiver and
/// master-data CronJobs (the pool does all of that for a pooled one).
fn dedicated_children(ns: &str, names: &ChildNames, cron: build::CronJobApi) -> Vec<ChildRef> {
    let child = |api_version: &str, kind: &str, name: &str| ChildRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    };
    let mut out = vec![
        child("apps/v1", "Deployment", &names.worker),
        child("apps/v1", "Deployment", &names.webhooks),
        child("v1", "Service", &names.webhooks),
    ];
    for name in [&names.identifiers, &names.postal_services] {
        out.push(child(cron.api_version(), "CronJob", name));
    }
    out
}

/// The webhook children, to delete when webhooks are turned off.
fn webhook_children(ns: &str, names: &ChildNames) -> Vec<ChildRef> {
    let child = |api_version: &str, kind: &str, name: &str| ChildRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    };
    vec![
        child("v1", "Service", &names.webhooks),
        child("apps/v1", "Deployment", &names.webhooks),
        child("v1", "Secret", &names.webhook_auth),
    ]
}

async fn reconcile_live(
    inst: &Installation,
    ctx: &Context,
    key: &InstallationKey,
) -> Result<Action, Error> {
    let spec = &inst.spec;
    let ns = key.namespace.as_str();
    let now = Utc::now();
    let old = inst.status.clone().unwrap_or_default();
    let names = ChildNames::of(&key.name);

    // The spec, by the rules the schema cannot express.
    let mut problems: Vec<Problem> = validate_installation(spec);
    let mode = spec.worker_mode(ctx.config.children.default_worker_mode);
    if mode == WorkerMode::Pool && ctx.config.pool.is_none() {
        problems.push(Problem::new(
            "spec.workers.mode",
            "Pool: this operator runs no shared worker pool (the chart's pool.enabled, \
             operator --pool-enabled); use Dedicated or enable the pool",
        ));
    }

    // The Secrets its processes read.
    let references = secrets::references(spec, &ctx.config.children.database_url);
    let check = ctx.secrets.check(ns, &references).await?;

    // The children (left as they are while the spec is invalid: they keep the last valid
    // settings running).
    let mut token: Option<WebhookToken> = None;
    let mut changed = Vec::new();
    let mut pruned = Vec::new();
    if problems.is_empty() {
        let existing = if spec.webhooks.enabled {
            ctx.secrets.auth_secret(ns, &names.webhook_auth).await?
        } else {
            None
        };
        match build::build(&BuildInput {
            installation: inst,
            secret_versions: &check.versions,
            settings: &ctx.config.children,
            existing_webhook_auth: existing.as_ref(),
            cron_job_api: ctx.cron_job_api,
            now,
        }) {
            Ok(children) => {
                token = children
                    .webhooks
                    .as_ref()
                    .and_then(|w| WebhookToken::from_secret(&w.auth_secret));
                if mode == WorkerMode::Pool {
                    // The dedicated worker goes first (its pod hands the installation's
                    // lease back as it stops); the pool takes the lease when it is free.
                    pruned = ctx
                        .applier
                        .prune(
                            &dedicated_children(ns, &names, ctx.cron_job_api),
                            &ctx.caches,
                        )
                        .await?;
                    changed = ctx
                        .applier
                        .apply(ns, &children.pooled_json()?, &ctx.caches)
                        .await?;
                } else {
                    changed = ctx
                        .applier
                        .apply(ns, &children.to_json()?, &ctx.caches)
                        .await?;
                    if children.webhooks.is_none() {
                        pruned = ctx
                            .applier
                            .prune(&webhook_children(ns, &names), &ctx.caches)
                            .await?;
                    }
                }
            }
            Err(BuildError::InvalidSpec { path, message }) => {
                problems.push(Problem::new(path, message))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let spec_finding = if problems.is_empty() {
        Finding::ok("Valid", "the spec follows every rule")
    } else {
        Finding::problem("ValidationFailed", describe(&problems))
    };

    // The Stream webhook subscriptions.
    let url = spec
        .webhooks
        .enabled
        .then(|| {
            spec.webhooks
                .public_base_url
                .as_deref()
                .map(|base| subscriptions::webhook_url(base, key))
        })
        .flatten();
    let wanted = if !spec.webhooks.enabled {
        Wanted::None
    } else if !problems.is_empty() {
        Wanted::Blocked("the spec is invalid".into())
    } else if !check.missing.is_empty() {
        Wanted::Blocked("credentials are missing".into())
    } else {
        match (url.clone(), token) {
            (Some(url), Some(token)) => Wanted::At { url, token },
            _ => Wanted::Blocked("no webhook URL or token".into()),
        }
    };
    let webhooks = subscriptions::reconcile(ctx, inst, wanted).await;

    // What the store knows.
    let observed = observe(ctx, key).await;
    // A pooled installation's workers are the pool's.
    let worker_deployment = match (mode, &ctx.config.pool, &ctx.config.config_secret) {
        (WorkerMode::Pool, Some(pool), Some(target)) => {
            (pool.worker_name(), target.namespace.clone())
        }
        _ => (names.worker.clone(), ns.to_string()),
    };
    let deployment_replicas = ctx
        .caches
        .deployments
        .get(&ObjectRef::new(&worker_deployment.0).within(&worker_deployment.1))
        .and_then(|d| d.status.as_ref().and_then(|s| s.available_replicas))
        .unwrap_or(0);
    let max_age = status::heartbeat_max_age(&intervals(spec));
    let (worker_finding, workers, master_data, locations, store_error) = match &observed {
        Ok(o) => {
            let (finding, mut workers) = status::worker_finding(
                spec.suspend,
                &o.beats,
                deployment_replicas,
                &worker_deployment.0,
                max_age,
                now,
            );
            workers.mode = Some(mode.as_str().to_string());
            workers.holder = o.lease_holder.clone();
            let md = status::master_data_finding(
                o.depots_synced,
                o.identifiers_synced,
                status::MASTER_DATA_MAX_AGE,
                now,
            );
            let locations = status::locations_finding(spec, &o.depots);
            (finding, Some(workers), md, locations, None)
        }
        Err(e) => {
            let unknown = Finding::ok("StoreUnavailable", "not known: the store cannot be read");
            (
                unknown.clone(),
                old.workers.clone(),
                unknown.clone(),
                unknown,
                Some(e.to_string()),
            )
        }
    };
    let findings = Findings {
        invalid_spec: spec_finding,
        credentials_missing: check.finding(),
        worker_unavailable: worker_finding,
        webhook_not_subscribed: webhooks.finding.clone(),
        master_data_stale: master_data,
        location_unmatched: locations,
        suspended: spec.suspend,
        store_error,
    };
    let conditions = status::merge(
        &old.conditions,
        status::conditions(&findings, inst.metadata.generation),
        now,
    );
    let mut new = InstallationStatus {
        observed_generation: inst.metadata.generation,
        conditions,
        webhook_url: url,
        workers,
        webhook_subscriptions: webhooks.recorded.clone(),
        ..old.clone()
    };
    if let Ok(o) = &observed {
        ctx.metrics.set_queue(&key.id(), &o.counts);
        apply_store_view(&mut new, o, old.last_sync_time.as_deref());
    }
    if inst.status.as_ref() != Some(&new) {
        write_status(ctx, inst, &new).await?;
        notify_mappings(ctx, key);
    }

    // Events, for what changed.
    if !changed.is_empty() {
        let list: Vec<String> = changed.iter().map(ToString::to_string).collect();
        ctx.event(
            inst,
            EventType::Normal,
            "ChildrenApplied",
            format!("created or updated {}", list.join(", ")),
        )
        .await;
    }
    if !pruned.is_empty() {
        let list: Vec<String> = pruned.iter().map(ToString::to_string).collect();
        ctx.event(
            inst,
            EventType::Normal,
            "ChildrenPruned",
            if mode == WorkerMode::Pool {
                format!(
                    "deleted {} (the shared worker pool serves it)",
                    list.join(", ")
                )
            } else {
                format!("deleted {} (webhooks are disabled)", list.join(", "))
            },
        )
        .await;
    }
    for (type_, reason) in [
        (status::INVALID_SPEC, "InvalidSpec"),
        (status::CREDENTIALS_MISSING, "CredentialsMissing"),
    ] {
        let now_c = new.conditions.iter().find(|c| c.type_ == type_);
        let before = old.conditions.iter().find(|c| c.type_ == type_);
        if let Some(c) = now_c
            && status::is_true(std::slice::from_ref(c), type_)
            && before.is_none_or(|b| b.status != c.status || b.message != c.message)
        {
            ctx.event(inst, EventType::Warning, reason, c.message.clone())
                .await;
        }
    }
    for (type_, reason, note) in &webhooks.events {
        ctx.event(inst, *type_, reason, note.clone()).await;
    }
    for (what, before, after) in [
        (
            "identifiers",
            &old.last_identifiers_sync,
            &new.last_identifiers_sync,
        ),
        (
            "postal services",
            &old.last_postal_services_sync,
            &new.last_postal_services_sync,
        ),
    ] {
        if let Some(run) = after
            && run.outcome == JobOutcome::Succeeded.as_str()
            && before.as_ref() != Some(run)
        {
            ctx.event(
                inst,
                EventType::Normal,
                "MasterDataSynced",
                format!("{what} master data synced (run started {})", run.time),
            )
            .await;
        }
    }
    if let Some(e) = webhooks.retry {
        return Err(e);
    }
    Ok(Action::requeue(ctx.config.resync_interval))
}

/// Intervals of the worker's loops. While the spec is invalid (its Ready condition says
/// why) the workers keep their last valid schedule, which is not known here; the guide's
/// default schedule stands in for it.
fn intervals(spec: &InstallationSpec) -> Vec<Duration> {
    let times = JobTimes::parse(&spec.schedule.text())
        .or_else(|_| JobTimes::parse(&ScheduleText::DEFAULTS));
    times.map_or_else(
        |_| Vec::new(),
        |t| vec![t.fetch_interval, t.send_interval, t.webhook_interval],
    )
}

/// What the store knows about one installation.
pub struct Observed {
    pub counts: crate::store::QueueCounts,
    pub jobs: Vec<JobOverview>,
    pub beats: Vec<WorkerHeartbeat>,
    pub depots_synced: Option<DateTime<Utc>>,
    pub identifiers_synced: Option<DateTime<Utc>>,
    /// Who holds the installation's lease now (a pool worker, or its dedicated worker).
    pub lease_holder: Option<String>,
    /// The synced Stream depots, to check `spec.locations` against.
    pub depots: Vec<crate::store::Depot>,
}

async fn observe(ctx: &Context, key: &InstallationKey) -> Result<Observed, StoreError> {
    use crate::domain::MasterDataKind;
    let id = key.id();
    let store = &ctx.store;
    let since = Utc::now() - chrono::Duration::days(2);
    let beats = store
        .live_workers(since)
        .await?
        .into_iter()
        .filter(|b| {
            b.installation.as_deref() == Some(id.as_str()) && b.process == env::WORKER_PROCESS
        })
        .collect();
    Ok(Observed {
        counts: store.queue_counts(&id).await?,
        jobs: store.job_overview(&id).await?,
        beats,
        depots_synced: store
            .master_data_synced_at(&id, MasterDataKind::Depots)
            .await?,
        depots: store.depots(&id).await?.items,
        identifiers_synced: store
            .master_data_synced_at(&id, MasterDataKind::Identifiers)
            .await?,
        lease_holder: store.lease(&id).await?.map(|l| l.holder),
    })
}

fn status_run(run: &JobRun) -> LastRun {
    let mut message = run.message.clone();
    if message.len() > 300 {
        let mut cut = 300;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    LastRun {
        time: status::rfc3339(run.started_at),
        outcome: run.outcome.as_str().to_string(),
        message: (!message.is_empty()).then_some(message),
    }
}

/// Copies the store's view into the status: queue counts, the last run of each job, and
/// the last successful fetch or send (kept from before when the newest run failed).
pub fn apply_store_view(
    status: &mut InstallationStatus,
    o: &Observed,
    previous_sync: Option<&str>,
) {
    let c = &o.counts;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    status.queue = Some(QueueStatus {
        pending: n(c.pending),
        in_progress: n(c.in_progress),
        completed: n(c.completed),
        failed: n(c.failed),
        validation_failed: n(c.validation_failed),
        ready_for_retry: n(c.ready_for_retry),
        deleted: n(c.deleted),
    });
    let last = |job: Job| {
        o.jobs
            .iter()
            .find(|j| j.job == job.name())
            .and_then(|j| j.last_run.as_ref())
    };
    status.last_fetch = last(Job::Fetch).map(status_run);
    status.last_send = last(Job::Send).map(status_run);
    status.last_webhook = last(Job::Webhooks).map(status_run);
    status.last_identifiers_sync = last(Job::Identifiers).map(status_run);
    status.last_postal_services_sync = last(Job::PostalServices).map(status_run);
    let mut newest: Option<DateTime<Utc>> = previous_sync
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    for job in [Job::Fetch, Job::Send] {
        if let Some(run) = last(job)
            && run.outcome == JobOutcome::Succeeded
        {
            let at = run.finished_at.unwrap_or(run.started_at);
            newest = Some(newest.map_or(at, |n| n.max(at)));
        }
    }
    status.last_sync_time = newest.map(status::rfc3339);
}

async fn write_status(
    ctx: &Context,
    inst: &Installation,
    status: &InstallationStatus,
) -> Result<(), Error> {
    let ns = inst
        .namespace()
        .ok_or(Error::MissingMetadata("namespace"))?;
    let api: Api<Installation> = Api::namespaced(ctx.client.clone(), &ns);
    let patch = json!({
        "apiVersion": API_VERSION,
        "kind": "Installation",
        "status": status,
    });
    api.patch_status(
        &inst.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// The mappings of an Installation depend on its existence and master data: look again.
fn notify_mappings(ctx: &Context, key: &InstallationKey) {
    for m in ctx.caches.mappings.state() {
        if m.namespace().as_deref() == Some(key.namespace.as_str())
            && m.spec.installation_ref.name == key.name
        {
            let _ = ctx
                .mapping_triggers
                .send(ObjectRef::new(&m.name_any()).within(&key.namespace));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run(job: Job, minutes_ago: i64, outcome: JobOutcome) -> JobOverview {
        let t = Utc.with_ymd_and_hms(2025, 3, 4, 12, 0, 0).unwrap()
            - chrono::Duration::minutes(minutes_ago);
        JobOverview {
            job: job.name().to_string(),
            last_run: Some(JobRun {
                id: 1,
                installation: "shop/acme".into(),
                job: job.name().to_string(),
                started_at: t,
                finished_at: Some(t + chrono::Duration::seconds(5)),
                outcome,
                message: String::new(),
            }),
            next_run_at: None,
        }
    }

    #[test]
    fn the_store_view_fills_counts_runs_and_the_last_successful_sync() {
        let o = Observed {
            counts: crate::store::QueueCounts {
                pending: 3,
                failed: 1,
                ..Default::default()
            },
            jobs: vec![
                run(Job::Fetch, 10, JobOutcome::Succeeded),
                run(Job::Send, 2, JobOutcome::Failed),
                run(Job::PostalServices, 600, JobOutcome::Succeeded),
            ],
            beats: vec![],
            depots_synced: None,
            identifiers_synced: None,
            lease_holder: None,
            depots: vec![],
        };
        let mut s = InstallationStatus::default();
        apply_store_view(&mut s, &o, None);
        let q = s.queue.as_ref().unwrap();
        assert_eq!((q.pending, q.failed, q.completed), (3, 1, 0));
        assert_eq!(s.last_send.as_ref().unwrap().outcome, "Failed");
        assert_eq!(s.last_identifiers_sync, None);
        assert_eq!(
            s.last_postal_services_sync.as_ref().unwrap().time,
            "2025-03-04T02:00:00Z"
        );
        // The failed send does not count as a sync; the fetch does.
        assert_eq!(s.last_sync_time.as_deref(), Some("2025-03-04T11:50:05Z"));
        // A later sync recorded before stays when the newest runs are older or failed.
        apply_store_view(&mut s, &o, Some("2025-03-04T11:59:00Z"));
        assert_eq!(s.last_sync_time.as_deref(), Some("2025-03-04T11:59:00Z"));
    }
}
