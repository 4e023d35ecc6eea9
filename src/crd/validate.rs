//! Rules that the OpenAPI schema cannot express, or not with a helpful message: cross-field
//! rules (also in the schema as structural `anyOf`, which the API server enforces with a
//! terse message) and values that need parsing (durations, cron expressions, time zones).
//! `linnstream check` and the controller both call these, so a resource is judged the same
//! way offline and in the cluster.

use std::time::Duration;

use super::common::Problem;
use super::installation::{InstallationSpec, LocationMapping};
use super::mapping::PostalServiceMappingSpec;

/// Parses a Go-style duration made of hours, minutes and seconds (`1h30m`, `90s`, `5m`).
/// `0` is accepted and means no delay.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("is empty; use a duration such as 5m, 90s or 1h".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit_rank = 0;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let (rank, seconds) = match ch {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            other => {
                return Err(format!(
                    "{text:?} has unknown unit {other:?}; use h, m and s (e.g. 1h30m)"
                ));
            }
        };
        if digits.is_empty() || rank <= last_unit_rank {
            return Err(format!(
                "{text:?} is not a duration; use h, m and s in that order (e.g. 1h30m)"
            ));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} has a number that is too large"))?;
        total = value
            .checked_mul(seconds)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?} is too long"))?;
        digits.clear();
        last_unit_rank = rank;
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?} lacks a unit after {digits}; use h, m or s (e.g. {digits}s)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Parses a five-field cron expression (minute hour day-of-month month day-of-week), the
/// format Kubernetes CronJobs use.
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "{text:?} has {fields} fields; use five: minute hour day-of-month month day-of-week (e.g. \"0 3 * * *\")"
        ));
    }
    // The cron crate wants a seconds field first, and numbers weekdays 1-7 from Sunday where
    // Kubernetes (and every crontab) uses 0-6 (and 7) from Sunday: pass weekdays as names.
    let mut fields: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    fields[4] = weekday_names(&fields[4]);
    format!("0 {}", fields.join(" "))
        .parse::<cron::Schedule>()
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))
}

/// `1-5` -> `MON-FRI`, `0,6` -> `SUN,SAT`; step values after `/` stay numbers.
fn weekday_names(field: &str) -> String {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    let mut out = String::new();
    let mut digits = String::new();
    let mut after_slash = false;
    let flush = |digits: &mut String, out: &mut String, after_slash: bool| {
        if digits.is_empty() {
            return;
        }
        match digits.parse::<usize>().ok().and_then(|n| NAMES.get(n)) {
            Some(name) if !after_slash => out.push_str(name),
            _ => out.push_str(digits),
        }
        digits.clear();
    };
    for ch in field.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else {
            flush(&mut digits, &mut out, after_slash);
            after_slash = ch == '/';
            out.push(ch);
        }
    }
    flush(&mut digits, &mut out, after_slash);
    out
}

pub fn parse_time_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{text:?} is not an IANA time zone (e.g. Europe/London, Etc/UTC)"))
}

/// The shortest interval a job may run at, so a typo cannot hammer the remote APIs.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

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
