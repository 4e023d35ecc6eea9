//! Everything against the real kube-apiserver that `scripts/test.sh` starts
//! (`scripts/test-cluster.sh`): the CRDs and examples (`crds`), the operator in-process
//! (`operator`, `children`, `config`, `pool`), the Helm chart (`helm`), metrics
//! (`observability`), the whole chain (`end_to_end`) and real pods on the test node
//! (`pods`). These tests FAIL when `LINNSTREAM_TEST_KUBECONFIG` is unset or the server does
//! not answer.

#[path = "../support/mod.rs"]
mod support;

mod children;
mod config;
mod crds;
mod end_to_end;
mod helm;
mod observability;
mod operator;
mod pods;
mod pool;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A cluster-wide operator reconciles every namespace's Installations from its own test's
/// database, so it would overwrite the status other tests wait for; the pool test's kill
/// and takeover deadlines assume it runs alone, as it did in a test binary of its own.
/// Such tests hold this alone ([`cluster_alone`]); every other test using the cluster
/// holds it shared ([`shared_cluster`]).
static CLUSTER: RwLock<()> = RwLock::const_new(());

pub async fn shared_cluster() -> RwLockReadGuard<'static, ()> {
    CLUSTER.read().await
}

pub async fn cluster_alone() -> RwLockWriteGuard<'static, ()> {
    CLUSTER.write().await
}
