//! Default: 4 x 6 inch courier label with QR code and barcode.
//!
//! Sender and an inverted service box on top, the recipient large in the middle,
//! references beside the QR code, the tracking barcode full width at the bottom.

use crate::labels::error::LabelError;
use crate::labels::geometry::LabelSize;
use crate::labels::input::LabelInput;
use crate::labels::scene::{Align, Ink};

use super::blocks::{self, AddressStyle};
use super::canvas::{Canvas, Span, Style};

const MARGIN: f32 = 16.0;
const RULE: f32 = 4.0;

pub fn plan(input: &LabelInput) -> Result<crate::labels::scene::Scene, LabelError> {
    let mut c = Canvas::new(LabelSize::of(input.label_type));
    let full = Span::new(MARGIN, c.width() - MARGIN);

    // Header: sender on the left, service and package count inverted on the right.
    let header_bottom = 196.0;
    let service_box = Span::new(508.0, full.right);
    c.fill(
        service_box.left,
        MARGIN,
        service_box.width(),
        header_bottom - MARGIN,
        Ink::Black,
    );
    let inside = Span::new(service_box.left + 12.0, service_box.right - 12.0);
    let mut y = c.paragraph(
        Style::bold(32.0).inverted(),
        inside,
        MARGIN + 8.0,
        2,
        &input.service_name,
    );
    c.line(
        Style::regular(22.0).inverted(),
        inside,
        y,
        Align::Left,
        &input.service_code,
    );
    c.text_on_baseline(
        Style::bold(30.0).inverted(),
        inside,
        header_bottom - 14.0,
        Align::Left,
        &blocks::package_text(input),
    );

    let sender_span = Span::new(full.left, service_box.left - 16.0);
    y = c.line(Style::bold(18.0), sender_span, MARGIN, Align::Left, "FROM");
    for line in blocks::sender_lines(&input.sender, Style::regular(21.0), sender_span, 6) {
        y = c.line(Style::regular(21.0), sender_span, y, Align::Left, &line);
    }
    c.hrule(full, 204.0, RULE);

    // Recipient.
    let recipient = AddressStyle {
        heading: Some(("DELIVER TO", Style::bold(20.0))),
        name: Style::bold(46.0),
        max_name_lines: 2,
        line: Style::regular(34.0),
        max_street_lines: 4,
        postcode: Style::bold(76.0),
        phone: Some(Style::regular(26.0)),
        town_in_capitals: true,
    };
    blocks::address(&mut c, &input.recipient, &recipient, full, 216.0, 680.0);
    c.hrule(full, 688.0, RULE);

    // References beside the QR code.
    let qr_size = 208.0;
    let qr_x = full.right - qr_size;
    let info_top = 700.0;
    blocks::key_values(
        &mut c,
        &blocks::reference_rows(input),
        Style::bold(18.0),
        Style::regular(28.0),
        Span::new(full.left, qr_x - 12.0),
        info_top + 6.0,
        40.0,
    );
    blocks::tracking_qr(&mut c, input, qr_x, info_top, qr_size)?;
    c.hrule(full, 916.0, RULE);

    // The tracking barcode, prominent and full width.
    blocks::tracking_barcode(&mut c, input, full, 936.0, 200.0, Style::bold(36.0))?;
    Ok(c.scene)
}
