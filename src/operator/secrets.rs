//! The Secrets an Installation references: whether each exists and has its key (for
//! `CredentialsMissing`), their `resourceVersion`s (for the rollout hash), and their values
//! when the operator itself calls Stream (webhook subscriptions). Values are never kept,
//! logged or written anywhere; only key names are cached, per Secret `resourceVersion`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store as Cache};
use kube::{Client, ResourceExt};

use super::status::ConditionFinding;
use crate::crd::{InstallationSpec, SecretKeyRef};

/// One reference: where it is in the spec, and what it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub path: String,
    pub secret: SecretKeyRef,
}

/// Every Secret key the Installation's processes read, with the database URL's.
pub fn references(spec: &InstallationSpec, database: &SecretKeyRef) -> Vec<Reference> {
    let r = |path: &str, s: &SecretKeyRef| Reference {
        path: path.to_string(),
        secret: s.clone(),
    };
    let mut out = vec![
        r(
            "spec.stream.clientId",
            &spec.stream.client_id.secret_key_ref,
        ),
        r(
            "spec.stream.clientSecret",
            &spec.stream.client_secret.secret_key_ref,
        ),
        r(
            "spec.linnworks.applicationId",
            &spec.linnworks.application_id.secret_key_ref,
        ),
        r(
            "spec.linnworks.applicationSecret",
            &spec.linnworks.application_secret.secret_key_ref,
        ),
        r(
            "spec.linnworks.installationToken",
            &spec.linnworks.installation_token.secret_key_ref,
        ),
    ];
    if let Some(token) = spec
        .shipping_integration
        .as_ref()
        .and_then(|s| s.authorization_token.as_ref())
    {
        out.push(r(
            "spec.shippingIntegration.authorizationToken",
            &token.secret_key_ref,
        ));
    }
    out.push(r(
        "the operator's database URL (--database-secret-name/--database-secret-key)",
        database,
    ));
    out
}

/// What was found for the references.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    /// Human descriptions of what is missing, in reference order.
    pub missing: Vec<String>,
    /// Whether any whole Secret is missing (else only keys are).
    pub secret_missing: bool,
    /// `resourceVersion` of each existing referenced Secret, by name.
    pub versions: BTreeMap<String, String>,
}

impl Check {
    pub fn finding(&self) -> ConditionFinding {
        if self.missing.is_empty() {
            ConditionFinding::ok("SecretsFound", "every referenced Secret and key exists")
        } else {
            let reason = if self.secret_missing {
                "SecretNotFound"
            } else {
                "SecretKeyNotFound"
            };
            ConditionFinding::problem(reason, self.missing.join("; "))
        }
    }
}

#[derive(Clone)]
struct Keys {
    resource_version: String,
    keys: BTreeSet<String>,
}

pub struct SecretCache {
    client: Client,
    meta: Cache<PartialObjectMeta<Secret>>,
    keys: Mutex<HashMap<(String, String), Keys>>,
    /// Webhook auth Secrets (the operator's own children), by namespace and name.
    auth: Mutex<HashMap<(String, String), (String, Secret)>>,
}

impl SecretCache {
    pub fn new(client: Client, meta: Cache<PartialObjectMeta<Secret>>) -> Self {
        Self {
            client,
            meta,
            keys: Mutex::new(HashMap::new()),
            auth: Mutex::new(HashMap::new()),
        }
    }

    fn current_version(&self, ns: &str, name: &str) -> Option<String> {
        self.meta
            .get(&ObjectRef::new(name).within(ns))
            .and_then(|s| s.metadata.resource_version.clone())
    }

