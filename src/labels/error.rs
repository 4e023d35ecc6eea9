//! Why a label could not be rendered.

use crate::domain::LabelType;

/// A label that cannot be rendered, with what to fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LabelError {
    #[error("copies must be between 1 and 5, got {copies}")]
    CopiesOutOfRange { copies: u32 },
    #[error("package number must be between 1 and the package count, got {number} of {count}")]
    PackageNumber { number: u32, count: u32 },
    #[error("{0} is required on a label")]
    MissingField(&'static str),
    #[error("tracking number contains {0:?}: a Code 128 barcode carries printable ASCII only")]
    TrackingNumberCharacter(char),
    #[error(
        "tracking number {tracking_number:?} is too long for a readable barcode on a {label_type:?} label: \
         it needs {needed_mm:.1} mm at the narrowest scannable bar (0.25 mm) with quiet zones, \
         the label has {available_mm:.1} mm"
    )]
    TrackingNumberTooLong {
        tracking_number: String,
        label_type: LabelType,
        needed_mm: f32,
        available_mm: f32,
    },
    #[error(
        "tracking URL is {length} bytes, too long for a scannable QR code on a {label_type:?} label"
    )]
    TrackingUrlTooLong {
        length: usize,
        label_type: LabelType,
    },
    #[error("weight must be a non-negative number of kilograms, got {0}")]
    Weight(f64),
    #[error("could not encode the {0}")]
    Encoding(String),
}
