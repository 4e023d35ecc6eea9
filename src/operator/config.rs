//! The config Secret: every Installation the operator reconciles, with its
//! PostalServiceMappings and the Secret keys they reference, written as YAML files into one
//! Secret in the release namespace (`--config-secret-name`), which `linnstream gateway` and
//! `linnstream console` watch (`config::secret`). They then need no cluster-wide Secret
//! read, and a change reaches GenerateLabel within seconds: the Secret is rewritten after
//! every reconcile that changed what it would hold.
//!
//! Only what loads goes in: an Installation that fails validation or whose referenced
//! Secrets or keys are missing is left out (its status says why), as is an invalid mapping,
//! so one broken resource never stops the others being served. Values are read from the
//! API when the Secret's `resourceVersion` moved; they are never logged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tokio::sync::Notify;

use super::build::env::WEBHOOK_AUTH_KEY;
use super::build::{ChildNames, FIELD_MANAGER};
use super::settings::ConfigSecret;
use crate::config::secret::{snapshot_from_data, webhook_token_key};
use crate::crd::installation::{WorkerMode, WorkerSettings};
use crate::crd::validate::{validate_installation, validate_mapping};
use crate::crd::{Installation, PostalServiceMapping, SecretKeyRef};

/// How long changes are gathered before the Secret is written: a burst of reconciles (a
/// resync, an `kubectl apply -f` of several files) becomes one write.
const GATHER: Duration = Duration::from_millis(300);
/// Written again this often even without a signal (a missed one costs at most this).
const REFRESH: Duration = Duration::from_secs(30);
/// Wait after a failed write before trying again.
const RETRY: Duration = Duration::from_secs(2);

/// What the writer reads: the controllers' caches.
pub struct Sources {
    pub installations: Cache<Installation>,
    pub mappings: Cache<PostalServiceMapping>,
    pub secrets: Cache<PartialObjectMeta<Secret>>,
    /// The mode of Installations that do not say: the file carries the effective mode, so
    /// the pool serves exactly the pooled ones.
    pub default_worker_mode: WorkerMode,
}

/// The config Secret's annotation counting the Installations it holds that are not
/// suspended; `0` is the guide's "No active installations available" (also logged).
pub const ACTIVE_ANNOTATION: &str = "linnstream.io/active-installations";

/// The data keys for one Installation's file and one Secret's file.
pub fn installation_key(ns: &str, name: &str) -> String {
    format!("installation.{ns}.{name}.yaml")
}

pub fn secret_key(ns: &str, name: &str) -> String {
    format!("secret.{ns}.{name}.yaml")
}

/// Writes the config Secret whenever `changed` is notified (after reconciles), until
/// `shutdown` completes.
pub async fn run(
    client: Client,
    target: ConfigSecret,
    sources: Sources,
    changed: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut writer = Writer {
        client,
        target,
        sources,
        values: HashMap::new(),
        written: None,
        active: 0,
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = changed.notified() => {}
            () = tokio::time::sleep(REFRESH) => {}
            () = &mut shutdown => return,
        }
        tokio::time::sleep(GATHER).await;
        if let Err(e) = writer.write().await {
            tracing::warn!(
                "writing the config Secret {}/{}: {e}; trying again",
                writer.target.namespace,
                writer.target.name
            );
            tokio::time::sleep(RETRY).await;
            changed.notify_one();
        }
    }
}

struct Writer {
    client: Client,
    target: ConfigSecret,
    sources: Sources,
    /// Referenced Secrets as last read, by namespace and name, with their resourceVersion.
    values: HashMap<(String, String), (String, Secret)>,
    /// The data last written, so an unchanged one is not written again.
    written: Option<BTreeMap<String, String>>,
    /// Installations in the last build that are not suspended.
    active: usize,
}

