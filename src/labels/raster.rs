//! Draws a [`Scene`] into a 1-bit PNG at 203 dpi.
//!
//! One bit per pixel is what a thermal printer prints: text is thresholded at
//! half coverage instead of anti-aliased, so no printer driver dithers grey
//! edges into speckles, and bars and QR modules land on whole dots.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ab_glyph::{Font, point};

use super::error::LabelError;
use super::fonts::{Weight, faces};
use super::geometry::{DPI, LabelSize};
use super::scene::{Align, Ink, Scene, TextRun};
use super::text::{DejaVu, Metrics};

const BLACK: u8 = 0;
const WHITE: u8 = 255;

/// Glyph positions are kept to a quarter pixel, so each glyph is rasterised at
/// most four times per size.
const SUBPIXEL_STEPS: f32 = 4.0;

/// Glyph cache entries kept per thread before the cache is emptied.
const GLYPH_CACHE_LIMIT: usize = 8192;

/// Renders the scene as PNG bytes (1-bit greyscale, pHYs chunk set to 203 dpi).
pub fn png(scene: &Scene, size: LabelSize) -> Result<Vec<u8>, LabelError> {
    let image = rasterize(scene, size);
    encode_1bit(&image)
}

/// Greyscale pixels, one byte each, row by row; only [`BLACK`] and [`WHITE`] are drawn.
struct Bitmap {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Bitmap {
    fn white(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![WHITE; width as usize * height as usize],
        }
    }
}

/// Renders the scene into a bitmap holding only black and white.
fn rasterize(scene: &Scene, size: LabelSize) -> Bitmap {
    let mut image = Bitmap::white(size.png_width(), size.png_height());
    for fill in &scene.fills {
        fill_rect(
            &mut image,
            fill.x,
            fill.y,
            fill.w,
            fill.h,
            ink_value(fill.ink),
        );
    }
    for run in &scene.texts {
        draw_text(&mut image, run);
    }
    image
}

fn ink_value(ink: Ink) -> u8 {
    match ink {
        Ink::Black => BLACK,
        Ink::White => WHITE,
    }
}

fn fill_rect(image: &mut Bitmap, x: f32, y: f32, w: f32, h: f32, value: u8) {
    let (width, height) = (image.width, image.height);
    let x0 = x.round().clamp(0.0, width as f32) as u32;
    let x1 = (x + w).round().clamp(0.0, width as f32) as u32;
    let y0 = y.round().clamp(0.0, height as f32) as u32;
    let y1 = (y + h).round().clamp(0.0, height as f32) as u32;
    let stride = width as usize;
    let buf = &mut image.pixels;
    for row in y0..y1 {
        let start = row as usize * stride;
        buf[start + x0 as usize..start + x1 as usize].fill(value);
    }
}

/// A rasterised glyph: the pixels at or above half coverage, as horizontal
/// runs relative to the pen position (blitting a run is one slice fill).
struct GlyphMask {
    /// (row, first column, end column) from the glyph's pixel-bounds origin.
    runs: Vec<(i32, i32, i32)>,
    left: i32,
    top: i32,
}

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct GlyphKey {
    weight: Weight,
    glyph: u16,
    size_bits: u32,
    subpixel: u8,
}

thread_local! {
    static GLYPHS: RefCell<HashMap<GlyphKey, Rc<GlyphMask>>> = RefCell::new(HashMap::new());
}

fn glyph_mask(key: GlyphKey) -> Rc<GlyphMask> {
    GLYPHS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(mask) = cache.get(&key) {
            return Rc::clone(mask);
        }
        if cache.len() >= GLYPH_CACHE_LIMIT {
            cache.clear();
        }
        let mask = Rc::new(rasterize_glyph(key));
        cache.insert(key, Rc::clone(&mask));
        mask
    })
}

