//! The tracking number as a Code 128 barcode, sized for 203 dpi printers.

use barcoders::sym::code128::Code128;

use super::error::LabelError;
use super::scene::{BarcodePlacement, Fill, Ink};

/// Bar module widths tried, widest first: 0.5, 0.375 and 0.25 mm at 203 dpi.
/// Below two dots (0.125 mm) a thermal printer's dot gain makes bars unreadable.
const MODULE_DOTS: [f32; 3] = [4.0, 3.0, 2.0];

/// The narrowest bar module allowed, in dots.
pub const MIN_MODULE_DOTS: f32 = 2.0;

/// Clear space on each side, in modules (ISO/IEC 15417 asks for 10).
pub const QUIET_ZONE_MODULES: f32 = 10.0;

/// The Code 128 modules of `data` (true = bar), start to stop pattern.
///
/// Runs of four or more digits go in code set C (two digits per symbol), the rest
/// in code set B, which keeps typical tracking numbers short enough for a 4 inch
/// label at a comfortable bar width.
pub fn code128_modules(data: &str) -> Result<Vec<bool>, LabelError> {
    let symbols = Code128::new(with_code_sets(data))
        .map_err(|e| LabelError::Encoding(format!("tracking number as Code 128: {e}")))?;
    Ok(symbols.encode().into_iter().map(|m| m == 1).collect())
}

const SET_B: char = '\u{0181}';
const SET_C: char = '\u{0106}';

/// Prefixes `data` with code-set switches as barcoders expects them.
fn with_code_sets(data: &str) -> String {
    let chars: Vec<char> = data.chars().collect();
    let mut out = String::with_capacity(data.len() + 4);
    let mut current: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        // Set C pays off from four digits (or two when they are the whole data).
        let use_c = run >= 4 || (run >= 2 && run == chars.len());
        if use_c {
            // Code set C takes digit pairs: an odd run leaves its first digit in B.
            if run % 2 == 1 {
                if current != Some(SET_B) {
                    out.push(SET_B);
                    current = Some(SET_B);
                }
                out.push(chars[i]);
                i += 1;
            }
            if current != Some(SET_C) {
                out.push(SET_C);
                current = Some(SET_C);
            }
            let even = run - run % 2;
            out.extend(&chars[i..i + even]);
            i += even;
        } else {
            if current != Some(SET_B) {
                out.push(SET_B);
                current = Some(SET_B);
            }
            let take = run.max(1);
            out.extend(&chars[i..i + take]);
            i += take;
        }
    }
    out
}

/// Width in dots the barcode needs at `module` dots per module, quiet zones included.
pub fn needed_width(modules: usize, module: f32) -> f32 {
    (modules as f32 + 2.0 * QUIET_ZONE_MODULES) * module
}

/// Lays the bars out centred in `left..right` from `y`, `height` tall, at the
/// widest module width that fits. `None` when even the narrowest does not fit.
pub fn place(
    modules: &[bool],
    left: f32,
    right: f32,
    y: f32,
    height: f32,
) -> Option<(Vec<Fill>, BarcodePlacement)> {
    let available = right - left;
    let module = MODULE_DOTS
        .into_iter()
        .find(|&m| needed_width(modules.len(), m) <= available)?;
    let width = modules.len() as f32 * module;
    // Whole dots, so every bar is the same width in the PNG.
    let x = (left + (available - width) / 2.0).round();
    let mut bars = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if !modules[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < modules.len() && modules[i] {
            i += 1;
        }
        bars.push(Fill {
            x: x + start as f32 * module,
            y,
            w: (i - start) as f32 * module,
            h: height,
            ink: Ink::Black,
        });
    }
    Some((
        bars,
        BarcodePlacement {
            x,
            y,
            width,
            height,
            module,
            quiet_zone: QUIET_ZONE_MODULES * module,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_use_code_set_c() {
        assert_eq!(with_code_sets("1234"), "\u{0106}1234");
        assert_eq!(with_code_sets("12"), "\u{0106}12");
        assert_eq!(with_code_sets("STR12345"), "\u{0181}STR1\u{0106}2345");
        assert_eq!(with_code_sets("AB12CD"), "\u{0181}AB12CD");
        assert_eq!(with_code_sets("123456GB"), "\u{0106}123456\u{0181}GB");
    }

    #[test]
    fn set_c_makes_numeric_codes_shorter() {
        let numeric = code128_modules("12345678901234").unwrap_or_default();
        let alpha = code128_modules("ABCDEFGHIJKLMN").unwrap_or_default();
        assert!(!numeric.is_empty() && numeric.len() < alpha.len());
        // Start + 7 pairs + check symbol (11 modules each) + 13-module stop.
        assert_eq!(numeric.len(), 9 * 11 + 13);
    }

    #[test]
    fn placement_prefers_wide_bars_and_refuses_what_cannot_fit() {
        let modules = code128_modules("STR0001234567GB").unwrap_or_default();
        let (_, wide) = place(&modules, 0.0, 800.0, 0.0, 100.0).expect("fits");
        assert!(wide.module >= 3.0);
        let (_, narrow) = place(&modules, 0.0, 450.0, 0.0, 100.0).expect("fits narrowly");
        assert_eq!(narrow.module, 2.0);
        assert!(place(&modules, 0.0, 300.0, 0.0, 100.0).is_none());
    }
}
