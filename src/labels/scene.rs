//! A laid-out label: boxes and text runs in 203 dpi dots, top-left origin.
//!
//! Layouts produce a [`Scene`]; the PNG and PDF writers only draw it, so both
//! formats show exactly the same label.

use super::fonts::Weight;

/// Black on white, or white on a black box (inverted headings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ink {
    Black,
    White,
}

/// Where a text run sits within its span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A filled rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub ink: Ink,
}

/// One line of text, already shortened to fit `left..right`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextRun {
    pub text: String,
    /// The horizontal span the text was fitted into.
    pub left: f32,
    pub right: f32,
    pub baseline: f32,
    /// Em size in dots.
    pub size: f32,
    pub weight: Weight,
    pub ink: Ink,
    pub align: Align,
}

/// Where the barcode was placed, for checks and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarcodePlacement {
    /// Left edge of the first bar.
    pub x: f32,
    pub y: f32,
    /// Width of the bars, quiet zones excluded.
    pub width: f32,
    pub height: f32,
    /// Narrowest bar in dots.
    pub module: f32,
    /// Clear space kept on each side.
    pub quiet_zone: f32,
}

/// Where the QR code was placed (its quiet zone included).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QrPlacement {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    /// Module size in dots.
    pub module: f32,
}

/// A complete label, in dots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scene {
    pub width: f32,
    pub height: f32,
    pub fills: Vec<Fill>,
    pub texts: Vec<TextRun>,
    pub barcode: Option<BarcodePlacement>,
    pub qr: Option<QrPlacement>,
}

impl Scene {
    pub fn new(width: f32, height: f32) -> Self {
        Self {
            width,
            height,
            ..Self::default()
        }
    }
}
