//! What every job runs on: the store, the system settings, the current installation
//! settings, and one pair of API clients per installation (reused, so Linnworks sessions
//! and Stream tokens are shared by all jobs of that installation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{InstallationConfig, SnapshotReceiver};

use crate::domain::InstallationKey;
use crate::linnworks::LinnworksClient;
use crate::remote::{RemoteError, RemoteOptions};
use crate::settings::SystemSettings;
use crate::store::Store;
use crate::stream::{StreamClient, StreamCredentials};

use super::breaker::{AccountKey, Breaker, Breakers};
use super::stop::StopState;
use super::throttle::Throttle;

/// The API clients of one installation.
#[derive(Clone)]
pub struct Clients {
    pub linnworks: LinnworksClient,
    pub stream: StreamClient,
    /// Paces Stream order creation to what Stream accepts (slows down on 429).
    pub stream_throttle: Throttle,
}

/// What a cached client pair was built from; a change rebuilds the pair.
#[derive(Clone, PartialEq, Eq)]
struct ClientKey {
    linnworks_url: String,
    stream_url: String,
    partner: Option<String>,
    credentials: crate::config::Credentials,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: SystemSettings,
    remote: RemoteOptions,
    config: SnapshotReceiver,
    worker_id: String,
    clients: Mutex<HashMap<InstallationKey, (ClientKey, Clients)>>,
    breakers: Breakers,
    stop: StopState,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("worker_id", &self.inner.worker_id)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(store: Store, settings: SystemSettings, config: SnapshotReceiver) -> Self {
        let remote = RemoteOptions::from_settings(&settings);
        Self::with_remote_options(store, settings, config, remote)
    }

    /// As `new`, with explicit client options (tests shorten the retry delays).
    pub fn with_remote_options(
        store: Store,
        settings: SystemSettings,
        config: SnapshotReceiver,
        remote: RemoteOptions,
    ) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
        let worker_id = format!(
            "{host}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            inner: Arc::new(Inner {
                store,
                settings,
                remote,
                config,
                worker_id,
                clients: Mutex::new(HashMap::new()),
                breakers: Breakers::default(),
                stop: StopState::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &SystemSettings {
        &self.inner.settings
    }

    /// Identifies this process in claims and heartbeats.
    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Whether this process is stopping, and which of its sends may have reached Stream.
    /// Hands every claim this process still holds back to the queue (see `sync::stop`);
    /// returns how many orders.
    pub async fn hand_back_claims(&self) -> u64 {
        super::stop::hand_back_claims(self.stop(), self.store(), self.worker_id()).await
    }

    pub fn stop(&self) -> &StopState {
        &self.inner.stop
    }

    pub fn config(&self) -> SnapshotReceiver {
        self.inner.config.clone()
    }

    /// The installation's current settings, if it still exists.
    pub fn installation(&self, key: &InstallationKey) -> Option<InstallationConfig> {
        self.inner.config.borrow().get(key).cloned()
    }

    /// Whether the installation is configured (without copying its settings).
    pub fn has_installation(&self, key: &InstallationKey) -> bool {
        self.inner.config.borrow().get(key).is_some()
    }

    /// Every installation's current settings, shared rather than copied: for a hot path
    /// that reads one installation per request.
    pub fn snapshot(&self) -> std::sync::Arc<crate::config::Snapshot> {
        self.inner.config.borrow().clone()
    }

    /// The installation, when it may send orders: configured and not suspended. Else the
    /// guide's "Installation not found or inactive", for manual sends, label generation and
    /// the scheduled jobs alike.
    pub fn active_installation(
        &self,
        key: &InstallationKey,
    ) -> Result<InstallationConfig, super::validation::ValidationError> {
        self.installation(key)
            .filter(|i| !i.spec.suspend)
            .ok_or(super::validation::ValidationError::InstallationInactive)
    }

    pub fn installations(&self) -> Vec<InstallationConfig> {
        self.inner
            .config
            .borrow()
            .installations
            .values()
            .cloned()
            .collect()
    }

    /// The circuit breakers of every Stream account this process sends to.
    pub fn breakers(&self) -> &Breakers {
        &self.inner.breakers
    }

    /// The breaker of the Stream account `inst` sends to (shared with every installation on
    /// that account).
    pub fn breaker(&self, inst: &InstallationConfig) -> Breaker {
        self.inner.breakers.get(&AccountKey::of(inst))
    }

    /// The claim lease: long enough for a send with every retry to finish.
    pub fn lease(&self) -> Duration {
        self.inner.settings.claim_lease()
    }

    /// The installation's clients, built on first use and rebuilt when its URLs or
    /// credentials change.
    pub fn clients(&self, inst: &InstallationConfig) -> Result<Clients, RemoteError> {
        let s = &inst.spec;
        let partner = s
            .stream
            .partner_account
            .as_ref()
            .filter(|p| p.enabled)
            .and_then(|p| p.id.clone());
        let key = ClientKey {
            linnworks_url: s.linnworks.api_base_url.clone(),
            stream_url: s.stream.client_url.clone(),
            partner: partner.clone(),
            credentials: inst.credentials.clone(),
        };
        let mut cache = self.inner.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((built_from, clients)) = cache.get(&inst.key)
            && *built_from == key
        {
            return Ok(clients.clone());
        }
        let clients = Clients {
            linnworks: LinnworksClient::new(
                &s.linnworks.api_base_url,
                (&inst.credentials).into(),
                &self.inner.remote,
            )?,
            stream: StreamClient::new(
                StreamCredentials {
                    base_url: s.stream.client_url.clone(),
                    client_id: inst.credentials.stream_client_id.clone(),
                    client_secret: inst.credentials.stream_client_secret.clone(),
                    partner_account_id: partner,
                },
                &self.inner.remote,
            )?,
            stream_throttle: Throttle::default(),
        };
        cache.insert(inst.key.clone(), (key, clients.clone()));
        Ok(clients)
    }
}
