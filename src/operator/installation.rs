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
use super::status::{self, ConditionFinding, ConditionFindings};
use super::subscriptions::{self, Wanted};
use crate::crd::common::{Problem, describe};
use crate::crd::installation::WorkerMode;
use crate::crd::installation::{InstallationStatus, LastRun, QueueStatus, WorkerStatus};
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

/// One pass over a live Installation: what every step reads.
struct Pass<'a> {
    ctx: &'a Context,
    inst: &'a Installation,
    key: &'a InstallationKey,
    names: ChildNames,
    mode: WorkerMode,
    now: DateTime<Utc>,
    old: InstallationStatus,
}

/// What building and applying the children did.
#[derive(Default)]
struct Applied {
    /// The webhook token the children carry, when webhooks are on.
    token: Option<WebhookToken>,
    changed: Vec<ChildRef>,
    pruned: Vec<ChildRef>,
}

/// What the store's view says of the Installation, as conditions and status parts.
struct StoreFindings {
    worker: ConditionFinding,
    workers: Option<WorkerStatus>,
    master_data: ConditionFinding,
    locations: ConditionFinding,
    error: Option<String>,
}

async fn reconcile_live(
    inst: &Installation,
    ctx: &Context,
    key: &InstallationKey,
) -> Result<Action, Error> {
    let pass = Pass {
        ctx,
        inst,
        key,
        names: ChildNames::of(&key.name),
        mode: inst
            .spec
            .worker_mode(ctx.config.children.default_worker_mode),
        now: Utc::now(),
        old: inst.status.clone().unwrap_or_default(),
    };
    let mut problems = pass.validate();
    let check = pass.check_secrets().await?;
    // The children are left as they are while the spec is invalid: they keep the last valid
    // settings running.
    let mut applied = Applied::default();
    if problems.is_empty() {
        match pass.build_and_apply(&check).await? {
            Ok(a) => applied = a,
            Err(problem) => problems.push(problem),
        }
    }
    let url = public_webhook_url(&inst.spec, key);
    let wanted = wanted_subscriptions(
        &inst.spec,
        &problems,
        &check,
        url.clone(),
        applied.token.take(),
    );
    let webhooks = subscriptions::reconcile(ctx, inst, wanted).await;
    let observed = observe(ctx, key).await;
    let store = pass.store_findings(&observed);
    let findings = ConditionFindings {
        invalid_spec: spec_finding(&problems),
        credentials_missing: check.finding(),
        worker_unavailable: store.worker,
        webhook_not_subscribed: webhooks.finding.clone(),
        master_data_stale: store.master_data,
        location_unmatched: store.locations,
        suspended: inst.spec.suspend,
        store_error: store.error,
    };
    let new = pass.next_status(&findings, &observed, url, store.workers, &webhooks);
    pass.record_queue(&observed);
    pass.update_status(&new).await?;
    pass.publish_events(&applied, &new, &webhooks.events).await;
    match webhooks.retry {
        Some(e) => Err(e),
        None => Ok(Action::requeue(ctx.config.resync_interval)),
    }
}

/// The spec's problems the schema cannot express.
fn spec_finding(problems: &[Problem]) -> ConditionFinding {
    if problems.is_empty() {
        ConditionFinding::ok("Valid", "the spec follows every rule")
    } else {
        ConditionFinding::problem("ValidationFailed", describe(problems))
    }
}

/// Where Stream is to deliver the webhooks, when they are enabled.
fn public_webhook_url(spec: &InstallationSpec, key: &InstallationKey) -> Option<String> {
    spec.webhooks
        .enabled
        .then(|| {
            spec.webhooks
                .public_base_url
                .as_deref()
                .map(|base| crate::domain::webhook::webhook_url(base, key))
        })
        .flatten()
}

/// What the Stream webhook subscriptions should be after this pass.
fn wanted_subscriptions(
    spec: &InstallationSpec,
    problems: &[Problem],
    check: &secrets::Check,
    url: Option<String>,
    token: Option<WebhookToken>,
) -> Wanted {
    if !spec.webhooks.enabled {
        Wanted::None
    } else if !problems.is_empty() {
        Wanted::Blocked("the spec is invalid".into())
    } else if !check.missing.is_empty() {
        Wanted::Blocked("credentials are missing".into())
    } else {
        match (url, token) {
            (Some(url), Some(token)) => Wanted::At { url, token },
            _ => Wanted::Blocked("no webhook URL or token".into()),
        }
    }
}

