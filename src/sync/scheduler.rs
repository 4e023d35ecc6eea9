//! Runs each installation's jobs on its schedule: fetch, send and webhook processing at
//! their intervals (send offset after fetch), master data at its cron times in its time
//! zone. Beyond the guide: a fetch that queues orders starts sending at once and keeps
//! sending batches until the queue is drained, so an order reaches Stream seconds after it
//! is fetched; the Stream throttle keeps that within Stream's rate limit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::InstallationKey;
use crate::domain::JobOutcome;
use crate::store::{Wakeup, Work};

use super::engine::Engine;
use super::permits::Permits;
use super::run_context::{RunContext, SCHEDULER};
use crate::domain::job::{DATABASE_WIDE, Job, PRUNE_PERIOD};

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
    /// Also run the daily prune (a pooled worker runs one scheduler per installation, and
    /// only its first runs the prune).
    pub prune: bool,
    /// MaxInstallationsPerBatch shared with other schedulers (the pool's, pool-wide);
    /// `None`: this scheduler's own, of that size.
    pub permits: Option<Arc<Permits>>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            master_data: true,
            only: None,
            process: "run",
            prune: true,
            permits: None,
        }
    }
}

/// Runs until `shutdown` turns true: starts a loop per installation, stops loops of
/// installations that disappear, starts loops for new ones; runs the daily prune. Then
/// stops in order: no new claims or jobs, the jobs under way get the shutdown grace period
/// to finish, and the claims still held are handed back to the queue.
pub async fn run_scheduler(
    engine: Engine,
    options: SchedulerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = options.permits.clone().unwrap_or_else(|| {
        Arc::new(Permits::local(
            engine.settings().max_installations_per_batch as usize,
        ))
    });
    let mut config = engine.config();
    let mut loops: BTreeMap<InstallationKey, JoinHandle<()>> = BTreeMap::new();
    let prune = if options.prune {
        tokio::spawn(prune_loop(engine.clone()))
    } else {
        tokio::spawn(async {})
    };
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
    stop_in_order(&engine, &options, loops, prune).await;
}

/// Stops the scheduler's tasks within the shutdown grace period and hands back the claims
/// they could not finish.
async fn stop_in_order(
    engine: &Engine,
    options: &SchedulerOptions,
    loops: BTreeMap<InstallationKey, JoinHandle<()>>,
    prune: JoinHandle<()>,
) {
    engine.stop().begin();
    let grace = engine.settings().shutdown_grace();
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "stopping: no new claims; finishing the sends under way"
    );
    let mut handles: Vec<(String, JoinHandle<()>)> = loops
        .into_iter()
        .map(|(key, handle)| (key.id(), handle))
        .collect();
    handles.push((String::new(), prune));
    let deadline = tokio::time::Instant::now() + grace;
    for (_, handle) in &mut handles {
        if tokio::time::timeout_at(deadline, &mut *handle)
            .await
            .is_err()
        {
            handle.abort();
            // Until it is gone: nothing may call Stream once the claims are handed back.
            let _ = (&mut *handle).await;
        }
    }
    engine.hand_back_claims().await;
    // An orderly stop: these loops are no longer alive, say so at once.
    for (installation, _) in handles.iter().filter(|(i, _)| !i.is_empty()) {
        let beat = format!("{}/{installation}", engine.worker_id());
        if let Err(e) = engine.store().remove_worker(&beat).await {
            tracing::warn!(
                process = options.process,
                "could not remove the heartbeat {beat}: {e}"
            );
        }
    }
}

/// How often a scheduler checks whether the daily prune is due.
const PRUNE_CHECK_EVERY: Duration = Duration::from_secs(600);

/// Runs the prune job when it is due (first at start, then daily). Every scheduler runs
/// this loop; the store hands each day's run to one of them.
pub(crate) async fn prune_loop(engine: Engine) {
    loop {
        if engine.stop().is_stopping() {
            return;
        }
        prune_if_due(&engine).await;
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_CHECK_EVERY) => {}
            _ = engine.stop().stopping() => return,
        }
    }
}

/// Runs the prune once if this process gets the day's run; records it like any job run.
async fn prune_if_due(engine: &Engine) {
    let store = engine.store();
    let job = Job::Prune;
    let now = Utc::now();
    let next = now + chrono::Duration::from_std(PRUNE_PERIOD).unwrap_or_default();
    match store
        .take_due_run(DATABASE_WIDE, job.name(), now, next)
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(
                job = job.name(),
                "could not check whether the prune is due: {e}"
            );
            return;
        }
    }
    let run = store.start_job_run(DATABASE_WIDE, job.name()).await;
    let days = engine.settings().audit_retention_days;
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let (outcome, message) = match store.prune_history(cutoff).await {
        Ok(report) => (
            JobOutcome::Succeeded,
            format!("older than {days} days: {report}"),
        ),
        Err(e) => (JobOutcome::Failed, format!("pruning failed: {e}")),
    };
    match outcome {
        JobOutcome::Failed => tracing::warn!(job = job.name(), "{message}"),
        _ => tracing::info!(job = job.name(), "{message}"),
    }
    match run {
        Ok(run) => {
            if let Err(e) = store.finish_job_run(run.id, outcome, &message).await {
                tracing::warn!(job = job.name(), "could not record the job end: {e}");
            }
        }
        Err(e) => tracing::warn!(job = job.name(), "could not record the job start: {e}"),
    }
}

