//! Runs each installation's jobs on its schedule: fetch, send and webhook processing at
//! their intervals (send offset after fetch), master data at its cron times in its time
//! zone. Beyond the guide: a fetch that queues orders starts sending at once and keeps
//! sending batches until the queue is drained, so an order reaches Stream seconds after it
//! is fetched; the Stream throttle keeps that within Stream's rate limit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::config::InstallationKey;
use crate::store::JobOutcome;

use super::engine::{Engine, SCHEDULER, correlation_id};
use super::schedule::{Job, JobTimes};

/// How often each installation loop reports that it is alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// Also run the nightly master-data jobs (in Kubernetes CronJobs do this instead).
    pub master_data: bool,
    /// Only these installations (a worker serves one); `None`: every installation.
    pub only: Option<Vec<InstallationKey>>,
    /// Process kind in heartbeats, e.g. "sync-worker" or "run".
    pub process: &'static str,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            master_data: true,
            only: None,
            process: "run",
        }
    }
}

/// Runs until `shutdown` turns true: starts a loop per installation, stops loops of
/// installations that disappear, starts loops for new ones.
pub async fn run_scheduler(
    engine: Engine,
    options: SchedulerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(
        engine.settings().max_installations_per_batch as usize,
    ));
    let mut config = engine.config();
    let mut loops: BTreeMap<InstallationKey, JoinHandle<()>> = BTreeMap::new();
    loop {
        let wanted: Vec<InstallationKey> = config
            .borrow_and_update()
            .installations
            .keys()
            .filter(|k| options.only.as_ref().is_none_or(|only| only.contains(k)))
            .cloned()
            .collect();
        loops.retain(|key, handle| {
            let keep = wanted.contains(key) && !handle.is_finished();
            if !keep {
                handle.abort();
                crate::observe::forget_beat(&key.id());
                tracing::info!(installation = %key, "installation loop stopped");
            }
            keep
        });
        for key in wanted {
            loops.entry(key.clone()).or_insert_with(|| {
                tracing::info!(installation = %key, "installation loop started");
                tokio::spawn(installation_loop(
                    engine.clone(),
                    key,
                    options.clone(),
                    permits.clone(),
                ))
            });
        }
        tokio::select! {
            changed = config.changed() => if changed.is_err() { break },
            _ = shutdown.changed() => {},
        }
        if *shutdown.borrow() {
            break;
        }
    }
    for (_, handle) in loops {
        handle.abort();
    }
}

async fn installation_loop(
    engine: Engine,
    key: InstallationKey,
    options: SchedulerOptions,
    permits: Arc<Semaphore>,
) {
    let installation = key.id();
    let beat_id = format!("{}/{installation}", engine.worker_id());
    let anchor = Utc::now();
    let mut config = engine.config();
    let mut next_beat = tokio::time::Instant::now();
    crate::observe::beat(&installation);
    if options.master_data {
        catch_up_master_data(&engine, &key, &permits).await;
    }
    // Fetch at once rather than one interval after starting: a restarted worker picks up
    // where it left off without waiting.
    if engine
        .installation(&key)
        .is_some_and(|i| !i.spec.suspend && i.spec.sync.order_sync_enabled)
    {
        run_job(&engine, &key, Job::Fetch, &permits).await;
    }
    loop {
        crate::observe::beat(&installation);
        if tokio::time::Instant::now() >= next_beat {
            if let Err(e) = engine
                .store()
                .heartbeat(&beat_id, options.process, Some(&installation))
                .await
            {
                tracing::warn!(installation = %key, "heartbeat failed: {e}");
            }
            next_beat = tokio::time::Instant::now() + HEARTBEAT_INTERVAL;
        }
        let Some(inst) = engine.installation(&key) else {
            return;
        };
        let times = match JobTimes::from_spec(&inst.spec.schedule) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(installation = %key, "schedule is invalid, no jobs run until it is fixed: {e}");
                wait(&mut config, Duration::from_secs(60)).await;
                continue;
            }
        };
        let now = Utc::now();
        let mut jobs: Vec<Job> = Vec::new();
        if !inst.spec.suspend {
            if inst.spec.sync.order_sync_enabled {
                jobs.extend([Job::Fetch, Job::Send]);
            }
            if inst.spec.webhooks.enabled {
                jobs.push(Job::Webhooks);
            }
            if options.master_data {
                jobs.extend([Job::Identifiers, Job::PostalServices]);
            }
        }
        let due: Vec<(Job, chrono::DateTime<Utc>)> = jobs
            .iter()
            .map(|j| (*j, times.next_run(*j, anchor, now)))
            .collect();
        for (job, at) in &due {
            if let Err(e) = engine
                .store()
                .set_next_run(&installation, job.name(), *at)
                .await
            {
                tracing::warn!(installation = %key, job = job.name(), "could not record the next run: {e}");
            }
        }
        let Some(earliest) = due.iter().map(|(_, at)| *at).min() else {
            // Suspended, or nothing enabled: wait for a settings change (and keep beating).
            wait(&mut config, HEARTBEAT_INTERVAL).await;
            continue;
        };
        let until_next = (earliest - Utc::now()).to_std().unwrap_or_default();
        let sleep =
            until_next.min(next_beat.saturating_duration_since(tokio::time::Instant::now()));
        if !sleep.is_zero() && wait(&mut config, sleep).await {
            // Settings changed: recompute the plan with the new settings.
            continue;
        }
        let now = Utc::now();
        for (job, at) in due {
            if at <= now {
                run_job(&engine, &key, job, &permits).await;
            }
        }
    }
}

