//! The nightly master-data jobs: the order identifiers the integration applies (registered in
//! Linnworks), and Stream's depots and delivery methods (stored, and turned into Linnworks
//! postal services under the STREAM TECH vendor, or STREAMTECH for a staging Stream account:
//! `spec.stream.environment`). Both are safe to re-run: what exists is
//! matched and updated, never created twice.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde::Serialize;

use crate::domain::AuditAction;
use crate::domain::InstallationKey;
use crate::domain::Job;
use crate::linnworks::{Identifier as LwIdentifier, PostalService as LwPostalService};
use crate::remote::RemoteError;
use crate::store::{DeliveryMethod, Depot, Identifier, PostalService};
use crate::stream::{DeliveryMethodType, Depot as StreamDepot};

use super::engine::Engine;
use super::job_error::JobError;
use super::run_context::RunContext;
use super::validation::ValidationError;
use crate::crd::installation::{PRODUCTION_VENDOR, STAGING_VENDOR};
use crate::domain::identifiers;

/// What the identifier sync did in Linnworks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierSummary {
    /// Registered because Linnworks did not have them.
    pub created: usize,
    /// Present under the tag with another name: renamed back.
    pub updated: usize,
    pub unchanged: usize,
}

impl std::fmt::Display for IdentifierSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "identifiers: {} created, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

/// What the postal-service sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalServiceSummary {
    /// Depots Stream listed (stored with their delivery methods).
    pub depots: usize,
    pub delivery_methods: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Not there when the list was read, but created by someone else before this sync could
    /// (another installation on the same Linnworks account): taken as they are.
    pub adopted: usize,
    /// Services made by an earlier sync for a depot or method Stream no longer lists. They
    /// are left in Linnworks (orders may still use them) and no longer stored as current.
    pub withdrawn: Vec<String>,
    /// Services that could not be created because a non-Stream postal service already has
    /// the name.
    pub conflicts: Vec<String>,
}

