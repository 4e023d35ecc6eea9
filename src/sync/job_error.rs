//! Why a job could not run at all (as opposed to an order failing inside it).

use crate::remote::RemoteError;
use crate::store::StoreError;

use super::validation::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Validation(#[from] ValidationError),
    #[error("{0}")]
    Remote(#[from] RemoteError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

impl JobError {
    /// A rejected Linnworks login is the guide's "Linnworks token missing or expired".
    pub fn from_linnworks(e: RemoteError) -> Self {
        if e.service == crate::linnworks::SERVICE
            && matches!(e.status, Some(400 | 401 | 403))
            && e.call.contains("Authorize")
        {
            JobError::Validation(ValidationError::LinnworksTokenInvalid)
        } else {
            JobError::Remote(e)
        }
    }
}
