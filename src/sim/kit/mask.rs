//! Masks secrets in what the recorder keeps: header values, query values and body fields
//! whose names say they hold a credential.

use serde_json::Value;

pub const MASK: &str = "***";

/// Names of headers, query parameters and JSON or form fields that hold secrets.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "token",
        "secret",
        "password",
        "passwd",
        "cookie",
        "api-key",
        "apikey",
        "api_key",
        "auth_header",
        "credential",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Masks every secret-named field, at any depth.
pub fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_name(key) && !v.is_null() {
                    *v = Value::String(MASK.into());
                } else {
                    mask_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

/// A form-encoded body as a JSON object, each field parsed as JSON where it is JSON (the
/// Linnworks `info={...}` style) and kept as a string otherwise; secrets masked.
pub fn form_to_json(body: &[u8]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, value) in form_urlencoded_pairs(body) {
        let parsed = if is_secret_name(&key) {
            Value::String(MASK.into())
        } else {
            match serde_json::from_str::<Value>(&value) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                _ => Value::String(value),
            }
        };
        map.insert(key, parsed);
    }
    let mut v = Value::Object(map);
    mask_json(&mut v);
    v
}

/// A query string with secret-named values masked.
pub fn mask_query(query: &str) -> String {
    form_urlencoded_pairs(query.as_bytes())
        .into_iter()
        .map(|(k, v)| {
            let v = if is_secret_name(&k) {
                MASK.to_string()
            } else {
                v
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Decoded `key=value` pairs, in order; an undecodable body gives none.
pub fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_fields_at_any_depth() {
        let mut v = json!({"ApplicationId": "a", "ApplicationSecret": "s", "Token": "t",
                           "nested": [{"client_secret": "c", "name": "n"}]});
        mask_json(&mut v);
        assert_eq!(
            v,
            json!({"ApplicationId": "a", "ApplicationSecret": "***", "Token": "***",
                   "nested": [{"client_secret": "***", "name": "n"}]})
        );
    }

    #[test]
    fn form_fields_are_parsed_and_masked() {
        let v = form_to_json(b"orderId=abc&info=%7B%22TrackingNumber%22%3A%22T1%22%7D&token=zzz");
        assert_eq!(
            v,
            json!({"orderId": "abc", "info": {"TrackingNumber": "T1"}, "token": "***"})
        );
        assert_eq!(mask_query("a=1&access_token=x"), "a=1&access_token=***");
    }
}
