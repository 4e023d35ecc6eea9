//! Portrait Standard and Portrait without QR: 4 x 6 inch, barcode first.
//!
//! An inverted service band, the tracking barcode straight under it (so a
//! scanner finds it at the top of the parcel), the recipient, references (with
//! the QR code beside them on Portrait Standard) and the sender as a small
//! return address at the foot.

use crate::labels::error::LabelError;
use crate::labels::geometry::LabelSize;
use crate::labels::input::LabelInput;
use crate::labels::scene::{Align, Ink, Scene};

use super::blocks::{self, AddressStyle};
use super::canvas::{Canvas, Span, Style, text_width};

const MARGIN: f32 = 16.0;
const RULE: f32 = 4.0;

pub fn plan(input: &LabelInput, with_qr: bool) -> Result<Scene, LabelError> {
    let mut c = Canvas::new(LabelSize::of(input.label_type));
    let full = Span::new(MARGIN, c.width() - MARGIN);

    // Service band.
    let band_bottom = 100.0;
    c.fill(
        full.left,
        MARGIN,
        full.width(),
        band_bottom - MARGIN,
        Ink::Black,
    );
    let inside = Span::new(full.left + 14.0, full.right - 14.0);
    let package_style = Style::bold(30.0).inverted();
    let package = blocks::package_text(input);
    let package_width = text_width(package_style, &package);
    c.text_in_box(
        package_style,
        inside,
        MARGIN,
        band_bottom,
        Align::Right,
        &package,
    );
    c.text_in_box(
        Style::bold(36.0).inverted(),
        Span::new(inside.left, inside.right - package_width - 24.0),
        MARGIN,
        band_bottom,
        Align::Left,
        &input.service_name,
    );

    // Barcode.
    blocks::tracking_barcode(&mut c, input, full, 116.0, 190.0, Style::bold(36.0))?;
    c.hrule(full, 366.0, RULE);

    // Recipient.
    let recipient = AddressStyle {
        heading: Some(("SHIP TO", Style::bold(20.0))),
        name: Style::bold(46.0),
        max_name_lines: 2,
        line: Style::regular(34.0),
        max_street_lines: 4,
        postcode: Style::bold(76.0),
        phone: Some(Style::regular(26.0)),
        town_in_capitals: true,
    };
    blocks::address(&mut c, &input.recipient, &recipient, full, 378.0, 826.0);
    c.hrule(full, 834.0, RULE);

    // References, beside the QR code when there is one.
    let info_top = 846.0;
    let rows = blocks::reference_rows(input);
    if with_qr {
        let qr_size = 216.0;
        let qr_x = full.right - qr_size;
        blocks::key_values(
            &mut c,
            &rows,
            Style::bold(18.0),
            Style::regular(28.0),
            Span::new(full.left, qr_x - 12.0),
            info_top + 8.0,
            41.0,
        );
        blocks::tracking_qr(&mut c, input, qr_x, info_top, qr_size)?;
    } else {
        blocks::key_values(
            &mut c,
            &rows,
            Style::bold(20.0),
            Style::regular(32.0),
            full,
            info_top + 6.0,
            42.0,
        );
    }
    c.hrule(full, 1070.0, 2.0);

    // Return address.
    let from = Style::bold(18.0);
    let sender_style = Style::regular(21.0);
    let mut y = c.line(from, full, 1080.0, Align::Left, "FROM");
    for line in blocks::sender_lines(&input.sender, sender_style, full, 4) {
        y = c.line(sender_style, full, y, Align::Left, &line);
    }
    Ok(c.scene)
}
