//! Offline validation of a resource against the OpenAPI schema of its generated CRD: the
//! same rules the API server enforces (types, required, enums, ranges, lengths, patterns),
//! plus unknown fields, which the server would silently drop. Every problem is reported,
//! not only the first.

use serde_json::Value;

use super::common::Problem;

pub fn check_against_schema(schema: &Value, value: &Value, path: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    walk(schema, value, path, &mut problems);
    problems
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(schema: &Value, value: &Value, path: &str, problems: &mut Vec<Problem>) {
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for sub in all {
            walk(sub, value, path, problems);
        }
    }
    // An `anyOf` beside `properties` is a required-if rule between an object's fields; the
    // cross-field rules in `validate` state each of them with its reason, so reporting the
    // schema's terse version here would only hide the better message (findings are
    // de-duplicated by path). `crd::tests` checks that both agree.
    let cross_field = schema.get("properties").is_some();
    if let Some(any) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
        .filter(|_| !cross_field)
    {
        let results: Vec<Vec<Problem>> = any
            .iter()
            .map(|sub| check_against_schema(sub, value, path))
            .collect();
        if !results.iter().any(Vec::is_empty) {
            // Report the alternative that came closest.
            if let Some(best) = results.into_iter().min_by_key(Vec::len) {
                problems.extend(best);
            }
        }
    }
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true)
            && schema.get("type").is_some()
        {
            problems.push(Problem::new(path, "must not be null"));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let fits = actual == expected || (expected == "number" && actual == "integer");
        if !fits {
            problems.push(Problem::new(
                path,
                format!(
                    "must be of type {expected}, found {actual} {}",
                    short(value)
                ),
            ));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let list = options.iter().map(short).collect::<Vec<_>>().join(", ");
        problems.push(Problem::new(
            path,
            format!("{} is not one of the allowed values: {list}", short(value)),
        ));
    }
    match value {
        Value::Number(n) => check_number(schema, n.as_f64().unwrap_or(0.0), value, path, problems),
        Value::String(s) => check_string(schema, s, path, problems),
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                problems.push(Problem::new(
                    path,
                    format!(
                        "has {} entries, more than the maximum of {max}",
                        items.len()
                    ),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), problems);
                }
            }
        }
        Value::Object(map) => check_object(schema, map, path, problems),
        _ => {}
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

fn check_number(schema: &Value, n: f64, value: &Value, path: &str, problems: &mut Vec<Problem>) {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let out = min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m);
    if out {
        let range = match (min, max) {
            (Some(lo), Some(hi)) => format!("use {lo} to {hi}"),
            (Some(lo), None) => format!("use at least {lo}"),
            (None, Some(hi)) => format!("use at most {hi}"),
            (None, None) => String::new(),
        };
        problems.push(Problem::new(
            path,
            format!("{value} is out of range; {range}"),
        ));
    }
}

fn check_string(schema: &Value, s: &str, path: &str, problems: &mut Vec<Problem>) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        if min == 1 {
            problems.push(Problem::new(path, "must not be empty"));
        } else {
            problems.push(Problem::new(
                path,
                format!("must be at least {min} characters long"),
            ));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        problems.push(Problem::new(
            path,
            format!("is {len} characters long; the maximum is {max}"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(s) => problems.push(Problem::new(
                path,
                format!("{s:?} does not match the pattern {pattern}"),
            )),
            Ok(_) => {}
            Err(e) => problems.push(Problem::new(
                path,
                format!("schema pattern is invalid: {e}"),
            )),
        }
    }
}

fn check_object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                problems.push(Problem::new(join(path, name), "is required"));
            }
        }
    }
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    let additional = schema.get("additionalProperties");
    for (key, child) in map {
        let child_path = join(path, key);
        if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
            walk(child_schema, child, &child_path, problems);
        } else if let Some(extra) = additional.filter(|a| a.is_object()) {
            walk(extra, child, &child_path, problems);
        } else if properties.is_some() && !preserve {
            let hint = properties
                .and_then(|p| closest(key, p.keys().map(String::as_str)))
                .map(|k| format!(" (did you mean {k:?}?)"))
                .unwrap_or_default();
            problems.push(Problem::new(
                child_path,
                format!("is not a known field{hint}"),
            ));
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known field closest to a misspelt one, if any is close enough to be a likely typo.
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key_lower = key.to_lowercase();
    candidates
        .map(|c| (edit_distance(&key_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_every_problem_with_its_path() {
        let schema = json!({
            "type": "object",
            "required": ["a", "b"],
            "properties": {
                "a": {"type": "integer", "minimum": 1, "maximum": 5},
                "b": {"type": "string", "enum": ["X", "Y"]},
                "c": {"type": "string", "pattern": "^[A-Z]{2}$"}
            }
        });
        let problems =
            check_against_schema(&schema, &json!({"a": 9, "c": "gb", "colour": 1}), "spec");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.contains(&"spec.b: is required".to_string()),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("spec.a: 9 is out of range")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("spec.c: \"gb\" does not match")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("spec.colour: is not a known field")),
            "{text:?}"
        );
        assert_eq!(problems.len(), 4);
    }

    #[test]
    fn suggests_the_field_a_typo_meant() {
        let schema = json!({"type": "object", "properties": {"labelCopies": {"type": "integer"}}});
        let problems = check_against_schema(&schema, &json!({"lableCopies": 2}), "spec");
        assert_eq!(
            problems[0].message,
            "is not a known field (did you mean \"labelCopies\"?)"
        );
    }

    #[test]
    fn type_mismatch_names_both_types() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let problems = check_against_schema(&schema, &json!({"n": "three"}), "spec");
        assert_eq!(
            problems[0].message,
            "must be of type integer, found string \"three\""
        );
    }
}
