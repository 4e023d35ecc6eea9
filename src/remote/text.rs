//! Text from a remote that the store cannot hold as it is. PostgreSQL refuses NUL (U+0000)
//! in `text` and `jsonb` ("unsupported Unicode escape sequence"), and no Rust string can hold
//! an unpaired UTF-16 surrogate (`"\ud800"` is valid JSON syntax but decodes to nothing), so
//! one such character would fail a whole reply. These helpers let a caller judge each record
//! on its own: unpaired surrogate escapes are marked before decoding, and a decoded JSON value
//! is cleaned field by field with a report naming each field that had to change.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// Longest text field kept, in characters. Far above any real address line, name or note,
/// and far below what would make one order cost megabytes in every snapshot, audit entry
/// and request it travels in.
pub const MAX_FIELD_CHARS: usize = 16 * 1024;

/// Stands in for an unpaired UTF-16 surrogate escape after `mark_lone_surrogates`: a Unicode
/// noncharacter, which no genuine order text should carry, so a check can name the field.
pub const SURROGATE_MARK: char = '\u{FDD0}';

/// What is wrong with one text field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextProblem {
    /// U+0000, which PostgreSQL cannot store.
    Nul,
    /// An escape such as `\ud800` without its partner: not a character at all.
    LoneSurrogate,
    /// Longer than `MAX_FIELD_CHARS`.
    TooLong { chars: usize },
}

/// One field that had to be cleaned, by its JSON path (e.g. `CustomerInfo.Address.Address1`,
/// `Items[2].Title`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextIssue {
    pub field: String,
    pub problem: TextProblem,
}

impl fmt::Display for TextIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            "the order"
        } else {
            &self.field
        };
        match &self.problem {
            TextProblem::Nul => write!(f, "{field} contains a NUL character"),
            TextProblem::LoneSurrogate => write!(
                f,
                "{field} contains an unpaired UTF-16 surrogate (an escape such as \\ud800 that is not a character)"
            ),
            TextProblem::TooLong { chars } => write!(
                f,
                "{field} is {chars} characters long; at most {MAX_FIELD_CHARS} are accepted"
            ),
        }
    }
}

