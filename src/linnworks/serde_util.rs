//! Tolerant decoding of Linnworks replies: nulls where a value is expected, and date-times
//! with or without an offset.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// A missing or `null` value as the type's default (Linnworks sends `null` for empty lists
/// and strings it has no value for).
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Date-times as Linnworks writes them: RFC 3339, or without an offset (read as UTC; the
/// spec says only `date-time`, and .NET often omits the zone: *inferred*). Unparseable
/// values become None rather than failing the whole reply.
pub mod datetime {
    use super::*;

    pub fn deserialize<'de, D>(d: D) -> Result<Option<DateTime<Utc>>, D::Error>
    where
        D: Deserializer<'de>,
    {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        Ok(parse(&text))
    }

    pub fn serialize<S>(value: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
    {
        match value {
            Some(v) => s.serialize_str(&v.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None => s.serialize_none(),
        }
    }

    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(dt.with_timezone(&Utc));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::datetime::parse;

    #[test]
    fn reads_dates_with_and_without_offsets() {
        assert_eq!(
            parse("2026-03-01T10:00:00Z").unwrap().to_rfc3339(),
            "2026-03-01T10:00:00+00:00"
        );
        assert_eq!(
            parse("2026-03-01T10:00:00.123").unwrap().to_rfc3339(),
            "2026-03-01T10:00:00.123+00:00"
        );
        assert_eq!(
            parse("2026-03-01T12:00:00+02:00").unwrap().to_rfc3339(),
            "2026-03-01T10:00:00+00:00"
        );
        assert!(parse("yesterday").is_none());
    }
}
