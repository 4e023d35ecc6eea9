//! System-level settings: the guide's "System-Level Settings" table (defaults and ranges),
//! plus the few operational knobs this implementation adds. Read from flags or
//! `LINNSTREAM_...` environment variables; out-of-range values are refused at start.

use std::time::Duration;

/// One ranged setting as the chart, the docs and `validate` see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingDef {
    /// The Helm value and the name in error messages (`maxBatchSizePerInstallation`).
    pub name: &'static str,
    pub env: &'static str,
    pub default: u32,
    pub min: u32,
    pub max: u32,
    /// Its documentation, on one line.
    pub description: &'static str,
}

impl SettingDef {
    /// The command-line flag (`--max-batch-size-per-installation`).
    pub fn flag(&self) -> String {
        let mut flag = String::from("--");
        for c in self.name.chars() {
            if c.is_ascii_uppercase() {
                flag.push('-');
            }
            flag.push(c.to_ascii_lowercase());
        }
        flag
    }
}

/// Declares a struct of `u32` settings, each read from a flag or a `LINNSTREAM_...` variable,
/// with its default and range written once: the clap definition, `Default`, the range check
/// and the [`SettingDef`] table (which the chart's values schema is generated from) all come
/// from the one entry.
#[macro_export]
macro_rules! ranged_settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                #[doc = $summary:literal]
                $(#[doc = $more:literal])*
                $field:ident: $camel:literal, $env:literal, $default:literal, $lo:literal..=$hi:literal;
            )+
            $(flatten $sub:ident: $subty:ty;)?
        }
    ) => {
        $(#[$meta])*
        #[derive(clap::Args, Clone, Debug, PartialEq, Eq, serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                #[doc = $summary]
                $(#[doc = $more])*
                #[arg(long, env = $env, default_value_t = $default,
                      value_parser = clap::value_parser!(u32).range($lo..=$hi))]
                pub $field: u32,
            )+
            $(
                #[command(flatten)]
                #[serde(flatten)]
                pub $sub: $subty,
            )?
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)+
                    $($sub: <$subty>::default(),)?
                }
            }
        }

        impl $name {
            /// Every setting of this struct (and of the one it flattens), in declaration order.
            pub fn table() -> Vec<$crate::settings::SettingDef> {
                #[allow(unused_mut)]
                let mut table = vec![$($crate::settings::SettingDef {
                    name: $camel,
                    env: $env,
                    default: $default,
                    min: $lo,
                    max: $hi,
                    description: concat!($summary $(, $more)*).trim_ascii(),
                }),+];
                $(table.extend(<$subty>::table());)?
                table
            }

            /// (name, value, min, max) of each setting, for `validate`.
            pub fn ranges(&self) -> Vec<(&'static str, u32, u32, u32)> {
                #[allow(unused_mut)]
                let mut ranges = vec![$(($camel, self.$field, $lo, $hi)),+];
                $(ranges.extend(self.$sub.ranges());)?
                ranges
            }
        }
    };
}

