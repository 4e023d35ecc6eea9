//! What the operator writes into an Installation's status, as pure functions of what it
//! found: the conditions (`Ready` and the ones that say why not), worker liveness and the
//! master-data age. `lastTransitionTime` only moves when a condition's status changes.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::crd::installation::WorkerStatus;
use crate::crd::{Condition, ConditionStatus};
use crate::store::WorkerHeartbeat;

pub const READY: &str = "Ready";
pub const INVALID_SPEC: &str = "InvalidSpec";
pub const CREDENTIALS_MISSING: &str = "CredentialsMissing";
pub const WORKER_UNAVAILABLE: &str = "WorkerUnavailable";
pub const WEBHOOK_NOT_SUBSCRIBED: &str = "WebhookNotSubscribed";
pub const MASTER_DATA_STALE: &str = "MasterDataStale";
pub const LOCATION_UNMATCHED: &str = "LocationUnmatched";

/// Master data older than this is stale: the nightly syncs run every 24 h, plus slack for
/// a slow or retried run.
pub const MASTER_DATA_MAX_AGE: Duration = Duration::from_secs(26 * 3600);

/// The state of one problem condition (`InvalidSpec`, `CredentialsMissing`, ...): `problem`
/// true means the condition is `True`, i.e. something is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionFinding {
    pub problem: bool,
    /// CamelCase.
    pub reason: String,
    pub message: String,
}

