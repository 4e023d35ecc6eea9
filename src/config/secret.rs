//! Settings from the config Secret the operator maintains in its release namespace, for the
//! processes that serve every Installation (`linnstream gateway` and `console` in a
//! cluster). The Secret's keys are YAML files, the very files `linnstream gateway -f` reads:
//! one `installation.NS.NAME.yaml` per Installation (the Installation and its
//! PostalServiceMappings) and one `secret.NS.NAME.yaml` per Secret they reference (only the
//! referenced keys). The operator writes it from what it reconciles (operator::config),
//! so neither process needs cluster-wide Secret read: each watches this one Secret through
//! the API (RBAC limited to its name), and a change reaches it within seconds, not after
//! the kubelet's volume sync delay.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Snapshot;
use super::files::{LoadError, snapshot_from_report};
use crate::crd::check::{Report, check_text, cross_check};

/// Prefix of the keys holding a pooled installation's webhook token:
/// `webhook-token.NAMESPACE.NAME` (a namespace has no dot).
pub const WEBHOOK_TOKEN_PREFIX: &str = "webhook-token.";

pub fn webhook_token_key(namespace: &str, name: &str) -> String {
    format!("{WEBHOOK_TOKEN_PREFIX}{namespace}.{name}")
}

/// The settings in the Secret's data: every `*.yaml` key checked as a file of that name,
/// and the webhook tokens of the installations among them. Any problem fails the whole
/// (the operator writes only Installations that load).
pub fn snapshot_from_data(data: &BTreeMap<String, String>) -> Result<Snapshot, LoadError> {
    let mut report = Report::default();
    for (key, text) in data {
        if key.ends_with(".yaml") || key.ends_with(".yml") {
            check_text(&mut report, Path::new(key), text, "default");
        }
    }
    cross_check(&mut report);
    let mut snapshot = snapshot_from_report(&report)?;
    for (key, token) in data {
        let Some((ns, name)) = key
            .strip_prefix(WEBHOOK_TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        let key = super::InstallationKey::new(ns, name);
        let token = token.trim();
        if snapshot.installations.contains_key(&key) && !token.is_empty() {
            snapshot.webhook_tokens.insert(key, token.to_string());
        }
    }
    Ok(snapshot)
}

fn data_of(secret: &Secret) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (key, bytes) in secret.data.iter().flatten() {
        let text = String::from_utf8(bytes.0.clone())
            .map_err(|_| format!("key {key:?} is not UTF-8 text"))?;
        out.insert(key.clone(), text);
    }
    for (key, text) in secret.string_data.iter().flatten() {
        out.insert(key.clone(), text.clone());
    }
    Ok(out)
}

/// A running watch of the config Secret; dropping it stops the watch (receivers keep the
/// last snapshot).
pub struct SecretSource {
    receiver: super::SnapshotReceiver,
    task: JoinHandle<()>,
}

impl Drop for SecretSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SecretSource {
    /// Starts watching Secret `name` in `namespace` and waits up to `timeout` for its first
    /// listing. A Secret that does not exist yet (the operator has not written it) gives an
    /// empty snapshot, filled in when it appears; one that does not load keeps the last
    /// good settings, and the problem is logged.
    pub async fn start(
        client: Client,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let api: Api<Secret> = Api::namespaced(client, namespace);
        let by_name = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut events = watcher::watcher(api, by_name).default_backoff().boxed();
        let (sender, receiver) = watch::channel(Arc::new(Snapshot::default()));
        let (ready_tx, mut ready_rx) = watch::channel(false);
        let (error_tx, error_rx) = watch::channel(String::from("no answer yet"));
        let what = format!("config Secret {namespace}/{name}");
        let task = tokio::spawn(async move {
            let mut listed: Option<Secret> = None;
            let mut relisting = false;
            while let Some(event) = events.next().await {
                let secret = match event {
                    Ok(Event::Init) => {
                        relisting = true;
                        listed = None;
                        continue;
                    }
                    Ok(Event::InitApply(s)) => {
                        listed = Some(s);
                        continue;
                    }
                    Ok(Event::InitDone) => {
                        relisting = false;
                        match listed.take() {
                            Some(s) => s,
                            None => {
                                let _ = ready_tx.send(true);
                                tracing::warn!(
                                    "{what} does not exist yet: no installation is served until the operator writes it"
                                );
                                continue;
                            }
                        }
                    }
                    Ok(Event::Apply(s)) => s,
                    Ok(Event::Delete(_)) => {
                        tracing::warn!("{what} was deleted: the last settings stay in force");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("watching the {what}: {e}");
                        let _ = error_tx.send(e.to_string());
                        continue;
                    }
                };
                debug_assert!(!relisting);
                let version = secret.resource_version().unwrap_or_default();
                let loaded = data_of(&secret)
                    .map_err(|e| e.to_string())
                    .and_then(|data| snapshot_from_data(&data).map_err(|e| e.to_string()));
                match loaded {
                    Ok(snapshot) => {
                        tracing::info!(
                            installations = snapshot.installations.len(),
                            version,
                            "settings loaded from the {what}"
                        );
                        sender.send_if_modified(|current| {
                            if **current == snapshot {
                                false
                            } else {
                                *current = Arc::new(snapshot);
                                true
                            }
                        });
                    }
                    Err(e) => tracing::error!(
                        version,
                        "the {what} does not load, the previous settings stay in force: {e}"
                    ),
                }
                // Ready once the first listing is in force (or found wanting).
                ready_tx.send_if_modified(|ready| !std::mem::replace(ready, true));
            }
        });
        let waited = tokio::time::timeout(timeout, ready_rx.wait_for(|r| *r)).await;
        if !matches!(waited, Ok(Ok(_))) {
            task.abort();
            let last = error_rx.borrow().clone();
            anyhow::bail!(
                "could not read the config Secret {namespace}/{name} within {} s: {last}",
                timeout.as_secs()
            );
        }
        Ok(Self { receiver, task })
    }

    pub fn receiver(&self) -> super::SnapshotReceiver {
        self.receiver.clone()
    }
}