impl Pass<'_> {
    fn ns(&self) -> &str {
        self.key.namespace.as_str()
    }

    /// The spec, by the rules the schema cannot express.
    fn validate(&self) -> Vec<Problem> {
        let mut problems: Vec<Problem> = validate_installation(&self.inst.spec);
        if self.mode == WorkerMode::Pool && self.ctx.config.pool.is_none() {
            problems.push(Problem::new(
                "spec.workers.mode",
                "Pool: this operator runs no shared worker pool (the chart's pool.enabled, \
                 operator --pool-enabled); use Dedicated or enable the pool",
            ));
        }
        problems
    }

    /// The Secrets its processes read.
    async fn check_secrets(&self) -> Result<secrets::Check, Error> {
        let references =
            secrets::references(&self.inst.spec, &self.ctx.config.children.database_url);
        Ok(self.ctx.secrets.check(self.ns(), &references).await?)
    }

    /// Builds the children with the pure builders and applies them; the spec's problem when
    /// the builders refuse it.
    async fn build_and_apply(
        &self,
        check: &secrets::Check,
    ) -> Result<Result<Applied, Problem>, Error> {
        let ctx = self.ctx;
        let existing = if self.inst.spec.webhooks.enabled {
            ctx.secrets
                .auth_secret(self.ns(), &self.names.webhook_auth)
                .await?
        } else {
            None
        };
        let built = build::build(&BuildInput {
            installation: self.inst,
            secret_versions: &check.versions,
            settings: &ctx.config.children,
            existing_webhook_auth: existing.as_ref(),
            cron_job_api: ctx.cron_job_api,
            now: self.now,
        });
        let children = match built {
            Ok(children) => children,
            Err(BuildError::InvalidSpec { path, message }) => {
                return Ok(Err(Problem::new(path, message)));
            }
            Err(e) => return Err(e.into()),
        };
        let token = children
            .webhooks
            .as_ref()
            .and_then(|w| WebhookToken::from_secret(&w.auth_secret));
        let (changed, pruned) = self.apply(&children).await?;
        Ok(Ok(Applied {
            token,
            changed,
            pruned,
        }))
    }

    /// Applies the children and prunes those the mode or the spec no longer wants; returns
    /// (changed, pruned).
    async fn apply(
        &self,
        children: &build::Children,
    ) -> Result<(Vec<ChildRef>, Vec<ChildRef>), Error> {
        let (ctx, ns) = (self.ctx, self.ns());
        if self.mode == WorkerMode::Pool {
            // The dedicated worker goes first (its pod hands the installation's lease back
            // as it stops); the pool takes the lease when it is free.
            let dedicated = dedicated_children(ns, &self.names, ctx.cron_job_api);
            let pruned = ctx.applier.prune(&dedicated, &ctx.caches).await?;
            let changed = ctx
                .applier
                .apply(ns, &children.pooled_json()?, &ctx.caches)
                .await?;
            return Ok((changed, pruned));
        }
        let changed = ctx
            .applier
            .apply(ns, &children.to_json()?, &ctx.caches)
            .await?;
        let pruned = if children.webhooks.is_none() {
            ctx.applier
                .prune(&webhook_children(ns, &self.names), &ctx.caches)
                .await?
        } else {
            Vec::new()
        };
        Ok((changed, pruned))
    }

    /// The worker Deployment whose replicas count: a pooled installation's workers are the
    /// pool's. (name, namespace)
    fn worker_deployment(&self) -> (String, String) {
        let config = &self.ctx.config;
        match (self.mode, &config.pool, &config.config_secret) {
            (WorkerMode::Pool, Some(pool), Some(target)) => {
                (pool.worker_name(), target.namespace.clone())
            }
            _ => (self.names.worker.clone(), self.ns().to_string()),
        }
    }

    /// The conditions and worker status that come from the store (unknown when it cannot be
    /// read).
    fn store_findings(&self, observed: &Result<Observed, StoreError>) -> StoreFindings {
        let o = match observed {
            Ok(o) => o,
            Err(e) => {
                let unknown =
                    ConditionFinding::ok("StoreUnavailable", "not known: the store cannot be read");
                return StoreFindings {
                    worker: unknown.clone(),
                    workers: self.old.workers.clone(),
                    master_data: unknown.clone(),
                    locations: unknown,
                    error: Some(e.to_string()),
                };
            }
        };
        let spec = &self.inst.spec;
        let (deployment, deployment_ns) = self.worker_deployment();
        let replicas = self
            .ctx
            .caches
            .deployments
            .get(&ObjectRef::new(&deployment).within(&deployment_ns))
            .and_then(|d| d.status.as_ref().and_then(|s| s.available_replicas))
            .unwrap_or(0);
        let max_age = status::heartbeat_max_age(&intervals(spec));
        let (worker, mut workers) = status::worker_finding(
            spec.suspend,
            &o.beats,
            replicas,
            &deployment,
            max_age,
            self.now,
        );
        workers.mode = Some(self.mode.as_str().to_string());
        workers.holder = o.lease_holder.clone();
        StoreFindings {
            worker,
            workers: Some(workers),
            master_data: status::master_data_finding(
                o.depots_synced,
                o.identifiers_synced,
                status::MASTER_DATA_MAX_AGE,
                self.now,
            ),
            locations: status::locations_finding(spec, &o.depots),
            error: None,
        }
    }

    /// The status this pass found.
    fn next_status(
        &self,
        findings: &ConditionFindings,
        observed: &Result<Observed, StoreError>,
        webhook_url: Option<String>,
        workers: Option<WorkerStatus>,
        webhooks: &subscriptions::Outcome,
    ) -> InstallationStatus {
        let generation = self.inst.metadata.generation;
        let conditions = status::merge(
            &self.old.conditions,
            status::conditions(findings, generation),
            self.now,
        );
        let mut new = InstallationStatus {
            observed_generation: generation,
            conditions,
            webhook_url,
            workers,
            webhook_subscriptions: webhooks.recorded.clone(),
            ..self.old.clone()
        };
        if let Ok(o) = observed {
            apply_store_view(&mut new, o, self.old.last_sync_time.as_deref());
        }
        new
    }

    fn record_queue(&self, observed: &Result<Observed, StoreError>) {
        if let Ok(o) = observed {
            self.ctx.metrics.set_queue(&self.key.id(), &o.counts);
        }
    }

    /// Writes the status when it changed (and lets the mappings look again).
    async fn update_status(&self, new: &InstallationStatus) -> Result<(), Error> {
        if self.inst.status.as_ref() != Some(new) {
            write_status(self.ctx, self.inst, new).await?;
            notify_mappings(self.ctx, self.key);
        }
        Ok(())
    }

    /// Events, for what changed.
    async fn publish_events(
        &self,
        applied: &Applied,
        new: &InstallationStatus,
        webhook_events: &[(EventType, &'static str, String)],
    ) {
        self.children_events(applied).await;
        self.condition_events(new).await;
        for (type_, reason, note) in webhook_events {
            self.ctx
                .event(self.inst, *type_, reason, note.clone())
                .await;
        }
        self.master_data_events(new).await;
    }

    async fn children_events(&self, applied: &Applied) {
        let list = |children: &[ChildRef]| {
            children
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<String>>()
                .join(", ")
        };
        if !applied.changed.is_empty() {
            let note = format!("created or updated {}", list(&applied.changed));
            self.ctx
                .event(self.inst, EventType::Normal, "ChildrenApplied", note)
                .await;
        }
        if !applied.pruned.is_empty() {
            let note = if self.mode == WorkerMode::Pool {
                format!(
                    "deleted {} (the shared worker pool serves it)",
                    list(&applied.pruned)
                )
            } else {
                format!("deleted {} (webhooks are disabled)", list(&applied.pruned))
            };
            self.ctx
                .event(self.inst, EventType::Normal, "ChildrenPruned", note)
                .await;
        }
    }

    /// A warning when the spec turns invalid or credentials go missing (or their message
    /// changes).
    async fn condition_events(&self, new: &InstallationStatus) {
        for (type_, reason) in [
            (status::INVALID_SPEC, "InvalidSpec"),
            (status::CREDENTIALS_MISSING, "CredentialsMissing"),
        ] {
            let now_c = new.conditions.iter().find(|c| c.type_ == type_);
            let before = self.old.conditions.iter().find(|c| c.type_ == type_);
            if let Some(c) = now_c
                && status::is_true(std::slice::from_ref(c), type_)
                && before.is_none_or(|b| b.status != c.status || b.message != c.message)
            {
                self.ctx
                    .event(self.inst, EventType::Warning, reason, c.message.clone())
                    .await;
            }
        }
    }

    async fn master_data_events(&self, new: &InstallationStatus) {
        let old = &self.old;
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
                let note = format!("{what} master data synced (run started {})", run.time);
                self.ctx
                    .event(self.inst, EventType::Normal, "MasterDataSynced", note)
                    .await;
            }
        }
    }
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
