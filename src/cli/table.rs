//! Plain-text tables and cell formatting for the admin commands.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Longest cell printed; longer text is cut with an ellipsis (the JSON output has it whole).
const MAX_CELL: usize = 60;

pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let cell = |s: &str| -> String {
            let one_line = s.replace(['\n', '\r', '\t'], " ");
            if one_line.chars().count() > MAX_CELL {
                let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
                format!("{cut}…")
            } else {
                one_line
            }
        };
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| cell(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                if i + 1 == cells.len() {
                    out.push_str(c);
                } else {
                    out.push_str(c);
                    out.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = line(self.headers.clone());
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// A JSON value as cell text: strings bare, null as "-".
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time as "2026-06-01 08:00:05" (UTC), or "-".
pub fn time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| text(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_line_up_and_long_cells_are_cut() {
        let mut t = Table::new(&["ID", "STATUS", "MESSAGE"]);
        t.row(vec!["1".into(), "Pending".into(), "ok".into()]);
        t.row(vec![
            "22".into(),
            "Validation Failed".into(),
            "x".repeat(70),
        ]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "ID  STATUS             MESSAGE");
        assert_eq!(lines[1], "1   Pending            ok");
        assert!(lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), 23 + MAX_CELL);
        assert_eq!(text(&json!(null)), "-");
        assert_eq!(text(&json!(400)), "400");
        assert_eq!(
            time(&json!("2026-06-01T08:00:05.123Z")),
            "2026-06-01 08:00:05"
        );
    }
}
