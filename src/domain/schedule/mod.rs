//! When each job of an installation runs: fixed intervals (with the send job's offset) for
//! fetch, send and webhook processing; cron times in the installation's time zone for the
//! nightly master data. Pure functions over a clock value, so they are tested exactly.

use std::time::Duration;

use chrono::{DateTime, Utc};

pub mod cron;
pub mod duration;

pub use cron::{CronSchedule, parse_cron};
pub use duration::parse_duration;

use super::job::{Job, PRUNE_PERIOD};

pub fn parse_time_zone(text: &str) -> Result<chrono_tz::Tz, String> {
    text.parse::<chrono_tz::Tz>()
        .map_err(|_| format!("{text:?} is not an IANA time zone (e.g. Europe/London, Etc/UTC)"))
}

/// The shortest interval a job may run at, so a typo cannot hammer the remote APIs.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// An installation's schedule as written (`spec.schedule`), before parsing.
#[derive(Clone, Copy, Debug)]
pub struct ScheduleText<'a> {
    pub fetch_interval: &'a str,
    pub send_interval: &'a str,
    pub send_offset: &'a str,
    pub webhook_interval: &'a str,
    pub identifiers_schedule: &'a str,
    pub postal_services_schedule: &'a str,
    pub time_zone: &'a str,
}

impl ScheduleText<'static> {
    /// The user guide's schedule: fetch every 5 minutes, send 2 minutes after each fetch,
    /// webhooks every 2 minutes, master data at 03:00 and 04:00 UTC.
    pub const DEFAULTS: ScheduleText<'static> = ScheduleText {
        fetch_interval: "5m",
        send_interval: "5m",
        send_offset: "2m",
        webhook_interval: "2m",
        identifiers_schedule: "0 3 * * *",
        postal_services_schedule: "0 4 * * *",
        time_zone: "Etc/UTC",
    };
}

/// A parsed, validated schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct JobTimes {
    pub fetch_interval: Duration,
    pub send_interval: Duration,
    pub send_offset: Duration,
    pub webhook_interval: Duration,
    identifiers: CronSchedule,
    postal_services: CronSchedule,
    time_zone: chrono_tz::Tz,
}

impl JobTimes {
    pub fn parse(spec: &ScheduleText<'_>) -> Result<Self, String> {
        let field = |name: &str, r: Result<Duration, String>| {
            r.map_err(|e| format!("schedule.{name}: {e}"))
        };
        Ok(Self {
            fetch_interval: field("fetchInterval", parse_duration(spec.fetch_interval))?,
            send_interval: field("sendInterval", parse_duration(spec.send_interval))?,
            send_offset: field("sendOffset", parse_duration(spec.send_offset))?,
            webhook_interval: field("webhookInterval", parse_duration(spec.webhook_interval))?,
            identifiers: parse_cron(spec.identifiers_schedule)
                .map_err(|e| format!("schedule.identifiersSchedule: {e}"))?,
            postal_services: parse_cron(spec.postal_services_schedule)
                .map_err(|e| format!("schedule.postalServicesSchedule: {e}"))?,
            time_zone: parse_time_zone(spec.time_zone)
                .map_err(|e| format!("schedule.timeZone: {e}"))?,
        })
    }

    /// The first run of `job` strictly after `now`. Interval jobs are anchored at `anchor`
    /// (when the scheduler started): fetch at anchor + k*interval, send at anchor + offset +
    /// k*interval, so sends stay staggered after fetches as the guide describes.
    pub fn next_run(&self, job: Job, anchor: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        match job {
            Job::Fetch => next_tick(anchor, Duration::ZERO, self.fetch_interval, now),
            Job::Send => next_tick(anchor, self.send_offset, self.send_interval, now),
            Job::Webhooks => next_tick(anchor, Duration::ZERO, self.webhook_interval, now),
            Job::Identifiers => self.next_cron(&self.identifiers, now),
            Job::PostalServices => self.next_cron(&self.postal_services, now),
            Job::Prune => next_tick(anchor, Duration::ZERO, PRUNE_PERIOD, now),
        }
    }