impl Writer {
    async fn secret(&mut self, ns: &str, name: &str) -> Result<Option<Secret>, kube::Error> {
        let version = self
            .sources
            .secrets
            .get(&ObjectRef::new(name).within(ns))
            .and_then(|s| s.metadata.resource_version.clone());
        let Some(version) = version else {
            return Ok(None);
        };
        let key = (ns.to_string(), name.to_string());
        if let Some((v, s)) = self.values.get(&key)
            && *v == version
        {
            return Ok(Some(s.clone()));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = api.get_opt(name).await?;
        if let Some(s) = &secret {
            self.values
                .insert(key, (s.resource_version().unwrap_or_default(), s.clone()));
        }
        Ok(secret)
    }

    async fn write(&mut self) -> Result<(), kube::Error> {
        let data = self.build().await?;
        if self.written.as_ref() == Some(&data) {
            return Ok(());
        }
        let installations = data
            .keys()
            .filter(|k| k.starts_with("installation."))
            .count();
        // The guide's "No active installations available", made visible where the operator
        // can show it: the gateway and console then serve nobody.
        if self.active == 0 {
            tracing::warn!(
                installations,
                "{}: the config Secret holds no Installation that is valid, has its Secret keys and is not suspended",
                crate::sync::validation::ValidationError::NoActiveInstallations
            );
        }
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.target.name,
                "namespace": self.target.namespace,
                "labels": {
                    "app.kubernetes.io/part-of": "linnstream",
                    "app.kubernetes.io/component": "config",
                },
                "annotations": {
                    "linnstream.io/description": "Written by the linnstream operator for the gateway and console: every Installation, its mappings and the Secret keys they reference. Do not edit: it is rewritten.",
                    ACTIVE_ANNOTATION: self.active.to_string(),
                },
            },
            "type": "Opaque",
            "data": data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect::<BTreeMap<_, _>>(),
        });
        Api::<Secret>::namespaced(self.client.clone(), &self.target.namespace)
            .patch(
                &self.target.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await?;
        tracing::info!(
            installations,
            "config Secret {}/{} written",
            self.target.namespace,
            self.target.name
        );
        self.written = Some(data);
        Ok(())
    }

    /// The files of every Installation that loads.
    async fn build(&mut self) -> Result<BTreeMap<String, String>, kube::Error> {
        let mut data: BTreeMap<String, String> = BTreeMap::new();
        self.active = 0;
        let mut installations = self.sources.installations.state();
        installations.sort_by_key(|i| (i.namespace(), i.name_any()));
        let mappings = self.sources.mappings.state();
        for inst in installations {
            if inst.meta().deletion_timestamp.is_some() {
                continue;
            }
            let ns = inst.namespace().unwrap_or_default();
            let name = inst.name_any();
            if !validate_installation(&inst.spec).is_empty() {
                tracing::debug!("config Secret: Installation {ns}/{name} is invalid, left out");
                continue;
            }
            let mut own = BTreeMap::new();
            let mode = inst.spec.worker_mode(self.sources.default_worker_mode);
            let mut spec = inst.spec.clone();
            spec.workers = Some(WorkerSettings { mode });
            let mut docs = vec![resource_yaml(
                &Installation::api_version(&()),
                "Installation",
                &ns,
                &name,
                &spec,
            )];
            let mut theirs: Vec<_> = mappings
                .iter()
                .filter(|m| {
                    m.namespace().as_deref() == Some(ns.as_str())
                        && m.spec.installation_ref.name == name
                        && m.meta().deletion_timestamp.is_none()
                        && validate_mapping(&m.spec).is_empty()
                })
                .collect();
            theirs.sort_by_key(|m| m.name_any());
            for m in theirs {
                docs.push(resource_yaml(
                    &PostalServiceMapping::api_version(&()),
                    "PostalServiceMapping",
                    &ns,
                    &m.name_any(),
                    &m.spec,
                ));
            }
            own.insert(installation_key(&ns, &name), docs.join("---\n"));
            // The Secret keys it references, gathered per Secret.
            let mut keys: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            let mut complete = true;
            for (_, value) in crate::crd::check::secret_refs(&inst) {
                let SecretKeyRef { name: secret, key } = &value.secret_key_ref;
                let found = self
                    .secret(&ns, secret)
                    .await?
                    .and_then(|s| value_of(&s, key));
                match found {
                    Some(v) => {
                        keys.entry(secret.clone())
                            .or_default()
                            .insert(key.clone(), v);
                    }
                    None => complete = false,
                }
            }
            if !complete {
                tracing::debug!(
                    "config Secret: Installation {ns}/{name} lacks a referenced Secret key, left out"
                );
                continue;
            }
            for (secret, keys) in &keys {
                own.insert(secret_key(&ns, secret), secret_yaml(&ns, secret, keys));
            }
            if let Err(e) = snapshot_from_data(&own) {
                tracing::warn!(
                    "config Secret: Installation {ns}/{name} does not load, left out: {e}"
                );
                continue;
            }
            // Two Installations of a namespace may share a Secret: merge their keys.
            for (secret, keys) in keys {
                let file = secret_key(&ns, &secret);
                let merged = match data.get(&file) {
                    Some(text) => merge_secret(&ns, &secret, text.as_str(), keys),
                    None => secret_yaml(&ns, &secret, &keys),
                };
                data.insert(file, merged);
            }
            data.insert(
                installation_key(&ns, &name),
                own.remove(&installation_key(&ns, &name))
                    .unwrap_or_default(),
            );
            // The shared receiver checks a pooled installation's webhooks with its token.
            if mode == WorkerMode::Pool && inst.spec.webhooks.enabled {
                let auth = ChildNames::of(&name).webhook_auth;
                if let Some(token) = self
                    .secret(&ns, &auth)
                    .await?
                    .and_then(|s| value_of(&s, WEBHOOK_AUTH_KEY))
                {
                    data.insert(webhook_token_key(&ns, &name), token);
                }
            }
            if !inst.spec.suspend {
                self.active += 1;
            }
        }
        Ok(data)
    }
}