/// Replaces every unpaired UTF-16 surrogate escape in JSON text with `SURROGATE_MARK`'s
/// escape, so the text decodes and the bad field can be named afterwards. Paired surrogates
/// (an escaped emoji) and everything else are left alone; text without any is borrowed.
pub fn mark_lone_surrogates(json: &str) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    let hex4 = |at: usize| -> Option<u32> {
        let digits = bytes.get(at..at + 4)?;
        let digits = std::str::from_utf8(digits).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let is_high = |u: u32| (0xD800..0xDC00).contains(&u);
    let is_low = |u: u32| (0xDC00..0xE000).contains(&u);
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) != Some(&b'u') {
            // Any other escape, an escaped backslash included: skip both characters.
            i += 2;
            continue;
        }
        let Some(unit) = hex4(i + 2) else {
            i += 2;
            continue;
        };
        if is_high(unit)
            && bytes.get(i + 6) == Some(&b'\\')
            && bytes.get(i + 7) == Some(&b'u')
            && hex4(i + 8).is_some_and(is_low)
        {
            i += 12;
            continue;
        }
        if is_high(unit) || is_low(unit) {
            let out = out.get_or_insert_with(|| String::with_capacity(json.len()));
            // Escapes are ASCII, so `i` and `i + 6` are character boundaries.
            out.push_str(&json[copied..i]);
            out.push_str("\\ufdd0");
            copied = i + 6;
        }
        i += 6;
    }
    match out {
        Some(mut out) => {
            out.push_str(&json[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(json),
    }
}

/// Cleans every string (and object key) of `value` in place so the store can hold it: NUL
/// removed, unpaired surrogates (as marked by `mark_lone_surrogates`) replaced with U+FFFD,
/// over-long text cut to `MAX_FIELD_CHARS`. Returns one issue per field changed, in document
/// order; empty when nothing was wrong.
pub fn clean_json(value: &mut Value) -> Vec<TextIssue> {
    let mut issues = Vec::new();
    clean_at(value, &mut String::new(), &mut issues);
    issues
}

/// One text cleaned as `clean_json` cleans strings, for a value stored on its own; the send
/// job judges the whole order.
pub fn storable(text: Option<String>) -> Option<String> {
    text.map(|t| clean_str(&t).map_or(t, |(clean, _)| clean))
}

/// The first few issues, by field, and how many more there are: one line for an order's
/// reason.
pub fn describe_issues(issues: &[TextIssue]) -> String {
    const SHOWN: usize = 3;
    let mut text = issues
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if issues.len() > SHOWN {
        text.push_str(&format!(" (and {} more fields)", issues.len() - SHOWN));
    }
    text
}

fn clean_at(value: &mut Value, path: &mut String, issues: &mut Vec<TextIssue>) {
    match value {
        Value::String(s) => {
            if let Some((clean, problem)) = clean_str(s) {
                *s = clean;
                issues.push(TextIssue {
                    field: path.clone(),
                    problem,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                clean_at(item, path, issues);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            if map.keys().any(|k| clean_str(k).is_some()) {
                let entries = std::mem::take(map);
                for (k, v) in entries {
                    let key = match clean_str(&k) {
                        Some((clean, problem)) => {
                            issues.push(TextIssue {
                                field: join(path, &clean),
                                problem,
                            });
                            clean
                        }
                        None => k,
                    };
                    map.insert(key, v);
                }
            }
            for (k, v) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                clean_at(v, path, issues);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The cleaned text and the first problem found, or `None` when `s` is fine as it is.
fn clean_str(s: &str) -> Option<(String, TextProblem)> {
    let nul = s.contains('\0');
    let surrogate = s.contains(SURROGATE_MARK);
    let chars = if s.len() > MAX_FIELD_CHARS {
        s.chars().count()
    } else {
        0
    };
    let long = chars > MAX_FIELD_CHARS;
    if !(nul || surrogate || long) {
        return None;
    }
    let mut clean: String = s
        .chars()
        .filter(|c| *c != '\0')
        .map(|c| if c == SURROGATE_MARK { '\u{FFFD}' } else { c })
        .collect();
    if let Some((idx, _)) = clean.char_indices().nth(MAX_FIELD_CHARS) {
        clean.truncate(idx);
    }
    let problem = if nul {
        TextProblem::Nul
    } else if surrogate {
        TextProblem::LoneSurrogate
    } else {
        TextProblem::TooLong { chars }
    };
    Some((clean, problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lone_surrogates_are_marked_and_pairs_kept() {
        let text =
            r#"{"a":"x\ud800y","b":"\ud83d\ude00","c":"\\ud800","d":"\udc00","e":"\uD800\u0041"}"#;
        let marked = mark_lone_surrogates(text);
        let value: Value = serde_json::from_str(&marked).expect("decodes once marked");
        assert_eq!(value["a"], json!("x\u{FDD0}y"));
        assert_eq!(value["b"], json!("😀"));
        assert_eq!(value["c"], json!("\\ud800"));
        assert_eq!(value["d"], json!("\u{FDD0}"));
        assert_eq!(value["e"], json!("\u{FDD0}A"));
        assert!(matches!(
            mark_lone_surrogates(r#"{"a":"plain \u00e9"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn each_bad_field_is_named_and_cleaned() {
        let mut v = json!({
            "CustomerInfo": {"Address": {"Address1": "1 High\u{0}St", "Town": "Leeds"}},
            "Items": [{"Title": "ok"}, {"Title": "bad \u{FDD0}"}],
            "Notes": "n".repeat(MAX_FIELD_CHARS + 5),
        });
        let issues = clean_json(&mut v);
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text.contains(&"CustomerInfo.Address.Address1 contains a NUL character".to_string())
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("Items[1].Title contains an unpaired UTF-16 surrogate"))
        );
        assert!(
            text.iter().any(
                |t| t.starts_with(&format!("Notes is {} characters long", MAX_FIELD_CHARS + 5))
            )
        );
        assert_eq!(v["CustomerInfo"]["Address"]["Address1"], json!("1 HighSt"));
        assert_eq!(v["Items"][1]["Title"], json!("bad \u{FFFD}"));
        assert_eq!(
            v["Notes"].as_str().map(|s| s.chars().count()),
            Some(MAX_FIELD_CHARS)
        );
        assert!(clean_json(&mut v).is_empty());
    }

    #[test]
    fn single_texts_are_made_storable() {
        assert_eq!(storable(Some("A\u{0}B".into())), Some("AB".into()));
        assert_eq!(storable(Some("ok".into())), Some("ok".into()));
        assert_eq!(storable(None), None);
    }

    #[test]
    fn keys_are_cleaned_too() {
        let mut v = json!({"Bad\u{0}Key": 1});
        let issues = clean_json(&mut v);
        assert_eq!(issues.len(), 1);
        assert_eq!(v, json!({"BadKey": 1}));
    }
}