    fn next_cron(&self, schedule: &CronSchedule, now: DateTime<Utc>) -> DateTime<Utc> {
        schedule
            .next_after(&now.with_timezone(&self.time_zone))
            .map(|t| t.with_timezone(&Utc))
            // A valid five-field expression always has a next time (Feb 29 within eight
            // years); a year away is a safe fallback that keeps the scheduler alive.
            .unwrap_or(now + chrono::Duration::days(366))
    }

    /// The expected period of a job, used to flag it overdue when its last run is older
    /// than twice this.
    pub fn period(&self, job: Job, now: DateTime<Utc>) -> Duration {
        match job {
            Job::Fetch => self.fetch_interval,
            Job::Send => self.send_interval,
            Job::Webhooks => self.webhook_interval,
            Job::Prune => PRUNE_PERIOD,
            Job::Identifiers | Job::PostalServices => {
                let first = self.next_run(job, now, now);
                let second = self.next_run(job, now, first);
                (second - first)
                    .to_std()
                    .unwrap_or(Duration::from_secs(86_400))
            }
        }
    }
}

fn next_tick(
    anchor: DateTime<Utc>,
    offset: Duration,
    interval: Duration,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let start = anchor + chrono::Duration::from_std(offset).unwrap_or_default();
    if now < start {
        return start;
    }
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let elapsed_ms = (now - start).num_milliseconds();
    let ticks = elapsed_ms / interval_ms + 1;
    start + chrono::Duration::milliseconds(ticks.saturating_mul(interval_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, h, m, s)
            .single()
            .expect("valid time")
    }

    #[test]
    fn guide_defaults_fetch_every_five_minutes_and_send_two_minutes_later() {
        let times = JobTimes::parse(&ScheduleText::DEFAULTS).expect("defaults parse");
        let anchor = at(10, 0, 0);
        assert_eq!(times.next_run(Job::Fetch, anchor, anchor), at(10, 5, 0));
        assert_eq!(times.next_run(Job::Send, anchor, anchor), at(10, 2, 0));
        assert_eq!(
            times.next_run(Job::Send, anchor, at(10, 2, 0)),
            at(10, 7, 0)
        );
        assert_eq!(
            times.next_run(Job::Fetch, anchor, at(10, 4, 59)),
            at(10, 5, 0)
        );
        assert_eq!(
            times.next_run(Job::Webhooks, anchor, at(10, 3, 0)),
            at(10, 4, 0)
        );
    }

    #[test]
    fn master_data_runs_at_three_and_four_in_the_installations_zone() {
        let times = JobTimes::parse(&ScheduleText::DEFAULTS).expect("defaults parse");
        assert_eq!(
            times.next_run(Job::Identifiers, at(0, 0, 0), at(10, 0, 0)),
            Utc.with_ymd_and_hms(2026, 1, 16, 3, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(
            times.next_run(Job::PostalServices, at(0, 0, 0), at(3, 30, 0)),
            at(4, 0, 0)
        );
        // London is UTC+1 in summer: 03:00 local is 02:00 UTC.
        let london = ScheduleText {
            time_zone: "Europe/London",
            ..ScheduleText::DEFAULTS
        };
        let times = JobTimes::parse(&london).expect("parse");
        let july = Utc
            .with_ymd_and_hms(2026, 7, 1, 0, 0, 0)
            .single()
            .expect("t");
        assert_eq!(
            times.next_run(Job::Identifiers, july, july),
            Utc.with_ymd_and_hms(2026, 7, 1, 2, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(
            times.period(Job::Identifiers, july),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn job_names_round_trip() {
        for job in Job::ALL {
            assert_eq!(Job::from_name(job.name()), Some(job));
        }
        assert_eq!(
            Job::PostalServices.name(),
            "sync-master-data-postal-services"
        );
    }

    #[test]
    fn a_bad_schedule_names_the_field() {
        let bad = ScheduleText {
            time_zone: "Nowhere/Special",
            ..ScheduleText::DEFAULTS
        };
        let err = JobTimes::parse(&bad).expect_err("bad zone");
        assert!(err.starts_with("schedule.timeZone:"), "{err}");
    }
}
