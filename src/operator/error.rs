//! Why a reconcile failed, with a short kind for the failures metric.

use super::build::BuildError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("building the children: {0}")]
    Build(#[from] BuildError),
    #[error("serialising: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Stream webhooks: {0}")]
    Webhooks(String),
    #[error("the object has no {0}")]
    MissingMetadata(&'static str),
    #[error("the caches of watched objects were not filled within {0} s")]
    CachesNotReady(u64),
}

impl Error {
    /// A short label for the failures metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Store(_) => "store",
            Error::Build(_) => "build",
            Error::Json(_) => "json",
            Error::Webhooks(_) => "webhooks",
            Error::MissingMetadata(_) => "metadata",
            Error::CachesNotReady(_) => "caches",
        }
    }
}