ranged_settings! {
    /// The guide's "System-Level Settings" and this implementation's operational knobs.
    pub struct SystemSettings {
        /// Max Batch Size Per Installation: orders sent per installation per send cycle.
        max_batch_size_per_installation: "maxBatchSizePerInstallation",
            "LINNSTREAM_MAX_BATCH_SIZE_PER_INSTALLATION", 5, 1..=50;
        /// Max Installations Per Batch: installations processed at once in a scheduler cycle.
        max_installations_per_batch: "maxInstallationsPerBatch",
            "LINNSTREAM_MAX_INSTALLATIONS_PER_BATCH", 2, 1..=50;
        /// Max User-Selected Orders: orders a user may select for one bulk operation.
        max_user_selected_orders: "maxUserSelectedOrders",
            "LINNSTREAM_MAX_USER_SELECTED_ORDERS", 5, 1..=100;
        /// Max User-Selected Orders for Delete: orders a user may select for one bulk delete.
        max_user_selected_orders_for_delete: "maxUserSelectedOrdersForDelete",
            "LINNSTREAM_MAX_USER_SELECTED_ORDERS_FOR_DELETE", 10, 1..=50;
        /// Max Retry Attempts: automatic retries of a failed order before it stays Failed.
        max_retry_attempts: "maxRetryAttempts", "LINNSTREAM_MAX_RETRY_ATTEMPTS", 3, 1..=20;
        /// Webhook Batch Size: webhook events claimed per batch; a processing cycle repeats
        /// batches while events remain.
        webhook_batch_size: "webhookBatchSize", "LINNSTREAM_WEBHOOK_BATCH_SIZE", 5, 1..=50;
        /// Webhook Max Retry Attempts: retries of a webhook event that failed to process.
        webhook_max_retry_attempts: "webhookMaxRetryAttempts",
            "LINNSTREAM_WEBHOOK_MAX_RETRY_ATTEMPTS", 3, 1..=10;
        /// Stream API Timeout, in seconds, for each remote API request.
        stream_api_timeout_seconds: "streamApiTimeoutSeconds",
            "LINNSTREAM_STREAM_API_TIMEOUT_SECONDS", 30, 1..=300;
        /// Stream API Max Retry Attempts: HTTP-level retries on 5xx, 408 and 429.
        stream_api_max_retry_attempts: "streamApiMaxRetryAttempts",
            "LINNSTREAM_STREAM_API_MAX_RETRY_ATTEMPTS", 3, 0..=5;
        /// Linnworks Order Sync Page Size: orders per page when fetching from Linnworks.
        order_sync_page_size: "orderSyncPageSize",
            "LINNSTREAM_ORDER_SYNC_PAGE_SIZE", 50, 1..=500;
        /// Seconds a claimed order stays locked to its worker; after that a crashed worker's
        /// claims return to the queue. Must exceed the longest possible send: the Stream API
        /// timeout times (retries + 1).
        claim_lease_seconds: "claimLeaseSeconds",
            "LINNSTREAM_CLAIM_LEASE_SECONDS", 300, 5..=3600;
        /// Days of audit log kept; older rows are pruned.
        audit_retention_days: "auditRetentionDays",
            "LINNSTREAM_AUDIT_RETENTION_DAYS", 30, 1..=3650;
        /// Seconds a stopping process (SIGTERM, Ctrl-C) keeps finishing the sends it started
        /// before it hands its remaining claims back to the queue. Kubernetes kills a pod
        /// `terminationGracePeriodSeconds` after SIGTERM, so pods get this plus 10.
        shutdown_grace_seconds: "shutdownGraceSeconds",
            "LINNSTREAM_SHUTDOWN_GRACE_SECONDS", 20, 1..=600;
        flatten http: HttpSettings;
    }
}

impl SystemSettings {
    /// Checks every range, for settings built in code rather than parsed by clap.
    pub fn validate(&self) -> Result<(), String> {
        let problems: Vec<String> = self
            .ranges()
            .into_iter()
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

ranged_settings! {
    /// Read timeouts of every HTTP listener (`run`, `gateway`, the webhook receiver, the
    /// operator's metrics and the workers' health listeners).
    pub struct HttpSettings {
        /// Seconds a caller has to send a request's line and headers, counted from when the
        /// connection opens or its previous response was sent; a connection idle that long
        /// between requests (keep-alive) is closed too.
        http_header_timeout_seconds: "httpHeaderTimeoutSeconds",
            "LINNSTREAM_HTTP_HEADER_TIMEOUT_SECONDS", 15, 1..=300;
        /// Seconds a caller has to send a whole request body once its headers are in.
        http_body_timeout_seconds: "httpBodyTimeoutSeconds",
            "LINNSTREAM_HTTP_BODY_TIMEOUT_SECONDS", 30, 1..=600;
    }
}

impl HttpSettings {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.http_header_timeout_seconds))
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.http_body_timeout_seconds))
    }
}

/// Every ranged setting: the system settings and the HTTP listeners' timeouts.
pub fn all_settings() -> Vec<SettingDef> {
    SystemSettings::table()
}

