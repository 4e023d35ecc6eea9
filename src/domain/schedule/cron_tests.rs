//! Next firing times as a Kubernetes CronJob (robfig/cron v3) gives them.

use chrono::{DateTime, TimeZone, Utc};

use super::parse_cron;

/// 2026-01-01 00:00 UTC, a Thursday.
fn new_year() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn next_times(expr: &str, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let schedule = parse_cron(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut out = Vec::new();
    let mut t = from;
    for _ in 0..n {
        t = schedule.next_after(&t).expect("a next time");
        out.push(t);
    }
    out
}

#[test]
fn next_times_match_kubernetes() {
    let table: &[(&str, &[&str])] = &[
        // Both day fields restricted: the 1st of the month OR a Monday.
        (
            "0 3 1 * 1",
            &[
                "2026-01-01T03:00:00Z",
                "2026-01-05T03:00:00Z",
                "2026-01-12T03:00:00Z",
                "2026-01-19T03:00:00Z",
                "2026-01-26T03:00:00Z",
                "2026-02-01T03:00:00Z",
                "2026-02-02T03:00:00Z",
            ],
        ),
        // Only the day of week restricted: Mondays only.
        (
            "0 3 * * 1",
            &[
                "2026-01-05T03:00:00Z",
                "2026-01-12T03:00:00Z",
                "2026-01-19T03:00:00Z",
            ],
        ),
        // Only the day of month restricted: 1sts only.
        (
            "0 3 1 * *",
            &[
                "2026-01-01T03:00:00Z",
                "2026-02-01T03:00:00Z",
                "2026-03-01T03:00:00Z",
            ],
        ),
        // A stepped `*` restricts the field (robfig), so this is odd days OR Mondays.
        (
            "0 0 */2 * 1",
            &[
                "2026-01-03T00:00:00Z",
                "2026-01-05T00:00:00Z",
                "2026-01-07T00:00:00Z",
                "2026-01-09T00:00:00Z",
                "2026-01-11T00:00:00Z",
                "2026-01-12T00:00:00Z",
                "2026-01-13T00:00:00Z",
            ],
        ),
        // `?` is unrestricted: Mondays only.
        (
            "0 0 ? * MON",
            &["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"],
        ),
        (
            "0 3 * JAN MON-FRI",
            &[
                "2026-01-01T03:00:00Z",
                "2026-01-02T03:00:00Z",
                "2026-01-05T03:00:00Z",
            ],
        ),
        (
            "0 3 * jan,Mar sun",
            &[
                "2026-01-04T03:00:00Z",
                "2026-01-11T03:00:00Z",
                "2026-01-18T03:00:00Z",
                "2026-01-25T03:00:00Z",
                "2026-03-01T03:00:00Z",
            ],
        ),
        (
            "0 0 * * 0",
            &["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"],
        ),
        (
            "*/20 9-10 * * *",
            &[
                "2026-01-01T09:00:00Z",
                "2026-01-01T09:20:00Z",
                "2026-01-01T09:40:00Z",
                "2026-01-01T10:00:00Z",
                "2026-01-01T10:20:00Z",
                "2026-01-01T10:40:00Z",
                "2026-01-02T09:00:00Z",
            ],
        ),
        // `a/n` runs from a to the end of the field.
        (
            "50/5 23 * * *",
            &[
                "2026-01-01T23:50:00Z",
                "2026-01-01T23:55:00Z",
                "2026-01-02T23:50:00Z",
            ],
        ),
        (
            "10-20/5,45 0 1 1 *",
            &[
                "2026-01-01T00:10:00Z",
                "2026-01-01T00:15:00Z",
                "2026-01-01T00:20:00Z",
                "2026-01-01T00:45:00Z",
                "2027-01-01T00:10:00Z",
            ],
        ),
        ("0 12 29 2 *", &["2028-02-29T12:00:00Z"]),
        // The macros.
        ("@daily", &["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]),
        (
            "@midnight",
            &["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"],
        ),
        ("@weekly", &["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        (
            "@monthly",
            &["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"],
        ),
        ("@yearly", &["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]),
        (
            "@annually",
            &["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"],
        ),
        ("@hourly", &["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]),
    ];
    for (expr, expected) in table {
        let expected: Vec<_> = expected.iter().map(|t| at(t)).collect();
        assert_eq!(
            next_times(expr, new_year(), expected.len()),
            expected,
            "{expr}"
        );
    }
}

#[test]
fn macros_equal_their_five_field_forms() {
    for (name, fields) in [
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@hourly", "0 * * * *"),
    ] {
        assert_eq!(parse_cron(name).expect("macro").expression(), fields);
        assert_eq!(
            next_times(name, new_year(), 5),
            next_times(fields, new_year(), 5)
        );
    }
}

#[test]
fn normalised_expressions_keep_the_day_rule() {
    let normal = |e: &str| parse_cron(e).expect("valid").expression().to_string();
    assert_eq!(normal("0 3 * JAN MON-FRI"), "0 3 * 1 1-5");
    assert_eq!(normal("0 3 1 * 1"), "0 3 1 * 1");
    assert_eq!(normal("0 0 ? * SUN"), "0 0 * * 0");
    assert_eq!(normal("*/15 * * * *"), "0,15,30,45 * * * *");
    // A day field that lists every day is still restricted: the OR rule then fires daily.
    assert_eq!(normal("0 0 */1 * 1"), "0 0 * * 1");
    assert_eq!(normal("0 0 1-31 * 1"), "0 0 1-31 * 1");
    assert_eq!(
        next_times("0 0 1-31 * 1", new_year(), 2),
        [at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")]
    );
}

#[test]
fn schedules_a_cronjob_refuses_are_refused_with_the_reason() {
    let table = [
        ("", "is empty"),
        ("   ", "is empty"),
        (
            "0 3 * * * *",
            "has 6 fields (Kubernetes has no seconds or year field)",
        ),
        ("0 0 3 * * * 2026", "has 7 fields"),
        ("0 3 * *", "has 4 fields"),
        ("TZ=Europe/London 0 3 * * *", "set spec.schedule.timeZone"),
        ("CRON_TZ=UTC 0 3 * * *", "set spec.schedule.timeZone"),
        ("@every 1h", "is an interval, not a calendar schedule"),
        ("@fortnightly", "is not a known macro"),
        ("@Daily", "is not a known macro"),
        ("0 3 * * 7", "day-of-week field: 7 is out of range; use 0-6"),
        ("0 3 * * 7", "Sunday is 0 or SUN"),
        ("60 * * * *", "minute field: 60 is out of range; use 0-59"),
        ("0 24 * * *", "hour field: 24 is out of range"),
        (
            "0 0 0 * *",
            "day-of-month field: 0 is out of range; use 1-31",
        ),
        ("0 0 * 13 *", "month field: 13 is out of range; use 1-12"),
        (
            "0 0 * FOO *",
            "month field: \"FOO\" is not a number from 1 to 12 or a name (JAN-DEC)",
        ),
        ("5-1 * * * *", "runs backwards"),
        ("0 3 * * MON-SUN", "runs backwards"),
        ("*/0 * * * *", "needs a positive whole step"),
        ("*/x * * * *", "needs a positive whole step"),
        ("1/2/3 * * * *", "more than one '/'"),
        ("1-2-3 * * * *", "more than one '-'"),
        ("0 3 L * *", "day-of-month field"),
        ("0 3 * * 1#2", "day-of-week field"),
        ("0 3 15W * *", "day-of-month field"),
        ("0 3 * * 5L", "day-of-week field"),
        ("0 3 1,,2 * *", "day-of-month field"),
        ("/5 * * * *", "minute field"),
    ];
    for (expr, message) in table {
        let e = parse_cron(expr).expect_err(expr);
        assert!(e.contains(message), "{expr:?}: {e}");
    }
}