impl std::fmt::Display for PostalServiceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} depots, {} delivery methods; postal services: {} created, {} updated, {} unchanged",
            self.depots, self.delivery_methods, self.created, self.updated, self.unchanged
        )?;
        if self.adopted > 0 {
            write!(
                f,
                ", {} adopted (created meanwhile, e.g. by another installation on the account)",
                self.adopted
            )?;
        }
        if !self.withdrawn.is_empty() {
            write!(
                f,
                "; no longer offered by Stream (left in Linnworks): {}",
                self.withdrawn.join(", ")
            )?;
        }
        if !self.conflicts.is_empty() {
            write!(
                f,
                "; not created, the name is taken by another vendor's service: {}",
                self.conflicts.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Runs a master-data job for the scheduler; returns its summary line.
pub async fn run_job(run: &RunContext, job: Job) -> Result<String, JobError> {
    match job {
        Job::Identifiers => Ok(sync_identifiers(run).await?.to_string()),
        Job::PostalServices => Ok(sync_postal_services(run).await?.to_string()),
        Job::Fetch | Job::Send | Job::Webhooks | Job::Prune => Err(JobError::Other(format!(
            "{} is run by the scheduler itself",
            job.name()
        ))),
    }
}

/// Registers every identifier of [`identifiers::all`] that Linnworks lacks (and renames back
/// those renamed by hand), then stores the set with Linnworks' ids.
pub async fn sync_identifiers(run: &RunContext) -> Result<IdentifierSummary, JobError> {
    let started = Instant::now();
    let result = identifiers_inner(run.engine(), run.key()).await;
    run.audit_result(AuditAction::MasterData, &result, started)
        .await;
    result
}

async fn identifiers_inner(
    engine: &Engine,
    key: &InstallationKey,
) -> Result<IdentifierSummary, JobError> {
    let inst = engine
        .installation(key)
        .ok_or(ValidationError::InstallationInactive)?;
    let clients = engine.clients(&inst)?;
    let existing = clients
        .linnworks
        .get_identifiers()
        .await
        .map_err(JobError::from_linnworks)?;
    // Tags compared without case: Linnworks matches them that way when assigning.
    let by_tag: HashMap<String, &LwIdentifier> = existing
        .iter()
        .map(|i| (i.tag.to_ascii_uppercase(), i))
        .collect();
    let mut summary = IdentifierSummary::default();
    let mut stored = Vec::new();
    for (tag, name) in identifiers::all() {
        let saved = match by_tag.get(&tag.to_ascii_uppercase()) {
            Some(found) if found.name == name => {
                summary.unchanged += 1;
                (*found).clone()
            }
            Some(found) => {
                let renamed = LwIdentifier {
                    name: name.clone(),
                    ..(*found).clone()
                };
                let saved = clients
                    .linnworks
                    .save_identifier(&renamed)
                    .await
                    .map_err(|e| partial(e, &summary))?;
                summary.updated += 1;
                saved
            }
            None => {
                let new = LwIdentifier {
                    identifier_id: 0,
                    is_custom: true,
                    tag: tag.clone(),
                    name: name.clone(),
                    ..LwIdentifier::default()
                };
                let saved = clients
                    .linnworks
                    .save_identifier(&new)
                    .await
                    .map_err(|e| partial(e, &summary))?;
                summary.created += 1;
                saved
            }
        };
        stored.push(Identifier {
            tag,
            name,
            identifier_id: (saved.identifier_id > 0).then_some(i64::from(saved.identifier_id)),
        });
    }
    engine
        .store()
        .replace_identifiers(&key.id(), &stored, chrono::Utc::now())
        .await?;
    Ok(summary)
}

/// A failure part-way still says what was already done, for the audit log.
fn partial(e: RemoteError, done: &IdentifierSummary) -> JobError {
    JobError::Other(format!(
        "{e} (before the failure: {} created, {} updated)",
        done.created, done.updated
    ))
}

/// The code a synced postal service carries in Linnworks (`PostalServiceCode`): how a re-run
/// finds the service it made, whatever its name has become.
pub fn postal_service_code(depot_id: &str, method_id: &str) -> String {
    format!("STREAM:{depot_id}:{method_id}")
}

/// The name shown in Linnworks for a depot's delivery method.
pub fn postal_service_name(depot_id: &str, method: &DeliveryMethod) -> String {
    let method_name = if method.name.trim().is_empty() {
        method.id.as_str()
    } else {
        method.name.trim()
    };
    format!("Stream {depot_id} {method_name}")
}

/// Production uses STREAM TECH; the guide says staging accounts use STREAMTECH.
fn is_stream_vendor(vendor: &str) -> bool {
    let v = vendor.trim();
    v.eq_ignore_ascii_case(PRODUCTION_VENDOR) || v.eq_ignore_ascii_case(STAGING_VENDOR)
}

fn method_type_name(t: &DeliveryMethodType) -> String {
    match t {
        DeliveryMethodType::Delivery => "Delivery".into(),
        DeliveryMethodType::Courier => "Courier".into(),
        DeliveryMethodType::Collection => "Collection".into(),
        DeliveryMethodType::Trunk => "Trunk".into(),
        DeliveryMethodType::Other(s) => s.clone(),
    }
}

fn store_depot(d: &StreamDepot) -> Depot {
    Depot {
        id: d.id.clone(),
        name: if d.address.name.trim().is_empty() {
            d.id.clone()
        } else {
            d.address.name.trim().to_string()
        },
        delivery_methods: d
            .delivery_methods
            .iter()
            .map(|m| DeliveryMethod {
                id: m.id.clone(),
                name: m.name.clone(),
                method_type: method_type_name(&m.method_type),
            })
            .collect(),
    }
}

/// One postal service the sync wants in Linnworks.
struct Wanted {
    depot_id: String,
    method_id: String,
    name: String,
    code: String,
    country: Option<String>,
}

fn wanted_services(depots: &[Depot], stream: &[StreamDepot]) -> Vec<Wanted> {
    let mut wanted: Vec<Wanted> = Vec::new();
    for depot in depots {
        let country = stream
            .iter()
            .find(|d| d.id == depot.id)
            .map(|d| d.address.country.trim().to_string())
            .filter(|c| !c.is_empty());
        for method in &depot.delivery_methods {
            wanted.push(Wanted {
                depot_id: depot.id.clone(),
                method_id: method.id.clone(),
                name: postal_service_name(&depot.id, method),
                code: postal_service_code(&depot.id, &method.id),
                country: country.clone(),
            });
        }
    }
    // Linnworks refuses two services of one name: two methods of a depot that share a name
    // are told apart by their ids.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for w in &wanted {
        *seen.entry(w.name.to_ascii_lowercase()).or_default() += 1;
    }
    for w in &mut wanted {
        if seen.get(&w.name.to_ascii_lowercase()).copied().unwrap_or(0) > 1 {
            w.name = format!("{} ({})", w.name, w.method_id);
        }
    }
    wanted
}

/// Fetches Stream's depots and delivery methods, stores them, and creates or updates one
/// Linnworks postal service per depot and method (vendor STREAM TECH, code
/// `STREAM:DEPOT:METHOD`), then stores those services.
pub async fn sync_postal_services(run: &RunContext) -> Result<PostalServiceSummary, JobError> {
    let started = Instant::now();
    let result = postal_services_inner(run.engine(), run.key()).await;
    run.audit_result(AuditAction::MasterData, &result, started)
        .await;
    result
}

async fn postal_services_inner(
    engine: &Engine,
    key: &InstallationKey,
) -> Result<PostalServiceSummary, JobError> {
    let inst = engine
        .installation(key)
        .ok_or(ValidationError::InstallationInactive)?;
    let clients = engine.clients(&inst)?;
    // STREAM TECH, or STREAMTECH for a staging Stream account (the guide's names).
    let vendor = inst.spec.stream.vendor_name();
    let store = engine.store();
    let installation = key.id();
    let stream_depots = clients.stream.depots().await?;
    let depots: Vec<Depot> = stream_depots.iter().map(store_depot).collect();
    // Stored first: the store refuses a reply listing a depot or method twice, before
    // anything is changed in Linnworks.
    store
        .replace_depots(&installation, &depots, chrono::Utc::now())
        .await?;
    let mut summary = PostalServiceSummary {
        depots: depots.len(),
        delivery_methods: depots.iter().map(|d| d.delivery_methods.len()).sum(),
        ..PostalServiceSummary::default()
    };

    let existing = linnworks_services(&clients.linnworks).await?;
    let wanted = wanted_services(&depots, &stream_depots);
    let mut used: HashSet<uuid::Uuid> = HashSet::new();
    let mut stored = Vec::new();
    for w in &wanted {
        let by_code = existing.iter().find(|s| {
            s.postal_service_code
                .as_deref()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(&w.code))
        });
        let by_name = || {
            existing
                .iter()
                .find(|s| s.postal_service_name.trim().eq_ignore_ascii_case(&w.name))
        };
        let found = by_code.or_else(by_name);
        let service = match found {
            Some(s) if !is_stream_vendor(&s.vendor) && by_code.is_none() => {
                // Another vendor's service has the name: taking it over would move its
                // orders to Stream, so it is reported instead.
                summary.conflicts.push(w.name.clone());
                continue;
            }
            Some(s) => {
                let current = s.postal_service_name.trim() == w.name
                    && is_stream_vendor(&s.vendor)
                    && s.postal_service_code.as_deref() == Some(w.code.as_str());
                if current {
                    summary.unchanged += 1;
                    s.clone()
                } else {
                    let updated = LwPostalService {
                        postal_service_name: w.name.clone(),
                        vendor: if is_stream_vendor(&s.vendor) {
                            s.vendor.clone()
                        } else {
                            vendor.to_string()
                        },
                        postal_service_code: Some(w.code.clone()),
                        ..s.clone()
                    };
                    clients
                        .linnworks
                        .update_postal_service(&updated)
                        .await
                        .map_err(JobError::from_linnworks)?;
                    summary.updated += 1;
                    updated
                }
            }
            None => {
                let new = LwPostalService {
                    postal_service_name: w.name.clone(),
                    vendor: vendor.to_string(),
                    postal_service_code: Some(w.code.clone()),
                    service_country: w.country.clone(),
                    tracking_number_required: true,
                    ..LwPostalService::default()
                };
                match clients.linnworks.create_postal_service(&new).await {
                    Ok(created) => {
                        summary.created += 1;
                        created
                    }
                    Err(e) => match created_meanwhile(&clients.linnworks, w).await? {
                        Some(found) => {
                            summary.adopted += 1;
                            found
                        }
                        None => return Err(JobError::from_linnworks(e)),
                    },
                }
            }
        };
        let Some(id) = service.pk_postal_service_id else {
            return Err(JobError::Other(format!(
                "Linnworks answered postal service {:?} without a pkPostalServiceId",
                w.name
            )));
        };
        used.insert(id);
        stored.push(PostalService {
            id: id.to_string(),
            name: w.name.clone(),
            vendor: service.vendor.clone(),
            depot_id: Some(w.depot_id.clone()),
            delivery_method_id: Some(w.method_id.clone()),
        });
    }
    summary.withdrawn = existing
        .iter()
        .filter(|s| {
            s.postal_service_code
                .as_deref()
                .is_some_and(|c| c.starts_with("STREAM:"))
                && s.pk_postal_service_id.is_none_or(|id| !used.contains(&id))
        })
        .map(|s| s.postal_service_name.clone())
        .collect();
    store
        .replace_postal_services(&installation, &stored, chrono::Utc::now())
        .await?;
    Ok(summary)
}