/// The `settings` object of the chart's `values.schema.json`, from [`all_settings`]: each
/// setting an integer with its range and default. None is required; a value left out of the
/// chart's values takes the binary's default.
pub fn values_schema_section() -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = all_settings()
        .into_iter()
        .map(|s| {
            let schema = serde_json::json!({
                "type": "integer",
                "description": s.description,
                "minimum": s.min,
                "maximum": s.max,
                "default": s.default,
            });
            (s.name.to_string(), schema)
        })
        .collect();
    serde_json::json!({
        "type": "object",
        "description": "System settings (the guide's defaults and ranges), for the operator, its children and the gateway. Generated by `linnstream crd --values-schema`.",
        "additionalProperties": false,
        "properties": properties,
    })
}

/// `schema` (the text of the chart's `values.schema.json`) with its top-level
/// `"settings": {...}` member replaced by [`values_schema_section`], the rest left as written.
pub fn with_values_schema_section(schema: &str) -> Result<String, String> {
    const KEY: &str = "\n    \"settings\": ";
    let start = schema
        .find(KEY)
        .ok_or("no top-level \"settings\" property (indented by four spaces) in the schema")?
        + KEY.len();
    let end =
        start + object_len(&schema[start..]).ok_or("the \"settings\" object is not closed")?;
    let pretty = serde_json::to_string_pretty(&values_schema_section())
        .map_err(|e| format!("serialising the settings schema: {e}"))?;
    let indented = pretty.replace('\n', "\n    ");
    Ok(format!("{}{indented}{}", &schema[..start], &schema[end..]))
}

/// The length of the JSON object at the start of `text` (through its closing brace).
fn object_len(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') => in_string = false,
            (true, _) => {}
            (false, '"') => in_string = true,
            (false, '{') => depth += 1,
            (false, '}') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            (false, _) => {}
        }
    }
    None
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
        let table = all_settings();
        assert_eq!(table.len(), 15, "13 system settings and 2 HTTP timeouts");
        for def in table {
            let flag = def.flag();
            let (lo, hi) = (def.min, def.max);
            assert!(parse(&[&flag, &lo.to_string()]).is_ok(), "{flag} {lo}");
            assert!(parse(&[&flag, &hi.to_string()]).is_ok(), "{flag} {hi}");
            let err = parse(&[&flag, &(hi + 1).to_string()]).expect_err("above range");
            let text = err.to_string();
            assert!(
                text.contains(&flag) && text.contains(&format!("{lo}..={hi}")),
                "{text}"
            );
            if lo > 0 {
                assert!(
                    parse(&[&flag, &(lo - 1).to_string()]).is_err(),
                    "{flag} below"
                );
            }
        }
    }

    #[test]
    fn the_table_is_what_clap_reads() {
        use clap::CommandFactory as _;
        let command = Cli::command();
        let defaults = serde_json::to_value(SystemSettings::default()).expect("json");
        for def in all_settings() {
            let arg = command
                .get_arguments()
                .find(|a| a.get_long().map(|l| format!("--{l}")) == Some(def.flag()))
                .unwrap_or_else(|| panic!("{} has no flag {}", def.name, def.flag()));
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(def.env),
                "{}",
                def.name
            );
            assert_eq!(defaults[def.name], def.default, "{}", def.name);
        }
    }

    #[test]
    fn the_values_schema_section_is_spliced_in_place() {
        let schema = "{\n  \"properties\": {\n    \"a\": {\"x\": \"}\"},\n    \"settings\": {\"old\": {}},\n    \"z\": 1\n  }\n}\n";
        let out = with_values_schema_section(schema).expect("spliced");
        let value: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(value["properties"]["settings"], values_schema_section());
        assert_eq!(value["properties"]["a"]["x"], "}");
        assert_eq!(value["properties"]["z"], 1);
        assert_eq!(
            value["properties"]["settings"]["properties"]["claimLeaseSeconds"]["minimum"],
            5
        );
        assert!(with_values_schema_section("{}").is_err());
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
