//! Cron expressions read exactly as Kubernetes CronJobs read them (robfig/cron v3's
//! standard parser), so a schedule fires on the same minutes in `linnstream run` as in the
//! cluster. The grammar and the day rule are checked here; croner computes the firing
//! times from the normalised expression.
//!
//! - Five fields: minute, hour, day of month, month, day of week (0-6, Sunday = 0).
//! - `*` and `?`, values, names (`JAN`, `MON`), ranges `a-b`, steps `*/n`, `a-b/n` and
//!   `a/n` (a to the end), comma lists.
//! - When both the day of month and the day of week are restricted a day matches if
//!   EITHER does; a field counts as unrestricted when one of its items is `*` or `?`
//!   without a step above 1.
//! - `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{DateTime, TimeZone};

/// A validated schedule.
#[derive(Clone, Debug)]
pub struct CronSchedule {
    expression: String,
    cron: croner::Cron,
}

/// Two schedules are equal when they fire at the same times: their normalised expressions
/// match.
impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl CronSchedule {
    /// The schedule as five plain fields: macros expanded, names as numbers, `*` only where
    /// a day field is unrestricted. Means the same as the text it was parsed from, to
    /// Kubernetes and to [`CronSchedule::next_after`].
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first firing time strictly after `after`, in `after`'s zone.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(after, false).ok()
    }
}

const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's allowed values and names (names map to `first + index`).
struct Field {
    name: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    first: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        first: 0,
    },
    Field {
        name: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        first: 0,
    },
    Field {
        name: "day-of-month",
        lo: 1,
        hi: 31,
        names: &[],
        first: 1,
    },
    Field {
        name: "month",
        lo: 1,
        hi: 12,
        names: &MONTHS,
        first: 1,
    },
    Field {
        name: "day-of-week",
        lo: 0,
        hi: 6,
        names: &WEEKDAYS,
        first: 0,
    },
];

const EXAMPLE: &str = "use five fields: minute hour day-of-month month day-of-week (e.g. \"0 3 * * *\"), or @daily, @weekly, @monthly, @yearly, @hourly";

/// Parses a schedule as a Kubernetes CronJob would, refusing what a CronJob refuses with a
/// message that says what is wrong.
pub fn parse_cron(text: &str) -> Result<CronSchedule, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("is empty; {EXAMPLE}"));
    }
    if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
        return Err(format!(
            "{text:?} names a time zone, which Kubernetes refuses in a schedule; set spec.schedule.timeZone instead"
        ));
    }
    let body = if trimmed.starts_with('@') {
        expand_macro(text, trimmed)?
    } else {
        trimmed
    };
    let fields: Vec<&str> = body.split_whitespace().collect();
    if fields.len() != 5 {
        let extra = if fields.len() > 5 {
            " (Kubernetes has no seconds or year field)"
        } else {
            ""
        };
        return Err(format!(
            "{text:?} has {} fields{extra}; {EXAMPLE}",
            fields.len()
        ));
    }
    let mut sets = Vec::with_capacity(5);
    for (field, spec) in FIELDS.iter().zip(&fields) {
        let parsed = parse_field(spec, field).map_err(|e| {
            format!(
                "{text:?} is not a valid cron expression: {} field: {e}",
                field.name
            )
        })?;
        sets.push(parsed);
    }
    let expression = sets
        .iter()
        .zip(&FIELDS)
        .enumerate()
        .map(|(i, ((values, star), field))| {
            // A day field keeps its `*` only when unrestricted: that decides between
            // "either day field matches" and "both must match".
            let is_day = i == 2 || i == 4;
            if *star || (!is_day && values.len() as u32 == field.hi - field.lo + 1) {
                "*".to_string()
            } else {
                write_list(values)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(&expression)
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))?;
    Ok(CronSchedule { expression, cron })
}

fn expand_macro(text: &str, trimmed: &str) -> Result<&'static str, String> {
    if trimmed.starts_with("@every") {
        return Err(format!(
            "{text:?} is an interval, not a calendar schedule; write it as a cron expression (e.g. \"*/30 * * * *\" for every 30 minutes)"
        ));
    }
    MACROS
        .iter()
        .find(|(name, _)| *name == trimmed)
        .map(|(_, expr)| *expr)
        .ok_or_else(|| format!("{text:?} is not a known macro; {EXAMPLE}"))
}

/// The values a field selects, and whether it is unrestricted in robfig's sense (an item
/// `*` or `?` with no step above 1).
fn parse_field(spec: &str, field: &Field) -> Result<(BTreeSet<u32>, bool), String> {
    let mut values = BTreeSet::new();
    let mut star = false;
    for item in spec.split(',') {
        let (range, step) = match item.split('/').collect::<Vec<_>>()[..] {
            [range] => (range, None),
            [range, step] => (range, Some(step)),
            _ => return Err(format!("{item:?} has more than one '/'")),
        };
        let step = match step {
            None => 1,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{item:?} needs a positive whole step after '/'"))?,
        };
        let (start, end) = if range == "*" || range == "?" {
            star |= step == 1;
            (field.lo, field.hi)
        } else {
            match range.split('-').collect::<Vec<_>>()[..] {
                [single] => {
                    let v = value(single, field)?;
                    // `a/n` runs from a to the end of the field.
                    (v, if item.contains('/') { field.hi } else { v })
                }
                [a, b] => (value(a, field)?, value(b, field)?),
                _ => return Err(format!("{item:?} has more than one '-'")),
            }
        };
        if start > end {
            return Err(format!("{item:?} runs backwards ({start} > {end})"));
        }
        values.extend((start..=end).step_by(step as usize));
    }
    Ok((values, star))
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    if let Some(i) = field
        .names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(field.first + i as u32);
    }
    let names = if field.names.is_empty() {
        String::new()
    } else {
        format!(
            " or a name ({}-{})",
            field.names[0].to_ascii_uppercase(),
            field.names[field.names.len() - 1].to_ascii_uppercase()
        )
    };
    let hint = if field.name == "day-of-week" && text == "7" {
        "; Sunday is 0 or SUN"
    } else {
        ""
    };
    match text.parse::<u32>() {
        Ok(v) if (field.lo..=field.hi).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{v} is out of range; use {}-{}{names}{hint}",
            field.lo, field.hi
        )),
        Err(_) => Err(format!(
            "{text:?} is not a number from {} to {}{names}",
            field.lo, field.hi
        )),
    }
}

/// `1,2,3,5` -> `1-3,5`.
fn write_list(values: &BTreeSet<u32>) -> String {
    let v: Vec<u32> = values.iter().copied().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            let _ = write!(out, "{}-{}", v[i], v[j]);
        } else {
            let _ = write!(out, "{}", v[i]);
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
