//! System-level settings: the guide's "System-Level Settings" table (defaults and ranges),
//! plus the few operational knobs this implementation adds. Read from flags or
//! `LINNSTREAM_...` environment variables; out-of-range values are refused at start.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

#[derive(Args, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemSettings {
    /// Max Batch Size Per Installation: orders sent per installation per send cycle.
    #[arg(long, env = "LINNSTREAM_MAX_BATCH_SIZE_PER_INSTALLATION", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_batch_size_per_installation: u32,

    /// Max Installations Per Batch: installations processed at once in a scheduler cycle.
    #[arg(long, env = "LINNSTREAM_MAX_INSTALLATIONS_PER_BATCH", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_installations_per_batch: u32,

    /// Max User-Selected Orders: orders a user may select for one bulk operation.
    #[arg(long, env = "LINNSTREAM_MAX_USER_SELECTED_ORDERS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_user_selected_orders: u32,

    /// Max User-Selected Orders for Delete: orders a user may select for one bulk delete.
    #[arg(long, env = "LINNSTREAM_MAX_USER_SELECTED_ORDERS_FOR_DELETE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_user_selected_orders_for_delete: u32,

    /// Max Retry Attempts: automatic retries of a failed order before it stays Failed.
    #[arg(long, env = "LINNSTREAM_MAX_RETRY_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_retry_attempts: u32,

    /// Webhook Batch Size: webhook events claimed per batch; a processing cycle repeats
    /// batches while events remain.
    #[arg(long, env = "LINNSTREAM_WEBHOOK_BATCH_SIZE", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub webhook_batch_size: u32,

    /// Webhook Max Retry Attempts: retries of a webhook event that failed to process.
    #[arg(long, env = "LINNSTREAM_WEBHOOK_MAX_RETRY_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub webhook_max_retry_attempts: u32,

    /// Stream API Timeout, in seconds, for each remote API request.
    #[arg(long, env = "LINNSTREAM_STREAM_API_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=300))]
    pub stream_api_timeout_seconds: u32,

    /// Stream API Max Retry Attempts: HTTP-level retries on 5xx, 408 and 429.
    #[arg(long, env = "LINNSTREAM_STREAM_API_MAX_RETRY_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=5))]
    pub stream_api_max_retry_attempts: u32,

    /// Linnworks Order Sync Page Size: orders per page when fetching from Linnworks.
    #[arg(long, env = "LINNSTREAM_ORDER_SYNC_PAGE_SIZE", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub order_sync_page_size: u32,

    /// Seconds a claimed order stays locked to its worker; after that a crashed worker's
    /// claims return to the queue. Must exceed the longest possible send: the Stream API
    /// timeout times (retries + 1).
    #[arg(long, env = "LINNSTREAM_CLAIM_LEASE_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(5..=3600))]
    pub claim_lease_seconds: u32,

    /// Days of audit log kept; older rows are pruned.
    #[arg(long, env = "LINNSTREAM_AUDIT_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub audit_retention_days: u32,

    /// Seconds a stopping process (SIGTERM, Ctrl-C) keeps finishing the sends it started
    /// before it hands its remaining claims back to the queue. Kubernetes kills a pod
    /// `terminationGracePeriodSeconds` after SIGTERM, so pods get this plus 10.
    #[arg(long, env = "LINNSTREAM_SHUTDOWN_GRACE_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub shutdown_grace_seconds: u32,

    /// Read timeouts of the HTTP listeners.
    #[command(flatten)]
    #[serde(flatten)]
    pub http: crate::server::HttpSettings,
}

impl Default for SystemSettings {
    fn default() -> Self {
        Self {
            max_batch_size_per_installation: 5,
            max_installations_per_batch: 2,
            max_user_selected_orders: 5,
            max_user_selected_orders_for_delete: 10,
            max_retry_attempts: 3,
            webhook_batch_size: 5,
            webhook_max_retry_attempts: 3,
            stream_api_timeout_seconds: 30,
            stream_api_max_retry_attempts: 3,
            order_sync_page_size: 50,
            claim_lease_seconds: 300,
            audit_retention_days: 30,
            shutdown_grace_seconds: 20,
            http: crate::server::HttpSettings::default(),
        }
    }
}

