//! What every reconcile shares: the API client, the event recorder, metrics, the store, the
//! settings, the caches of watched objects, and the per-object error backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::ObjectRef;

use super::build::CronJobApi;
use super::caches::Caches;
use super::children::Applier;
use super::metrics::Metrics;
use super::secrets::SecretCache;
use super::settings::OperatorConfig;
use crate::store::Store;

/// What the operator process starts the controllers with; each reconcile sees it again in
/// the [`Context`].
pub struct Wiring {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub config: OperatorConfig,
    pub cron_job_api: CronJobApi,
}

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub config: OperatorConfig,
    pub cron_job_api: CronJobApi,
    pub caches: Caches,
    pub secrets: SecretCache,
    pub applier: Applier,
    /// Consecutive failures per object, for the error backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Asks the mapping controller to look at the mappings of an Installation again.
    pub mapping_triggers:
        tokio::sync::mpsc::UnboundedSender<ObjectRef<crate::crd::PostalServiceMapping>>,
}

impl Context {
    pub fn new(
        wiring: Wiring,
        recorder: Recorder,
        caches: Caches,
        mapping_triggers: tokio::sync::mpsc::UnboundedSender<
            ObjectRef<crate::crd::PostalServiceMapping>,
        >,
    ) -> Self {
        let Wiring {
            client,
            metrics,
            store,
            config,
            cron_job_api,
        } = wiring;
        Self {
            secrets: SecretCache::new(client.clone(), caches.secrets.clone()),
            applier: Applier::new(client.clone()),
            client,
            recorder,
            metrics,
            store,
            config,
            cron_job_api,
            caches,
            failures: Mutex::new(HashMap::new()),
            mapping_triggers,
        }
    }

    /// Publishes an event about `obj`; a failure is only logged (events are best effort,
    /// and a terminating namespace refuses them).
    pub async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, note: String)
    where
        K: kube::Resource<DynamicType = ()>,
    {
        let reference = obj.object_ref(&());
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, 1000)),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &reference).await {
            tracing::debug!(reason, "publishing an event: {e}");
        }
    }

    /// How long to wait before retrying an object that failed: 1s, 2s, 4s ... up to 5 min.
    pub fn backoff(&self, key: &str) -> Duration {
        let Ok(mut failures) = self.failures.lock() else {
            return Duration::from_secs(30);
        };
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        let secs = 1u64 << (*n - 1).min(9);
        Duration::from_secs(secs.min(300))
    }

    pub fn succeeded(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}
