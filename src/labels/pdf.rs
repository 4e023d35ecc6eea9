//! Draws a [`Scene`] as PDF pages with printpdf: bars, QR modules and rules as
//! vector rectangles, text in the standard Helvetica fonts (nothing embedded).

use printpdf::{
    BuiltinFont, Color, Greyscale, IndirectFontRef, Mm, PdfDocument, PdfDocumentReference,
    PdfLayerReference,
};

use printpdf::lopdf::Object;
use printpdf::lopdf::content::Operation;

use super::error::LabelError;
use super::fonts::Weight;
use super::geometry::{LabelSize, dots_to_mm};
use super::helvetica::to_win_ansi;
use super::scene::{Align, Ink, Scene};
use super::text::{Helvetica, Metrics};

/// Points per dot (72 points per inch, 203 dots per inch).
const PT_PER_DOT: f32 = 72.0 / 203.0;

/// The two standard fonts of a document.
pub(crate) struct PdfFonts {
    regular: IndirectFontRef,
    bold: IndirectFontRef,
}

impl PdfFonts {
    pub fn add(doc: &PdfDocumentReference) -> Result<Self, LabelError> {
        Ok(Self {
            regular: doc
                .add_builtin_font(BuiltinFont::Helvetica)
                .map_err(pdf_error)?,
            bold: doc
                .add_builtin_font(BuiltinFont::HelveticaBold)
                .map_err(pdf_error)?,
        })
    }

    pub fn get(&self, weight: Weight) -> &IndirectFontRef {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

pub(crate) fn pdf_error(e: printpdf::Error) -> LabelError {
    LabelError::Encoding(format!("PDF: {e}"))
}

/// A PDF of `pages` identical pages, each one label of `size`.
pub fn pdf(scene: &Scene, size: LabelSize, pages: u32, title: &str) -> Result<Vec<u8>, LabelError> {
    let (width, height) = (page_mm(size.width_mm), page_mm(size.height_mm));
    let (doc, first_page, first_layer) = PdfDocument::new(title, width, height, "Label");
    let fonts = PdfFonts::add(&doc)?;
    let mut layers = vec![doc.get_page(first_page).get_layer(first_layer)];
    for _ in 1..pages {
        let (page, layer) = doc.add_page(width, height, "Label");
        layers.push(doc.get_page(page).get_layer(layer));
    }
    for layer in &layers {
        draw(layer, &fonts, scene, size.height_mm);
    }
    doc.save_to_bytes().map_err(pdf_error)
}

/// A page dimension printpdf will write as at most the exact size in points.
///
/// printpdf converts millimetres to points in f32, which turns 4 inches into
/// 288.00003 pt; a rasteriser then rounds the page up a pixel. Stepping down to
/// the nearest f32 that converts to no more than the true size keeps the page
/// exactly the label's size.
pub(crate) fn page_mm(mm: f32) -> Mm {
    const PT_PER_MM: f32 = 2.834_646;
    let exact_pt = f64::from(mm) * 72.0 / 25.4;
    let mut value = mm;
    while f64::from(value * PT_PER_MM) > exact_pt {
        value = value.next_down();
    }
    Mm(value)
}

const PT_PER_MM: f32 = 72.0 / 25.4;

fn flush_fill(layer: &PdfLayerReference, pending: &mut usize) {
    if *pending > 0 {
        layer.add_operation(Operation::new("f", Vec::new()));
        *pending = 0;
    }
}

fn set_ink(layer: &PdfLayerReference, ink: Ink) {
    let level = match ink {
        Ink::Black => 0.0,
        Ink::White => 1.0,
    };
    layer.set_fill_color(Color::Greyscale(Greyscale::new(level, None)));
}

fn draw(layer: &PdfLayerReference, fonts: &PdfFonts, scene: &Scene, page_height_mm: f32) {
    // Consecutive fills of one ink become one path filled once: a QR code is a
    // few hundred rectangles, and one `f` per path keeps the PDF small and fast.
    let mut ink = Ink::Black;
    set_ink(layer, ink);
    let mut pending = 0;
    for fill in &scene.fills {
        if fill.ink != ink {
            flush_fill(layer, &mut pending);
            ink = fill.ink;
            set_ink(layer, ink);
        }
        let left = dots_to_mm(fill.x) * PT_PER_MM;
        let bottom = (page_height_mm - dots_to_mm(fill.y + fill.h)) * PT_PER_MM;
        layer.add_operation(Operation::new(
            "re",
            vec![
                Object::Real(left),
                Object::Real(bottom),
                Object::Real(dots_to_mm(fill.w) * PT_PER_MM),
                Object::Real(dots_to_mm(fill.h) * PT_PER_MM),
            ],
        ));
        pending += 1;
    }
    flush_fill(layer, &mut pending);
    for run in &scene.texts {
        if run.ink != ink {
            ink = run.ink;
            set_ink(layer, ink);
        }
        let text = to_win_ansi(&run.text);
        let span = run.right - run.left;
        let width = Helvetica.width(&text, run.size, run.weight);
        // Layouts measure with DejaVu Sans, which is wider than Helvetica, so the
        // text fits; squeeze it in the rare case a character is wider here.
        let scale = if width > span && width > 0.0 {
            span / width
        } else {
            1.0
        };
        let drawn = width * scale;
        let x = match run.align {
            Align::Left => run.left,
            Align::Center => (run.left + run.right - drawn) / 2.0,
            Align::Right => run.right - drawn,
        };
        let font = fonts.get(run.weight);
        layer.begin_text_section();
        layer.set_font(font, run.size * PT_PER_DOT);
        layer.set_text_cursor(
            Mm(dots_to_mm(x)),
            Mm(page_height_mm - dots_to_mm(run.baseline)),
        );
        if scale < 1.0 {
            layer.set_text_scaling(scale * 100.0);
        }
        layer.write_text(text, font);
        if scale < 1.0 {
            layer.set_text_scaling(100.0);
        }
        layer.end_text_section();
    }
}
