//! Label parts the layouts share: address blocks, reference rows, barcode, QR.

use crate::labels::barcode;
use crate::labels::error::LabelError;
use crate::labels::geometry::dots_to_mm;
use crate::labels::input::{LabelAddress, LabelInput};
use crate::labels::qr;
use crate::labels::scene::Align;
use crate::labels::text::clean;

use super::canvas::{Canvas, Span, Style, wrapped};

/// Text sizes and line budgets of an address block.
pub struct AddressStyle {
    /// Small caps heading such as "DELIVER TO".
    pub heading: Option<(&'static str, Style)>,
    pub name: Style,
    pub max_name_lines: usize,
    pub line: Style,
    /// Street lines allowed before the rest is shortened.
    pub max_street_lines: usize,
    pub postcode: Style,
    pub phone: Option<Style>,
    /// Post town in capitals (the Royal Mail convention for the recipient).
    pub town_in_capitals: bool,
}

struct PlannedLine {
    text: String,
    /// Printed right-aligned on the same baseline (the country code).
    right: Option<String>,
    style: Style,
}

/// Draws an address in `span` from `top`, using no more than `bottom - top`:
/// street lines, then name lines, then the phone give way when space runs out.
/// Returns the bottom of the block.
pub fn address(
    c: &mut Canvas,
    addr: &LabelAddress,
    st: &AddressStyle,
    span: Span,
    top: f32,
    bottom: f32,
) -> f32 {
    let mut name_lines = st.max_name_lines.max(1);
    let mut street_lines = st.max_street_lines.max(1);
    let mut with_phone = st.phone.is_some();
    let lines = loop {
        let lines = plan_address(addr, st, span, name_lines, street_lines, with_phone);
        let height: f32 = lines.iter().map(|l| l.style.line_height()).sum();
        if top + height <= bottom {
            break lines;
        }
        if street_lines > 1 {
            street_lines -= 1;
        } else if name_lines > 1 {
            name_lines -= 1;
        } else if with_phone {
            with_phone = false;
        } else {
            // Styles are chosen so the smallest budget always fits; draw it anyway.
            break lines;
        }
    };
    let mut y = top;
    for line in lines {
        let baseline = y + line.style.ascent();
        let mut text_span = span;
        if let Some(right) = &line.right {
            let width = super::canvas::text_width(line.style, right);
            c.text_on_baseline(line.style, span, baseline, Align::Right, right);
            text_span.right -= width + line.style.size * 0.5;
        }
        c.text_on_baseline(line.style, text_span, baseline, Align::Left, &line.text);
        y += line.style.line_height();
    }
    y
}

fn plan_address(
    addr: &LabelAddress,
    st: &AddressStyle,
    span: Span,
    name_lines: usize,
    street_lines: usize,
    with_phone: bool,
) -> Vec<PlannedLine> {
    let mut out = Vec::new();
    let mut push = |text: String, style: Style| {
        if !text.is_empty() {
            out.push(PlannedLine {
                text,
                right: None,
                style,
            });
        }
    };
    if let Some((heading, style)) = st.heading {
        push(heading.to_string(), style);
    }
    for line in wrapped(st.name, span, name_lines, &addr.name) {
        push(line, st.name);
    }
    push(clean(&addr.company), st.line);
    for line in street(addr, st.line, span, street_lines) {
        push(line, st.line);
    }
    let town = if st.town_in_capitals {
        clean(&addr.town).to_uppercase()
    } else {
        clean(&addr.town)
    };
    push(join(&[&town, &addr.region]), st.line);
    let postcode = clean(&addr.postcode).to_uppercase();
    let country = clean(&addr.country_code).to_uppercase();
    if !postcode.is_empty() || !country.is_empty() {
        out.push(PlannedLine {
            text: postcode,
            right: (!country.is_empty()).then_some(country),
            style: st.postcode,
        });
    }
    if let Some(style) = st.phone.filter(|_| with_phone) {
        let phone = clean(&addr.phone);
        if !phone.is_empty() {
            out.push(PlannedLine {
                text: format!("Tel {phone}"),
                right: None,
                style,
            });
        }
    }
    out
}

/// The street lines wrapped into at most `budget` printed lines, each address
/// line starting on a new printed line while there is room; the last printed
/// line takes whatever is left, shortened with an ellipsis.
fn street(addr: &LabelAddress, style: Style, span: Span, budget: usize) -> Vec<String> {
    let mut lines: Vec<String> = addr
        .address_lines
        .iter()
        .map(|l| clean(l))
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() > budget {
        let rest = lines.split_off(budget.saturating_sub(1));
        lines.push(rest.join(", "));
    }
    let mut out = Vec::new();
    let count = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let left_after = count - i - 1;
        let allowed = budget.saturating_sub(out.len() + left_after).max(1);
        out.extend(wrapped(style, span, allowed, line));
    }
    out
}