impl ConditionFinding {
    pub fn ok(reason: &str, message: impl Into<String>) -> Self {
        Self {
            problem: false,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn problem(reason: &str, message: impl Into<String>) -> Self {
        Self {
            problem: true,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// Everything the conditions are computed from.
#[derive(Clone, Debug)]
pub struct ConditionFindings {
    pub invalid_spec: ConditionFinding,
    pub credentials_missing: ConditionFinding,
    pub worker_unavailable: ConditionFinding,
    pub webhook_not_subscribed: ConditionFinding,
    pub master_data_stale: ConditionFinding,
    /// A `spec.locations` entry that matches nothing (see [`locations_finding`]).
    pub location_unmatched: ConditionFinding,
    pub suspended: bool,
    /// The store could not be read: what comes from it is unknown.
    pub store_error: Option<String>,
}

impl ConditionFindings {
    /// The problem conditions in the order they explain `Ready=False`: a broken spec or
    /// missing credentials first, as they cause the rest.
    fn ordered(&self) -> [(&'static str, &ConditionFinding); 6] {
        [
            (INVALID_SPEC, &self.invalid_spec),
            (CREDENTIALS_MISSING, &self.credentials_missing),
            (WORKER_UNAVAILABLE, &self.worker_unavailable),
            (WEBHOOK_NOT_SUBSCRIBED, &self.webhook_not_subscribed),
            (MASTER_DATA_STALE, &self.master_data_stale),
            (LOCATION_UNMATCHED, &self.location_unmatched),
        ]
    }
}

fn condition(type_: &str, status: ConditionStatus, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.to_string(),
        status,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: String::new(),
        observed_generation: None,
    }
}

/// The conditions for `findings`, `Ready` first, without transition times (see [`merge`]).
pub fn conditions(findings: &ConditionFindings, generation: Option<i64>) -> Vec<Condition> {
    let problems: Vec<(&str, &ConditionFinding)> = findings
        .ordered()
        .into_iter()
        .filter(|(_, f)| f.problem)
        .collect();
    // Spec and credential problems are known without the store; the rest are not.
    let blocking = problems
        .iter()
        .find(|(t, _)| *t == INVALID_SPEC || *t == CREDENTIALS_MISSING);
    let ready = if let Some((type_, _)) = blocking {
        condition(
            READY,
            ConditionStatus::False,
            type_,
            &join_messages(&problems),
        )
    } else if findings.suspended {
        condition(
            READY,
            ConditionStatus::False,
            "Suspended",
            "spec.suspend is true: the worker is scaled to zero and the master-data CronJobs are suspended",
        )
    } else if let Some(error) = &findings.store_error {
        condition(
            READY,
            ConditionStatus::Unknown,
            "StoreUnavailable",
            &format!("cannot read the order queue: {error}"),
        )
    } else if let Some((type_, _)) = problems.first() {
        condition(
            READY,
            ConditionStatus::False,
            type_,
            &join_messages(&problems),
        )
    } else {
        condition(
            READY,
            ConditionStatus::True,
            "Running",
            "the children are applied, the worker is alive and the master data is current",
        )
    };
    let mut out = vec![ready];
    for (type_, finding) in findings.ordered() {
        let status = if finding.problem {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        out.push(condition(type_, status, &finding.reason, &finding.message));
    }
    for c in &mut out {
        c.observed_generation = generation;
    }
    out
}

fn join_messages(problems: &[(&str, &ConditionFinding)]) -> String {
    problems
        .iter()
        .map(|(_, f)| f.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `new` with `lastTransitionTime` taken from `old` where the status did not change, and
/// `now` where it did (or the condition is new).
pub fn merge(old: &[Condition], mut new: Vec<Condition>, now: DateTime<Utc>) -> Vec<Condition> {
    let now = rfc3339(now);
    for c in &mut new {
        c.last_transition_time = old
            .iter()
            .find(|o| o.type_ == c.type_ && o.status == c.status)
            .map(|o| o.last_transition_time.clone())
            .unwrap_or_else(|| now.clone());
    }
    new
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whether the condition `type_` is `True` in `conditions`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == ConditionStatus::True)
}

/// How long a worker may stay silent before it counts as dead: three of its slowest
/// cycles, and never less than two minutes.
pub fn heartbeat_max_age(intervals: &[Duration]) -> Duration {
    let slowest = intervals.iter().max().copied().unwrap_or_default();
    (slowest * 3).max(Duration::from_secs(120))
}

/// Worker liveness from both sources: heartbeats in the store (the worker's loops run) and
/// the Deployment's available replicas (Kubernetes runs the pod). A fresh heartbeat is the
/// proof of work being done, so it decides; the replicas explain a missing one.
pub fn worker_finding(
    suspended: bool,
    beats: &[WorkerHeartbeat],
    available_replicas: i32,
    deployment: &str,
    max_age: Duration,
    now: DateTime<Utc>,
) -> (ConditionFinding, WorkerStatus) {
    let since = now - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let live: Vec<&WorkerHeartbeat> = beats.iter().filter(|b| b.last_beat_at >= since).collect();
    let status = WorkerStatus {
        live_heartbeats: live.len() as i64,
        last_heartbeat: beats.iter().map(|b| b.last_beat_at).max().map(rfc3339),
        available_replicas,
        ..WorkerStatus::default()
    };
    let replicas = format!("Deployment {deployment} has {available_replicas} available replicas");
    let finding = if suspended {
        ConditionFinding::ok("Suspended", "the worker is scaled to zero while suspended")
    } else if !live.is_empty() {
        ConditionFinding::ok(
            "HeartbeatsFresh",
            format!(
                "{} worker(s) beat within the last {}; {replicas}",
                live.len(),
                human(max_age)
            ),
        )
    } else {
        let last = match &status.last_heartbeat {
            Some(t) => format!("the last heartbeat was at {t}"),
            None => "no worker has ever beaten".to_string(),
        };
        let reason = if available_replicas == 0 {
            "NoReplicaAvailable"
        } else {
            "NoHeartbeat"
        };
        ConditionFinding::problem(
            reason,
            format!(
                "no worker heartbeat within the last {} ({last}); {replicas}",
                human(max_age)
            ),
        )
    };
    (finding, status)
}

/// The warehouse mapping against what exists: every entry's depot among the synced Stream
/// depots with its delivery method, and a DefaultLocation in use naming an entry.
pub fn locations_finding(
    spec: &crate::crd::InstallationSpec,
    depots: &[crate::store::Depot],
) -> ConditionFinding {
    if spec.locations.is_empty() {
        return ConditionFinding::ok(
            "NoLocations",
            "spec.locations is empty: every order ships as its postal service mapping says",
        );
    }
    let mut problems = crate::sync::locations::unmatched_entries(&spec.locations, depots);
    if let Some(default) = spec.default_location_unmatched() {
        problems.push(format!(
            "spec.sync.defaultLocation {default:?} matches no spec.locations entry (it is sent to Stream as a stock location)"
        ));
    }
    if problems.is_empty() {
        let checked = if depots.is_empty() {
            " (depots not synced yet: not checked against Stream)"
        } else {
            ""
        };
        ConditionFinding::ok(
            "LocationsMatched",
            format!("{} warehouse mappings{checked}", spec.locations.len()),
        )
    } else {
        ConditionFinding::problem("LocationUnmatched", problems.join("; "))
    }
}

/// Stale when either master data set the engine depends on (the depots with their delivery
/// methods, and the identifiers) was never synced or not within `max_age`.
pub fn master_data_finding(
    depots: Option<DateTime<Utc>>,
    identifiers: Option<DateTime<Utc>>,
    max_age: Duration,
    now: DateTime<Utc>,
) -> ConditionFinding {
    let limit = now - chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let mut never = Vec::new();
    let mut old = Vec::new();
    for (what, at) in [
        ("depots and delivery methods", depots),
        ("identifiers", identifiers),
    ] {
        match at {
            None => never.push(what),
            Some(t) if t < limit => old.push(format!("{what} were last synced at {}", rfc3339(t))),
            Some(_) => {}
        }
    }
    if !never.is_empty() {
        ConditionFinding::problem(
            "NeverSynced",
            format!(
                "no master data sync has stored {} yet (the master-data CronJobs fill them)",
                never.join(" or ")
            ),
        )
    } else if !old.is_empty() {
        ConditionFinding::problem(
            "SyncOverdue",
            format!("{}, more than {} ago", old.join(" and "), human(max_age)),
        )
    } else {
        ConditionFinding::ok(
            "Fresh",
            format!("master data synced within the last {}", human(max_age)),
        )
    }
}

/// `90s` -> `1m30s`, `26h` -> `26h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 12, 0, 0).unwrap()
    }

    fn healthy() -> ConditionFindings {
        ConditionFindings {
            invalid_spec: ConditionFinding::ok("Valid", "the spec is valid"),
            credentials_missing: ConditionFinding::ok("SecretsFound", "all referenced keys exist"),
            worker_unavailable: ConditionFinding::ok("HeartbeatsFresh", "1 worker"),
            webhook_not_subscribed: ConditionFinding::ok("Subscribed", "7 events"),
            master_data_stale: ConditionFinding::ok("Fresh", "recent"),
            location_unmatched: ConditionFinding::ok("NoLocations", "none"),
            suspended: false,
            store_error: None,
        }
    }

    fn get<'a>(conditions: &'a [Condition], type_: &str) -> &'a Condition {
        conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn ready_is_true_only_without_problems_and_every_condition_is_listed() {
        let c = conditions(&healthy(), Some(3));
        assert_eq!(c.len(), 7);
        assert_eq!(c[0].type_, READY);
        assert_eq!(c[0].status, ConditionStatus::True);
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
        assert_eq!(get(&c, CREDENTIALS_MISSING).status, ConditionStatus::False);
    }

    #[test]
    fn ready_false_names_the_most_fundamental_problem_and_lists_all_messages() {
        let mut f = healthy();
        f.master_data_stale = ConditionFinding::problem("NeverSynced", "no depots yet");
        f.credentials_missing =
            ConditionFinding::problem("SecretNotFound", "Secret \"acme-stream\" does not exist");
        let c = conditions(&f, None);
        let ready = get(&c, READY);
        assert_eq!(ready.status, ConditionStatus::False);
        assert_eq!(ready.reason, CREDENTIALS_MISSING);
        assert_eq!(
            ready.message,
            "Secret \"acme-stream\" does not exist; no depots yet"
        );
        let missing = get(&c, CREDENTIALS_MISSING);
        assert_eq!(missing.status, ConditionStatus::True);
        assert_eq!(missing.reason, "SecretNotFound");
        // A store outage leaves Ready unknown, unless the spec side already explains it.
        let mut down = healthy();
        down.store_error = Some("connection refused".into());
        let c = conditions(&down, None);
        assert_eq!(get(&c, READY).status, ConditionStatus::Unknown);
        assert_eq!(get(&c, READY).reason, "StoreUnavailable");
        let mut suspended = healthy();
        suspended.suspended = true;
        assert_eq!(
            get(&conditions(&suspended, None), READY).reason,
            "Suspended"
        );
    }

    #[test]
    fn transition_times_move_only_when_the_status_changes() {
        let first = merge(&[], conditions(&healthy(), Some(1)), now());
        assert!(
            first
                .iter()
                .all(|c| c.last_transition_time == "2025-03-04T12:00:00Z")
        );
        let later = now() + chrono::Duration::minutes(5);
        // Same statuses, new message and generation: times kept.
        let mut f = healthy();
        f.worker_unavailable = ConditionFinding::ok("HeartbeatsFresh", "2 workers");
        let again = merge(&first, conditions(&f, Some(2)), later);
        assert!(
            again
                .iter()
                .all(|c| c.last_transition_time == "2025-03-04T12:00:00Z")
        );
        // A status change moves that condition's time (and Ready's), not the others'.
        f.worker_unavailable = ConditionFinding::problem("NoHeartbeat", "silent");
        let changed = merge(&again, conditions(&f, Some(2)), later);
        assert_eq!(
            get(&changed, WORKER_UNAVAILABLE).last_transition_time,
            "2025-03-04T12:05:00Z"
        );
        assert_eq!(
            get(&changed, READY).last_transition_time,
            "2025-03-04T12:05:00Z"
        );
        assert_eq!(
            get(&changed, INVALID_SPEC).last_transition_time,
            "2025-03-04T12:00:00Z"
        );
    }

    fn beat(minutes_ago: i64) -> WorkerHeartbeat {
        WorkerHeartbeat {
            worker_id: format!("w{minutes_ago}"),
            process: "sync-worker".into(),
            installation: Some("shop/acme".into()),
            started_at: now() - chrono::Duration::hours(1),
            last_beat_at: now() - chrono::Duration::minutes(minutes_ago),
        }
    }

    #[test]
    fn worker_liveness_reports_heartbeats_and_replicas() {
        let max_age = heartbeat_max_age(&[Duration::from_secs(300), Duration::from_secs(120)]);
        assert_eq!(max_age, Duration::from_secs(900));
        let (f, s) = worker_finding(
            false,
            &[beat(2), beat(40)],
            1,
            "acme-worker",
            max_age,
            now(),
        );
        assert!(!f.problem);
        assert_eq!(s.live_heartbeats, 1);
        assert_eq!(s.last_heartbeat.as_deref(), Some("2025-03-04T11:58:00Z"));
        assert_eq!(s.available_replicas, 1);
        let (f, s) = worker_finding(false, &[beat(40)], 0, "acme-worker", max_age, now());
        assert!(f.problem);
        assert_eq!(f.reason, "NoReplicaAvailable");
        assert_eq!(
            f.message,
            "no worker heartbeat within the last 15m (the last heartbeat was at 2025-03-04T11:20:00Z); Deployment acme-worker has 0 available replicas"
        );
        assert_eq!(s.live_heartbeats, 0);
        let (f, _) = worker_finding(false, &[], 1, "acme-worker", max_age, now());
        assert_eq!(f.reason, "NoHeartbeat");
        let (f, _) = worker_finding(true, &[], 0, "acme-worker", max_age, now());
        assert!(!f.problem, "no worker is expected while suspended");
    }

    #[test]
    fn master_data_is_stale_when_never_or_long_ago_synced() {
        let recent = Some(now() - chrono::Duration::hours(3));
        let old = Some(now() - chrono::Duration::hours(30));
        let f = master_data_finding(recent, recent, MASTER_DATA_MAX_AGE, now());
        assert!(!f.problem);
        let f = master_data_finding(None, recent, MASTER_DATA_MAX_AGE, now());
        assert_eq!(f.reason, "NeverSynced");
        assert!(
            f.message.contains("depots and delivery methods"),
            "{}",
            f.message
        );
        let f = master_data_finding(recent, old, MASTER_DATA_MAX_AGE, now());
        assert_eq!(f.reason, "SyncOverdue");
        assert_eq!(
            f.message,
            "identifiers were last synced at 2025-03-03T06:00:00Z, more than 26h ago"
        );
    }

    #[test]
    fn durations_read_like_the_spec() {
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(26 * 3600)), "26h");
        assert_eq!(human(Duration::ZERO), "0s");
    }

    #[test]
    fn a_location_matching_no_stream_depot_is_a_condition() {
        use crate::store::{DeliveryMethod, Depot};
        let mut inst = crate::config::test_support::example_installation();
        let depots = vec![Depot {
            id: "LEEDS".into(),
            name: "Leeds".into(),
            delivery_methods: vec![DeliveryMethod {
                id: "HOME-2MAN".into(),
                name: "Home".into(),
                method_type: "Delivery".into(),
            }],
        }];
        assert_eq!(locations_finding(&inst.spec, &depots).reason, "NoLocations");
        inst.spec.locations = serde_json::from_value(serde_json::json!([
            {"linnworksLocation": {"name": "Leeds Warehouse"}, "depot": "LEEDS"},
            {"linnworksLocation": {"name": "York Warehouse"}, "depot": "YORK"},
        ]))
        .expect("locations");
        let f = locations_finding(&inst.spec, &depots);
        assert!(f.problem, "{f:?}");
        assert_eq!(
            f.message,
            "spec.locations[1] (\"York Warehouse\"): depot \"YORK\" is not a Stream depot"
        );
        let mut findings = healthy();
        findings.location_unmatched = f;
        let c = conditions(&findings, None);
        assert_eq!(get(&c, READY).reason, LOCATION_UNMATCHED);
        assert_eq!(get(&c, LOCATION_UNMATCHED).status, ConditionStatus::True);
        // Not synced yet: nothing to hold them against.
        assert!(!locations_finding(&inst.spec, &[]).problem);
        // A default location naming no entry.
        inst.spec.locations.truncate(1);
        inst.spec.sync.use_default_location = true;
        inst.spec.sync.default_location = Some("Bristol".into());
        let f = locations_finding(&inst.spec, &depots);
        assert!(
            f.problem
                && f.message
                    .contains("\"Bristol\" matches no spec.locations entry"),
            "{f:?}"
        );
    }
}
