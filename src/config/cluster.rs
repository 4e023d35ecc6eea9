//! Settings from the Kubernetes API, for the processes the operator runs for one
//! Installation (`linnstream worker`, `webhooks`, `master-data`): the Installation and the
//! PostalServiceMappings of its namespace are watched, and every change is published as a
//! new [`Snapshot`] into a `tokio::sync::watch` channel, so running loops pick it up without
//! a restart. Credentials are not in the resources (only Secret references are): the caller
//! passes the values its environment was given (see `operator::build::env`).
//!
//! Invalid resources are not published: an Installation that fails
//! `crd::validate::validate_installation` keeps its last valid settings (the operator reports
//! the problem on its status), and an invalid mapping is left out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Credentials, InstallationConfig, InstallationKey, MappingConfig, Snapshot};
use crate::crd::validate::{validate_installation, validate_mapping};
use crate::crd::{Installation, PostalServiceMapping, common::describe};

#[derive(Debug, thiserror::Error)]
pub enum KubeSourceError {
    #[error(
        "could not read Installation {key} and its PostalServiceMappings from the Kubernetes API within {seconds} s: {last_error}"
    )]
    NotReady {
        key: InstallationKey,
        seconds: u64,
        last_error: String,
    },
}

/// A running watch of one Installation and the mappings of its namespace. Dropping it
/// stops the watch; receivers then keep the last snapshot.
pub struct KubeSource {
    receiver: super::SnapshotReceiver,
    task: JoinHandle<()>,
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KubeSource {
    /// Starts watching and waits (up to `timeout`) until both lists have been read, so the
    /// first snapshot is complete: it holds the Installation if it exists, with its mappings.
    pub async fn start(
        client: Client,
        key: InstallationKey,
        credentials: Credentials,
        timeout: Duration,
    ) -> Result<Self, KubeSourceError> {
        let installations: Api<Installation> = Api::namespaced(client.clone(), &key.namespace);
        let mappings: Api<PostalServiceMapping> = Api::namespaced(client, &key.namespace);
        let by_name = watcher::Config::default().fields(&format!("metadata.name={}", key.name));
        let installation_events = watcher::watcher(installations, by_name)
            .default_backoff()
            .map(|e| e.map(|e| Change::Installation(Box::new(e))));
        let mapping_events = watcher::watcher(mappings, watcher::Config::default())
            .default_backoff()
            .map(|e| e.map(|e| Change::Mapping(Box::new(e))));
        let mut events =
            futures::stream::select(installation_events.boxed(), mapping_events.boxed());

        let (sender, receiver) = watch::channel(Arc::new(Snapshot::default()));
        let (ready_tx, mut ready_rx) = watch::channel(false);
        let last_error = Arc::new(Mutex::new(String::from("no answer yet")));
        let errors = last_error.clone();
        let task_key = key.clone();
        let task = tokio::spawn(async move {
            let mut state = State::new(task_key, credentials);
            while let Some(event) = events.next().await {
                match event {
                    Ok(change) => state.apply(change),
                    Err(e) => {
                        // The watcher retries with backoff; say why nothing arrives.
                        tracing::warn!(installation = %state.key, "watching the API: {e}");
                        if let Ok(mut slot) = errors.lock() {
                            *slot = e.to_string();
                        }
                        continue;
                    }
                }
                if let Some(snapshot) = state.snapshot() {
                    sender.send_if_modified(|current| {
                        if **current == snapshot {
                            false
                        } else {
                            *current = Arc::new(snapshot);
                            true
                        }
                    });
                    ready_tx.send_if_modified(|ready| !std::mem::replace(ready, true));
                }
            }
        });
        let waited = tokio::time::timeout(timeout, ready_rx.wait_for(|ready| *ready)).await;
        if !matches!(waited, Ok(Ok(_))) {
            task.abort();
            let last_error = last_error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_else(|_| "unknown".into());
            return Err(KubeSourceError::NotReady {
                key,
                seconds: timeout.as_secs(),
                last_error,
            });
        }
        Ok(Self { receiver, task })
    }

    pub fn receiver(&self) -> super::SnapshotReceiver {
        self.receiver.clone()
    }
}

enum Change {
    // Boxed: the events are large and of very different sizes.
    Installation(Box<Event<Installation>>),
    Mapping(Box<Event<PostalServiceMapping>>),
}

/// One watched kind: the listed objects by name, and the buffer of a (re)list under way.
struct Listed<K> {
    objects: BTreeMap<String, K>,
    relisting: Option<BTreeMap<String, K>>,
    ready: bool,
}

impl<K: ResourceExt> Listed<K> {
    fn new() -> Self {
        Self {
            objects: BTreeMap::new(),
            relisting: None,
            ready: false,
        }
    }