fn rasterize_glyph(key: GlyphKey) -> GlyphMask {
    let face = faces().face(key.weight);
    let size = f32::from_bits(key.size_bits);
    let glyph = ab_glyph::GlyphId(key.glyph).with_scale_and_position(
        face.px_scale(size),
        point(f32::from(key.subpixel) / SUBPIXEL_STEPS, 0.0),
    );
    let Some(outlined) = face.font.outline_glyph(glyph) else {
        // Spaces and other blank glyphs.
        return GlyphMask {
            runs: Vec::new(),
            left: 0,
            top: 0,
        };
    };
    let bounds = outlined.px_bounds();
    let width = bounds.width() as usize;
    let height = bounds.height() as usize;
    let mut mask = vec![false; width * height];
    outlined.draw(|x, y, coverage| {
        if coverage >= 0.5
            && let Some(px) = mask.get_mut(y as usize * width + x as usize)
        {
            *px = true;
        }
    });
    let mut runs = Vec::new();
    for (row, pixels) in mask.chunks_exact(width.max(1)).enumerate() {
        let mut col = 0;
        while col < pixels.len() {
            if !pixels[col] {
                col += 1;
                continue;
            }
            let start = col;
            while col < pixels.len() && pixels[col] {
                col += 1;
            }
            runs.push((row as i32, start as i32, col as i32));
        }
    }
    GlyphMask {
        runs,
        left: bounds.min.x as i32,
        top: bounds.min.y as i32,
    }
}

fn draw_text(image: &mut Bitmap, run: &TextRun) {
    let face = faces().face(run.weight);
    let width = DejaVu.width(&run.text, run.size, run.weight);
    let start = match run.align {
        Align::Left => run.left,
        Align::Center => (run.left + run.right - width) / 2.0,
        Align::Right => run.right - width,
    };
    let value = ink_value(run.ink);
    let (img_w, img_h) = (image.width as i32, image.height as i32);
    let stride = img_w as usize;
    let baseline = run.baseline.round() as i32;
    let buf = &mut image.pixels;
    let mut x = start;
    for c in run.text.chars() {
        let steps = (x * SUBPIXEL_STEPS).round();
        let whole = (steps / SUBPIXEL_STEPS).floor();
        let subpixel = (steps - whole * SUBPIXEL_STEPS) as u8;
        let glyph = glyph_mask(GlyphKey {
            weight: run.weight,
            glyph: face.glyph_id(c).0,
            size_bits: run.size.to_bits(),
            subpixel,
        });
        let origin_x = whole as i32 + glyph.left;
        let origin_y = baseline + glyph.top;
        for &(row, start, end) in &glyph.runs {
            let py = origin_y + row;
            let x0 = (origin_x + start).clamp(0, img_w);
            let x1 = (origin_x + end).clamp(0, img_w);
            if (0..img_h).contains(&py) && x0 < x1 {
                let line = py as usize * stride;
                buf[line + x0 as usize..line + x1 as usize].fill(value);
            }
        }
        x += face.advance(c) * run.size;
    }
}

/// Packs black/white pixels eight to a byte and writes a 1-bit greyscale PNG.
fn encode_1bit(image: &Bitmap) -> Result<Vec<u8>, LabelError> {
    let (width, height) = (image.width, image.height);
    let row_bytes = (width as usize).div_ceil(8);
    let mut packed = vec![0u8; row_bytes * height as usize];
    for (row, out) in image
        .pixels
        .chunks_exact(width as usize)
        .zip(packed.chunks_exact_mut(row_bytes))
    {
        // Pixels are 0 or 255, so the top bit is the PNG bit (1 = white).
        let mut pixels = row.chunks_exact(8);
        for (byte, eight) in out.iter_mut().zip(&mut pixels) {
            *byte = eight
                .iter()
                .fold(0u8, |acc, &value| (acc << 1) | (value >> 7));
        }
        let rest = pixels.remainder();
        if !rest.is_empty() {
            // Padding bits past the last pixel are white, like the label.
            let mut byte = 0xFFu8 >> rest.len();
            for (i, &value) in rest.iter().enumerate() {
                byte |= (value >> 7) << (7 - i);
            }
            out[row_bytes - 1] = byte;
        }
    }
    let mut bytes = Vec::with_capacity(packed.len() / 4);
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    let dots_per_metre = (DPI / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: dots_per_metre,
        yppu: dots_per_metre,
        unit: png::Unit::Meter,
    }));
    let encoding = |e: png::EncodingError| LabelError::Encoding(format!("PNG: {e}"));
    let mut writer = encoder.write_header().map_err(encoding)?;
    writer.write_image_data(&packed).map_err(encoding)?;
    writer.finish().map_err(encoding)?;
    Ok(bytes)
}
