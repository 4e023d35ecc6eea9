//! The PDF standard fonts Helvetica and Helvetica-Bold: their widths (from the
//! Adobe core-14 metrics) and the WinAnsi character set they are written in.
//!
//! The PDFs use these built-in fonts so nothing is embedded; text is mapped to
//! WinAnsi first, because printpdf silently drops characters it cannot encode.

use super::fonts::Weight;

/// Widths of U+0020..=U+007E in 1/1000 em: Helvetica.
const REGULAR_ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :..@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [..`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a-z
    334, 260, 334, 584, // {..~
];

/// Widths of U+0020..=U+007E in 1/1000 em: Helvetica-Bold.
const BOLD_ASCII: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    333, 333, 584, 584, 584, 611, 975, // :..@
    722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A-Z
    333, 278, 333, 584, 556, 333, // [..`
    556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, // a-z
    389, 280, 389, 584, // {..~
];

/// Base letters of U+0100..=U+017F (Latin Extended-A), for text the WinAnsi fonts
/// cannot show: "Łódź" prints as "Lódz" rather than losing letters.
const LATIN_EXTENDED_A_BASE: &str = "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOo\u{152}\u{153}RrRrRrSsSsSs\u{160}\u{161}TtTtTtUuUuUuUuUuUuWwYy\u{178}ZzZz\u{17d}\u{17e}s";

/// The characters of Windows-1252 0x80..=0x9F that are above U+00FF.
const WIN_ANSI_EXTRAS: &str = "\u{20ac}\u{201a}\u{192}\u{201e}\u{2026}\u{2020}\u{2021}\u{2c6}\u{2030}\u{160}\u{2039}\u{152}\u{17d}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{2dc}\u{2122}\u{161}\u{203a}\u{153}\u{17e}\u{178}";

/// Whether the standard fonts can show `c` (Windows-1252).
pub fn is_win_ansi(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{a0}'..='\u{ff}') || WIN_ANSI_EXTRAS.contains(c)
}

/// `c` itself if WinAnsi has it, its base letter for Latin Extended-A, else `?`.
pub fn to_win_ansi_char(c: char) -> char {
    if is_win_ansi(c) {
        return c;
    }
    let cp = c as u32;
    if (0x100..0x180).contains(&cp) {
        return LATIN_EXTENDED_A_BASE
            .chars()
            .nth((cp - 0x100) as usize)
            .unwrap_or('?');
    }
    '?'
}

/// `text` with every character mapped by [`to_win_ansi_char`].
pub fn to_win_ansi(text: &str) -> String {
    text.chars().map(to_win_ansi_char).collect()
}

/// Advance of `c` (after WinAnsi mapping) in em.
pub fn advance(c: char, weight: Weight) -> f32 {
    let table = match weight {
        Weight::Regular => &REGULAR_ASCII,
        Weight::Bold => &BOLD_ASCII,
    };
    let base = match to_win_ansi_char(c) {
        c @ ' '..='~' => c,
        'À'..='Å' => 'A',
        'Ç' => 'C',
        'È'..='Ë' => 'E',
        'Ì'..='Ï' => 'I',
        'Ð' => 'D',
        'Ñ' => 'N',
        'Ò'..='Ö' | 'Ø' => 'O',
        'Ù'..='Ü' => 'U',
        'Ý' | 'Ÿ' => 'Y',
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 't', // i-acute and friends are 278 wide, as is t
        'ñ' => 'n',
        'ò'..='ö' | 'ø' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'Š' => 'S',
        'š' => 's',
        'Ž' => 'Z',
        'ž' => 'z',
        other => {
            let thousandths: u16 = match other {
                '\u{2026}' | '\u{2014}' | '\u{2030}' | '\u{2122}' | 'Æ' | 'Œ' => 1000,
                'æ' | 'œ' => 889,
                '\u{2018}' | '\u{2019}' | '\u{201a}' => 222,
                '\u{201c}' | '\u{201d}' | '\u{201e}' => 333,
                '\u{2022}' => 350,
                '\u{a0}' => 278,
                _ => 556,
            };
            return f32::from(thousandths) / 1000.0;
        }
    };
    let index = (base as usize).saturating_sub(0x20).min(table.len() - 1);
    f32::from(table[index]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_ansi_mapping_keeps_latin1_and_folds_central_european_letters() {
        assert_eq!(to_win_ansi("Café Müller"), "Café Müller");
        assert_eq!(to_win_ansi("Łódź"), "Lódz");
        assert_eq!(to_win_ansi("Škoda…"), "Škoda…");
        assert_eq!(to_win_ansi("Москва"), "??????");
        assert_eq!(LATIN_EXTENDED_A_BASE.chars().count(), 128);
    }

    #[test]
    fn widths_come_from_the_core_metrics() {
        assert_eq!(advance('W', Weight::Regular), 0.944);
        assert_eq!(advance('i', Weight::Regular), 0.222);
        assert_eq!(advance('m', Weight::Bold), 0.889);
        assert_eq!(advance('é', Weight::Regular), 0.556);
    }
}
