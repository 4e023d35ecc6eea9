//! Request bodies as Linnworks accepts them: a JSON body, or a form body whose fields
//! hold JSON (`orderId=...&info={...}`). Field names match case-insensitively, as ASP.NET
//! model binding does; a body wrapped in `request` is unwrapped where the spec's
//! parameter is called `request`.

use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::ApiError;
use crate::sim::kit::form_urlencoded_pairs;

/// A decoded request object, its keys lower-cased.
#[derive(Clone, Debug, Default)]
pub struct Fields(Map<String, Value>);

pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Fields, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    let value = if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut map = Map::new();
        for (key, text) in form_urlencoded_pairs(body) {
            // A field is JSON when it parses as JSON; a bare GUID or word stays a string.
            let v = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            map.insert(key, v);
        }
        Value::Object(map)
    } else if content_type.is_empty() || content_type.contains("json") {
        serde_json::from_slice::<Value>(body).map_err(|e| {
            ApiError::bad_request(format!("The request body is not valid JSON: {e}"))
        })?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content type {content_type:?} is not supported; send JSON or form data"),
        ));
    };
    match lower_keys(value) {
        Value::Object(map) => Ok(Fields(map)),
        _ => Err(ApiError::bad_request("The request body must be an object")),
    }
}

fn lower_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

impl Fields {
    pub fn from_value(value: &Value, name: &str) -> Result<Self, ApiError> {
        match value {
            Value::Object(map) => Ok(Self(map.clone())),
            _ => Err(ApiError::bad_request(format!("{name} must be an object"))),
        }
    }

    /// The body itself, or what it wraps in `request` (forms always wrap; JSON may).
    pub fn unwrap_request(self) -> Self {
        match self.0.get("request") {
            Some(Value::Object(inner)) if self.0.len() == 1 => Self(inner.clone()),
            // A form field holding the request as a JSON string that failed to parse as
            // an object stays as it is, and the missing fields are reported.
            _ => self,
        }
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        self.0
            .get(&name.to_ascii_lowercase())
            .filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    pub fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        self.raw(name).map(|v| to_uuid(v, name)).transpose()
    }

    pub fn req_uuid(&self, name: &str) -> Result<Uuid, ApiError> {
        self.uuid(name)?.ok_or_else(|| ApiError::required(name))
    }

    pub fn uuids(&self, name: &str) -> Result<Option<Vec<Uuid>>, ApiError> {
        let Some(v) = self.raw(name) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(ApiError::bad_request(format!(
                "{name} must be an array of GUIDs"
            )));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| to_uuid(v, &format!("{name}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn str(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // A form field "123" arrives as a JSON number; the model binder would take it.
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
        }
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a whole number"))),
            Some(Value::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| {
                    ApiError::bad_request(format!("{name}: '{s}' is not a whole number"))
                })
            }
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be a whole number"
            ))),
        }
    }

    pub fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("{name}: '{s}' is not a number"))),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a number"))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be true or false"
            ))),
        }
    }

    pub fn datetime(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        match self.str(name)? {
            None => Ok(None),
            Some(s) => parse_datetime(&s)
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("{name}: '{s}' is not a date-time"))),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<Fields>, ApiError> {
        self.raw(name)
            .map(|v| Fields::from_value(v, name))
            .transpose()
    }

    pub fn req_object(&self, name: &str) -> Result<Fields, ApiError> {
        self.object(name)?.ok_or_else(|| ApiError::required(name))
    }

    pub fn objects(&self, name: &str) -> Result<Vec<Fields>, ApiError> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Fields::from_value(v, &format!("{name}[{i}]")))
                .collect(),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be an array"))),
        }
    }

    /// An enum sent by name (as the spec declares) or by its number (the .NET binder
    /// accepts both): returns the name.
    pub fn enum_name(&self, name: &str, names: &[&str]) -> Result<Option<String>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|i| names.get(i as usize))
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| ApiError::bad_request(format!("{name}: {n} is not a valid value"))),
            Some(Value::String(s)) => names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(s))
                .map(|n| Some(n.to_string()))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{name}: '{s}' is not a valid value"))
                }),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
        }
    }
}

/// RFC 3339, or without an offset (read as UTC), as .NET model binding accepts.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

fn to_uuid(v: &Value, name: &str) -> Result<Uuid, ApiError> {
    match v {
        Value::String(s) => Uuid::parse_str(s.trim())
            .map_err(|_| ApiError::bad_request(format!("{name}: '{s}' is not a valid GUID"))),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a GUID string"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Fields {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        decode(&h, body.as_bytes()).unwrap()
    }

    #[test]
    fn form_fields_hold_json_and_names_ignore_case() {
        let id = Uuid::new_v4();
        let f = form(&format!(
            "orderId={id}&info=%7B%22trackingnumber%22%3A%22T1%22%2C%22TotalWeight%22%3A2.5%7D"
        ));
        assert_eq!(f.req_uuid("OrderId").unwrap(), id);
        let info = f.req_object("info").unwrap();
        assert_eq!(info.str("TrackingNumber").unwrap().as_deref(), Some("T1"));
        assert_eq!(info.f64("TotalWeight").unwrap(), Some(2.5));
    }

    #[test]
    fn request_wrappers_are_unwrapped() {
        let f = form("request=%7B%22Tag%22%3A%22X%22%7D").unwrap_request();
        assert_eq!(f.str("Tag").unwrap().as_deref(), Some("X"));
        let f = decode(&HeaderMap::new(), br#"{"request": {"Tag": "Y"}}"#)
            .unwrap()
            .unwrap_request();
        assert_eq!(f.str("tag").unwrap().as_deref(), Some("Y"));
    }

    #[test]
    fn errors_name_the_field() {
        let f = decode(&HeaderMap::new(), br#"{"orderId": "nope", "n": "x"}"#).unwrap();
        assert!(
            f.req_uuid("orderId")
                .unwrap_err()
                .message
                .contains("orderId")
        );
        assert!(
            f.req_uuid("other")
                .unwrap_err()
                .message
                .contains("other is required")
        );
        assert!(f.i64("n").unwrap_err().message.contains("n:"));
        assert!(decode(&HeaderMap::new(), b"[1]").is_err());
        assert!(decode(&HeaderMap::new(), b"{").is_err());
    }

    #[test]
    fn enums_by_name_or_number() {
        let f = decode(&HeaderMap::new(), br#"{"a": "lastdays", "b": 0, "c": 9}"#).unwrap();
        let names = ["Range", "OlderThan", "LastDays"];
        assert_eq!(
            f.enum_name("a", &names).unwrap().as_deref(),
            Some("LastDays")
        );
        assert_eq!(f.enum_name("b", &names).unwrap().as_deref(), Some("Range"));
        assert!(f.enum_name("c", &names).is_err());
    }
}
