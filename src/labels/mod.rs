//! Courier labels: pure functions from a [`LabelInput`] to PNG and PDF bytes.
//!
//! The four label types of the user guide ("Label Generation") are laid out on a
//! 203 dpi dot grid (see [`geometry`]) into a [`Scene`], which is then drawn as a
//! 1-bit PNG and as a vector PDF, so both formats carry the same label. No I/O:
//! fonts are compiled in, barcodes and QR codes are computed here.
//!
//! ```no_run
//! use linnstream::labels::{LabelInput, render_label};
//! # fn f(input: LabelInput) -> Result<(), linnstream::labels::LabelError> {
//! let label = render_label(&input)?;
//! // GenerateLabel: PNGLabelDataBase64 = label.pngs[0],
//! // AdditionalPngsBase64 = label.pngs[1..], LabelWidth/Height = label.width_inches/height_inches.
//! # Ok(()) }
//! ```
//!
//! See docs/labels.md for the layouts.

mod barcode;
mod error;
mod fonts;
pub mod geometry;
mod helvetica;
mod input;
mod layout;
pub mod manifest;
mod pdf;
mod qr;
mod raster;
pub mod scene;
mod text;

pub use crate::domain::LabelType;
pub use error::LabelError;
pub use fonts::Weight;
pub use geometry::LabelSize;
pub use input::{LabelAddress, LabelInput};
pub use layout::plan;
pub use scene::Scene;
pub use text::ELLIPSIS;

/// One package's label in both formats.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedLabel {
    /// `copies` identical PNGs (1-bit, 203 dpi). Linnworks' GenerateLabel reply
    /// takes the first as `PNGLabelDataBase64` and the rest as `AdditionalPngsBase64`.
    pub pngs: Vec<Vec<u8>>,
    /// One PDF with `copies` identical pages, each the label's physical size.
    pub pdf: Vec<u8>,
    /// Label size for the reply's `LabelWidth` / `LabelHeight`, in inches.
    pub width_inches: f64,
    pub height_inches: f64,
}

/// Renders one package's label: `copies` PNGs and a PDF of `copies` pages.
pub fn render_label(input: &LabelInput) -> Result<RenderedLabel, LabelError> {
    let scene = plan(input)?;
    let size = LabelSize::of(input.label_type);
    let png = raster::png(&scene, size)?;
    let pdf = pdf::pdf(&scene, size, input.copies, &pdf_title(input))?;
    let mut pngs = Vec::with_capacity(input.copies as usize);
    for _ in 1..input.copies {
        pngs.push(png.clone());
    }
    pngs.push(png);
    Ok(RenderedLabel {
        pngs,
        pdf,
        width_inches: size.width_inches(),
        height_inches: size.height_inches(),
    })
}

/// One copy of the label as PNG bytes.
pub fn render_png(input: &LabelInput) -> Result<Vec<u8>, LabelError> {
    let scene = plan(input)?;
    raster::png(&scene, LabelSize::of(input.label_type))
}

/// The label as a PDF with `input.copies` pages.
pub fn render_pdf(input: &LabelInput) -> Result<Vec<u8>, LabelError> {
    let scene = plan(input)?;
    pdf::pdf(
        &scene,
        LabelSize::of(input.label_type),
        input.copies,
        &pdf_title(input),
    )
}

fn pdf_title(input: &LabelInput) -> String {
    format!(
        "Label {} package {} of {}",
        input.tracking_number.trim(),
        input.package_number,
        input.package_count
    )
}
