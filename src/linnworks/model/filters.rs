//! orders.json `FieldsFilter` and `FieldSorting` for GetOpenOrders: the text and date
//! filters the integration uses. Enums are strings in the spec.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FieldsFilter {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub text_fields: Vec<TextFieldFilter>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub date_fields: Vec<DateFieldFilter>,
}

impl FieldsFilter {
    pub fn is_empty(&self) -> bool {
        self.text_fields.is_empty() && self.date_fields.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TextFieldFilter {
    #[serde(rename = "Type")]
    pub filter_type: TextFilterType,
    pub text: String,
    pub field_code: FieldCode,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum TextFilterType {
    Equal,
    Contains,
    StartWith,
    EndsWith,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DateFieldFilter {
    #[serde(rename = "Type")]
    pub filter_type: DateFilterType,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date_to: Option<DateTime<Utc>>,
    /// Days, for `LastDays` and `OlderThan`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<i32>,
    pub field_code: FieldCode,
}

impl DateFieldFilter {
    /// Orders received in the last `days` days: the fetch job's lookback window.
    pub fn received_in_last_days(days: i32) -> Self {
        Self {
            filter_type: DateFilterType::LastDays,
            date_from: None,
            date_to: None,
            value: Some(days),
            field_code: FieldCode::GeneralInfoDate,
        }
    }

    /// Orders received between two instants.
    pub fn received_between(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            filter_type: DateFilterType::Range,
            date_from: Some(from),
            date_to: Some(to),
            value: None,
            field_code: FieldCode::GeneralInfoDate,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum DateFilterType {
    Range,
    OlderThan,
    LastDays,
}

/// The field codes the integration filters or sorts on (a subset of the spec's enum).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldCode {
    GeneralInfoOrderId,
    GeneralInfoReferenceNumber,
    GeneralInfoDate,
    GeneralInfoSource,
    GeneralInfoIdentifier,
    ShippingInformationVendor,
    ShippingInformationService,
    ShippingInformationTrackingNumber,
    ShippingInformationServiceId,
    LocationId,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct FieldSorting {
    pub field_code: FieldCode,
    pub direction: SortDirection,
    pub order: i32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}
