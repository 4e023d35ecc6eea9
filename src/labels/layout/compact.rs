//! Compact: 100 x 50 mm landscape, no QR code.
//!
//! Recipient on the left, service, package count and references on the right,
//! the tracking barcode across the full width below and a one-line sender at
//! the foot.

use crate::labels::error::LabelError;
use crate::labels::geometry::LabelSize;
use crate::labels::input::LabelInput;
use crate::labels::scene::{Align, Ink, Scene};

use super::blocks::{self, AddressStyle};
use super::canvas::{Canvas, Span, Style};

const MARGIN: f32 = 12.0;

pub fn plan(input: &LabelInput) -> Result<Scene, LabelError> {
    let mut c = Canvas::new(LabelSize::of(input.label_type));
    let full = Span::new(MARGIN, c.width() - MARGIN);
    let split = 484.0;
    let left = Span::new(full.left, split - 10.0);
    let right = Span::new(split + 12.0, full.right);
    let top_bottom = 222.0;

    let recipient = AddressStyle {
        heading: Some(("DELIVER TO", Style::bold(15.0))),
        name: Style::bold(30.0),
        max_name_lines: 1,
        line: Style::regular(22.0),
        max_street_lines: 2,
        postcode: Style::bold(38.0),
        phone: None,
        town_in_capitals: true,
    };
    blocks::address(
        &mut c,
        &input.recipient,
        &recipient,
        left,
        MARGIN,
        top_bottom - 4.0,
    );
    c.vrule(split, MARGIN, top_bottom, 3.0);

    // Service box and references.
    let box_bottom = 76.0;
    c.fill(
        right.left,
        MARGIN,
        right.width(),
        box_bottom - MARGIN,
        Ink::Black,
    );
    let inside = Span::new(right.left + 8.0, right.right - 8.0);
    let y = c.line(
        Style::bold(24.0).inverted(),
        inside,
        MARGIN + 4.0,
        Align::Left,
        &input.service_name,
    );
    c.line(
        Style::bold(22.0).inverted(),
        inside,
        y,
        Align::Left,
        &blocks::package_text(input),
    );
    let mut rows = blocks::reference_rows(input);
    rows.truncate(4);
    blocks::key_values(
        &mut c,
        &rows,
        Style::bold(14.0),
        Style::regular(21.0),
        right,
        box_bottom + 8.0,
        34.0,
    );
    c.hrule(full, top_bottom, 3.0);

    // Barcode across the full width, sender on one line at the foot.
    let y = blocks::tracking_barcode(
        &mut c,
        input,
        full,
        top_bottom + 12.0,
        88.0,
        Style::bold(24.0),
    )?;
    let sender = blocks::sender_one_line(&input.sender);
    c.line(
        Style::regular(16.0),
        full,
        y + 2.0,
        Align::Left,
        &format!("From: {sender}"),
    );
    Ok(c.scene)
}