/// (name, value, min, max) for each ranged setting, used by `validate`.
type Range = (&'static str, u32, u32, u32);

impl SystemSettings {
    fn ranges(&self) -> [Range; 13] {
        [
            (
                "maxBatchSizePerInstallation",
                self.max_batch_size_per_installation,
                1,
                50,
            ),
            (
                "maxInstallationsPerBatch",
                self.max_installations_per_batch,
                1,
                50,
            ),
            (
                "maxUserSelectedOrders",
                self.max_user_selected_orders,
                1,
                100,
            ),
            (
                "maxUserSelectedOrdersForDelete",
                self.max_user_selected_orders_for_delete,
                1,
                50,
            ),
            ("maxRetryAttempts", self.max_retry_attempts, 1, 20),
            ("webhookBatchSize", self.webhook_batch_size, 1, 50),
            (
                "webhookMaxRetryAttempts",
                self.webhook_max_retry_attempts,
                1,
                10,
            ),
            (
                "streamApiTimeoutSeconds",
                self.stream_api_timeout_seconds,
                1,
                300,
            ),
            (
                "streamApiMaxRetryAttempts",
                self.stream_api_max_retry_attempts,
                0,
                5,
            ),
            ("orderSyncPageSize", self.order_sync_page_size, 1, 500),
            ("claimLeaseSeconds", self.claim_lease_seconds, 5, 3600),
            ("auditRetentionDays", self.audit_retention_days, 1, 3650),
            ("shutdownGraceSeconds", self.shutdown_grace_seconds, 1, 600),
        ]
    }

    /// Checks every range, for settings built in code rather than parsed by clap.
    pub fn validate(&self) -> Result<(), String> {
        let problems: Vec<String> = self
            .ranges()
            .into_iter()
            .chain(self.http.ranges())
            .filter(|(_, v, lo, hi)| v < lo || v > hi)
            .map(|(name, v, lo, hi)| format!("{name} is {v}; use {lo} to {hi}"))
            .collect();
        let mut problems = problems;
        let longest_send =
            self.stream_api_timeout_seconds * (self.stream_api_max_retry_attempts + 1);
        if self.claim_lease_seconds <= longest_send {
            problems.push(format!(
                "claimLeaseSeconds is {}; it must exceed the longest send, streamApiTimeoutSeconds x (streamApiMaxRetryAttempts + 1) = {longest_send}, or an order could be sent twice",
                self.claim_lease_seconds
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn stream_api_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.stream_api_timeout_seconds))
    }

    pub fn claim_lease(&self) -> Duration {
        Duration::from_secs(u64::from(self.claim_lease_seconds))
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(u64::from(self.shutdown_grace_seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: SystemSettings,
    }

    fn parse(args: &[&str]) -> Result<SystemSettings, clap::Error> {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.settings)
    }

    #[test]
    fn defaults_are_the_guides() {
        let s = parse(&[]).expect("defaults parse");
        assert_eq!(s, SystemSettings::default());
        assert_eq!(s.max_batch_size_per_installation, 5);
        assert_eq!(s.max_installations_per_batch, 2);
        assert_eq!(s.max_user_selected_orders, 5);
        assert_eq!(s.max_user_selected_orders_for_delete, 10);
        assert_eq!(s.max_retry_attempts, 3);
        assert_eq!(s.webhook_batch_size, 5);
        assert_eq!(s.webhook_max_retry_attempts, 3);
        assert_eq!(s.stream_api_timeout_seconds, 30);
        assert_eq!(s.stream_api_max_retry_attempts, 3);
        assert_eq!(s.order_sync_page_size, 50);
        assert_eq!(s.shutdown_grace_seconds, 20);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn every_range_is_enforced_at_both_ends() {
        let cases: [(&str, u32, u32); 13] = [
            ("--max-batch-size-per-installation", 1, 50),
            ("--max-installations-per-batch", 1, 50),
            ("--max-user-selected-orders", 1, 100),
            ("--max-user-selected-orders-for-delete", 1, 50),
            ("--max-retry-attempts", 1, 20),
            ("--webhook-batch-size", 1, 50),
            ("--webhook-max-retry-attempts", 1, 10),
            ("--stream-api-timeout-seconds", 1, 300),
            ("--stream-api-max-retry-attempts", 0, 5),
            ("--order-sync-page-size", 1, 500),
            ("--claim-lease-seconds", 5, 3600),
            ("--audit-retention-days", 1, 3650),
            ("--shutdown-grace-seconds", 1, 600),
        ];
        for (flag, lo, hi) in cases {
            assert!(parse(&[flag, &lo.to_string()]).is_ok(), "{flag} {lo}");
            assert!(parse(&[flag, &hi.to_string()]).is_ok(), "{flag} {hi}");
            let err = parse(&[flag, &(hi + 1).to_string()]).expect_err("above range");
            let text = err.to_string();
            assert!(
                text.contains(flag) && text.contains(&format!("{lo}..={hi}")),
                "{text}"
            );
            if lo > 0 {
                assert!(
                    parse(&[flag, &(lo - 1).to_string()]).is_err(),
                    "{flag} below"
                );
            }
        }
    }

    #[test]
    fn the_claim_lease_must_outlast_the_longest_send() {
        let s = SystemSettings {
            stream_api_timeout_seconds: 30,
            stream_api_max_retry_attempts: 3,
            claim_lease_seconds: 120,
            ..SystemSettings::default()
        };
        let err = s.validate().expect_err("lease too short");
        assert!(
            err.contains("claimLeaseSeconds is 120; it must exceed the longest send"),
            "{err}"
        );
        let ok = SystemSettings {
            claim_lease_seconds: 121,
            ..s
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn validate_names_each_bad_setting() {
        let s = SystemSettings {
            max_batch_size_per_installation: 0,
            order_sync_page_size: 501,
            ..SystemSettings::default()
        };
        let err = s.validate().expect_err("out of range");
        assert!(
            err.contains("maxBatchSizePerInstallation is 0; use 1 to 50"),
            "{err}"
        );
        assert!(
            err.contains("orderSyncPageSize is 501; use 1 to 500"),
            "{err}"
        );
    }
}
