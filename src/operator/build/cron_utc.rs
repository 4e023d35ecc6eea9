//! Rewrites a five-field cron expression written for local time in a zone into the same
//! firing times in UTC, for `batch/v1beta1` CronJobs, which have no `timeZone` field and
//! run on the controller manager's clock (UTC on every managed cluster).
//!
//! The offset is the zone's offset at one instant. For a zone with a fixed offset (Etc/UTC,
//! Asia/Tokyo, ...) the result is exact. For a zone with daylight saving time it is right
//! until the next change of offset; the reconciler rebuilds the CronJob periodically, so
//! the schedule follows within one reconcile interval. A `batch/v1` CronJob with
//! `timeZone` has no such gap.
//!
//! Not every expression survives a shift: `0 1 1 * *` in UTC+2 fires at 23:00 on the last
//! day of the previous month, which cron cannot say. Such expressions are refused with a
//! message saying why; times of day that stay on the same day, or whole-day shifts with a
//! day-of-week (or no day restriction), are converted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Offset, TimeZone, Utc};

/// The zone's offset from UTC at `now`, in minutes (positive east of Greenwich).
pub fn offset_minutes(zone: &chrono_tz::Tz, now: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&now.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

/// `expr` (local time at `offset` minutes east of UTC) as an expression in UTC.
pub fn to_utc(expr: &str, offset: i32) -> Result<String, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return Err(format!(
            "{expr:?} has {} fields; five are needed",
            fields.len()
        ));
    };
    if offset == 0 {
        return Ok(fields.join(" "));
    }
    let minutes = expand(minute, 0, 59, &[]).map_err(|e| format!("minute field: {e}"))?;
    let hours = expand(hour, 0, 23, &[]).map_err(|e| format!("hour field: {e}"))?;

    // Local (hour, minute) -> day shift -> UTC (hour, minute).
    let mut by_shift: BTreeMap<i32, BTreeSet<(u32, u32)>> = BTreeMap::new();
    for &h in &hours {
        for &m in &minutes {
            let t = (h * 60 + m) as i32 - offset;
            let shift = t.div_euclid(24 * 60);
            let t = t.rem_euclid(24 * 60) as u32;
            by_shift.entry(shift).or_default().insert((t / 60, t % 60));
        }
    }
    let days_free = dom == "*" && month == "*" && dow == "*";
    let (new_dow, times) = if by_shift.len() == 1 {
        let (&shift, times) = by_shift.iter().next().ok_or("no firing time")?;
        let new_dow = if shift == 0 || days_free {
            dow.to_string()
        } else if dom == "*" && month == "*" {
            shift_days_of_week(dow, shift)?
        } else {
            return Err(format!(
                "in UTC it fires a day {}, which cron cannot express with a day-of-month or month restriction",
                if shift < 0 { "earlier" } else { "later" }
            ));
        };
        (new_dow, times.clone())
    } else if days_free {
        let all: BTreeSet<(u32, u32)> = by_shift.values().flatten().copied().collect();
        (dow.to_string(), all)
    } else {
        return Err(
            "in UTC its times fall on two different days, which cron cannot express with a day restriction"
                .into(),
        );
    };
    let new_minutes: BTreeSet<u32> = times.iter().map(|&(_, m)| m).collect();
    let new_hours: BTreeSet<u32> = times.iter().map(|&(h, _)| h).collect();
    if new_minutes.len() * new_hours.len() != times.len() {
        return Err(
            "in UTC its minutes differ from hour to hour, which one cron expression cannot express"
                .into(),
        );
    }
    Ok(format!(
        "{} {} {dom} {month} {new_dow}",
        compress(&new_minutes, 0, 59, &[]),
        compress(&new_hours, 0, 23, &[])
    ))
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn shift_days_of_week(dow: &str, shift: i32) -> Result<String, String> {
    let days = expand(dow, 0, 7, &DAY_NAMES).map_err(|e| format!("day-of-week field: {e}"))?;
    let shifted: BTreeSet<u32> = days
        .iter()
        .map(|&d| ((d % 7) as i32 + shift).rem_euclid(7) as u32)
        .collect();
    // Names, not numbers: every cron dialect agrees on them (numbers differ: 0-6 vs 1-7).
    Ok(compress(&shifted, 0, 6, &DAY_NAMES))
}