/// An installation whose master data was never synced would wait for the first night before
/// orders can be tagged: sync it now instead.
async fn catch_up_master_data(engine: &Engine, key: &InstallationKey, permits: &Semaphore) {
    use crate::store::MasterDataKind;
    let installation = key.id();
    for (job, kind) in [
        (Job::Identifiers, MasterDataKind::Identifiers),
        (Job::PostalServices, MasterDataKind::Depots),
    ] {
        match engine
            .store()
            .master_data_synced_at(&installation, kind)
            .await
        {
            Ok(None) => {
                tracing::info!(installation = %key, job = job.name(), "master data never synced: syncing now");
                run_job(engine, key, job, permits).await;
            }
            Ok(Some(_)) => {}
            Err(e) => tracing::warn!(installation = %key, "could not read master data state: {e}"),
        }
    }
}

/// Waits for `timeout` or a settings change; true when the settings changed.
async fn wait(config: &mut crate::config::SnapshotReceiver, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, config.changed()).await,
        Ok(Ok(()))
    )
}

/// Runs one job (waiting for a MaxInstallationsPerBatch permit), records the run, and after
/// a fetch that queued orders, sends them at once.
pub async fn run_job(engine: &Engine, key: &InstallationKey, job: Job, permits: &Semaphore) {
    let Ok(_permit) = permits.acquire().await else {
        return;
    };
    let correlation = correlation_id();
    let queued = run_recorded(engine, key, job, &correlation).await;
    let send_now = engine
        .installation(key)
        .is_some_and(|i| i.spec.schedule.send_after_fetch && i.spec.sync.order_sync_enabled);
    if job == Job::Fetch && queued > 0 && send_now {
        // The sends a fetch starts carry its correlation id, so an order's fetch, send and
        // write-back can be followed by one id in the logs and the audit log.
        drain(engine, key, &correlation).await;
    }
}

/// Sends batch after batch until a batch comes back short (the queue is drained). Two
/// batches are under way at once, so one batch's slowest orders and its write-back calls
/// do not leave the remote idle before the next batch is claimed.
async fn drain(engine: &Engine, key: &InstallationKey, correlation: &str) {
    let batch = engine.settings().max_batch_size_per_installation as usize;
    let lane = || async {
        loop {
            let claimed = run_recorded(engine, key, Job::Send, correlation).await;
            if claimed < batch {
                return;
            }
        }
    };
    // A queue that fits in one batch is sent by one cycle, as before.
    if run_recorded(engine, key, Job::Send, correlation).await < batch {
        return;
    }
    futures::future::join_all((0..DRAIN_LANES).map(|_| lane())).await;
}

/// Batches of one installation sent side by side while draining.
const DRAIN_LANES: usize = 2;

/// Runs a job and records it in job_runs; returns how many orders it queued (fetch) or
/// claimed (send), for the caller's follow-up decisions. Its log lines carry the
/// installation, the job and the correlation id; its remote calls count against the
/// installation.
async fn run_recorded(
    engine: &Engine,
    key: &InstallationKey,
    job: Job,
    correlation: &str,
) -> usize {
    let span = tracing::info_span!(
        "job",
        namespace = %key.namespace,
        installation = %key.name,
        job = job.name(),
        correlation_id = %correlation,
    );
    let work = run_recorded_inner(engine, key, job, correlation);
    crate::observe::in_installation(&key.id(), tracing::Instrument::instrument(work, span)).await
}

async fn run_recorded_inner(
    engine: &Engine,
    key: &InstallationKey,
    job: Job,
    correlation: &str,
) -> usize {
    let installation = key.id();
    let store = engine.store();
    let run = match store.start_job_run(&installation, job.name()).await {
        Ok(run) => Some(run),
        Err(e) => {
            tracing::warn!(installation = %key, job = job.name(), "could not record the job start: {e}");
            None
        }
    };
    let (outcome, message, count) = match job {
        Job::Fetch => match super::fetch::fetch(engine, key, correlation, SCHEDULER).await {
            Ok(s) => (JobOutcome::Succeeded, s.to_string(), s.queued + s.corrected),
            Err(e) => (JobOutcome::Failed, e.to_string(), 0),
        },
        Job::Send => match super::send::send_cycle(engine, key, correlation, SCHEDULER).await {
            Ok(s) if s.is_empty() => (JobOutcome::Succeeded, "nothing to send".to_string(), 0),
            Ok(s) => (JobOutcome::Succeeded, s.to_string(), s.claimed),
            Err(e) => (JobOutcome::Failed, e.to_string(), 0),
        },
        Job::Webhooks | Job::Identifiers | Job::PostalServices => {
            match super::jobs::run_other(engine, key, job, correlation).await {
                Ok(message) => (JobOutcome::Succeeded, message, 0),
                Err(e) => (JobOutcome::Failed, e.to_string(), 0),
            }
        }
    };
    crate::observe::metrics::job_run(&installation, job.name(), outcome == JobOutcome::Succeeded);
    match outcome {
        JobOutcome::Failed => {
            tracing::warn!(installation = %key, job = job.name(), correlation, "{message}")
        }
        _ => tracing::info!(installation = %key, job = job.name(), correlation, "{message}"),
    }
    if let Some(run) = run
        && let Err(e) = store.finish_job_run(run.id, outcome, &message).await
    {
        tracing::warn!(installation = %key, job = job.name(), "could not record the job end: {e}");
    }
    count
}
