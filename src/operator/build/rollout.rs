//! The rollout hash on the Deployments' pod templates. Settings reach running pods live
//! through the API (see `crate::config::cluster`), and a change of the pod template (image,
//! Secret names and keys) rolls the pods by itself; what pods read only at start and is
//! not in the template is the content of the Secrets behind their environment variables.
//! So the hash covers the webhook token (as its fingerprint) and the `resourceVersion`s of
//! the Secrets the pods read: rotating a credential restarts the pods that hold it.

use std::collections::BTreeMap;

use super::names;
use super::webhooks::WebhookToken;

/// `secret_versions`: Secret name -> `resourceVersion`, of the Secrets the pods read.
pub fn hash(token: Option<&WebhookToken>, secret_versions: &BTreeMap<String, String>) -> String {
    let mut input = String::new();
    if let Some(token) = token {
        input.push_str("token ");
        input.push_str(&token.fingerprint());
        input.push('\n');
    }
    for (name, version) in secret_versions {
        input.push_str(&format!("secret {name} {version}\n"));
    }
    names::sha256_hex(input.as_bytes())[..16].to_string()
}