fn resource_yaml(
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    spec: &impl serde::Serialize,
) -> String {
    let value = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    });
    serde_saphyr::to_string(&value).unwrap_or_default()
}

fn secret_yaml(ns: &str, name: &str, keys: &BTreeMap<String, String>) -> String {
    let value = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "stringData": keys,
    });
    serde_saphyr::to_string(&value).unwrap_or_default()
}

fn merge_secret(ns: &str, name: &str, text: &str, more: BTreeMap<String, String>) -> String {
    let mut keys: BTreeMap<String, String> = serde_saphyr::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::from_value(v["stringData"].clone()).ok())
        .unwrap_or_default();
    keys.extend(more);
    secret_yaml(ns, name, &keys)
}

fn value_of(secret: &Secret, key: &str) -> Option<String> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|b| String::from_utf8(b.0.clone()).ok())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .cloned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_load_as_the_gateway_reads_them() {
        let inst: Installation =
            serde_saphyr::from_str(include_str!("../../examples/installation.yaml")).unwrap();
        let mut docs = vec![resource_yaml(
            &Installation::api_version(&()),
            "Installation",
            "shop",
            "acme",
            &inst.spec,
        )];
        let mapping: PostalServiceMapping =
            serde_saphyr::from_str(include_str!("../../examples/mapping-delivery.yaml")).unwrap();
        docs.push(resource_yaml(
            &PostalServiceMapping::api_version(&()),
            "PostalServiceMapping",
            "shop",
            "next-day",
            &mapping.spec,
        ));
        let mut data = BTreeMap::new();
        data.insert(installation_key("shop", "acme"), docs.join("---\n"));
        let mut keys: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (_, r) in crate::crd::check::secret_refs(&inst) {
            keys.entry(r.secret_key_ref.name.clone())
                .or_default()
                .insert(
                    r.secret_key_ref.key.clone(),
                    "value: 'quoted' # not a comment".into(),
                );
        }
        let mut first = true;
        for (secret, k) in keys {
            let text = secret_yaml("shop", &secret, &k);
            // A second Installation sharing the Secret adds its keys to the same file.
            let text = if first {
                first = false;
                merge_secret(
                    "shop",
                    &secret,
                    &text,
                    BTreeMap::from([("extra".into(), "x".into())]),
                )
            } else {
                text
            };
            data.insert(secret_key("shop", &secret), text);
        }
        let snapshot = snapshot_from_data(&data).expect("loads");
        let loaded = snapshot
            .get(&crate::domain::InstallationKey::new("shop", "acme"))
            .expect("the installation, in its own namespace");
        assert_eq!(loaded.mappings.len(), 1);
        assert_eq!(loaded.mappings[0].name, "next-day");
        assert_eq!(
            loaded.credentials.stream_client_id,
            "value: 'quoted' # not a comment"
        );
    }
}
