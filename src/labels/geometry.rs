//! Physical label sizes and the 203 dpi dot grid every layout is drawn on.
//!
//! Layouts work in printer dots at 203 dpi (8 dots per mm), the resolution of the
//! thermal printers these labels are made for: bar and QR module widths are whole
//! dots, so the PNG is pixel-exact and the PDF, drawn from the same numbers, prints
//! the same modules on any printer.

use crate::domain::LabelType;

/// Dots per inch of the PNG and of the layout grid (the thermal-printer standard).
pub const DPI: f32 = 203.0;

const MM_PER_INCH: f32 = 25.4;

/// Converts printer dots to millimetres.
pub fn dots_to_mm(dots: f32) -> f32 {
    dots * MM_PER_INCH / DPI
}

/// Converts millimetres to printer dots (not rounded).
pub fn mm_to_dots(mm: f32) -> f32 {
    mm * DPI / MM_PER_INCH
}

/// The physical size of one label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelSize {
    pub width_mm: f32,
    pub height_mm: f32,
}

impl LabelSize {
    pub fn of(label_type: LabelType) -> Self {
        let (width_mm, height_mm) = label_type.size_mm();
        Self {
            width_mm,
            height_mm,
        }
    }

    /// Width in inches, rounded to 2 decimals, as the GenerateLabel reply wants it.
    pub fn width_inches(&self) -> f64 {
        inches_2dp(self.width_mm)
    }

    /// Height in inches, rounded to 2 decimals.
    pub fn height_inches(&self) -> f64 {
        inches_2dp(self.height_mm)
    }

    /// Width in dots (fractional for Compact: 100 mm is 799.2 dots).
    pub fn width_dots(&self) -> f32 {
        mm_to_dots(self.width_mm)
    }

    /// Height in dots.
    pub fn height_dots(&self) -> f32 {
        mm_to_dots(self.height_mm)
    }

    /// PNG width in pixels: whole dots, rounded down so the image never exceeds the
    /// physical label (a printer would otherwise scale it or cut the last column).
    pub fn png_width(&self) -> u32 {
        (self.width_dots() + 0.01).floor() as u32
    }

    /// PNG height in pixels, rounded down like [`LabelSize::png_width`].
    pub fn png_height(&self) -> u32 {
        (self.height_dots() + 0.01).floor() as u32
    }
}

fn inches_2dp(mm: f32) -> f64 {
    (f64::from(mm) / f64::from(MM_PER_INCH) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_guide() {
        let four_by_six = LabelSize::of(LabelType::Default);
        assert_eq!(
            (four_by_six.width_inches(), four_by_six.height_inches()),
            (4.0, 6.0)
        );
        assert_eq!(
            (four_by_six.png_width(), four_by_six.png_height()),
            (812, 1218)
        );
        let compact = LabelSize::of(LabelType::Compact);
        assert_eq!(
            (compact.width_inches(), compact.height_inches()),
            (3.94, 1.97)
        );
        assert_eq!((compact.png_width(), compact.png_height()), (799, 399));
    }
}
