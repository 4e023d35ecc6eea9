//! The label formats Linnworks can ask for, and what each one prints.

use serde::{Deserialize, Serialize};

/// Fewest and most copies of a label per package (the guide's "1 to 5 copies").
pub const COPIES: std::ops::RangeInclusive<u32> = 1..=5;

/// The four label formats of the user guide.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash,
)]
pub enum LabelType {
    /// 4x6 inch with QR code and barcode.
    #[default]
    Default,
    /// Portrait, no QR code.
    PortraitWithoutQr,
    /// Portrait standard label.
    PortraitStandard,
    /// Compact 100x50 mm, no QR code.
    Compact,
}

impl LabelType {
    /// The name Linnworks shows for the format (the user guide's words).
    pub fn name(self) -> &'static str {
        match self {
            LabelType::Default => "Default",
            LabelType::PortraitWithoutQr => "Portrait without QR",
            LabelType::PortraitStandard => "Portrait Standard",
            LabelType::Compact => "Compact (100x50mm without QR)",
        }
    }

    /// Width and height of one label in millimetres: 4 x 6 inch portrait, except Compact's
    /// 100 x 50 mm landscape.
    pub fn size_mm(self) -> (f32, f32) {
        const INCH: f32 = 25.4;
        match self {
            LabelType::Default | LabelType::PortraitStandard | LabelType::PortraitWithoutQr => {
                (4.0 * INCH, 6.0 * INCH)
            }
            LabelType::Compact => (100.0, 50.0),
        }
    }

    /// Whether the label prints the tracking URL as a QR code.
    ///
    /// Default has one (the guide says so). Portrait Standard has one too: the guide
    /// is silent, but it names the other portrait type "without QR", which makes the
    /// QR what distinguishes the standard one. Portrait without QR and Compact have none.
    pub fn has_qr(self) -> bool {
        match self {
            LabelType::Default | LabelType::PortraitStandard => true,
            LabelType::PortraitWithoutQr | LabelType::Compact => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_default_and_portrait_standard_print_a_qr_code() {
        let all = [
            LabelType::Default,
            LabelType::PortraitWithoutQr,
            LabelType::PortraitStandard,
            LabelType::Compact,
        ];
        let with_qr: Vec<_> = all.into_iter().filter(|t| t.has_qr()).collect();
        assert_eq!(with_qr, [LabelType::Default, LabelType::PortraitStandard]);
        assert_eq!(LabelType::Compact.size_mm(), (100.0, 50.0));
        assert_eq!(LabelType::PortraitWithoutQr.name(), "Portrait without QR");
    }
}
