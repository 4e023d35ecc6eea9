//! The end-of-day manifest (Linnworks' PrintManifest) as an A4 PDF: one row per
//! consignment, the table header repeated on every page, a signature block for
//! the driver at the end. Pure: the caller supplies the date text.

use printpdf::path::PaintMode;
use printpdf::{IndirectFontRef, Mm, PdfDocument, PdfLayerReference, Rect};

use super::error::LabelError;
use super::fonts::Weight;
use super::helvetica::to_win_ansi;
use super::pdf::{PdfFonts, page_mm, pdf_error};
use super::text::{Helvetica, fit_line};

/// One consignment on the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestEntry {
    pub order_reference: String,
    pub tracking_number: String,
    pub consignment_number: String,
    pub recipient_postcode: String,
    pub service: String,
}

/// A manifest to print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The ManifestReference handed to Linnworks.
    pub reference: String,
    /// Who ships: the installation's company name.
    pub shipper: String,
    /// When it was created, already formatted for people (e.g. "2026-06-20 17:05 UTC").
    pub created: String,
    pub entries: Vec<ManifestEntry>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const ROW_H: f32 = 6.5;
const BODY_PT: f32 = 9.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Table columns: heading and share of the table width.
const COLUMNS: [(&str, f32); 6] = [
    ("#", 0.06),
    ("Order reference", 0.22),
    ("Tracking number", 0.22),
    ("Consignment", 0.18),
    ("Postcode", 0.12),
    ("Service", 0.20),
];

/// Vertical room the first page's title block and the last page's signature
/// block take, in mm.
const TITLE_H: f32 = 32.0;
const SIGNATURE_H: f32 = 34.0;

/// Renders the manifest as an A4 PDF.
pub fn render_manifest_pdf(manifest: &Manifest) -> Result<Vec<u8>, LabelError> {
    let pages = paginate(manifest.entries.len());
    let (width, height) = (page_mm(PAGE_W), page_mm(PAGE_H));
    let title = format!("Manifest {}", manifest.reference);
    let (doc, first_page, first_layer) = PdfDocument::new(&title, width, height, "Manifest");
    let fonts = PdfFonts::add(&doc)?;
    let mut next = 0;
    for (index, &rows) in pages.iter().enumerate() {
        let layer = if index == 0 {
            doc.get_page(first_page).get_layer(first_layer)
        } else {
            let (page, layer) = doc.add_page(width, height, "Manifest");
            doc.get_page(page).get_layer(layer)
        };
        let page = Page {
            layer,
            fonts: &fonts,
        };
        let mut y = PAGE_H - MARGIN;
        if index == 0 {
            y = page.title_block(manifest, y);
        }
        y = page.table_header(y);
        for (offset, entry) in manifest.entries[next..next + rows].iter().enumerate() {
            y = page.row(next + offset + 1, entry, y, (next + offset) % 2 == 1);
        }
        next += rows;
        if index + 1 == pages.len() {
            page.signature_block(manifest.entries.len(), y);
        }
        page.footer(&manifest.reference, index + 1, pages.len());
    }
    doc.save_to_bytes().map_err(pdf_error)
}

/// Rows on each page: the first page gives room to the title, the last to the
/// signature block. Always at least one page.
fn paginate(entries: usize) -> Vec<usize> {
    let table = PAGE_H - 2.0 * MARGIN - 10.0 /* footer */ - ROW_H /* header */;
    let per_page = (table / ROW_H).floor() as usize;
    let first = ((table - TITLE_H) / ROW_H).floor() as usize;
    let mut pages = Vec::new();
    let mut left = entries;
    let mut capacity = first;
    loop {
        let rows = left.min(capacity);
        left -= rows;
        let room_after = (capacity - rows) as f32 * ROW_H;
        pages.push(rows);
        if left == 0 {
            if room_after < SIGNATURE_H {
                pages.push(0);
            }
            break;
        }
        capacity = per_page;
    }
    pages
}

struct Page<'a> {
    layer: PdfLayerReference,
    fonts: &'a PdfFonts,
}