async fn installation_loop(
    engine: Engine,
    key: InstallationKey,
    options: SchedulerOptions,
    permits: Arc<Permits>,
) {
    let installation = key.id();
    let beat_id = format!("{}/{installation}", engine.worker_id());
    let anchor = Utc::now();
    let mut config = engine.config();
    let mut next_beat = tokio::time::Instant::now();
    // Stored work wakes the loop at once; the intervals stay as the fallback.
    let mut wakeups = Woken {
        webhooks: engine.store().wakeup(&installation, Work::Webhooks).await,
        send: engine.store().wakeup(&installation, Work::Send).await,
    };
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
        if engine.stop().is_stopping() {
            return;
        }
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
        let times = inst.times.clone();
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
            wait(&engine, &mut config, HEARTBEAT_INTERVAL).await;
            continue;
        };
        let until_next = (earliest - Utc::now()).to_std().unwrap_or_default();
        let sleep =
            until_next.min(next_beat.saturating_duration_since(tokio::time::Instant::now()));
        if !sleep.is_zero() && wait_or_wake(&engine, &mut config, sleep, &mut wakeups).await {
            // Settings changed: recompute the plan with the new settings.
            continue;
        }
        let now = Utc::now();
        let woken_webhooks = wakeups.webhooks.take();
        let woken_send = wakeups.send.take();
        for (job, at) in due {
            let woken = match job {
                Job::Webhooks => woken_webhooks,
                Job::Send => woken_send,
                _ => false,
            };
            if at <= now || woken {
                run_job(&engine, &key, job, &permits).await;
            }
        }
    }
}

