//! The Linnworks order identifiers the integration manages: status (Sent to Stream, Error
//! from Stream), run (RUN 01-20), sequence (SEQ-01-20) and day (SUNDAY-SATURDAY).

/// Tags are what orders are tagged with; names are what people see on the order.
pub const SENT_TO_STREAM: (&str, &str) = ("SENT_TO_STREAM", "Sent to Stream");
pub const ERROR_FROM_STREAM: (&str, &str) = ("ERROR_FROM_STREAM", "Error from Stream");
pub const MAX_RUNS: u32 = 20;
pub const MAX_SEQUENCES: u32 = 20;
pub const DAYS: [&str; 7] = [
    "SUNDAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
];

/// The day identifier for a delivery date: SUNDAY..SATURDAY.
pub fn day_tag(date: chrono::NaiveDate) -> &'static str {
    use chrono::Datelike as _;
    DAYS[date.weekday().num_days_from_sunday() as usize]
}

pub fn run_tag(n: u32) -> String {
    format!("RUN_{n:02}")
}

pub fn run_name(n: u32) -> String {
    format!("RUN {n:02}")
}

pub fn seq_tag(n: u32) -> String {
    format!("SEQ_{n:02}")
}

pub fn seq_name(n: u32) -> String {
    format!("SEQ-{n:02}")
}

pub fn is_run_tag(tag: &str) -> bool {
    tag.strip_prefix("RUN_")
        .is_some_and(|n| n.len() == 2 && n.chars().all(|c| c.is_ascii_digit()))
}

pub fn is_seq_tag(tag: &str) -> bool {
    tag.strip_prefix("SEQ_")
        .is_some_and(|n| n.len() == 2 && n.chars().all(|c| c.is_ascii_digit()))
}

pub fn is_day_tag(tag: &str) -> bool {
    DAYS.contains(&tag)
}

/// Every identifier the master-data sync registers: (tag, name), 49 in all.
pub fn all() -> Vec<(String, String)> {
    let mut out = vec![
        (SENT_TO_STREAM.0.to_string(), SENT_TO_STREAM.1.to_string()),
        (
            ERROR_FROM_STREAM.0.to_string(),
            ERROR_FROM_STREAM.1.to_string(),
        ),
    ];
    out.extend((1..=MAX_RUNS).map(|n| (run_tag(n), run_name(n))));
    out.extend((1..=MAX_SEQUENCES).map(|n| (seq_tag(n), seq_name(n))));
    out.extend(DAYS.iter().map(|d| (d.to_string(), d.to_string())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_set_is_registered_once() {
        let all = all();
        assert_eq!(all.len(), 2 + 20 + 20 + 7);
        let mut tags: Vec<&str> = all.iter().map(|(t, _)| t.as_str()).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), all.len());
        assert!(all.contains(&("RUN_07".into(), "RUN 07".into())));
        assert!(all.contains(&("SEQ_20".into(), "SEQ-20".into())));
        assert!(is_run_tag("RUN_01") && !is_run_tag("RUN_1") && !is_run_tag("SEQ_01"));
        assert!(is_seq_tag("SEQ_13") && is_day_tag("FRIDAY") && !is_day_tag("Friday"));
    }
}
