//! The Linnworks API client: one login per installation (AuthorizeByApplication), the
//! session reused on the returned `Server` and renewed once on 401, and typed calls for
//! the endpoints the integration uses. No business rules: callers decide what to send.
//!
//! Field names follow Linnworks' OpenAPI files exactly (see `model`); timeouts and
//! retries are the shared `crate::remote` policy; errors carry the HTTP status and the
//! remote `Message`, never the application secret, the installation token or the session.

mod calls;
mod client;
pub mod model;
mod serde_util;

pub use client::{Credentials, LinnworksClient, SERVICE, Session};
pub use model::*;

/// Linnworks' public API host, where AuthorizeByApplication is called.
pub const DEFAULT_API_BASE_URL: &str = "https://api.linnworks.net";
