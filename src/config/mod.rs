//! Where installation settings come from. Consumers (scheduler, webhook receiver, gateway)
//! hold a `tokio::sync::watch::Receiver<Arc<Snapshot>>` and never care whether the
//! snapshot was read from files (standalone `run`, [`files`]) or from the Kubernetes API
//! (the processes the operator runs, [`cluster`]).

pub(crate) mod cluster;
pub(crate) mod files;
pub(crate) mod secret;
pub(crate) mod secret_args;

pub use cluster::{KubeSource, KubeSourceError};
pub use files::{LoadError, load_dir};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::crd::{InstallationSpec, PostalServiceMappingSpec};
use crate::domain::InstallationKey;
use crate::domain::schedule::JobTimes;

/// Credentials resolved from Secrets. `Debug` never prints a value.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub stream_client_id: String,
    pub stream_client_secret: String,
    pub linnworks_application_id: String,
    pub linnworks_application_secret: String,
    pub linnworks_installation_token: String,
    /// The token Linnworks sends on shipping-integration (label) calls, if configured.
    pub gateway_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials { .. redacted .. }")
    }
}

/// One mapped postal service of an installation.
#[derive(Clone, Debug, PartialEq)]
pub struct MappingConfig {
    pub name: String,
    pub spec: PostalServiceMappingSpec,
}

/// Everything the engine needs to work for one installation.
#[derive(Clone, Debug, PartialEq)]
pub struct InstallationConfig {
    pub key: InstallationKey,
    pub spec: InstallationSpec,
    /// `spec.schedule`, parsed once here; the scheduler and the console read it.
    pub times: JobTimes,
    pub credentials: Credentials,
    pub mappings: Vec<MappingConfig>,
}

impl InstallationConfig {
    /// An installation's settings, with those that need parsing parsed; the error names the
    /// field (`schedule.timeZone: ...`).
    pub fn new(
        key: InstallationKey,
        spec: InstallationSpec,
        credentials: Credentials,
        mappings: Vec<MappingConfig>,
    ) -> Result<Self, String> {
        let times = JobTimes::parse(&spec.schedule.text())?;
        Ok(Self {
            key,
            spec,
            times,
            credentials,
            mappings,
        })
    }

    /// The mapping for a Linnworks postal service, matched by id first, then by name
    /// (case-insensitive), as an administrator may give either.
    pub fn mapping_for(
        &self,
        service_id: Option<&str>,
        service_name: Option<&str>,
    ) -> Option<&MappingConfig> {
        let by_id = service_id.filter(|id| !id.is_empty()).and_then(|id| {
            self.mappings.iter().find(|m| {
                m.spec
                    .postal_service
                    .id
                    .as_deref()
                    .is_some_and(|mid| mid.eq_ignore_ascii_case(id))
            })
        });
        by_id.or_else(|| {
            let name = service_name.filter(|n| !n.is_empty())?;
            self.mappings.iter().find(|m| {
                m.spec
                    .postal_service
                    .name
                    .as_deref()
                    .is_some_and(|mn| mn.eq_ignore_ascii_case(name))
            })
        })
    }
}

/// All installations known at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub installations: BTreeMap<InstallationKey, InstallationConfig>,
    /// The webhook tokens of pooled installations (the shared receiver checks them); only
    /// the operator's config Secret carries them.
    pub webhook_tokens: WebhookTokens,
}

/// Webhook auth tokens by installation. `Debug` never prints a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookTokens(BTreeMap<InstallationKey, String>);

impl fmt::Debug for WebhookTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookTokens {{ {} redacted }}", self.0.len())
    }
}

impl WebhookTokens {
    pub fn get(&self, key: &InstallationKey) -> Option<String> {
        self.0.get(key).cloned()
    }

    pub fn insert(&mut self, key: InstallationKey, token: String) {
        self.0.insert(key, token);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Snapshot {
    pub fn get(&self, key: &InstallationKey) -> Option<&InstallationConfig> {
        self.installations.get(key)
    }

    /// Finds the installation whose gateway token equals `token`, comparing in constant time
    /// so response timing does not reveal how much of a token matched.
    pub fn by_gateway_token(&self, token: &str) -> Option<&InstallationConfig> {
        use subtle::ConstantTimeEq as _;
        let mut found = None;
        for inst in self.installations.values() {
            if let Some(expected) = &inst.credentials.gateway_token
                && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
            {
                found = Some(inst);
            }
        }
        found
    }
}

pub type SnapshotReceiver = tokio::sync::watch::Receiver<Arc<Snapshot>>;

#[cfg(test)]
pub(crate) mod test_support {
    use super::InstallationConfig;

    /// The example Installation with its mappings, as `linnstream run` would load it.
    pub fn example_installation() -> InstallationConfig {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let files = crate::crd::check::collect_files(&dir, false).expect("examples listed");
        let report = crate::crd::check::check_files(&files, "default");
        let snapshot =
            crate::config::files::snapshot_from_report(&report).expect("examples are valid");
        snapshot
            .installations
            .into_values()
            .next()
            .expect("one installation")
    }
}
