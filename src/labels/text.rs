//! Measuring, shortening and wrapping text so that it never runs off a label.
//!
//! Anything that does not fit is shortened visibly with an ellipsis: a label
//! that silently loses the end of an address line is worse than one that shows
//! it was cut.

use super::fonts::{Weight, faces};
use super::helvetica;

/// The character appended to shortened text (in WinAnsi too, so the PDF shows it).
pub const ELLIPSIS: char = '\u{2026}';

/// Advance widths of some typeface, in em.
pub(crate) trait Metrics {
    fn advance(&self, c: char, weight: Weight) -> f32;

    /// Width of `text` at `size` (same unit as `size`).
    fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        text.chars().map(|c| self.advance(c, weight)).sum::<f32>() * size
    }
}

/// The embedded DejaVu Sans: what the PNG is drawn with and layouts are measured with.
pub(crate) struct DejaVu;

impl Metrics for DejaVu {
    fn advance(&self, c: char, weight: Weight) -> f32 {
        faces().face(weight).advance(c)
    }
}

/// The PDF standard Helvetica (used by the manifest, which has no PNG twin).
pub(crate) struct Helvetica;

impl Metrics for Helvetica {
    fn advance(&self, c: char, weight: Weight) -> f32 {
        helvetica::advance(c, weight)
    }
}

/// Collapses runs of whitespace (tabs, new lines from pasted addresses) into
/// single spaces and drops control characters.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// `text` (cleaned) if it fits in `max_width`, else as many leading characters
/// as fit followed by an ellipsis.
pub(crate) fn fit_line(
    m: &impl Metrics,
    text: &str,
    size: f32,
    weight: Weight,
    max_width: f32,
) -> String {
    let text = clean(text);
    if m.width(&text, size, weight) <= max_width {
        return text;
    }
    shorten(m, &text, size, weight, max_width)
}

/// Cuts `text` so that it plus an ellipsis fits in `max_width`.
fn shorten(m: &impl Metrics, text: &str, size: f32, weight: Weight, max_width: f32) -> String {
    let budget = max_width - m.advance(ELLIPSIS, weight) * size;
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        let w = m.advance(c, weight) * size;
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out.push(ELLIPSIS);
    out
}

/// Word-wraps `text` into at most `max_lines` lines of `max_width`; a word wider
/// than a line is broken between characters. When the text needs more lines
/// than allowed, the last line ends in an ellipsis.
pub(crate) fn wrap(
    m: &impl Metrics,
    text: &str,
    size: f32,
    weight: Weight,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let text = clean(text);
    // Lines as byte ranges of `text`, so the overflow can be shortened in one piece.
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    while pos < text.len() && lines.len() < max_lines {
        if text[pos..].starts_with(' ') {
            pos += 1;
            continue;
        }
        let mut width = 0.0;
        let mut end = pos;
        let mut last_space = None;
        for (i, c) in text[pos..].char_indices() {
            let w = m.advance(c, weight) * size;
            if width + w > max_width {
                break;
            }
            width += w;
            if c == ' ' {
                last_space = Some(pos + i);
            }
            end = pos + i + c.len_utf8();
        }
        let line_end = if end == text.len() || text[end..].starts_with(' ') {
            end
        } else if let Some(space) = last_space {
            space
        } else if end > pos {
            // One word wider than the line: break it between characters.
            end
        } else {
            // Not even one character fits: take it anyway so wrapping ends; the
            // caller's fit check shortens it.
            pos + text[pos..].chars().next().map_or(1, char::len_utf8)
        };
        lines.push((pos, line_end));
        pos = line_end;
    }
    let overflow = !text[pos.min(text.len())..].trim().is_empty();
    let mut out: Vec<String> = lines
        .iter()
        .map(|&(a, b)| text[a..b].trim_end().to_string())
        .collect();
    if overflow && let (Some(&(last_start, _)), Some(last)) = (lines.last(), out.last_mut()) {
        *last = shorten(m, &text[last_start..], size, weight, max_width);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_whitespace_and_controls() {
        assert_eq!(clean("  12\tHigh\n\nStreet \u{7}"), "12 High Street");
    }

    #[test]
    fn fitting_text_is_unchanged_and_long_text_gets_an_ellipsis() {
        let m = DejaVu;
        assert_eq!(fit_line(&m, "Leeds", 20.0, Weight::Regular, 400.0), "Leeds");
        let long = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch";
        let fitted = fit_line(&m, long, 20.0, Weight::Bold, 200.0);
        assert!(fitted.ends_with(ELLIPSIS), "{fitted}");
        assert!(fitted.len() < long.len());
        assert!(m.width(&fitted, 20.0, Weight::Bold) <= 200.0);
    }

    #[test]
    fn wrap_breaks_on_words_and_ellipsises_the_last_allowed_line() {
        let m = DejaVu;
        let lines = wrap(
            &m,
            "Unit 4 Riverside Industrial Estate",
            20.0,
            Weight::Regular,
            200.0,
            3,
        );
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.join(" "), "Unit 4 Riverside Industrial Estate");
        for line in &lines {
            assert!(m.width(line, 20.0, Weight::Regular) <= 200.0, "{line}");
        }

        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(&m, text, 20.0, Weight::Regular, 120.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with(ELLIPSIS), "{lines:?}");
        assert!(text.starts_with(lines[0].as_str()));
        for line in &lines {
            assert!(m.width(line, 20.0, Weight::Regular) <= 120.0, "{line}");
        }
    }

    #[test]
    fn wrap_breaks_words_longer_than_a_line() {
        let m = DejaVu;
        let lines = wrap(
            &m,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            20.0,
            Weight::Regular,
            100.0,
            10,
        );
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    }
}
