//! Rules that the OpenAPI schema cannot express, or not with a helpful message: cross-field
//! rules (also in the schema as structural `anyOf`, which the API server enforces with a
//! terse message) and values that need parsing (durations, cron expressions, time zones).
//! `linnstream check` and the controller both call these, so a resource is judged the same
//! way offline and in the cluster.

use super::common::Problem;
use super::installation::{InstallationSpec, LocationMapping};
use super::mapping::PostalServiceMappingSpec;

use crate::domain::schedule::{MIN_INTERVAL, parse_cron, parse_duration, parse_time_zone};

pub fn validate_installation(spec: &InstallationSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(partner) = &spec.stream.partner_account
        && partner.enabled
        && partner.id.as_deref().is_none_or(str::is_empty)
    {
        problems.push(Problem::new(
            "spec.stream.partnerAccount.id",
            "is required when spec.stream.partnerAccount.enabled is true",
        ));
    }
    if spec.sync.use_default_location
        && spec
            .sync
            .default_location
            .as_deref()
            .is_none_or(str::is_empty)
    {
        problems.push(Problem::new(
            "spec.sync.defaultLocation",
            "is required when spec.sync.useDefaultLocation is true",
        ));
    }
    problems.extend(validate_locations(&spec.locations));
    if spec.webhooks.enabled
        && spec
            .webhooks
            .public_base_url
            .as_deref()
            .is_none_or(str::is_empty)
    {
        problems.push(Problem::new(
            "spec.webhooks.publicBaseUrl",
            "is required when spec.webhooks.enabled is true (Stream must be able to reach the receiver)",
        ));
    }

    let schedule = &spec.schedule;
    let intervals = [
        ("spec.schedule.fetchInterval", &schedule.fetch_interval),
        ("spec.schedule.sendInterval", &schedule.send_interval),
        ("spec.schedule.webhookInterval", &schedule.webhook_interval),
    ];
    for (path, text) in intervals {
        match parse_duration(text) {
            Ok(d) if d < MIN_INTERVAL => problems.push(Problem::new(
                path,
                format!(
                    "{text:?} is shorter than the minimum of {}s",
                    MIN_INTERVAL.as_secs()
                ),
            )),
            Ok(_) => {}
            Err(e) => problems.push(Problem::new(path, e)),
        }
    }
    match (
        parse_duration(&schedule.send_offset),
        parse_duration(&schedule.send_interval),
    ) {
        (Err(e), _) => problems.push(Problem::new("spec.schedule.sendOffset", e)),
        (Ok(offset), Ok(interval)) if offset >= interval => problems.push(Problem::new(
            "spec.schedule.sendOffset",
            format!(
                "{:?} must be shorter than sendInterval {:?}",
                schedule.send_offset, schedule.send_interval
            ),
        )),
        _ => {}
    }
    for (path, text) in [
        (
            "spec.schedule.identifiersSchedule",
            &schedule.identifiers_schedule,
        ),
        (
            "spec.schedule.postalServicesSchedule",
            &schedule.postal_services_schedule,
        ),
    ] {
        if let Err(e) = parse_cron(text) {
            problems.push(Problem::new(path, e));
        }
    }
    if let Err(e) = parse_time_zone(&schedule.time_zone) {
        problems.push(Problem::new("spec.schedule.timeZone", e));
    }
    problems
}

/// `spec.locations`: each entry names its Linnworks location by a GUID id or a name, and
/// no location is listed twice (the second entry could never apply).
fn validate_locations(locations: &[LocationMapping]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut ids: Vec<(String, usize)> = Vec::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, l) in locations.iter().enumerate() {
        let at = format!("spec.locations[{i}]");
        let id = l
            .linnworks_location
            .id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let name = l
            .linnworks_location
            .name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if id.is_none() && name.is_none() {
            problems.push(Problem::new(
                format!("{at}.linnworksLocation"),
                "needs an id or a name of the Linnworks location",
            ));
        }
        if let Some(id) = id {
            if uuid::Uuid::parse_str(id).is_err() {
                problems.push(Problem::new(
                    format!("{at}.linnworksLocation.id"),
                    format!("{id:?} is not a GUID (pkStockLocationId)"),
                ));
            }
            let key = id.to_ascii_lowercase();
            match ids.iter().find(|(k, _)| *k == key) {
                Some((_, first)) => problems.push(Problem::new(
                    format!("{at}.linnworksLocation.id"),
                    format!("{id} is already mapped by spec.locations[{first}]"),
                )),
                None => ids.push((key, i)),
            }
        }
        if let Some(name) = name {
            let key = name.to_lowercase();
            match names.iter().find(|(k, _)| *k == key) {
                Some((_, first)) => problems.push(Problem::new(
                    format!("{at}.linnworksLocation.name"),
                    format!("{name:?} is already mapped by spec.locations[{first}]"),
                )),
                None => names.push((key, i)),
            }
        }
        if l.depot.trim().is_empty() {
            problems.push(Problem::new(format!("{at}.depot"), "names no Stream depot"));
        }
    }
    problems
}

pub fn validate_mapping(spec: &PostalServiceMappingSpec) -> Vec<Problem> {
    let mut problems = Vec::new();
    let service = &spec.postal_service;
    if service.id.as_deref().is_none_or(str::is_empty)
        && service.name.as_deref().is_none_or(str::is_empty)
    {
        problems.push(Problem::new(
            "spec.postalService",
            "needs an id or a name of the Linnworks postal service",
        ));
    }
    if !(1..=5).contains(&spec.label_copies) {
        problems.push(Problem::new(
            "spec.labelCopies",
            format!("{} is out of range; use 1 to 5", spec.label_copies),
        ));
    }
    problems
}
