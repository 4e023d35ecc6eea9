//! Names and labels of an Installation's children.
//!
//! An Installation's name is a DNS subdomain (up to 253 characters, dots allowed), but a
//! Service name must be a DNS label (63, no dots, starting with a letter), a CronJob name
//! at most 52 characters (its Jobs append 11) and a label value at most 63. Names that do
//! not fit are shortened and given a hash of the full name, so they stay unique and stable.

use sha2::{Digest, Sha256};

/// Longest CronJob name: the controller appends `-<minutes since epoch>` to its Jobs.
pub const CRON_JOB_NAME_MAX: usize = 52;
/// DNS-1035 label: Services need it; the other children use it too, for one rule.
pub const NAME_MAX: usize = 63;

/// Lowercase hex of the SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<installation>-<suffix>`, made a valid DNS label of at most `max` characters.
pub fn child_name(installation: &str, suffix: &str, max: usize) -> String {
    let plain = format!("{installation}-{suffix}");
    if plain.len() <= max && is_dns_label(&plain) {
        return plain;
    }
    let hash = &sha256_hex(installation.as_bytes())[..8];
    let mut base: String = installation
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base.insert_str(0, "ls-");
    }
    // Room for "-<hash>-<suffix>".
    let room = max.saturating_sub(hash.len() + suffix.len() + 2);
    base.truncate(room);
    let base = base.trim_end_matches('-');
    format!("{base}-{hash}-{suffix}")
}

/// The installation's name as a label value (at most 63 characters).
pub fn label_value(installation: &str) -> String {
    if installation.len() <= NAME_MAX {
        return installation.to_string();
    }
    let hash = &sha256_hex(installation.as_bytes())[..8];
    let mut base = installation.to_string();
    base.truncate(NAME_MAX - hash.len() - 1);
    let base = base.trim_end_matches(['-', '.']);
    format!("{base}-{hash}")
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= NAME_MAX
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every child name of one Installation, so the reconciler can find and delete children
/// that are no longer wanted (e.g. the webhook receiver after webhooks are turned off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildNames {
    /// The ServiceAccount, Role and RoleBinding that let the children read their
    /// Installation and mappings from the API.
    pub config_reader: String,
    pub worker: String,
    pub webhooks: String,
    pub webhook_auth: String,
    pub identifiers: String,
    pub postal_services: String,
}

impl ChildNames {
    pub fn of(installation: &str) -> Self {
        Self {
            config_reader: child_name(installation, "config-reader", NAME_MAX),
            worker: child_name(installation, "worker", NAME_MAX),
            webhooks: child_name(installation, "webhooks", NAME_MAX),
            webhook_auth: child_name(installation, "webhook-auth", NAME_MAX),
            identifiers: child_name(installation, "identifiers", CRON_JOB_NAME_MAX),
            postal_services: child_name(installation, "postal-services", CRON_JOB_NAME_MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_names_are_kept() {
        assert_eq!(child_name("acme", "worker", NAME_MAX), "acme-worker");
    }

    #[test]
    fn long_dotted_or_numeric_names_become_valid_unique_labels() {
        let long = "a".repeat(200);
        for name in [long.as_str(), "acme.prod", "1st-shop"] {
            for (suffix, max) in [
                ("webhooks", NAME_MAX),
                ("postal-services", CRON_JOB_NAME_MAX),
            ] {
                let n = child_name(name, suffix, max);
                assert!(n.len() <= max, "{n}");
                assert!(is_dns_label(&n), "{n}");
                assert!(n.ends_with(suffix), "{n}");
            }
        }
        assert_ne!(
            child_name(&format!("{long}x"), "worker", NAME_MAX),
            child_name(&format!("{long}y"), "worker", NAME_MAX)
        );
        assert_ne!(
            child_name("acme.prod", "worker", NAME_MAX),
            child_name("acme-prod", "worker", NAME_MAX)
        );
    }

    #[test]
    fn label_values_fit() {
        assert_eq!(label_value("acme"), "acme");
        let v = label_value(&"b".repeat(100));
        assert!(v.len() <= 63, "{v}");
    }
}