    /// The key names of a Secret, or `None` when it does not exist. Read from the API only
    /// when the watched `resourceVersion` moved since the last read.
    async fn keys(&self, ns: &str, name: &str) -> Result<Option<Keys>, kube::Error> {
        let Some(version) = self.current_version(ns, name) else {
            return Ok(None);
        };
        let cache_key = (ns.to_string(), name.to_string());
        if let Ok(cache) = self.keys.lock()
            && let Some(k) = cache.get(&cache_key)
            && k.resource_version == version
        {
            return Ok(Some(k.clone()));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let Some(secret) = api.get_opt(name).await? else {
            return Ok(None);
        };
        let keys = Keys {
            resource_version: secret.resource_version().unwrap_or_default(),
            keys: key_names(&secret),
        };
        if let Ok(mut cache) = self.keys.lock() {
            cache.insert(cache_key, keys.clone());
        }
        Ok(Some(keys))
    }

    /// Checks every reference of the Installation in namespace `ns`.
    pub async fn check(&self, ns: &str, references: &[Reference]) -> Result<Check, kube::Error> {
        let mut check = Check::default();
        let mut reported_absent = BTreeSet::new();
        for r in references {
            let name = &r.secret.name;
            match self.keys(ns, name).await? {
                None => {
                    check.secret_missing = true;
                    if reported_absent.insert(name.clone()) {
                        check.missing.push(format!(
                            "Secret {name:?} ({}) does not exist in namespace {ns}",
                            r.path
                        ));
                    } else {
                        check
                            .missing
                            .push(format!("Secret {name:?} ({}) does not exist", r.path));
                    }
                }
                Some(keys) => {
                    check
                        .versions
                        .insert(name.clone(), keys.resource_version.clone());
                    if !keys.keys.contains(&r.secret.key) {
                        check.missing.push(format!(
                            "Secret {name:?} has no key {:?} ({})",
                            r.secret.key, r.path
                        ));
                    }
                }
            }
        }
        Ok(check)
    }

    /// The value of one Secret key, for the operator's own Stream calls.
    pub async fn value(&self, ns: &str, r: &SecretKeyRef) -> Result<Option<String>, kube::Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let Some(secret) = api.get_opt(&r.name).await? else {
            return Ok(None);
        };
        Ok(value_of(&secret, &r.key))
    }

    /// The webhook auth Secret (the operator's own child), read again only when it changed.
    pub async fn auth_secret(&self, ns: &str, name: &str) -> Result<Option<Secret>, kube::Error> {
        let Some(version) = self.current_version(ns, name) else {
            return Ok(None);
        };
        let cache_key = (ns.to_string(), name.to_string());
        if let Ok(cache) = self.auth.lock()
            && let Some((v, secret)) = cache.get(&cache_key)
            && *v == version
        {
            return Ok(Some(secret.clone()));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = api.get_opt(name).await?;
        if let (Some(s), Ok(mut cache)) = (&secret, self.auth.lock()) {
            cache.insert(
                cache_key,
                (s.resource_version().unwrap_or_default(), s.clone()),
            );
        }
        Ok(secret)
    }

    /// Forgets what was cached for a namespace's Installation (it was deleted).
    pub fn forget_auth(&self, ns: &str, name: &str) {
        if let Ok(mut cache) = self.auth.lock() {
            cache.remove(&(ns.to_string(), name.to_string()));
        }
    }
}

fn key_names(secret: &Secret) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(secret.string_data.iter().flatten().map(|(k, _)| k.clone()));
    keys
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
    use crate::crd::Installation;

    #[test]
    fn every_credential_and_the_database_url_are_checked() {
        let inst: Installation =
            serde_saphyr::from_str(include_str!("../../examples/installation.yaml")).unwrap();
        let db = SecretKeyRef {
            name: "linnstream-database".into(),
            key: "url".into(),
        };
        let refs = references(&inst.spec, &db);
        let paths: Vec<&str> = refs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths.len(), 7, "{paths:?}");
        assert!(paths.contains(&"spec.shippingIntegration.authorizationToken"));
        assert_eq!(refs[0].secret.name, "acme-stream");
        assert_eq!(refs[6].secret, db);
    }

    #[test]
    fn findings_name_what_is_missing() {
        let check = Check {
            missing: vec![
                "Secret \"acme-linnworks\" has no key \"x\" (spec.linnworks.applicationId)".into(),
            ],
            secret_missing: false,
            versions: BTreeMap::new(),
        };
        let f = check.finding();
        assert!(f.problem);
        assert_eq!(f.reason, "SecretKeyNotFound");
        assert!(!Check::default().finding().problem);
    }
}
