//! The shared worker pool (docs/pool.md): a pooled worker process holds some of the pooled
//! installations through leases in the store and runs each one's scheduler while it holds
//! its lease. Every member beats in the store; each aims at its fair share
//! (`ceil(pooled / live members)`), taking free or expired leases when below it and giving
//! back the surplus (after its scheduler stopped in order) when above it. So leases spread
//! evenly, move to a joining worker, and a dead worker's installations are taken over once
//! its leases expire: within one lease period plus one tick.
//!
//! Fencing: a worker works on an installation only while its lease renews; a lease that
//! could not be renewed stops that installation's scheduler (in order: claims handed back)
//! before anyone else can take it, and the dedicated `linnstream worker` takes the same
//! lease, so the two modes never run one installation at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::engine::Engine;
use super::permits::Permits;
use super::scheduler::{SchedulerOptions, run_scheduler};
use crate::config::{Snapshot, SnapshotReceiver};
use crate::crd::installation::WorkerMode;
use crate::domain::InstallationKey;
use crate::settings::SystemSettings;
use crate::store::{Store, StoreError};

/// The `process` of a pool member's own heartbeat (its `worker_id` is the member id, its
/// installation none); members count each other by it.
pub const POOL_MEMBER_PROCESS: &str = "pool-worker";

#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// This member's id in leases and heartbeats: unique among live members (the pod name).
    pub member_id: String,
    /// How long a lease lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// The `process` of the installation loops' heartbeats (what the operator counts as an
    /// installation's live workers).
    pub loop_process: &'static str,
}

/// The installations the pool serves: those whose settings say `workers.mode: Pool` (the
/// operator writes the effective mode into the config Secret).
pub fn pooled(snapshot: &Snapshot) -> BTreeSet<InstallationKey> {
    snapshot
        .installations
        .iter()
        .filter(|(_, i)| i.spec.worker_mode(WorkerMode::Dedicated) == WorkerMode::Pool)
        .map(|(k, _)| k.clone())
        .collect()
}

