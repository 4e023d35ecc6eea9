//! Durations written as Kubernetes users write them: Go's `time.ParseDuration` syntax
//! (`1.5h`, `500ms`, `1h30m`, `10.5s4m`), without negatives.

use std::time::Duration;

const EXAMPLE: &str =
    "use a number with a unit ns, us, ms, s, m or h (e.g. 90s, 1.5h, 1h30m, 500ms)";

/// The longest duration Go can hold: 2^63 - 1 nanoseconds (about 292 years).
const MAX_NANOS: u64 = i64::MAX as u64;

/// Parses a Go-style duration. `0` (no unit) is accepted and means no delay.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text;
    let negative = match rest.as_bytes().first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(if text.is_empty() {
            format!("is empty; {EXAMPLE}")
        } else {
            format!("{text:?} has no number; {EXAMPLE}")
        });
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (whole, after_whole) = leading_digits(rest);
        let mut fraction = "";
        rest = after_whole;
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (digits, after) = leading_digits(after_dot);
            fraction = digits;
            rest = after;
        }
        if whole.is_empty() && fraction.is_empty() {
            return Err(format!("{text:?} is not a duration; {EXAMPLE}"));
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let nanos_per_unit: u64 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                let number = &text[..text.len() - rest.len()];
                return Err(format!("{text:?} lacks a unit after {number}; {EXAMPLE}"));
            }
            other => {
                return Err(format!("{text:?} has unknown unit {other:?}; {EXAMPLE}"));
            }
        };
        let too_long = || format!("{text:?} is too long; the most is about 292 years");
        let mut nanos = parse_whole(whole)
            .and_then(|w| w.checked_mul(nanos_per_unit))
            .filter(|&n| n <= MAX_NANOS)
            .ok_or_else(too_long)?;
        nanos = nanos
            .checked_add(fraction_nanos(fraction, nanos_per_unit))
            .filter(|&n| n <= MAX_NANOS)
            .ok_or_else(too_long)?;
        total = total
            .checked_add(nanos)
            .filter(|&n| n <= MAX_NANOS)
            .ok_or_else(too_long)?;
    }
    if negative && total > 0 {
        return Err(format!("{text:?} is negative; durations must be 0 or more"));
    }
    Ok(Duration::from_nanos(total))
}

fn leading_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

fn parse_whole(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        Some(0)
    } else {
        digits.parse().ok()
    }
}

/// The nanoseconds of `0.<digits>` units, computed as Go does: digits past what 63 bits
/// hold are dropped, the rest scaled in floating point and truncated.
fn fraction_nanos(digits: &str, nanos_per_unit: u64) -> u64 {
    let mut value: u64 = 0;
    let mut scale: f64 = 1.0;
    let mut overflow = false;
    for d in digits.bytes() {
        if overflow {
            continue;
        }
        if value > MAX_NANOS / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(d - b'0');
        if next > 1 << 63 {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    // Truncation is the point: Go converts the product back with a plain integer cast.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let nanos = (value as f64 * (nanos_per_unit as f64 / scale)) as u64;
    nanos
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own table (`time.TestParseDuration`), the negative rows refused instead.
    #[test]
    fn go_examples_parse_to_the_same_durations() {
        const NS: u64 = 1;
        const US: u64 = 1_000;
        const MS: u64 = 1_000_000;
        const S: u64 = 1_000_000_000;
        const M: u64 = 60 * S;
        const H: u64 = 60 * M;
        let table: &[(&str, u64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10 * NS),
            ("11us", 11 * US),
            ("12\u{b5}s", 12 * US),
            ("12\u{3bc}s", 12 * US),
            ("13ms", 13 * MS),
            ("14s", 14 * S),
            ("15m", 15 * M),
            ("16h", 16 * H),
            ("3h30m", 3 * H + 30 * M),
            ("10.5s4m", 4 * M + 10 * S + 500 * MS),
            (
                "1h2m3s4ms5us6ns",
                H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
            ),
            ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
            ("52763797000ns", 52_763_797_000 * NS),
            ("0.3333333333333333333h", 20 * M),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", MAX_NANOS),
            ("9223372036854775.807us", MAX_NANOS),
            ("9223372036s854ms775us807ns", MAX_NANOS),
            ("0.100000000000000000000h", 6 * M),
            (
                "0.830103483285477580700h",
                49 * M + 48 * S + 372_539_827 * NS,
            ),
            // What Kubernetes users write.
            ("1.5h", 90 * M),
            ("500ms", 500 * MS),
            ("1h30m", 90 * M),
        ];
        for &(text, nanos) in table {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
    }

    #[test]
    fn go_refusals_are_refused_with_the_reason() {
        let table = [
            ("", "is empty"),
            ("3", "lacks a unit after 3"),
            ("1.5", "lacks a unit after 1.5"),
            ("1h5", "lacks a unit after 1h5"),
            ("-", "has no number"),
            ("+", "has no number"),
            ("s", "is not a duration"),
            (".", "is not a duration"),
            ("-.", "is not a duration"),
            (".s", "is not a duration"),
            ("+.s", "is not a duration"),
            ("1d", "has unknown unit \"d\""),
            ("5 s", "has unknown unit \" s\""),
            ("\u{85}\u{85}", "is not a duration"),
            ("\u{fffd}", "is not a duration"),
            ("1\u{fffd}", "has unknown unit"),
            ("9223372036854775810ns", "is too long"),
            ("9223372036854775808ns", "is too long"),
            ("9223372036854776us", "is too long"),
            ("3000000h", "is too long"),
            ("9223372036854775.808us", "is too long"),
            ("9223372036854ms775us808ns", "is too long"),
            ("99999999999999999999999s", "is too long"),
            // Go accepts negatives; no setting here can use one.
            ("-5s", "is negative"),
            ("-2m3.4s", "is negative"),
            ("-9223372036854775807ns", "is negative"),
        ];
        for (text, message) in table {
            let e = parse_duration(text).expect_err(text);
            assert!(e.contains(message), "{text:?}: {e}");
        }
    }
}