/// The values a cron field selects: `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n`, comma lists;
/// `names` are accepted for the values 0.. (day names).
fn expand(field: &str, lo: u32, hi: u32, names: &[&str]) -> Result<BTreeSet<u32>, String> {
    let mut out = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("{item:?} has a bad step"))?,
            ),
            None => (item, 1),
        };
        let (start, end) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, lo, hi, names)?, value(b, lo, hi, names)?)
        } else {
            let a = value(range, lo, hi, names)?;
            // `a/n` runs from a to the end; a plain `a` is just a.
            (a, if item.contains('/') { hi } else { a })
        };
        if start > end {
            return Err(format!("{item:?} runs backwards"));
        }
        out.extend((start..=end).step_by(step as usize));
    }
    Ok(out)
}

fn value(text: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as u32);
    }
    text.parse::<u32>()
        .ok()
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| format!("{text:?} is not a number from {lo} to {hi}"))
}

/// Writes a set back as a field: `*` when complete, runs of three or more as ranges,
/// values as `names` when given.
fn compress(values: &BTreeSet<u32>, lo: u32, hi: u32, names: &[&str]) -> String {
    let show = |v: u32| {
        names
            .get(v as usize)
            .map_or_else(|| v.to_string(), |n| (*n).to_string())
    };
    if values.len() as u32 == hi - lo + 1 {
        return "*".into();
    }
    let mut parts = Vec::new();
    let v: Vec<u32> = values.iter().copied().collect();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", show(v[i]), show(v[j])));
        } else {
            parts.extend(v[i..=j].iter().map(|&x| show(x)));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::parse_cron;
    use chrono::{Datelike, Timelike};

    #[test]
    fn zero_offset_keeps_the_expression() {
        assert_eq!(to_utc("0 3 * * *", 0).unwrap(), "0 3 * * *");
        assert_eq!(
            to_utc("5,10 */2 1 JAN MON", 0).unwrap(),
            "5,10 */2 1 JAN MON"
        );
    }

    #[test]
    fn whole_hour_offsets_move_the_hour() {
        assert_eq!(to_utc("0 3 * * *", 60).unwrap(), "0 2 * * *");
        assert_eq!(to_utc("0 3 * * *", -300).unwrap(), "0 8 * * *");
        assert_eq!(to_utc("30 9,17 * * *", 540).unwrap(), "30 0,8 * * *");
    }

    #[test]
    fn crossing_midnight_moves_the_day_of_week() {
        // 03:00 Monday in Tokyo is 18:00 Sunday in UTC.
        assert_eq!(to_utc("0 3 * * 1", 540).unwrap(), "0 18 * * SUN");
        assert_eq!(to_utc("0 3 * * MON-FRI", 540).unwrap(), "0 18 * * SUN-THU");
        assert_eq!(to_utc("0 3 * * 0,7", 540).unwrap(), "0 18 * * SAT");
        // 22:00 Saturday in New York (UTC-5) is 03:00 Sunday in UTC.
        assert_eq!(to_utc("0 22 * * 6", -300).unwrap(), "0 3 * * SUN");
        // Without a day restriction the day does not matter.
        assert_eq!(to_utc("0 3 * * *", 540).unwrap(), "0 18 * * *");
    }

    #[test]
    fn half_hour_offsets_move_the_minutes() {
        // India, UTC+5:30.
        assert_eq!(to_utc("0 3 * * *", 330).unwrap(), "30 21 * * *");
        assert_eq!(to_utc("0,30 * * * *", 330).unwrap(), "0,30 * * * *");
        assert_eq!(to_utc("*/15 * * * *", 345).unwrap(), "0,15,30,45 * * * *");
    }

    #[test]
    fn inexpressible_shifts_are_refused_with_a_reason() {
        let e = to_utc("0 1 1 * *", 120).unwrap_err();
        assert!(e.contains("a day earlier"), "{e}");
        let e = to_utc("0 1,23 * * 1", 120).unwrap_err();
        assert!(e.contains("two different days"), "{e}");
        assert_eq!(to_utc("0 3,4 * * *", 30).unwrap(), "30 2,3 * * *");
        let e = to_utc("0,45 3 * * *", 30).unwrap_err();
        assert!(e.contains("minutes differ"), "{e}");
        let e = to_utc("0 25 * * *", 60).unwrap_err();
        assert!(e.contains("hour field"), "{e}");
    }

    type Firings = Vec<DateTime<Utc>>;

    /// The next `n` firings of `expr` in `zone` (as `run` computes them) and of the
    /// expression the operator writes for a CronJob without `timeZone`, in UTC.
    fn both_firings(
        expr: &str,
        zone: &str,
        now: DateTime<Utc>,
        n: usize,
    ) -> Option<(Firings, Firings, String)> {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let local = parse_cron(expr).unwrap();
        let utc = to_utc(local.expression(), offset_minutes(&tz, now)).ok()?;
        let converted = parse_cron(&utc).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut ta, mut tb) = (now.with_timezone(&tz), now);
        for _ in 0..n {
            ta = local.next_after(&ta).unwrap();
            tb = converted.next_after(&tb).unwrap();
            a.push(ta.with_timezone(&Utc));
            b.push(tb);
        }
        Some((a, b, utc))
    }

    #[test]
    fn converted_schedules_fire_at_the_same_instants() {
        // Zones without daylight saving time, where one offset holds all year.
        let zones = ["Asia/Tokyo", "Asia/Kolkata", "America/Bogota", "Etc/GMT+3"];
        let now = Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).unwrap();
        let mut converted = 0;
        for zone in zones {
            for expr in [
                "0 3 * * *",
                "30 22 * * MON-FRI",
                "15 0 * * SUN",
                "*/20 6-8 * * *",
                "0 3 1 * 1",
                "0 9 1,15 * 1",
                "@daily",
                "@weekly",
                "@hourly",
            ] {
                let Some((a, b, utc)) = both_firings(expr, zone, now, 40) else {
                    continue;
                };
                converted += 1;
                assert_eq!(a, b, "{expr} in {zone} -> {utc}");
                assert_eq!(a[0].second(), 0);
            }
        }
        assert!(converted >= 25, "only {converted} conversions were checked");
    }

    #[test]
    fn run_and_the_cronjob_fire_on_the_same_days_for_both_day_fields() {
        use crate::crd::installation::Schedule;
        use crate::domain::Job;
        use crate::domain::schedule::JobTimes;
        // The 1st of the month OR a Monday, at 03:00 in Bogota (UTC-5, no daylight saving).
        let spec = Schedule {
            identifiers_schedule: "0 3 1 * 1".into(),
            time_zone: "America/Bogota".into(),
            ..Schedule::default()
        };
        let times = JobTimes::parse(&spec.text()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (_, cronjob, utc) = both_firings("0 3 1 * 1", "America/Bogota", now, 8).unwrap();
        assert_eq!(utc, "0 8 1 * 1");
        let mut run = Vec::new();
        let mut t = now;
        for _ in 0..8 {
            t = times.next_run(Job::Identifiers, now, t);
            run.push(t);
        }
        assert_eq!(run, cronjob);
        let days: Vec<u32> = run.iter().map(|t| t.day()).collect();
        // Jan 1 (1st), Jan 5/12/19/26 (Mondays), Feb 1 (1st), Feb 2/9 (Mondays).
        assert_eq!(days, [1, 5, 12, 19, 26, 1, 2, 9]);
    }
}