/// `ceil(pooled / members)`: the most any member should hold.
pub fn fair_share(pooled: usize, members: usize) -> usize {
    pooled.div_ceil(members.max(1))
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What one member does, until `shutdown` turns true: then every scheduler stops in order
/// and every lease is given back.
pub async fn run_pool(
    store: Store,
    settings: SystemSettings,
    config: SnapshotReceiver,
    options: PoolOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let member = options.member_id.clone();
    let permits = Arc::new(
        Permits::pool_wide(
            store.clone(),
            member.clone(),
            settings.max_installations_per_batch,
            options.lease,
        )
        .await?,
    );
    // The member's own engine runs the daily prune (one per pool gets it each day).
    let own = Engine::new(store.clone(), settings.clone(), config.clone());
    let prune = tokio::spawn(super::scheduler::prune_loop(own.clone()));
    let tick = options.lease / 3;
    let mut running: BTreeMap<InstallationKey, Running> = BTreeMap::new();
    // Stopping in order; their leases are given back once they have stopped.
    let mut stopping: BTreeMap<InstallationKey, JoinHandle<()>> = BTreeMap::new();
    let mut last_renewed = Instant::now();
    let mut first = true;
    let mut config_rx = config.clone();
    tracing::info!(member = %member, lease_seconds = options.lease.as_secs_f64(), "pool worker started");
    loop {
        if let Err(e) = store.heartbeat(&member, POOL_MEMBER_PROCESS, None).await {
            tracing::warn!("pool heartbeat failed: {e}");
        }
        if let Err(e) = store.renew_batch_permits(&member, options.lease).await {
            tracing::warn!("renewing MaxInstallationsPerBatch permits failed: {e}");
        }
        // Leases of schedulers that finished stopping go back now.
        let done: Vec<InstallationKey> = stopping
            .iter()
            .filter(|(_, t)| t.is_finished())
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            stopping.remove(&key);
            if let Err(e) = store.release_lease(&key.id(), &member).await {
                tracing::warn!(installation = %key, "giving back the lease failed (it expires): {e}");
            }
            tracing::info!(installation = %key, "lease given back");
        }
        // Renew; what is no longer held stops.
        match store.renew_leases(&member, options.lease).await {
            Ok(held) => {
                last_renewed = Instant::now();
                let held: BTreeSet<String> = held.into_iter().collect();
                let lost: Vec<InstallationKey> = running
                    .keys()
                    .filter(|k| !held.contains(&k.id()))
                    .cloned()
                    .collect();
                for key in lost {
                    tracing::warn!(installation = %key, "lease lost: stopping its scheduler");
                    begin_stop(&mut running, &mut stopping, &key);
                }
            }
            Err(e) => {
                tracing::warn!("renewing leases failed: {e}");
                // Before the leases can expire, stop working on them: another member may
                // take them over.
                if last_renewed.elapsed() >= options.lease * 2 / 3 {
                    let all: Vec<InstallationKey> = running.keys().cloned().collect();
                    for key in all {
                        tracing::warn!(installation = %key, "leases not renewed: stopping");
                        begin_stop(&mut running, &mut stopping, &key);
                    }
                }
            }
        }
        let wanted = pooled(&config.borrow());
        let gone: Vec<InstallationKey> = running
            .keys()
            .filter(|k| !wanted.contains(k))
            .cloned()
            .collect();
        for key in gone {
            tracing::info!(installation = %key, "no longer pooled: stopping its scheduler");
            begin_stop(&mut running, &mut stopping, &key);
        }
        // The first round only announces this member, so members starting together do
        // not each grab everything first.
        if !first {
            let since = chrono::Utc::now() - crate::store::chrono_duration(options.lease);
            match store.live_workers(since).await {
                Ok(beats) => {
                    let members = beats
                        .iter()
                        .filter(|b| b.process == POOL_MEMBER_PROCESS)
                        .count();
                    let share = fair_share(wanted.len(), members);
                    let holding = running.len() + stopping.len();
                    if running.len() > share {
                        let surplus: Vec<InstallationKey> = running
                            .keys()
                            .rev()
                            .take(running.len() - share)
                            .cloned()
                            .collect();
                        for key in surplus {
                            tracing::info!(installation = %key, share, members, "rebalancing: handing the installation over");
                            begin_stop(&mut running, &mut stopping, &key);
                        }
                    } else if holding < share {
                        let acquired = acquire_up_to(
                            &store,
                            &options,
                            &wanted,
                            &running,
                            &stopping,
                            share - holding,
                        )
                        .await;
                        for key in acquired {
                            let task = start(&store, &settings, &config, &options, &permits, &key);
                            running.insert(key, task);
                        }
                    }
                }
                Err(e) => tracing::warn!("reading the pool's members failed: {e}"),
            }
        }
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = config_rx.changed() => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    // In order: every scheduler stops (claims handed back), then the leases go back.
    let keys: Vec<InstallationKey> = running.keys().cloned().collect();
    for key in keys {
        begin_stop(&mut running, &mut stopping, &key);
    }
    futures::future::join_all(stopping.values_mut()).await;
    for key in stopping.keys() {
        let _ = store.release_lease(&key.id(), &member).await;
    }
    own.stop().begin();
    let _ = prune.await;
    let _ = store.remove_worker(&member).await;
    tracing::info!(member = %member, "pool worker stopped; leases given back");
    Ok(())
}

fn begin_stop(
    running: &mut BTreeMap<InstallationKey, Running>,
    stopping: &mut BTreeMap<InstallationKey, JoinHandle<()>>,
    key: &InstallationKey,
) {
    if let Some(r) = running.remove(key) {
        let _ = r.stop.send(true);
        stopping.insert(key.clone(), r.task);
    }
}

/// Takes up to `n` free or expired leases of pooled installations this member does not
/// hold, in random order (so members starting together do not all race for the same).
async fn acquire_up_to(
    store: &Store,
    options: &PoolOptions,
    wanted: &BTreeSet<InstallationKey>,
    running: &BTreeMap<InstallationKey, Running>,
    stopping: &BTreeMap<InstallationKey, JoinHandle<()>>,
    n: usize,
) -> Vec<InstallationKey> {
    let now = chrono::Utc::now();
    let held_elsewhere: BTreeSet<String> = match store.leases().await {
        Ok(leases) => leases
            .into_iter()
            .filter(|l| l.expires_at >= now)
            .map(|l| l.installation)
            .collect(),
        Err(e) => {
            tracing::warn!("reading the leases failed: {e}");
            return Vec::new();
        }
    };
    let mut candidates: Vec<&InstallationKey> = wanted
        .iter()
        .filter(|k| !running.contains_key(*k) && !stopping.contains_key(*k))
        .filter(|k| !held_elsewhere.contains(&k.id()))
        .collect();
    candidates.shuffle(&mut rand::rng());
    let mut acquired = Vec::new();
    for key in candidates {
        if acquired.len() >= n {
            break;
        }
        match store
            .acquire_lease(&key.id(), &options.member_id, options.lease)
            .await
        {
            Ok(true) => acquired.push(key.clone()),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(installation = %key, "taking the lease failed: {e}");
                break;
            }
        }
    }
    acquired
}

