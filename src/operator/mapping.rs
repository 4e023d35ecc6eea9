//! The PostalServiceMapping controller: a mapping is Ready when its Installation exists and
//! its depot and delivery method exist in that Installation's synced master data (the
//! store's depots, with their delivery methods), and the method suits the order type.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use serde_json::json;

use super::build::FIELD_MANAGER;
use super::context::Context;
use super::error::Error;
use super::status::{self, ConditionFinding, READY};
use crate::crd::common::{Problem, describe};
use crate::crd::mapping::PostalServiceMappingStatus;
use crate::crd::validate::validate_mapping;
use crate::crd::{
    API_VERSION, Condition, ConditionStatus, PostalServiceMapping, PostalServiceMappingSpec,
};
use crate::domain::InstallationKey;
use crate::domain::OrderType;
use crate::store::{Depot, MasterData, PostalService};

pub const CONTROLLER: &str = "postalservicemapping";

/// Mappings also depend on master data in the store, which no watch reports.
const RESYNC: Duration = Duration::from_secs(300);

fn object_key(m: &PostalServiceMapping) -> String {
    format!(
        "mapping/{}/{}",
        m.namespace().unwrap_or_default(),
        m.name_any()
    )
}

/// What decides readiness.
pub struct Inputs<'a> {
    pub spec: &'a PostalServiceMappingSpec,
    pub problems: &'a [Problem],
    pub installation_exists: bool,
    /// `Err`: the store could not be read.
    pub depots: Result<&'a MasterData<Depot>, String>,
}