impl Page<'_> {
    fn text(&self, text: &str, weight: Weight, pt: f32, x: f32, baseline: f32, max_w: f32) {
        let size_mm = pt / PT_PER_MM;
        let fitted = fit_line(&Helvetica, &to_win_ansi(text), size_mm, weight, max_w);
        let font: &IndirectFontRef = self.fonts.get(weight);
        self.layer.use_text(fitted, pt, Mm(x), Mm(baseline), font);
    }

    fn rect(&self, x: f32, y: f32, w: f32, h: f32) {
        self.layer
            .add_rect(Rect::new(Mm(x), Mm(y), Mm(x + w), Mm(y + h)).with_mode(PaintMode::Fill));
    }

    fn grey(&self, level: f32) {
        self.layer
            .set_fill_color(printpdf::Color::Greyscale(printpdf::Greyscale::new(
                level, None,
            )));
    }

    fn title_block(&self, m: &Manifest, top: f32) -> f32 {
        let width = PAGE_W - 2.0 * MARGIN;
        self.text(
            "Collection manifest",
            Weight::Bold,
            18.0,
            MARGIN,
            top - 7.0,
            width,
        );
        let lines = [
            ("Manifest", m.reference.as_str()),
            ("Shipper", m.shipper.as_str()),
            ("Created", m.created.as_str()),
        ];
        let mut y = top - 15.0;
        for (key, value) in lines {
            self.text(key, Weight::Bold, 10.0, MARGIN, y, 30.0);
            self.text(value, Weight::Regular, 10.0, MARGIN + 30.0, y, width - 30.0);
            y -= 5.0;
        }
        self.text(
            &format!("Consignments: {}", m.entries.len()),
            Weight::Bold,
            10.0,
            MARGIN,
            y,
            width,
        );
        top - TITLE_H
    }

    fn table_header(&self, top: f32) -> f32 {
        let width = PAGE_W - 2.0 * MARGIN;
        self.rect(MARGIN, top - ROW_H, width, ROW_H);
        self.grey(1.0);
        let mut x = MARGIN;
        for (heading, share) in COLUMNS {
            let w = share * width;
            self.text(heading, Weight::Bold, BODY_PT, x + 1.5, top - 4.5, w - 3.0);
            x += w;
        }
        self.grey(0.0);
        top - ROW_H
    }

    fn row(&self, number: usize, e: &ManifestEntry, top: f32, shaded: bool) -> f32 {
        let width = PAGE_W - 2.0 * MARGIN;
        if shaded {
            self.grey(0.92);
            self.rect(MARGIN, top - ROW_H, width, ROW_H);
            self.grey(0.0);
        }
        let cells = [
            number.to_string(),
            e.order_reference.clone(),
            e.tracking_number.clone(),
            e.consignment_number.clone(),
            e.recipient_postcode.to_uppercase(),
            e.service.clone(),
        ];
        let mut x = MARGIN;
        for ((_, share), cell) in COLUMNS.iter().zip(&cells) {
            let w = share * width;
            self.text(cell, Weight::Regular, BODY_PT, x + 1.5, top - 4.5, w - 3.0);
            x += w;
        }
        top - ROW_H
    }

    fn signature_block(&self, count: usize, top: f32) {
        let width = PAGE_W - 2.0 * MARGIN;
        self.rect(MARGIN, top - 1.0, width, 0.4);
        let y = top - 8.0;
        self.text(
            &format!("Total consignments: {count}"),
            Weight::Bold,
            10.0,
            MARGIN,
            y,
            width,
        );
        let half = width / 2.0;
        for (i, label) in ["Collected by (driver)", "Signature and date"]
            .iter()
            .enumerate()
        {
            let x = MARGIN + i as f32 * half;
            self.rect(x, y - 18.0, half - 10.0, 0.3);
            self.text(label, Weight::Regular, 8.0, x, y - 22.0, half - 10.0);
        }
    }

    fn footer(&self, reference: &str, page: usize, pages: usize) {
        let text = format!("Manifest {reference}  -  page {page} of {pages}");
        self.text(
            &text,
            Weight::Regular,
            8.0,
            MARGIN,
            MARGIN - 5.0,
            PAGE_W - 2.0 * MARGIN,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_fits_every_entry_and_leaves_room_to_sign() {
        assert_eq!(paginate(0).iter().sum::<usize>(), 0);
        for n in [1, 10, 30, 31, 32, 33, 34, 35, 36, 37, 38, 80, 250] {
            let pages = paginate(n);
            assert_eq!(pages.iter().sum::<usize>(), n, "{n}: {pages:?}");
        }
        assert_eq!(paginate(3).len(), 1);
        assert!(paginate(250).len() > 5);
    }
}
