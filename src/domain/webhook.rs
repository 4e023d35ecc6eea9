//! Webhook events as the integration keeps them: their processing status, and the path
//! Stream calls for each installation.

use super::installation::InstallationKey;
use super::text_enum::text_enum;

text_enum! {
    /// Where a received webhook event is in its processing.
    WebhookStatus as "webhook event status" {
        /// Stored, waiting for the webhook processing job.
        Pending => "Pending",
        /// Applied to Linnworks.
        Processed => "Processed",
        /// Failed more than WebhookMaxRetryAttempts times; not retried automatically.
        Failed => "Failed",
        /// Failed, and queued for another processing attempt.
        ReadyForRetry => "Ready for Retry",
    }
}

/// The receiver's route, with the installation's namespace and name as path segments.
pub const ROUTE: &str = "/webhooks/{namespace}/{name}";

/// The path Stream is subscribed to for an installation (appended to the public base URL).
pub fn webhook_path(key: &InstallationKey) -> String {
    format!("/webhooks/{}/{}", key.namespace, key.name)
}

/// The public base URL (`spec.webhooks.publicBaseUrl`) plus the installation's path.
pub fn webhook_url(public_base_url: &str, key: &InstallationKey) -> String {
    format!(
        "{}{}",
        public_base_url.trim_end_matches('/'),
        webhook_path(key)
    )
}
