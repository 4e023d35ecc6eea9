//! Drawing helpers the layouts share: fitted text lines, paragraphs and rules.

use crate::labels::fonts::{Weight, faces};
use crate::labels::geometry::LabelSize;
use crate::labels::scene::{Align, Fill, Ink, Scene, TextRun};
use crate::labels::text::{DejaVu, fit_line, wrap};

/// Size, weight and colour of a piece of text. Sizes are em heights in dots
/// (2.82 dots per point at 203 dpi).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub size: f32,
    pub weight: Weight,
    pub ink: Ink,
}

impl Style {
    pub const fn regular(size: f32) -> Self {
        Self {
            size,
            weight: Weight::Regular,
            ink: Ink::Black,
        }
    }

    pub const fn bold(size: f32) -> Self {
        Self {
            size,
            weight: Weight::Bold,
            ink: Ink::Black,
        }
    }

    pub const fn inverted(self) -> Self {
        Self {
            ink: Ink::White,
            ..self
        }
    }

    /// Distance between baselines of consecutive lines.
    pub fn line_height(&self) -> f32 {
        let face = faces().face(self.weight);
        (face.ascent + face.descent) * self.size * 1.02
    }

    /// Baseline offset from the top of a line box.
    pub fn ascent(&self) -> f32 {
        faces().face(self.weight).ascent * self.size
    }

    /// Height of capital letters, for centring a line in a box.
    pub fn cap_height(&self) -> f32 {
        0.73 * self.size
    }
}

/// A horizontal extent.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub left: f32,
    pub right: f32,
}

impl Span {
    pub const fn new(left: f32, right: f32) -> Self {
        Self { left, right }
    }

    pub fn width(&self) -> f32 {
        self.right - self.left
    }
}

/// A scene being built.
pub struct Canvas {
    pub scene: Scene,
}

impl Canvas {
    pub fn new(size: LabelSize) -> Self {
        Self {
            scene: Scene::new(size.width_dots(), size.height_dots()),
        }
    }

    pub fn width(&self) -> f32 {
        self.scene.width
    }

    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, ink: Ink) {
        self.scene.fills.push(Fill { x, y, w, h, ink });
    }

    /// A black horizontal rule.
    pub fn hrule(&mut self, span: Span, y: f32, thickness: f32) {
        self.fill(span.left, y, span.width(), thickness, Ink::Black);
    }

    /// A black vertical rule.
    pub fn vrule(&mut self, x: f32, top: f32, bottom: f32, thickness: f32) {
        self.fill(x, top, thickness, bottom - top, Ink::Black);
    }

    /// One line of text on `baseline`, shortened to fit `span`.
    pub fn text_on_baseline(
        &mut self,
        style: Style,
        span: Span,
        baseline: f32,
        align: Align,
        text: &str,
    ) {
        let fitted = fit_line(&DejaVu, text, style.size, style.weight, span.width());
        if fitted.is_empty() {
            return;
        }
        self.scene.texts.push(TextRun {
            text: fitted,
            left: span.left,
            right: span.right,
            baseline: baseline.round(),
            size: style.size,
            weight: style.weight,
            ink: style.ink,
            align,
        });
    }

    /// One line of text whose line box starts at `top`; returns the box's bottom.
    pub fn line(&mut self, style: Style, span: Span, top: f32, align: Align, text: &str) -> f32 {
        self.text_on_baseline(style, span, top + style.ascent(), align, text);
        top + style.line_height()
    }

    /// Word-wrapped text of at most `max_lines`; returns the bottom of the last line.
    pub fn paragraph(
        &mut self,
        style: Style,
        span: Span,
        top: f32,
        max_lines: usize,
        text: &str,
    ) -> f32 {
        let mut y = top;
        for line in wrap(
            &DejaVu,
            text,
            style.size,
            style.weight,
            span.width(),
            max_lines,
        ) {
            y = self.line(style, span, y, Align::Left, &line);
        }
        y
    }

    /// Text centred vertically in a box from `top` to `bottom`.
    pub fn text_in_box(
        &mut self,
        style: Style,
        span: Span,
        top: f32,
        bottom: f32,
        align: Align,
        text: &str,
    ) {
        let baseline = (top + bottom) / 2.0 + style.cap_height() / 2.0;
        self.text_on_baseline(style, span, baseline, align, text);
    }
}

/// Lines as [`wrap`] would lay them out, for measuring before drawing.
pub fn wrapped(style: Style, span: Span, max_lines: usize, text: &str) -> Vec<String> {
    wrap(
        &DejaVu,
        text,
        style.size,
        style.weight,
        span.width(),
        max_lines,
    )
}

/// Width of `text` in `style`.
pub fn text_width(style: Style, text: &str) -> f32 {
    use crate::labels::text::Metrics;
    DejaVu.width(text, style.size, style.weight)
}
