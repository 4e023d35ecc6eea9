//! Gauges read from the store rather than counted: queue depth by status, webhook
//! backlog, master data age and the newest scheduler heartbeat, per installation. They
//! say what the database holds, so every process that exports them agrees, and one that
//! restarts exports the truth at once (a counter would start again from zero).

use std::time::Duration;

use tokio::sync::watch;

use crate::domain::{MasterDataKind, OrderStatus};

use crate::observe::metrics::{InstallationLabels, KindLabels, StatusLabels, metrics, split};

use super::Store;

/// How often the gauges are read again: well inside a 30 s scrape interval.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);

/// Refreshes the gauges of the installations `installations` names (ids, `namespace/name`)
/// until `stop` turns true (forever if its sender is dropped).
pub fn spawn(
    store: Store,
    installations: impl Fn() -> Vec<String> + Send + 'static,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let ids = installations();
            if let Err(e) = refresh(&store, &ids).await {
                tracing::debug!("could not refresh the store gauges: {e}");
            }
            // A dropped sender (a process that never stops them) disables the second
            // branch rather than ending the loop.
            tokio::select! {
                _ = tokio::time::sleep(REFRESH_EVERY) => {}
                Ok(_) = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

/// Reads everything first and only then replaces the gauges, so a failed read leaves
/// the last values (and gauges of installations that went away disappear).
pub async fn refresh(store: &Store, installations: &[String]) -> super::StoreResult<()> {
    let mut queue = Vec::new();
    let mut backlog = Vec::new();
    let mut synced = Vec::new();
    let all = store.queue_counts_all().await?;
    let workers = store.workers().await?;
    for id in installations {
        let (namespace, installation) = split(id);
        let counts = all.get(id).cloned().unwrap_or_default();
        for status in OrderStatus::ALL {
            queue.push((
                StatusLabels {
                    namespace: namespace.clone(),
                    installation: installation.clone(),
                    status: status.as_str().to_string(),
                },
                counts.get(*status) as i64,
            ));
        }
        let hooks = store.webhook_counts(id).await?;
        backlog.push((
            InstallationLabels {
                namespace: namespace.clone(),
                installation: installation.clone(),
            },
            (hooks.pending + hooks.ready_for_retry) as i64,
        ));
        for kind in MasterDataKind::ALL {
            if let Some(at) = store.master_data_synced_at(id, *kind).await? {
                synced.push((
                    KindLabels {
                        namespace: namespace.clone(),
                        installation: installation.clone(),
                        kind: kind.as_str().to_string(),
                    },
                    at.timestamp(),
                ));
            }
        }
    }
    let m = metrics();
    m.queue.clear();
    for (labels, n) in queue {
        m.queue.get_or_create(&labels).set(n);
    }
    m.webhook_backlog.clear();
    for (labels, n) in backlog {
        m.webhook_backlog.get_or_create(&labels).set(n);
    }
    m.master_data_synced.clear();
    for (labels, t) in synced {
        m.master_data_synced.get_or_create(&labels).set(t);
    }
    m.worker_heartbeat.clear();
    for w in workers {
        let Some(id) = w.installation.as_deref() else {
            continue;
        };
        if !installations.iter().any(|i| i == id) {
            continue;
        }
        let (namespace, installation) = split(id);
        let g = m.worker_heartbeat.get_or_create(&InstallationLabels {
            namespace,
            installation,
        });
        g.set(g.get().max(w.last_beat_at.timestamp()));
    }
    Ok(())
}
