//! What the Linnworks and Stream API clients share: one error type, one HTTP client
//! builder (timeout from the system settings), and one retry policy (exponential
//! backoff with jitter, honouring `Retry-After`).
//!
//! A client builds its `reqwest::Client` with [`RemoteOptions::http_client`], wraps each
//! call in [`RetryPolicy::run`], and turns transport failures and non-2xx replies into
//! [`RemoteError`]s with [`RemoteError::from_reqwest`] and [`RemoteError::status`].

mod error;
mod http;
mod pacer;
mod retry;
pub mod text;

pub use error::{RemoteError, RemoteErrorKind};
pub use http::{RemoteOptions, build_http_client, read_reply, share_http_clients};
pub use pacer::Pacer;
pub use retry::{Idempotency, RetryPolicy, parse_retry_after};
