//! Applies the children the pure builders made (server-side apply, field manager
//! `linnstream-operator`, forced: the operator owns every field it sets) and deletes the
//! ones no longer wanted.
//!
//! An apply that would change nothing is skipped: the operator remembers, per child, a hash
//! of what it last applied and the version the server answered (`resourceVersion`, or
//! `generation` for kinds whose status others update); while both still match (the version
//! as seen by the child's watch), the child is as applied. Anything else (a new spec,
//! someone editing or deleting the child) applies again.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams,
};
use serde_json::Value;

use super::build::{FIELD_MANAGER, names};
use super::caches::{Caches, version_of};
use super::error::Error;

/// A child as `apiVersion`, `kind`, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChildRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ChildRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// The API resource of the kinds the operator makes.
pub fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "ServiceAccount" => "serviceaccounts",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "Secret" => "secrets",
        "Deployment" => "deployments",
        "Service" => "services",
        "CronJob" => "cronjobs",
        other => return ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, other)),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub struct Applier {
    client: Client,
    /// What was last applied to each child: (hash of the object, version answered, see
    /// `caches::version_of`).
    applied: Mutex<HashMap<ChildRef, (String, String)>>,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            applied: Mutex::new(HashMap::new()),
        }
    }

    fn api(&self, child: &ChildRef) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &child.namespace,
            &api_resource(&child.api_version, &child.kind),
        )
    }

    /// Applies `objects` into `ns` in order; returns the children the server created or
    /// changed.
    pub async fn apply(
        &self,
        ns: &str,
        objects: &[Value],
        caches: &Caches,
    ) -> Result<Vec<ChildRef>, Error> {
        let mut changed = Vec::new();
        for obj in objects {
            let child = ChildRef {
                api_version: obj["apiVersion"].as_str().unwrap_or_default().to_string(),
                kind: obj["kind"].as_str().unwrap_or_default().to_string(),
                namespace: ns.to_string(),
                name: obj["metadata"]["name"]
                    .as_str()
                    .ok_or(Error::MissingMetadata("name"))?
                    .to_string(),
            };
            let hash = names::sha256_hex(obj.to_string().as_bytes());
            let seen = caches.resource_version(&child.api_version, &child.kind, ns, &child.name);
            let remembered = self
                .applied
                .lock()
                .ok()
                .and_then(|a| a.get(&child).cloned());
            if let (Some((h, rv)), Some(seen)) = (&remembered, &seen)
                && *h == hash
                && rv == seen
            {
                continue;
            }
            let answer = self
                .api(&child)
                .patch(
                    &child.name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(obj),
                )
                .await?;
            let version = version_of(&child.kind, &answer.metadata);
            // Changed by this apply: created, a new wanted state, or the server's version
            // moved (a no-op apply keeps it: a re-apply after someone else's status update
            // is no change; one that reverts an edit is). Watch lag may overstate.
            let by_us = match (&remembered, &seen) {
                (_, None) => true,
                (Some((h, _)), Some(seen)) => *h != hash || *seen != version,
                (None, Some(seen)) => *seen != version,
            };
            if by_us {
                changed.push(child.clone());
            }
            if let Ok(mut applied) = self.applied.lock() {
                applied.insert(child, (hash, version));
            }
        }
        Ok(changed)
    }

    /// Deletes `children` that exist (as the watches see them); returns those deleted.
    pub async fn prune(
        &self,
        children: &[ChildRef],
        caches: &Caches,
    ) -> Result<Vec<ChildRef>, Error> {
        let mut deleted = Vec::new();
        for child in children {
            if let Ok(mut applied) = self.applied.lock() {
                applied.remove(child);
            }
            let exists = caches
                .resource_version(
                    &child.api_version,
                    &child.kind,
                    &child.namespace,
                    &child.name,
                )
                .is_some();
            if !exists {
                continue;
            }
            match self
                .api(child)
                .delete(&child.name, &DeleteParams::background())
                .await
            {
                Ok(_) => deleted.push(child.clone()),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(deleted)
    }

    /// Forgets the children of a deleted Installation (garbage collection removes them).
    pub fn forget(&self, ns: &str, names: &[String]) {
        if let Ok(mut applied) = self.applied.lock() {
            applied.retain(|c, _| !(c.namespace == ns && names.contains(&c.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_their_resources() {
        let r = api_resource("batch/v1beta1", "CronJob");
        assert_eq!(
            (r.group.as_str(), r.version.as_str(), r.plural.as_str()),
            ("batch", "v1beta1", "cronjobs")
        );
        let r = api_resource("v1", "ServiceAccount");
        assert_eq!(
            (r.group.as_str(), r.plural.as_str()),
            ("", "serviceaccounts")
        );
        let r = api_resource("rbac.authorization.k8s.io/v1", "RoleBinding");
        assert_eq!(r.plural, "rolebindings");
    }
}
