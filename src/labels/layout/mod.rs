//! The four label layouts of the user guide, each a pure function from
//! [`LabelInput`] to a [`Scene`]. See docs/labels.md for drawings of each.

mod blocks;
mod canvas;
mod compact;
mod courier;
mod portrait;

use crate::domain::LabelType;

use super::error::LabelError;
use super::input::LabelInput;
use super::scene::Scene;

/// Validates `input` and lays out its label.
pub fn plan(input: &LabelInput) -> Result<Scene, LabelError> {
    input.validate()?;
    match input.label_type {
        LabelType::Default => courier::plan(input),
        LabelType::PortraitStandard => portrait::plan(input, true),
        LabelType::PortraitWithoutQr => portrait::plan(input, false),
        LabelType::Compact => compact::plan(input),
    }
}