/// Linnworks' postal services, each with its id wherever the reply put it.
async fn linnworks_services(
    linnworks: &crate::linnworks::LinnworksClient,
) -> Result<Vec<LwPostalService>, JobError> {
    Ok(linnworks
        .get_postal_services()
        .await
        .map_err(JobError::from_linnworks)?
        .into_iter()
        .map(|s| {
            let mut service = s.service;
            service.pk_postal_service_id = service.pk_postal_service_id.or(s.id);
            service
        })
        .collect())
}

/// After a refused create: the service as someone else created it since the list was read
/// (two installations on one Linnworks account sync the same depots, often at the same
/// time), if it is there under the wanted code, or under the wanted name with the Stream
/// vendor. A same-named service of another vendor is an error naming it: taking it over
/// would move that carrier's orders to Stream. `None`: not there, the refusal stands.
async fn created_meanwhile(
    linnworks: &crate::linnworks::LinnworksClient,
    w: &Wanted,
) -> Result<Option<LwPostalService>, JobError> {
    let mut same_name = None;
    for s in linnworks_services(linnworks).await? {
        let code_matches = s
            .postal_service_code
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case(&w.code));
        if code_matches {
            return Ok(Some(s));
        }
        if s.postal_service_name.trim().eq_ignore_ascii_case(&w.name) {
            same_name = Some(s);
        }
    }
    match same_name {
        Some(s) if is_stream_vendor(&s.vendor) => Ok(Some(s)),
        Some(s) => Err(JobError::Other(format!(
            "postal service {:?} could not be created: Linnworks already has a service of that \
             name from vendor {:?}, not {PRODUCTION_VENDOR} or {STAGING_VENDOR}; rename one of them",
            w.name, s.vendor
        ))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(id: &str, name: &str) -> DeliveryMethod {
        DeliveryMethod {
            id: id.into(),
            name: name.into(),
            method_type: "Delivery".into(),
        }
    }

    #[test]
    fn names_and_codes_are_stable_and_unique() {
        let depots = vec![Depot {
            id: "NORTH".into(),
            name: "Leeds".into(),
            delivery_methods: vec![
                method("N-2", "Two-man delivery"),
                method("N-2B", "Two-man delivery"),
                method("N-C", ""),
            ],
        }];
        let wanted = wanted_services(&depots, &[]);
        let names: Vec<&str> = wanted.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Stream NORTH Two-man delivery (N-2)",
                "Stream NORTH Two-man delivery (N-2B)",
                "Stream NORTH N-C"
            ]
        );
        assert_eq!(wanted[2].code, "STREAM:NORTH:N-C");
        assert!(is_stream_vendor(" streamtech ") && !is_stream_vendor("Royal Mail"));
    }
}
