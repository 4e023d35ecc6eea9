//! The scheduler view: each job's last run, outcome and next run, and whether it is overdue.
//!
//! A job is overdue when it is enabled and
//! - its last successful run is older than twice its period, or
//! - it never ran successfully although it has been scheduled for longer than that, or
//! - (master data, which runs at fixed times) a scheduled time passed, with a grace of
//!   30 minutes, and no run has succeeded since: "did not run last night", or
//! - its planned next run is more than one period in the past and it has not started since
//!   (the scheduler is stuck or gone).
//!
//! Pure over the facts the store holds, so every rule is tested with exact times.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::crd::installation::InstallationSpec;
use crate::domain::Job;
use crate::domain::JobOutcome;
use crate::domain::schedule::JobTimes;
use crate::store::JobRun;

/// How long after a fixed-time run is due it may still be running or finishing.
pub const FIXED_TIME_GRACE: Duration = Duration::from_secs(30 * 60);

/// What the store and the settings say about one job of one installation.
pub struct JobFacts<'a> {
    pub job: Job,
    pub enabled: bool,
    /// The installation's schedule (parsed, and so valid, when its settings were read).
    pub times: &'a JobTimes,
    /// Recent runs, newest first.
    pub runs: &'a [JobRun],
    pub next_run_at: Option<DateTime<Utc>>,
    /// Since when a worker has been scheduling this installation's jobs (its oldest
    /// heartbeat), if known.
    pub scheduled_since: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: &'static str,
    pub outcome_code: &'static str,
    pub message: String,
}

