//! Environment variables and paths the children's commands read. The subcommands
//! (`worker`, `webhooks`, `master-data`) must read exactly these; docs/operator.md lists them.

use clap::{Args, Command};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

use crate::config::Credentials;
use crate::crd::SecretKeyRef;
use crate::settings::SystemSettings;

/// PostgreSQL URL of the order queue.
pub const DATABASE_URL: &str = "LINNSTREAM_DATABASE_URL";
pub const STREAM_CLIENT_ID: &str = "LINNSTREAM_STREAM_CLIENT_ID";
pub const STREAM_CLIENT_SECRET: &str = "LINNSTREAM_STREAM_CLIENT_SECRET";
pub const LINNWORKS_APPLICATION_ID: &str = "LINNSTREAM_LINNWORKS_APPLICATION_ID";
pub const LINNWORKS_APPLICATION_SECRET: &str = "LINNSTREAM_LINNWORKS_APPLICATION_SECRET";
pub const LINNWORKS_INSTALLATION_TOKEN: &str = "LINNSTREAM_LINNWORKS_INSTALLATION_TOKEN";
/// The token Stream sends back in the webhook auth header (the receiver verifies it; the
/// operator registers the subscriptions with it).
pub const WEBHOOK_AUTH_TOKEN: &str = "LINNSTREAM_WEBHOOK_AUTH_TOKEN";
/// The pod's name, for worker heartbeats and claim ownership in the store.
pub const POD_NAME: &str = "LINNSTREAM_POD_NAME";
/// How long a worker's lease on an installation lasts (`--lease-duration`), dedicated and
/// pooled workers alike.
pub const LEASE_DURATION: &str = "LINNSTREAM_INSTALLATION_LEASE_DURATION";
/// The `process` of a worker's heartbeats in the store (their `installation` is
/// `namespace/name`): the operator counts those as the Installation's live workers.
pub const WORKER_PROCESS: &str = "sync-worker";

/// Key of the auth token in the webhook auth Secret.
pub const WEBHOOK_AUTH_KEY: &str = "token";

/// The Stream and Linnworks credentials a child was given, read with `lookup` (normally
/// `std::env::var`). Errors name the missing variable, never a value.
pub fn credentials(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, String> {
    let get = |name: &str| {
        lookup(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("environment variable {name} is not set"))
    };
    Ok(Credentials {
        stream_client_id: get(STREAM_CLIENT_ID)?,
        stream_client_secret: get(STREAM_CLIENT_SECRET)?,
        linnworks_application_id: get(LINNWORKS_APPLICATION_ID)?,
        linnworks_application_secret: get(LINNWORKS_APPLICATION_SECRET)?,
        linnworks_installation_token: get(LINNWORKS_INSTALLATION_TOKEN)?,
        // Label calls reach the shared gateway, not the per-installation children.
        gateway_token: None,
    })
}

/// The credentials of the webhook receiver, which is given only the Stream client id (it
/// checks `party_id` against it); the other fields are left empty.
pub fn receiver_credentials(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    let stream_client_id = lookup(STREAM_CLIENT_ID)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("environment variable {STREAM_CLIENT_ID} is not set"))?;
    Ok(Credentials {
        stream_client_id,
        stream_client_secret: String::new(),
        linnworks_application_id: String::new(),
        linnworks_application_secret: String::new(),
        linnworks_installation_token: String::new(),
        gateway_token: None,
    })
}