/// Non-empty parts joined with ", ".
pub fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| clean(p))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sender as a return address: name and company, street, town to
/// country, and phone, in at most `max_lines` lines of `style`; the parts share
/// lines when space is short.
pub fn sender_lines(
    addr: &LabelAddress,
    style: Style,
    span: Span,
    max_lines: usize,
) -> Vec<String> {
    let streets: Vec<&str> = addr.address_lines.iter().map(String::as_str).collect();
    let place = join(&[&addr.town, &addr.region, &addr.postcode, &addr.country_code]);
    let phone = clean(&addr.phone);
    let phone = if phone.is_empty() {
        phone
    } else {
        format!("Tel {phone}")
    };
    let mut parts: Vec<String> = [
        join(&[&addr.name, &addr.company]),
        join(&streets),
        place,
        phone,
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect();
    // Too many parts for the lines: the last two share one line.
    while parts.len() > max_lines.max(1) {
        let last = parts.pop().unwrap_or_default();
        if let Some(previous) = parts.last_mut() {
            previous.push_str("  ");
            previous.push_str(&last);
        }
    }
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let left_after = parts.len() - i - 1;
        let allowed = max_lines.saturating_sub(out.len() + left_after).max(1);
        out.extend(wrapped(style, span, allowed, part));
    }
    out.truncate(max_lines);
    out
}

/// The sender on one line: who, and from which town.
pub fn sender_one_line(addr: &LabelAddress) -> String {
    let who = if addr.company.trim().is_empty() {
        &addr.name
    } else {
        &addr.company
    };
    join(&[who, &addr.town, &addr.postcode, &addr.country_code])
}

/// Rows of a small-caps key and its value on one baseline.
pub fn key_values(
    c: &mut Canvas,
    rows: &[(&str, String)],
    key: Style,
    value: Style,
    span: Span,
    top: f32,
    row_height: f32,
) -> f32 {
    // The key column is as wide as the widest key, plus a gap.
    let key_width = rows
        .iter()
        .map(|(k, _)| super::canvas::text_width(key, k))
        .fold(0.0, f32::max)
        + value.size * 0.6;
    let mut y = top;
    for (k, v) in rows {
        let baseline = y + value.ascent();
        c.text_on_baseline(
            key,
            Span::new(span.left, span.left + key_width),
            baseline,
            Align::Left,
            k,
        );
        c.text_on_baseline(
            value,
            Span::new(span.left + key_width, span.right),
            baseline,
            Align::Left,
            v,
        );
        y += row_height;
    }
    y
}

/// The reference rows every layout prints, in priority order.
pub fn reference_rows(input: &LabelInput) -> Vec<(&'static str, String)> {
    let mut rows = vec![("ORDER", clean(&input.order_reference))];
    rows.push(("CONSIGNMENT", clean(&input.consignment_number)));
    if let Some(reference) = input
        .label_reference
        .as_deref()
        .map(clean)
        .filter(|r| !r.is_empty())
    {
        rows.push(("REF", reference));
    }
    if let Some(kg) = input.weight_kg {
        rows.push(("WEIGHT", format!("{kg:.2} kg")));
    }
    let code = clean(&input.service_code);
    if !code.is_empty() {
        rows.push(("SERVICE", code));
    }
    rows.retain(|(_, v)| !v.is_empty());
    rows
}

/// "Package n of m".
pub fn package_text(input: &LabelInput) -> String {
    format!(
        "Package {} of {}",
        input.package_number, input.package_count
    )
}

/// The tracking number as a Code 128 barcode with its text under it, centred in
/// `span` from `top`. Errors when the barcode cannot be printed readably.
pub fn tracking_barcode(
    c: &mut Canvas,
    input: &LabelInput,
    span: Span,
    top: f32,
    bar_height: f32,
    text: Style,
) -> Result<f32, LabelError> {
    let tracking = input.tracking_number.trim();
    let modules = barcode::code128_modules(tracking)?;
    let top = top.round();
    let Some((bars, placement)) =
        barcode::place(&modules, span.left, span.right, top, bar_height.round())
    else {
        return Err(LabelError::TrackingNumberTooLong {
            tracking_number: tracking.to_string(),
            label_type: input.label_type,
            needed_mm: dots_to_mm(barcode::needed_width(
                modules.len(),
                barcode::MIN_MODULE_DOTS,
            )),
            available_mm: dots_to_mm(span.width()),
        });
    };
    c.scene.fills.extend(bars);
    c.scene.barcode = Some(placement);
    Ok(c.line(
        text,
        span,
        top + bar_height + text.size * 0.2,
        Align::Center,
        tracking,
    ))
}

/// The tracking URL as a QR code in a `box_size` square at (`x`, `y`).
pub fn tracking_qr(
    c: &mut Canvas,
    input: &LabelInput,
    x: f32,
    y: f32,
    box_size: f32,
) -> Result<(), LabelError> {
    let url = input.tracking_url.trim();
    let too_long = || LabelError::TrackingUrlTooLong {
        length: url.len(),
        label_type: input.label_type,
    };
    let (side, modules) = qr::qr_modules(url).ok_or_else(too_long)?;
    let (fills, placement) = qr::place(side, &modules, x, y, box_size).ok_or_else(too_long)?;
    c.scene.fills.extend(fills);
    c.scene.qr = Some(placement);
    Ok(())
}