    fn apply(&mut self, event: Event<K>) {
        match event {
            Event::Init => self.relisting = Some(BTreeMap::new()),
            Event::InitApply(obj) => {
                if let Some(buffer) = &mut self.relisting {
                    buffer.insert(obj.name_any(), obj);
                }
            }
            Event::InitDone => {
                // Objects not listed again were deleted while the watch was down.
                self.objects = self.relisting.take().unwrap_or_default();
                self.ready = true;
            }
            Event::Apply(obj) => {
                self.objects.insert(obj.name_any(), obj);
            }
            Event::Delete(obj) => {
                self.objects.remove(&obj.name_any());
            }
        }
    }
}

struct State {
    key: InstallationKey,
    credentials: Credentials,
    installations: Listed<Installation>,
    mappings: Listed<PostalServiceMapping>,
    /// The last valid settings, kept while the Installation is invalid.
    last_valid: Option<InstallationConfig>,
    /// The resourceVersion last reported invalid, so each problem is logged once.
    reported_invalid: Option<String>,
}

impl State {
    fn new(key: InstallationKey, credentials: Credentials) -> Self {
        Self {
            key,
            credentials,
            installations: Listed::new(),
            mappings: Listed::new(),
            last_valid: None,
            reported_invalid: None,
        }
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Installation(e) => self.installations.apply(*e),
            Change::Mapping(e) => self.mappings.apply(*e),
        }
    }

    /// The current snapshot, once both kinds are listed.
    fn snapshot(&mut self) -> Option<Snapshot> {
        if !(self.installations.ready && self.mappings.ready) {
            return None;
        }
        let mut snapshot = Snapshot::default();
        let Some(inst) = self.installations.objects.get(&self.key.name) else {
            self.last_valid = None;
            return Some(snapshot);
        };
        let problems = validate_installation(&inst.spec);
        // Valid by the rules above means the schedule parses; a parse error here would be a
        // rule missing from validate_installation, reported the same way.
        let parsed = if problems.is_empty() {
            InstallationConfig::new(
                self.key.clone(),
                inst.spec.clone(),
                self.credentials.clone(),
                self.valid_mappings(),
            )
            .map_err(|e| vec![crate::crd::Problem::new("spec", e)])
        } else {
            Err(problems)
        };
        let config = match parsed {
            Ok(config) => {
                self.last_valid = Some(config.clone());
                Some(config)
            }
            Err(problems) => {
                if self.reported_invalid != inst.metadata.resource_version {
                    tracing::warn!(
                        installation = %self.key,
                        "the Installation is invalid, keeping its last valid settings: {}",
                        describe(&problems)
                    );
                    self.reported_invalid = inst.metadata.resource_version.clone();
                }
                // Mappings still follow: they are valid on their own.
                self.last_valid.clone().map(|mut c| {
                    c.mappings = self.valid_mappings();
                    c
                })
            }
        };
        if let Some(config) = config {
            snapshot.installations.insert(self.key.clone(), config);
        }
        Some(snapshot)
    }