/// An installation whose master data was never synced would wait for the first night before
/// orders can be tagged: sync it now instead.
async fn catch_up_master_data(engine: &Engine, key: &InstallationKey, permits: &Permits) {
    use crate::domain::MasterDataKind;
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

/// An installation loop's wake-up signals.
struct Woken {
    webhooks: Wakeup,
    send: Wakeup,
}

/// As [`wait`], and also returns (false: nothing changed, run what is due or woken) when
/// work is signalled for the installation.
async fn wait_or_wake(
    engine: &Engine,
    config: &mut crate::config::SnapshotReceiver,
    timeout: Duration,
    wakeups: &mut Woken,
) -> bool {
    tokio::select! {
        changed = wait(engine, config, timeout) => changed,
        _ = wakeups.webhooks.woken() => false,
        _ = wakeups.send.woken() => false,
    }
}

/// Waits for `timeout`, a settings change or the process stopping; true unless the
/// timeout passed (the caller looks again before running anything).
async fn wait(
    engine: &Engine,
    config: &mut crate::config::SnapshotReceiver,
    timeout: Duration,
) -> bool {
    tokio::select! {
        changed = tokio::time::timeout(timeout, config.changed()) => matches!(changed, Ok(Ok(()))),
        _ = engine.stop().stopping() => true,
    }
}

/// Runs one job (waiting for a MaxInstallationsPerBatch permit), records the run, and after
/// a fetch that queued orders, sends them at once.
pub async fn run_job(engine: &Engine, key: &InstallationKey, job: Job, permits: &Permits) {
    // A stopping process starts nothing new.
    if engine.stop().is_stopping() {
        return;
    }
    let run = RunContext::start(engine, key, SCHEDULER);
    if job == Job::Webhooks {
        // A webhook cycle takes a permit per batch: a long backlog must not hold one for the
        // whole cycle while other installations' events wait.
        run_recorded(&run, job, permits).await;
        return;
    }
    let Some(_permit) = permits.acquire().await else {
        return;
    };
    // Waiting for a permit may take a while: a process that began stopping meanwhile starts
    // nothing new.
    if engine.stop().is_stopping() {
        return;
    }
    let queued = run_recorded(&run, job, permits).await;
    let send_now = engine
        .installation(key)
        .is_some_and(|i| i.spec.schedule.send_after_fetch && i.spec.sync.order_sync_enabled);
    if job == Job::Fetch && queued > 0 && send_now {
        // The sends a fetch starts carry its correlation id, so an order's fetch, send and
        // write-back can be followed by one id in the logs and the audit log.
        drain(&run, permits).await;
    }
}

/// Sends batch after batch until a batch comes back short (the queue is drained). Two
/// batches are under way at once, so one batch's slowest orders and its write-back calls
/// do not leave the remote idle before the next batch is claimed.
async fn drain(run: &RunContext, permits: &Permits) {
    let batch = run.engine().settings().max_batch_size_per_installation as usize;
    let lane = || async {
        loop {
            let claimed = run_recorded(run, Job::Send, permits).await;
            if claimed < batch {
                return;
            }
        }
    };
    // A queue that fits in one batch is sent by one cycle, as before.
    if run_recorded(run, Job::Send, permits).await < batch {
        return;
    }
    futures::future::join_all((0..DRAIN_LANES).map(|_| lane())).await;
}

/// Batches of one installation sent side by side while draining.
const DRAIN_LANES: usize = 2;

/// Runs a job and records it in job_runs; returns how many orders it queued (fetch) or
/// claimed (send), for the caller's follow-up decisions. `permits` are only taken by the
/// webhook cycle (per batch); the caller holds one for the other jobs. Its log lines carry the
/// installation, the job and the correlation id; its remote calls count against the
/// installation.
async fn run_recorded(run: &RunContext, job: Job, permits: &Permits) -> usize {
    let key = run.key();
    let span = tracing::info_span!(
        "job",
        namespace = %key.namespace,
        installation = %key.name,
        job = job.name(),
        correlation_id = %run.correlation(),
    );
    let work = run_recorded_inner(run, job, permits);
    crate::observe::in_installation(&key.id(), tracing::Instrument::instrument(work, span)).await
}

async fn run_recorded_inner(run: &RunContext, job: Job, permits: &Permits) -> usize {
    let (key, correlation) = (run.key(), run.correlation());
    let installation = key.id();
    let store = run.engine().store();
    let recorded = match store.start_job_run(&installation, job.name()).await {
        Ok(recorded) => Some(recorded),
        Err(e) => {
            tracing::warn!(installation = %key, job = job.name(), "could not record the job start: {e}");
            None
        }
    };
    let (outcome, message, count) = run_one(run, job, permits).await;
    crate::observe::metrics::job_run(&installation, job.name(), outcome == JobOutcome::Succeeded);
    match outcome {
        JobOutcome::Failed => {
            tracing::warn!(installation = %key, job = job.name(), correlation, "{message}")
        }
        _ => tracing::info!(installation = %key, job = job.name(), correlation, "{message}"),
    }
    if let Some(recorded) = recorded
        && let Err(e) = store.finish_job_run(recorded.id, outcome, &message).await
    {
        tracing::warn!(installation = %key, job = job.name(), "could not record the job end: {e}");
    }
    count
}

/// Runs the job itself: how it ended, its summary line, and how many orders it queued or
/// claimed.
async fn run_one(run: &RunContext, job: Job, permits: &Permits) -> (JobOutcome, String, usize) {
    match job {
        Job::Fetch => match super::fetch::fetch(run).await {
            Ok(s) => (JobOutcome::Succeeded, s.to_string(), s.queued + s.corrected),
            Err(e) => (JobOutcome::Failed, e.to_string(), 0),
        },
        Job::Send => match super::send::send_cycle(run).await {
            Ok(s) if s.is_empty() && s.paused_until.is_none() => {
                (JobOutcome::Succeeded, "nothing to send".to_string(), 0)
            }
            // Orders put back in the queue (Stream unavailable) must not keep a drain going.
            Ok(s) => (
                JobOutcome::Succeeded,
                s.to_string(),
                s.claimed.saturating_sub(s.deferred),
            ),
            Err(e) => (JobOutcome::Failed, e.to_string(), 0),
        },
        Job::Webhooks => {
            let budget = webhook_budget(run.engine(), run.key());
            match super::process_webhooks::webhook_cycle(run, permits, budget).await {
                Ok(s) if s.claimed == 0 => (
                    JobOutcome::Succeeded,
                    "no webhook events to process".to_string(),
                    0,
                ),
                Ok(s) => (JobOutcome::Succeeded, s.to_string(), s.claimed),
                Err(e) => (JobOutcome::Failed, e.to_string(), 0),
            }
        }
        Job::Identifiers | Job::PostalServices | Job::Prune => {
            match super::master_data::run_job(run, job).await {
                Ok(message) => (JobOutcome::Succeeded, message, 0),
                Err(e) => (JobOutcome::Failed, e.to_string(), 0),
            }
        }
    }
}

/// How long one webhook cycle may go on draining: most of the installation's webhook
/// interval, so the next cycle starts on its tick and the installation's fetch and send
/// wait at most one interval behind a backlog.
fn webhook_budget(engine: &Engine, key: &InstallationKey) -> Duration {
    engine
        .installation(key)
        .map_or(Duration::ZERO, |i| i.times.webhook_interval.mul_f64(0.9))
}
