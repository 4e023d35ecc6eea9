//! Stream's date-time quirks.
//!
//! Stream writes date-times as `2026-06-20T07-00Z` (hyphens in the time part, minutes
//! precision, UTC) and an unset date-time as the string `"0"` (reference section 3, seen in
//! both public clients). Readers here are tolerant: they also take the colon forms a
//! conventional API would send, with or without seconds, offsets and date-only values, since
//! which forms the real service emits beyond the documented one is *inferred*. Writers always
//! produce Stream's own form.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The form Stream writes, and the one this client sends.
pub const STREAM_DATETIME_FORMAT: &str = "%Y-%m-%dT%H-%MZ";
/// Order dates (`header.orderDate`) are plain dates.
pub const STREAM_DATE_FORMAT: &str = "%Y-%m-%d";
/// What Stream writes for a date-time that is not set.
pub const UNSET: &str = "0";

/// Formats a date-time the way Stream expects it (`2026-06-20T07-00Z`).
pub fn format_datetime(at: DateTime<Utc>) -> String {
    at.format(STREAM_DATETIME_FORMAT).to_string()
}

/// Formats an optional date-time, writing Stream's `"0"` when unset.
pub fn format_optional(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| UNSET.to_string(), format_datetime)
}

/// Parses a Stream date-time. `Ok(None)` for the unset forms (`"0"`, empty); an error naming
/// the value for anything unrecognised.
pub fn parse_datetime(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let t = text.trim();
    if t.is_empty() || t == UNSET {
        return Ok(None);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let naive = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    for format in [
        "%Y-%m-%dT%H-%M",
        "%Y-%m-%dT%H-%M-%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(naive, format) {
            return Ok(Some(at.and_utc()));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(naive, STREAM_DATE_FORMAT) {
        return Ok(Some(day.and_time(NaiveTime::MIN).and_utc()));
    }
    Err(format!(
        "`{t}` is not a Stream date-time (expected e.g. 2026-06-20T07-00Z, or \"0\" for unset)"
    ))
}

/// Serde helpers for `Option<DateTime<Utc>>` fields in Stream's form: `"0"` when `None`.
/// Reading is tolerant: an unrecognised value is logged and read as unset rather than failing a
/// whole reply over one field the client does not depend on.
pub mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_optional(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let raw = Option::<serde_json::Value>::deserialize(d)?;
        Ok(match raw {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => match parse_datetime(&s) {
                Ok(at) => at,
                Err(problem) => {
                    tracing::warn!(%problem, "ignoring an unreadable Stream date-time");
                    None
                }
            },
            // A bare number 0 is another spelling of "unset".
            Some(serde_json::Value::Number(n)) if n.as_i64() == Some(0) => None,
            Some(other) => {
                tracing::warn!(value = %other, "ignoring an unreadable Stream date-time");
                None
            }
        })
    }
}

/// Serde helpers for `header.orderDate` (`yyyy-MM-dd`).
pub mod date {
    use super::*;

    pub fn serialize<S: Serializer>(day: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&day.format(STREAM_DATE_FORMAT).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = String::deserialize(d)?;
        // Tolerate a date-time where a date is expected: keep its day.
        let day_part = s.get(..10).unwrap_or(&s);
        NaiveDate::parse_from_str(day_part, STREAM_DATE_FORMAT)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a yyyy-MM-dd date")))
    }
}

/// Serde helpers for an optional `yyyy-MM-dd` date (an item's `onHandDate`), left out when
/// unset (with `skip_serializing_if`).
pub mod optional_date {
    use super::*;

    pub fn serialize<S: Serializer>(day: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match day {
            Some(day) => date::serialize(day, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn reads_streams_quirky_form_and_unset() {
        assert_eq!(
            parse_datetime("2026-06-20T07-00Z"),
            Ok(Some(at(2026, 6, 20, 7, 0)))
        );
        assert_eq!(parse_datetime("0"), Ok(None));
        assert_eq!(parse_datetime(""), Ok(None));
    }

    #[test]
    fn reads_conventional_forms_tolerantly() {
        let want = Some(at(2026, 6, 20, 7, 30));
        for text in [
            "2026-06-20T07:30Z",
            "2026-06-20T07:30:00Z",
            "2026-06-20T07:30:00+00:00",
            "2026-06-20T08:30:00+01:00",
            "2026-06-20T07-30-00Z",
            "2026-06-20T07:30:00.000Z",
        ] {
            assert_eq!(parse_datetime(text), Ok(want), "{text}");
        }
        assert_eq!(
            parse_datetime("2026-06-20"),
            Ok(Some(at(2026, 6, 20, 0, 0)))
        );
    }

    #[test]
    fn rejects_garbage_naming_the_value() {
        let err = parse_datetime("next tuesday").expect_err("garbage");
        assert!(err.contains("next tuesday"), "{err}");
        assert!(parse_datetime("2026-13-40T07-00Z").is_err());
    }

    #[test]
    fn writes_streams_form() {
        assert_eq!(format_datetime(at(2026, 6, 20, 7, 5)), "2026-06-20T07-05Z");
        assert_eq!(format_optional(None), "0");
    }
}
