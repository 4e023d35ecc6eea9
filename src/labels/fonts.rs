//! The embedded DejaVu Sans faces, parsed once, with their advance widths cached.
//!
//! The fonts are compiled into the binary (`assets/fonts/`, Bitstream Vera licence)
//! so a container needs no system fonts. The PNG is drawn with them and every
//! layout decision (wrapping, shortening, alignment) is measured with them.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale};

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Regular or bold text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Weight {
    Regular,
    Bold,
}

/// One parsed face plus the figures layouts ask for on every line.
pub(crate) struct Face {
    pub font: FontRef<'static>,
    /// Advance of each code point below 0x180 (Latin-1 and Latin Extended-A), in em.
    latin_advances: Vec<f32>,
    units_per_em: f32,
    /// Ascent above the baseline, in em.
    pub ascent: f32,
    /// Descent below the baseline (positive), in em.
    pub descent: f32,
    /// The factor turning an em size into ab_glyph's `PxScale` (which is the
    /// ascent-to-descent height, not the em).
    px_scale_per_em: f32,
}

pub(crate) struct Faces {
    regular: Face,
    bold: Face,
}

const LATIN_TABLE: usize = 0x180;

impl Face {
    fn parse(bytes: &'static [u8]) -> Face {
        // The bytes are compiled in and were checked when the repository took them;
        // a parse failure is a build defect, not an input error.
        #[allow(clippy::expect_used)]
        let font = FontRef::try_from_slice(bytes).expect("embedded DejaVu font parses");
        let units_per_em = font.units_per_em().unwrap_or(2048.0);
        let latin_advances = (0..LATIN_TABLE as u32)
            .map(|cp| {
                char::from_u32(cp)
                    .map(|c| font.h_advance_unscaled(font.glyph_id(c)) / units_per_em)
                    .unwrap_or(0.0)
            })
            .collect();
        Face {
            ascent: font.ascent_unscaled() / units_per_em,
            descent: -font.descent_unscaled() / units_per_em,
            px_scale_per_em: font.height_unscaled() / units_per_em,
            latin_advances,
            units_per_em,
            font,
        }
    }

    /// Horizontal advance of `c` in em.
    pub fn advance(&self, c: char) -> f32 {
        let cp = c as usize;
        if cp < LATIN_TABLE {
            self.latin_advances[cp]
        } else {
            self.font.h_advance_unscaled(self.font.glyph_id(c)) / self.units_per_em
        }
    }

    pub fn glyph_id(&self, c: char) -> GlyphId {
        self.font.glyph_id(c)
    }

    /// The ab_glyph scale that draws text `size` dots per em.
    pub fn px_scale(&self, size: f32) -> PxScale {
        PxScale::from(size * self.px_scale_per_em)
    }
}

pub(crate) fn faces() -> &'static Faces {
    static FACES: OnceLock<Faces> = OnceLock::new();
    FACES.get_or_init(|| Faces {
        regular: Face::parse(REGULAR_TTF),
        bold: Face::parse(BOLD_TTF),
    })
}

impl Faces {
    pub fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}