/// `name` from a key of a Secret; the value never enters the pod spec.
pub fn from_secret(name: &str, secret: &SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// `--lease-duration` of the workers: whole seconds, or milliseconds when the setting has
/// a fraction (`3.5s`), so the workers get the operator's value and not a truncated one.
pub fn lease_duration(lease: std::time::Duration) -> EnvVar {
    let value = if lease.subsec_nanos() == 0 {
        format!("{}s", lease.as_secs())
    } else {
        format!("{}ms", lease.as_millis())
    };
    EnvVar {
        name: LEASE_DURATION.to_string(),
        value: Some(value),
        ..EnvVar::default()
    }
}

pub fn pod_name() -> EnvVar {
    EnvVar {
        name: POD_NAME.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "metadata.name".into(),
                api_version: Some("v1".into()),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// The system settings as the environment variables their flags read (`LINNSTREAM_...`),
/// taken from the clap definitions so a new setting cannot be forgotten here.
pub fn system_settings(settings: &SystemSettings) -> Vec<EnvVar> {
    let values = serde_json::to_value(settings).unwrap_or_default();
    let command = SystemSettings::augment_args(Command::new("settings"));
    command
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_string();
            let value = values.get(camel_case(arg.get_id().as_str()))?;
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(EnvVar {
                name: env,
                value: Some(value),
                ..EnvVar::default()
            })
        })
        .collect()
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
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

    #[test]
    fn the_workers_get_the_lease_duration_the_operator_parsed() {
        use crate::domain::schedule::parse_duration;
        for text in ["15s", "3.5s", "1m30s", "2m0.25s"] {
            let lease = parse_duration(text).expect("duration");
            let value = lease_duration(lease).value.expect("value");
            assert_eq!(parse_duration(&value), Ok(lease), "{text} -> {value}");
        }
        assert_eq!(
            lease_duration(std::time::Duration::from_secs(15))
                .value
                .as_deref(),
            Some("15s")
        );
    }

    #[test]
    fn credentials_are_read_from_the_variables_the_builder_sets() {
        let vars = std::collections::BTreeMap::from([
            (STREAM_CLIENT_ID, "cid"),
            (STREAM_CLIENT_SECRET, "csecret"),
            (LINNWORKS_APPLICATION_ID, "appid"),
            (LINNWORKS_APPLICATION_SECRET, "appsecret"),
            (LINNWORKS_INSTALLATION_TOKEN, "token"),
        ]);
        let c = credentials(|n| vars.get(n).map(|v| v.to_string())).expect("complete");
        assert_eq!(c.stream_client_secret, "csecret");
        assert_eq!(c.linnworks_installation_token, "token");
        let err = credentials(|n| {
            (n != LINNWORKS_APPLICATION_SECRET)
                .then(|| vars.get(n).map(|v| v.to_string()))
                .flatten()
        })
        .expect_err("incomplete");
        assert_eq!(
            err,
            "environment variable LINNSTREAM_LINNWORKS_APPLICATION_SECRET is not set"
        );
        // The receiver is given only the Stream client id.
        let receiver = receiver_credentials(|n| (n == STREAM_CLIENT_ID).then(|| "cid".to_string()))
            .expect("the client id is enough");
        assert_eq!(receiver.stream_client_id, "cid");
        assert!(receiver.stream_client_secret.is_empty());
        assert_eq!(
            receiver_credentials(|_| None).expect_err("no client id"),
            "environment variable LINNSTREAM_STREAM_CLIENT_ID is not set"
        );
    }

    #[test]
    fn every_system_setting_round_trips_through_its_variable() {
        let settings = SystemSettings {
            max_batch_size_per_installation: 7,
            order_sync_page_size: 123,
            stream_api_max_retry_attempts: 0,
            audit_retention_days: 90,
            ..SystemSettings::default()
        };
        let vars = system_settings(&settings);
        // Feed each variable back through the flag that reads it (setting the process
        // environment would race with other tests that parse settings).
        let command = SystemSettings::augment_args(Command::new("settings"));
        let flags = command.get_arguments().filter(|a| a.get_env().is_some());
        assert_eq!(
            vars.len(),
            flags.count(),
            "one variable per setting: {vars:?}"
        );
        let mut args = vec!["x".to_string()];
        for var in &vars {
            let arg = command
                .get_arguments()
                .find(|a| a.get_env().and_then(|e| e.to_str()) == Some(var.name.as_str()))
                .expect("a flag reads this variable");
            args.push(format!("--{}", arg.get_long().expect("long flag")));
            args.push(var.value.clone().expect("a literal value"));
        }
        let parsed = Cli::try_parse_from(args).expect("parses").settings;
        assert_eq!(parsed, settings);
    }
}