/// `Ready` as a [`ConditionFinding`] whose `problem` means not ready; `None` status means unknown.
pub fn judge(i: &Inputs) -> (Option<bool>, String, String) {
    let spec = i.spec;
    let inst = &spec.installation_ref.name;
    if !i.problems.is_empty() {
        return (Some(false), "InvalidSpec".into(), describe(i.problems));
    }
    if !i.installation_exists {
        return (
            Some(false),
            "InstallationNotFound".into(),
            format!("Installation {inst:?} does not exist in this namespace"),
        );
    }
    let depots = match &i.depots {
        Ok(d) => d,
        Err(e) => {
            return (
                None,
                "StoreUnavailable".into(),
                format!("cannot read the master data: {e}"),
            );
        }
    };
    if depots.synced_at.is_none() {
        return (
            Some(false),
            "MasterDataNotSynced".into(),
            format!(
                "Installation {inst:?} has no synced depots yet (the postal-services master-data job fills them)"
            ),
        );
    }
    let Some(depot) = depots
        .items
        .iter()
        .find(|d| d.id == spec.depot || d.name.eq_ignore_ascii_case(&spec.depot))
    else {
        let known: Vec<&str> = depots.items.iter().map(|d| d.id.as_str()).collect();
        return (
            Some(false),
            "DepotNotFound".into(),
            format!(
                "spec.depot: {:?} is not a Stream depot of Installation {inst:?} (known: {})",
                spec.depot,
                list(&known)
            ),
        );
    };
    let Some(method) = depot.delivery_methods.iter().find(|m| {
        m.id == spec.delivery_method || m.name.eq_ignore_ascii_case(&spec.delivery_method)
    }) else {
        let known: Vec<&str> = depot
            .delivery_methods
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        return (
            Some(false),
            "DeliveryMethodNotFound".into(),
            format!(
                "spec.deliveryMethod: depot {:?} has no delivery method {:?} (known: {})",
                depot.id,
                spec.delivery_method,
                list(&known)
            ),
        );
    };
    // Collections need a Collection method, deliveries any other (as Stream checks).
    let collection_method = method.method_type.eq_ignore_ascii_case("collection");
    let collection_order = spec.order_type == OrderType::Collection;
    if collection_method != collection_order {
        return (
            Some(false),
            "DeliveryMethodMismatch".into(),
            format!(
                "spec.orderType: {:?} orders cannot use delivery method {:?} of type {}",
                spec.order_type, method.id, method.method_type
            ),
        );
    }
    (
        Some(true),
        "Resolved".into(),
        format!(
            "depot {:?} offers delivery method {:?} ({})",
            depot.id, method.id, method.method_type
        ),
    )
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The Linnworks postal service this mapping names, among those synced.
pub fn resolve_service(
    spec: &PostalServiceMappingSpec,
    services: &[PostalService],
) -> Option<String> {
    let by_id = spec
        .postal_service
        .id
        .as_deref()
        .and_then(|id| services.iter().find(|s| s.id.eq_ignore_ascii_case(id)));
    let by_name = || {
        spec.postal_service
            .name
            .as_deref()
            .and_then(|n| services.iter().find(|s| s.name.eq_ignore_ascii_case(n)))
    };
    by_id.or_else(by_name).map(|s| s.id.clone())
}

pub async fn reconcile(
    mapping: Arc<PostalServiceMapping>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile(CONTROLLER);
    ctx.caches.wait_ready(Duration::from_secs(120)).await?;
    let ns = mapping
        .namespace()
        .ok_or(Error::MissingMetadata("namespace"))?;
    let spec = &mapping.spec;
    let inst_name = &spec.installation_ref.name;
    let installation_exists = ctx
        .caches
        .installations
        .get(&ObjectRef::new(inst_name).within(&ns))
        .is_some_and(|m| m.metadata.deletion_timestamp.is_none());
    let problems = validate_mapping(spec);
    let id = InstallationKey::new(&ns, inst_name).id();
    let (depots, resolved) = if installation_exists && problems.is_empty() {
        let depots = ctx.store.depots(&id).await.map_err(|e| e.to_string());
        let resolved = match ctx.store.postal_services(&id).await {
            Ok(s) => resolve_service(spec, &s.items),
            Err(_) => None,
        };
        (depots, resolved)
    } else {
        (
            Ok(MasterData {
                items: Vec::new(),
                synced_at: None,
            }),
            None,
        )
    };
    let (ready, reason, message) = judge(&Inputs {
        spec,
        problems: &problems,
        installation_exists,
        depots: depots.as_ref().map_err(Clone::clone),
    });
    let finding = match ready {
        Some(true) => ConditionFinding::ok(&reason, message),
        _ => ConditionFinding::problem(&reason, message),
    };
    let condition = Condition {
        type_: READY.into(),
        status: match ready {
            Some(true) => ConditionStatus::True,
            Some(false) => ConditionStatus::False,
            None => ConditionStatus::Unknown,
        },
        reason: finding.reason,
        message: finding.message,
        last_transition_time: String::new(),
        observed_generation: mapping.metadata.generation,
    };
    let old = mapping.status.clone().unwrap_or_default();
    let new = PostalServiceMappingStatus {
        observed_generation: mapping.metadata.generation,
        conditions: status::merge(&old.conditions, vec![condition], Utc::now()),
        resolved_postal_service_id: resolved.or(old.resolved_postal_service_id.clone()),
    };
    if mapping.status.as_ref() != Some(&new) {
        let api: Api<PostalServiceMapping> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = json!({
            "apiVersion": API_VERSION,
            "kind": "PostalServiceMapping",
            "status": new,
        });
        api.patch_status(
            &mapping.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    }
    ctx.succeeded(&object_key(&mapping));
    Ok(Action::requeue(RESYNC.min(ctx.config.resync_interval * 5)))
}

pub fn error_policy(
    mapping: Arc<PostalServiceMapping>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    ctx.metrics.failure(CONTROLLER, error.kind());
    let delay = ctx.backoff(&object_key(&mapping));
    tracing::warn!(
        mapping = %format!("{}/{}", mapping.namespace().unwrap_or_default(), mapping.name_any()),
        retry_in = ?delay,
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DeliveryMethod;

    fn spec() -> PostalServiceMappingSpec {
        let m: PostalServiceMapping =
            serde_saphyr::from_str(include_str!("../../examples/mapping-delivery.yaml")).unwrap();
        m.spec
    }

    fn depots(synced: bool) -> MasterData<Depot> {
        MasterData {
            items: vec![Depot {
                id: "LEEDS".into(),
                name: "Leeds".into(),
                delivery_methods: vec![
                    DeliveryMethod {
                        id: "HOME-2MAN".into(),
                        name: "Two-man home delivery".into(),
                        method_type: "Delivery".into(),
                    },
                    DeliveryMethod {
                        id: "RETURNS".into(),
                        name: "Returns collection".into(),
                        method_type: "Collection".into(),
                    },
                ],
            }],
            synced_at: synced.then(Utc::now),
        }
    }

    fn judge_with(
        spec: &PostalServiceMappingSpec,
        exists: bool,
        md: &MasterData<Depot>,
    ) -> (Option<bool>, String, String) {
        judge(&Inputs {
            spec,
            problems: &validate_mapping(spec),
            installation_exists: exists,
            depots: Ok(md),
        })
    }

    #[test]
    fn ready_when_the_depot_and_method_exist_in_synced_master_data() {
        let (ready, reason, message) = judge_with(&spec(), true, &depots(true));
        assert_eq!(ready, Some(true), "{message}");
        assert_eq!(reason, "Resolved");
    }

    #[test]
    fn each_way_of_not_being_ready_says_why() {
        let (r, reason, _) = judge_with(&spec(), false, &depots(true));
        assert_eq!((r, reason.as_str()), (Some(false), "InstallationNotFound"));
        let (_, reason, _) = judge_with(&spec(), true, &depots(false));
        assert_eq!(reason, "MasterDataNotSynced");
        let mut s = spec();
        s.depot = "YORK".into();
        let (_, reason, message) = judge_with(&s, true, &depots(true));
        assert_eq!(reason, "DepotNotFound");
        assert!(message.contains("(known: LEEDS)"), "{message}");
        let mut s = spec();
        s.delivery_method = "DRONE".into();
        let (_, reason, message) = judge_with(&s, true, &depots(true));
        assert_eq!(reason, "DeliveryMethodNotFound");
        assert!(message.contains("HOME-2MAN, RETURNS"), "{message}");
        let mut s = spec();
        s.order_type = OrderType::Collection;
        let (_, reason, _) = judge_with(&s, true, &depots(true));
        assert_eq!(reason, "DeliveryMethodMismatch");
        s.delivery_method = "returns collection".into();
        assert_eq!(judge_with(&s, true, &depots(true)).0, Some(true));
        let mut s = spec();
        s.label_copies = 9;
        assert_eq!(judge_with(&s, true, &depots(true)).1, "InvalidSpec");
        let unknown = judge(&Inputs {
            spec: &spec(),
            problems: &[],
            installation_exists: true,
            depots: Err("connection refused".into()),
        });
        assert_eq!(unknown.0, None);
    }

    #[test]
    fn the_postal_service_resolves_by_id_then_name() {
        let services = vec![PostalService {
            id: "3F2B1A0C-9D8E-4F7A-B6C5-D4E3F2A1B0C9".into(),
            name: "Stream Next Day".into(),
            vendor: "Stream".into(),
            depot_id: None,
            delivery_method_id: None,
        }];
        assert_eq!(
            resolve_service(&spec(), &services).as_deref(),
            Some("3F2B1A0C-9D8E-4F7A-B6C5-D4E3F2A1B0C9")
        );
        let mut s = spec();
        s.postal_service.id = None;
        assert!(resolve_service(&s, &services).is_some());
        s.postal_service.name = Some("Royal Mail".into());
        assert!(resolve_service(&s, &services).is_none());
    }
}
