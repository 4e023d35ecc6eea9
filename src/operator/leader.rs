//! Leader election with a `coordination.k8s.io/v1` Lease, so several operator replicas are
//! safe: only the holder reconciles. The rules are client-go's:
//! - a Lease held by another is taken over only after it has not changed for its
//!   `leaseDurationSeconds`, measured on this process's own clock from when it first saw
//!   that version (so clock skew between replicas does not matter);
//! - the holder renews every `retry_period`; if it cannot renew within `renew_deadline`
//!   (shorter than the lease duration), or finds another holder, it stops acting at once,
//!   before anyone else may take over;
//! - every write carries the `resourceVersion` it read, so two candidates racing for a free
//!   Lease cannot both win (the loser gets 409 Conflict).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    /// This process (the pod name in a cluster).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// Why leadership ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseLost {
    #[error("the lease {lease} is now held by {holder}")]
    TakenBy { lease: String, holder: String },
    #[error("the lease {lease} could not be renewed for {seconds} s: {last_error}")]
    NotRenewed {
        lease: String,
        seconds: u64,
        last_error: String,
    },
}

/// What this process last saw of the Lease, and when it first saw it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    holder: Option<String>,
    renew_time: Option<String>,
    first_seen: Instant,
}

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    seen: Mutex<Option<Seen>>,
}

enum Attempt {
    Leader,
    HeldBy(String),
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            seen: Mutex::new(None),
        }
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    fn lease_name(&self) -> String {
        format!("{}/{}", self.config.namespace, self.config.name)
    }

    /// Waits until this process holds the Lease.
    pub async fn acquire(&self) {
        let mut reported: Option<String> = None;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Leader) => {
                    tracing::info!(
                        lease = %self.lease_name(),
                        identity = %self.config.identity,
                        "became the leader"
                    );
                    return;
                }
                Ok(Attempt::HeldBy(holder)) => {
                    if reported.as_deref() != Some(holder.as_str()) {
                        tracing::info!(lease = %self.lease_name(), %holder, "waiting for the leader lease");
                        reported = Some(holder);
                    }
                }
                Err(e) => tracing::warn!(lease = %self.lease_name(), "leader election: {e}"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews the Lease for as long as possible; returns when leadership is lost.
    pub async fn hold(&self) -> LeaseLost {
        let mut last_renewed = Instant::now();
        let mut last_error = String::from("no answer");
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(Attempt::Leader) => last_renewed = Instant::now(),
                Ok(Attempt::HeldBy(holder)) => {
                    return LeaseLost::TakenBy {
                        lease: self.lease_name(),
                        holder,
                    };
                }
                Err(e) => {
                    tracing::warn!(lease = %self.lease_name(), "renewing the leader lease: {e}");
                    last_error = e.to_string();
                }
            }
            if last_renewed.elapsed() > self.config.renew_deadline {
                return LeaseLost::NotRenewed {
                    lease: self.lease_name(),
                    seconds: self.config.renew_deadline.as_secs(),
                    last_error,
                };
            }
        }
    }

    /// Gives the Lease up (on orderly shutdown), so another replica takes over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.lease_name(), "released the leader lease"),
            Err(e) => tracing::warn!(lease = %self.lease_name(), "releasing the leader lease: {e}"),
        }
    }

    async fn try_acquire_or_renew(&self) -> Result<Attempt, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let duration = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Leader),
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    Ok(Attempt::HeldBy("another candidate".into()))
                }
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(self.config.identity.as_str());
        let unchanged_for = self.observe(&holder, &spec.renew_time);
        if let (Some(other), false) = (&holder, mine) {
            let their_duration = spec
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map(Duration::from_secs)
                .unwrap_or(self.config.lease_duration);
            if unchanged_for < their_duration {
                return Ok(Attempt::HeldBy(other.clone()));
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        lease.spec = Some(LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(duration),
            acquire_time: if mine {
                spec.acquire_time.clone()
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if mine { transitions } else { transitions + 1 }),
            ..spec
        });
        // The resourceVersion read above makes this a compare-and-swap.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Attempt::Leader),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::HeldBy(
                holder.unwrap_or_else(|| "another candidate".into()),
            )),
            Err(e) => Err(e),
        }
    }

    /// Records what was seen; returns for how long (on this clock) it has not changed.
    fn observe(&self, holder: &Option<String>, renew_time: &Option<MicroTime>) -> Duration {
        let renew_time = renew_time.as_ref().map(|t| t.0.to_string());
        let Ok(mut seen) = self.seen.lock() else {
            return Duration::ZERO;
        };
        match &*seen {
            Some(s) if &s.holder == holder && s.renew_time == renew_time => s.first_seen.elapsed(),
            _ => {
                *seen = Some(Seen {
                    holder: holder.clone(),
                    renew_time,
                    first_seen: Instant::now(),
                });
                Duration::ZERO
            }
        }
    }
}
