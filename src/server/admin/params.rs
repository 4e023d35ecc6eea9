//! Query parameters, validated one by one: an unknown, repeated or malformed parameter is
//! refused with 400 and an error naming it. An empty value counts as not given (an "all"
//! choice in a filter form sends `status=`).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::error::ApiError;

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string, accepting only the `allowed` names.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let expected = if allowed.is_empty() {
                    "this call takes no parameters".to_string()
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                };
                return Err(ApiError::parameter(
                    name,
                    format!("unknown parameter; {expected}"),
                ));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::parameter(name, "given more than once"));
            }
        }
        Ok(Self { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Free text of at most `max` characters, without control characters.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        if v.chars().count() > max {
            return Err(ApiError::parameter(
                name,
                format!("at most {max} characters"),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(ApiError::parameter(
                name,
                "control characters are not allowed",
            ));
        }
        Ok(Some(v.to_string()))
    }

    /// One of an enum's values (stored name or label, any case).
    pub fn choice<T: FromStr + Copy>(
        &self,
        name: &str,
        all: &[T],
        show: fn(T) -> &'static str,
    ) -> Result<Option<T>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        v.parse::<T>().map(Some).map_err(|_| {
            let names: Vec<&str> = all.iter().map(|t| show(*t)).collect();
            ApiError::parameter(
                name,
                format!("unknown value {v:?}; expected one of: {}", names.join(", ")),
            )
        })
    }

    /// A whole number in `min..=max`, `default` when not given.
    pub fn number(&self, name: &str, default: u64, min: u64, max: u64) -> Result<u64, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(default);
        };
        let n: u64 = v
            .parse()
            .map_err(|_| ApiError::parameter(name, format!("{v:?} is not a whole number")))?;
        if n < min || n > max {
            return Err(ApiError::parameter(
                name,
                format!("{n} is out of range; use {min} to {max}"),
            ));
        }
        Ok(n)
    }

    /// An RFC 3339 time (`2026-06-01T08:00:00Z`) or a date (`2026-06-01`, midnight UTC).
    pub fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(v) {
            return Ok(Some(t.with_timezone(&Utc)));
        }
        if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            && let Some(t) = d.and_hms_opt(0, 0, 0)
        {
            return Ok(Some(t.and_utc()));
        }
        Err(ApiError::parameter(
            name,
            format!(
                "{v:?} is not a time; use RFC 3339 (2026-06-01T08:00:00Z) or a date (2026-06-01)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderStatus;

    #[test]
    fn parameters_are_named_in_every_error() {
        let e = Params::parse(Some("stauts=Pending"), &["status"])
            .err()
            .expect("unknown");
        assert_eq!(e.parameter.as_deref(), Some("stauts"));
        assert_eq!(
            e.message,
            "stauts: unknown parameter; expected one of: status"
        );
        let e = Params::parse(Some("limit=1&limit=2"), &["limit"])
            .err()
            .expect("twice");
        assert_eq!(e.message, "limit: given more than once");

        let p = Params::parse(
            Some("status=validation%20failed&limit=abc&offset=&from=2026-06-01&to=yesterday"),
            &["status", "limit", "offset", "from", "to"],
        )
        .expect("parse");
        assert_eq!(
            p.choice("status", OrderStatus::ALL, OrderStatus::label)
                .expect("status"),
            Some(OrderStatus::ValidationFailed)
        );
        let e = p.number("limit", 50, 1, 500).expect_err("not a number");
        assert_eq!(e.message, "limit: \"abc\" is not a whole number");
        assert_eq!(p.number("offset", 0, 0, 10).expect("empty is default"), 0);
        assert_eq!(
            p.time("from").expect("date").map(|t| t.to_rfc3339()),
            Some("2026-06-01T00:00:00+00:00".to_string())
        );
        let e = p.time("to").expect_err("not a time");
        assert_eq!(e.parameter.as_deref(), Some("to"));

        let p =
            Params::parse(Some("status=Shipped&limit=501"), &["status", "limit"]).expect("parse");
        let e = p
            .choice("status", OrderStatus::ALL, OrderStatus::label)
            .expect_err("unknown status");
        assert!(
            e.message.starts_with(
                "status: unknown value \"Shipped\"; expected one of: Pending, In Progress"
            ),
            "{}",
            e.message
        );
        let e = p.number("limit", 50, 1, 500).expect_err("too big");
        assert_eq!(e.message, "limit: 501 is out of range; use 1 to 500");
    }
}