impl From<&JobRun> for RunView {
    fn from(r: &JobRun) -> Self {
        Self {
            started_at: r.started_at,
            finished_at: r.finished_at,
            outcome: r.outcome.label(),
            outcome_code: r.outcome.as_str(),
            message: r.message.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub job: &'static str,
    pub title: &'static str,
    pub enabled: bool,
    /// When it runs, in the settings' words.
    pub schedule: String,
    pub period_seconds: u64,
    pub last_run: Option<RunView>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub overdue_reason: Option<String>,
}

pub fn title(job: Job) -> &'static str {
    match job {
        Job::Fetch => "Fetch orders",
        Job::Send => "Send orders",
        Job::Webhooks => "Process webhooks",
        Job::Identifiers => "Master data: identifiers",
        Job::PostalServices => "Master data: postal services",
        Job::Prune => "Prune history past its retention",
    }
}

/// Whether the scheduler runs `job` for an installation with these settings (master data
/// always, unless suspended: by the worker or by the operator's CronJobs).
pub fn enabled(job: Job, spec: &InstallationSpec) -> bool {
    !spec.suspend
        && match job {
            Job::Fetch | Job::Send => spec.sync.order_sync_enabled,
            Job::Webhooks => spec.webhooks.enabled,
            Job::Identifiers | Job::PostalServices | Job::Prune => true,
        }
}

pub fn describe_schedule(job: Job, spec: &InstallationSpec) -> String {
    let s = &spec.schedule;
    match job {
        Job::Fetch => format!("every {}", s.fetch_interval),
        Job::Send => format!(
            "every {}, {} after the fetch",
            s.send_interval, s.send_offset
        ),
        Job::Webhooks => format!("every {}", s.webhook_interval),
        Job::Identifiers => format!("{} ({})", s.identifiers_schedule, s.time_zone),
        Job::PostalServices => format!("{} ({})", s.postal_services_schedule, s.time_zone),
        Job::Prune => "daily, once per database".to_string(),
    }
}

fn is_fixed_time(job: Job) -> bool {
    matches!(job, Job::Identifiers | Job::PostalServices)
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// "5m", "2h 5m", "1d 3h": how long, for messages.
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The latest scheduled time of a fixed-time job at or before `cutoff`.
fn latest_tick(times: &JobTimes, job: Job, cutoff: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let period = chrono(times.period(job, cutoff));
    let mut t = cutoff - period - period;
    let mut latest = None;
    for _ in 0..64 {
        let next = times.next_run(job, cutoff, t);
        if next > cutoff {
            break;
        }
        latest = Some(next);
        t = next;
    }
    latest
}

/// The job's view, with its overdue verdict.
pub fn assess(f: &JobFacts<'_>, schedule: String) -> JobView {
    let last_success = f
        .runs
        .iter()
        .find(|r| r.outcome == JobOutcome::Succeeded)
        .map(|r| r.finished_at.unwrap_or(r.started_at));
    let period = f.times.period(f.job, f.now);
    let reason = if f.enabled {
        overdue_reason(f, last_success)
    } else {
        None
    };
    JobView {
        job: f.job.name(),
        title: title(f.job),
        enabled: f.enabled,
        schedule,
        period_seconds: period.as_secs(),
        last_run: f.runs.first().map(RunView::from),
        last_success_at: last_success,
        next_run_at: f.next_run_at,
        overdue: reason.is_some(),
        overdue_reason: reason,
    }
}

fn overdue_reason(f: &JobFacts<'_>, last_success: Option<DateTime<Utc>>) -> Option<String> {
    let now = f.now;
    let period = chrono(f.times.period(f.job, now));
    let twice = period + period;
    let failed_note = f
        .runs
        .first()
        .filter(|r| r.outcome == JobOutcome::Failed)
        .map(|r| {
            format!(
                "; the last run ({}) failed: {}",
                when(r.started_at),
                r.message
            )
        })
        .unwrap_or_default();
    if let Some(success) = last_success
        && now - success > twice
    {
        return Some(format!(
            "the last successful run was {} ago ({}), more than twice its period of {}{failed_note}",
            human_duration(now - success),
            when(success),
            human_duration(period)
        ));
    }
    let oldest_run = f.runs.last().map(|r| r.started_at);
    let active_since = [f.scheduled_since, oldest_run].into_iter().flatten().min();
    if is_fixed_time(f.job) {
        let grace = chrono(FIXED_TIME_GRACE).min(period / 2);
        if let Some(tick) = latest_tick(f.times, f.job, now - grace) {
            let was_scheduled = last_success.or(active_since).is_some_and(|a| a <= tick);
            if was_scheduled && last_success.is_none_or(|s| s < tick) {
                return Some(format!(
                    "no successful run since its scheduled time {}{failed_note}",
                    when(tick)
                ));
            }
        }
    }
    if last_success.is_none()
        && let Some(since) = active_since
        && now - since > twice
    {
        return Some(format!(
            "it has not run successfully since it was first scheduled {} ago ({}){failed_note}",
            human_duration(now - since),
            when(since)
        ));
    }
    if let Some(next) = f.next_run_at
        && now - next > period
        && f.runs.first().is_none_or(|r| r.started_at < next)
    {
        return Some(format!(
            "it was due at {} and has not started since; is the scheduler running?",
            when(next)
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::installation::Schedule;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0)
            .single()
            .expect("valid time")
    }

    fn run(job: Job, started: DateTime<Utc>, outcome: JobOutcome, message: &str) -> JobRun {
        JobRun {
            id: 1,
            installation: "ns/a".into(),
            job: job.name().into(),
            started_at: started,
            finished_at: Some(started + chrono::Duration::seconds(5)),
            outcome,
            message: message.into(),
        }
    }

    fn utc_times() -> JobTimes {
        let schedule = Schedule {
            time_zone: "UTC".into(),
            ..Schedule::default()
        };
        JobTimes::parse(&schedule.text()).expect("schedule")
    }

    fn view(
        job: Job,
        runs: &[JobRun],
        next: Option<DateTime<Utc>>,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> JobView {
        let times = utc_times();
        assess(
            &JobFacts {
                job,
                enabled: true,
                times: &times,
                runs,
                next_run_at: next,
                scheduled_since: since,
                now,
            },
            String::new(),
        )
    }

    #[test]
    fn an_interval_job_is_overdue_after_twice_its_period_without_success() {
        let runs = [run(Job::Fetch, at(10, 9, 0), JobOutcome::Succeeded, "ok")];
        assert!(!view(Job::Fetch, &runs, None, None, at(10, 9, 9)).overdue);
        let v = view(Job::Fetch, &runs, None, None, at(10, 9, 11));
        assert!(v.overdue);
        assert_eq!(
            v.overdue_reason.as_deref(),
            Some(
                "the last successful run was 10m ago (2026-03-10 09:00 UTC), more than twice its period of 5m"
            )
        );
        // Failing runs since do not count as success, and the reason says why.
        let runs = [
            run(
                Job::Fetch,
                at(10, 9, 10),
                JobOutcome::Failed,
                "Linnworks answered 503",
            ),
            run(Job::Fetch, at(10, 9, 0), JobOutcome::Succeeded, "ok"),
        ];
        let v = view(Job::Fetch, &runs, None, None, at(10, 9, 11));
        assert!(v.overdue);
        assert!(
            v.overdue_reason
                .as_deref()
                .is_some_and(|r| r.ends_with("failed: Linnworks answered 503")),
            "{v:?}"
        );
        assert_eq!(v.last_run.map(|r| r.outcome), Some("Failed"));
    }

    #[test]
    fn master_data_that_did_not_run_last_night_is_overdue() {
        // Ran yesterday at 03:00; today's 03:00 run is missing.
        let runs = [run(
            Job::Identifiers,
            at(9, 3, 0),
            JobOutcome::Succeeded,
            "ok",
        )];
        let v = view(Job::Identifiers, &runs, None, None, at(10, 9, 0));
        assert!(v.overdue, "{v:?}");
        assert_eq!(
            v.overdue_reason.as_deref(),
            Some("no successful run since its scheduled time 2026-03-10 03:00 UTC")
        );
        // Within the grace after 03:00 it may still be running.
        assert!(!view(Job::Identifiers, &runs, None, None, at(10, 3, 10)).overdue);
        // Before 03:00 yesterday's run is the latest due.
        assert!(!view(Job::Identifiers, &runs, None, None, at(10, 2, 0)).overdue);
        // Ran last night: fine all day.
        let runs = [run(
            Job::Identifiers,
            at(10, 3, 0),
            JobOutcome::Succeeded,
            "ok",
        )];
        assert!(!view(Job::Identifiers, &runs, None, None, at(10, 23, 0)).overdue);
        assert_eq!(
            view(Job::Identifiers, &runs, None, None, at(10, 23, 0)).period_seconds,
            86_400
        );
    }

    #[test]
    fn a_job_that_never_ran_is_overdue_only_once_it_should_have() {
        // No evidence of a scheduler: nothing to compare with.
        assert!(!view(Job::Send, &[], None, None, at(10, 9, 0)).overdue);
        // Scheduled for three minutes: not yet.
        assert!(!view(Job::Send, &[], None, Some(at(10, 8, 57)), at(10, 9, 0)).overdue);
        let v = view(Job::Send, &[], None, Some(at(10, 8, 0)), at(10, 9, 0));
        assert!(v.overdue);
        assert!(
            v.overdue_reason.as_deref().is_some_and(|r| r
                .starts_with("it has not run successfully since it was first scheduled 1h ago")),
            "{v:?}"
        );
        // Master data scheduled since yesterday evening never ran at 03:00.
        let v = view(
            Job::PostalServices,
            &[],
            None,
            Some(at(9, 20, 0)),
            at(10, 8, 0),
        );
        assert!(v.overdue, "{v:?}");
    }

    #[test]
    fn a_next_run_long_past_means_the_scheduler_stopped() {
        let runs = [run(Job::Fetch, at(10, 8, 58), JobOutcome::Succeeded, "ok")];
        // Due at 09:00 (period 5m); a few minutes late may be a long run before it.
        assert!(!view(Job::Fetch, &runs, Some(at(10, 9, 0)), None, at(10, 9, 4)).overdue);
        let v = view(Job::Fetch, &runs, Some(at(10, 9, 0)), None, at(10, 9, 6));
        assert!(v.overdue);
        assert!(
            v.overdue_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("it was due at 2026-03-10 09:00 UTC")),
            "{v:?}"
        );
    }

    #[test]
    fn disabled_jobs_are_never_overdue() {
        let times = utc_times();
        let disabled = assess(
            &JobFacts {
                job: Job::Fetch,
                enabled: false,
                times: &times,
                runs: &[],
                next_run_at: None,
                scheduled_since: Some(at(1, 0, 0)),
                now: at(10, 0, 0),
            },
            "every 5m".into(),
        );
        assert!(!disabled.overdue);
        assert_eq!(disabled.period_seconds, 300);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(chrono::Duration::seconds(42)), "42s");
        assert_eq!(human_duration(chrono::Duration::minutes(125)), "2h 5m");
        assert_eq!(human_duration(chrono::Duration::hours(27)), "1d 3h");
    }
}
