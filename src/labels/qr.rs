//! The tracking URL as a QR code.

use qrcode::{Color, EcLevel, QrCode};

use super::scene::{Fill, Ink, QrPlacement};

/// Module sizes tried, largest first (0.75 down to 0.375 mm at 203 dpi): phone
/// cameras read 0.375 mm modules comfortably at arm's length.
const MODULE_DOTS: [f32; 4] = [6.0, 5.0, 4.0, 3.0];

/// Clear space around the symbol, in modules (the QR specification's 4).
const QUIET_ZONE_MODULES: usize = 4;

/// The QR modules of `data`, row by row (true = dark), and the side length.
/// Medium error correction: labels get scuffed, and URLs stay small at M.
pub fn qr_modules(data: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let modules = code
        .into_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Some((width, modules))
}

/// Places the symbol, quiet zone included, centred in a square of `box_size`
/// dots at (`x`, `y`), with the largest module size that fits. `None` when the
/// symbol is too big even at the smallest module.
pub fn place(
    side: usize,
    modules: &[bool],
    x: f32,
    y: f32,
    box_size: f32,
) -> Option<(Vec<Fill>, QrPlacement)> {
    let total = (side + 2 * QUIET_ZONE_MODULES) as f32;
    let module = MODULE_DOTS.into_iter().find(|&m| total * m <= box_size)?;
    let size = total * module;
    let origin_x = (x + (box_size - size) / 2.0).round();
    let origin_y = (y + (box_size - size) / 2.0).round();
    let quiet = QUIET_ZONE_MODULES as f32 * module;
    // One rectangle per run of dark modules, and runs that repeat on the next
    // row extend downwards: fewer rectangles make a smaller, faster PDF.
    let mut fills: Vec<Fill> = Vec::new();
    // Runs of the previous row as (start, end, index in `fills`).
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    for row in 0..side {
        let mut next_open = Vec::new();
        let mut col = 0;
        while col < side {
            if !modules[row * side + col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < side && modules[row * side + col] {
                col += 1;
            }
            if let Some(&(_, _, index)) = open.iter().find(|&&(s, e, _)| s == start && e == col) {
                fills[index].h += module;
                next_open.push((start, col, index));
            } else {
                fills.push(Fill {
                    x: origin_x + quiet + start as f32 * module,
                    y: origin_y + quiet + row as f32 * module,
                    w: (col - start) as f32 * module,
                    h: module,
                    ink: Ink::Black,
                });
                next_open.push((start, col, fills.len() - 1));
            }
        }
        open = next_open;
    }
    Some((
        fills,
        QrPlacement {
            x: origin_x,
            y: origin_y,
            size,
            module,
        },
    ))
}