fn start(
    store: &Store,
    settings: &SystemSettings,
    config: &SnapshotReceiver,
    options: &PoolOptions,
    permits: &Arc<Permits>,
    key: &InstallationKey,
) -> Running {
    tracing::info!(installation = %key, member = %options.member_id, "lease taken: starting its scheduler");
    let engine = Engine::new(store.clone(), settings.clone(), config.clone());
    let (stop, stopped) = watch::channel(false);
    let scheduler = SchedulerOptions {
        // No CronJobs for pooled installations: the pool runs their master data.
        master_data: true,
        only: Some(vec![key.clone()]),
        process: options.loop_process,
        prune: false,
        permits: Some(permits.clone()),
    };
    let task = tokio::spawn(run_scheduler(engine, scheduler, stopped));
    Running { stop, task }
}

/// Takes the lease of one installation for a dedicated worker, waiting while another holds
/// it (a pool member handing it over, or a dedicated worker of an earlier rollout), then
/// keeps it renewed. The returned receiver turns true if the lease is lost (the caller
/// stops working); dropping the returned guard stops the renewals, and
/// [`DedicatedLease::release`] gives the lease back.
pub struct DedicatedLease {
    store: Store,
    installation: String,
    holder: String,
    renew: JoinHandle<()>,
    pub lost: watch::Receiver<bool>,
}

impl DedicatedLease {
    pub async fn acquire(
        store: Store,
        key: &InstallationKey,
        holder: &str,
        lease: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> Option<Self> {
        let installation = key.id();
        let mut waiting_said = false;
        loop {
            match store.acquire_lease(&installation, holder, lease).await {
                Ok(true) => break,
                Ok(false) if !waiting_said => {
                    waiting_said = true;
                    let by = store
                        .lease(&installation)
                        .await
                        .ok()
                        .flatten()
                        .map(|l| l.holder)
                        .unwrap_or_default();
                    tracing::info!(installation = %key, holder = %by, "another worker holds the installation: waiting for its lease");
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(installation = %key, "taking the lease failed: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.wait_for(|s| *s) => return None,
            }
        }
        tracing::info!(installation = %key, "lease taken");
        let (lost_tx, lost) = watch::channel(false);
        let renew = tokio::spawn({
            let (store, holder, key) = (store.clone(), holder.to_string(), key.clone());
            async move {
                let mut last = Instant::now();
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.renew_leases(&holder, lease).await {
                        Ok(held) if held.contains(&key.id()) => last = Instant::now(),
                        Ok(_) => {
                            tracing::warn!(installation = %key, "lease lost: stopping");
                            let _ = lost_tx.send(true);
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(installation = %key, "renewing the lease failed: {e}");
                            if last.elapsed() >= lease * 2 / 3 {
                                let _ = lost_tx.send(true);
                                return;
                            }
                        }
                    }
                }
            }
        });
        Some(Self {
            store,
            installation,
            holder: holder.to_string(),
            renew,
            lost,
        })
    }

    pub async fn release(self) {
        self.renew.abort();
        if let Err(e) = self
            .store
            .release_lease(&self.installation, &self.holder)
            .await
        {
            tracing::warn!("giving back the lease failed (it expires): {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fair_share_covers_every_installation() {
        assert_eq!(fair_share(50, 3), 17);
        assert_eq!(fair_share(50, 2), 25);
        assert_eq!(fair_share(0, 3), 0);
        assert_eq!(fair_share(5, 0), 5);
        for (p, m) in [(1000, 4), (7, 3), (1, 5)] {
            assert!(fair_share(p, m) * m >= p);
        }
    }
}