    /// The mappings naming this Installation, sorted by name; invalid ones are left out.
    fn valid_mappings(&self) -> Vec<MappingConfig> {
        self.mappings
            .objects
            .iter()
            .filter(|(_, m)| m.spec.installation_ref.name == self.key.name)
            .filter_map(|(name, m)| {
                let problems = validate_mapping(&m.spec);
                if problems.is_empty() {
                    Some(MappingConfig {
                        name: name.clone(),
                        spec: m.spec.clone(),
                    })
                } else {
                    tracing::debug!(
                        installation = %self.key,
                        mapping = %name,
                        "invalid mapping left out: {}",
                        describe(&problems)
                    );
                    None
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            stream_client_id: "id".into(),
            stream_client_secret: "secret".into(),
            linnworks_application_id: "a".into(),
            linnworks_application_secret: "b".into(),
            linnworks_installation_token: "c".into(),
            gateway_token: None,
        }
    }

    fn installation() -> Installation {
        let mut inst: Installation =
            serde_saphyr::from_str(include_str!("../../examples/installation.yaml")).unwrap();
        inst.metadata.namespace = Some("shop".into());
        inst.metadata.resource_version = Some("1".into());
        inst
    }

    fn mapping(file: &str) -> PostalServiceMapping {
        serde_saphyr::from_str(file).unwrap()
    }

    fn listed(state: &mut State) {
        for e in [
            Event::Init,
            Event::InitApply(installation()),
            Event::InitDone,
        ] {
            state.apply(Change::Installation(Box::new(e)));
        }
        let delivery = mapping(include_str!("../../examples/mapping-delivery.yaml"));
        let mut foreign = delivery.clone();
        foreign.metadata.name = Some("other".into());
        foreign.spec.installation_ref.name = "other".into();
        for e in [
            Event::Init,
            Event::InitApply(delivery),
            Event::InitApply(foreign),
            Event::InitDone,
        ] {
            state.apply(Change::Mapping(Box::new(e)));
        }
    }

    #[test]
    fn nothing_is_published_until_both_lists_are_read() {
        let key = InstallationKey::new("shop", "acme");
        let mut state = State::new(key.clone(), credentials());
        for e in [
            Event::Init,
            Event::InitApply(installation()),
            Event::InitDone,
        ] {
            state.apply(Change::Installation(Box::new(e)));
        }
        assert!(state.snapshot().is_none());
        state.apply(Change::Mapping(Box::new(Event::Init)));
        state.apply(Change::Mapping(Box::new(Event::InitDone)));
        let snap = state.snapshot().expect("ready");
        assert!(snap.get(&key).expect("acme").mappings.is_empty());
    }

    #[test]
    fn own_valid_mappings_are_published_and_invalid_specs_keep_the_last_valid_settings() {
        let key = InstallationKey::new("shop", "acme");
        let mut state = State::new(key.clone(), credentials());
        listed(&mut state);
        let snap = state.snapshot().expect("ready");
        let acme = snap.get(&key).expect("acme");
        let names: Vec<&str> = acme.mappings.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["acme-next-day"]);
        assert_eq!(acme.credentials.stream_client_id, "id");

        // An invalid change (the schema cannot catch it) keeps the last valid spec...
        let mut bad = installation();
        bad.spec.schedule.send_offset = "10m".into();
        bad.metadata.resource_version = Some("2".into());
        state.apply(Change::Installation(Box::new(Event::Apply(bad))));
        let kept = state.snapshot().expect("ready");
        assert_eq!(
            kept.get(&key).expect("kept").spec.schedule.send_offset,
            "2m"
        );
        // ...while mapping changes still arrive.
        let returns = mapping(include_str!("../../examples/mapping-collection.yaml"));
        state.apply(Change::Mapping(Box::new(Event::Apply(returns))));
        assert_eq!(
            state.snapshot().unwrap().get(&key).unwrap().mappings.len(),
            2
        );

        // A valid change is published.
        let mut good = installation();
        good.spec.sync.order_lookback_days = 14;
        state.apply(Change::Installation(Box::new(Event::Apply(good.clone()))));
        let snap = state.snapshot().unwrap();
        assert_eq!(snap.get(&key).unwrap().spec.sync.order_lookback_days, 14);

        // Deleted: nothing to work for.
        state.apply(Change::Installation(Box::new(Event::Delete(good))));
        assert!(state.snapshot().unwrap().installations.is_empty());
    }

    #[test]
    fn a_relist_drops_objects_deleted_while_the_watch_was_down() {
        let key = InstallationKey::new("shop", "acme");
        let mut state = State::new(key.clone(), credentials());
        listed(&mut state);
        state.apply(Change::Mapping(Box::new(Event::Init)));
        state.apply(Change::Mapping(Box::new(Event::InitDone)));
        assert!(
            state
                .snapshot()
                .unwrap()
                .get(&key)
                .unwrap()
                .mappings
                .is_empty()
        );
    }
}
