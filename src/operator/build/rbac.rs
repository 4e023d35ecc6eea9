//! API access of the children: they read their Installation and the mappings of their
//! namespace from the Kubernetes API (watching for changes), so each Installation gets a
//! ServiceAccount bound to a Role that allows exactly that, and nothing else (no Secrets:
//! credentials reach pods as `secretKeyRef` environment variables).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{Component, Context};
use crate::crd::API_GROUP;

/// The resources the children may read, in their own namespace.
pub const READABLE: [&str; 2] = ["installations", "postalservicemappings"];
pub const VERBS: [&str; 3] = ["get", "list", "watch"];

pub fn service_account(ctx: &Context) -> ServiceAccount {
    ServiceAccount {
        metadata: ctx.meta(&ctx.names.config_reader, Component::ConfigReader),
        // Only the pods that use the token mount it (see `pod::pod_spec`).
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

pub fn role(ctx: &Context) -> Role {
    Role {
        metadata: ctx.meta(&ctx.names.config_reader, Component::ConfigReader),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![API_GROUP.to_string()]),
            resources: Some(READABLE.iter().map(|r| r.to_string()).collect()),
            verbs: VERBS.iter().map(|v| v.to_string()).collect(),
            ..PolicyRule::default()
        }]),
    }
}

pub fn role_binding(ctx: &Context) -> RoleBinding {
    RoleBinding {
        metadata: ctx.meta(&ctx.names.config_reader, Component::ConfigReader),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: ctx.names.config_reader.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: ctx.names.config_reader.clone(),
            namespace: Some(ctx.namespace.clone()),
            ..Subject::default()
        }]),
    }
}
