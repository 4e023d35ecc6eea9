//! postalservices.json: postal services (the integration creates and updates its own).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::linnworks::serde_util::nullable;

/// `PostalService`: what CreatePostalService answers and UpdatePostalService takes.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PostalService {
    #[serde(
        rename = "pkPostalServiceId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pk_postal_service_id: Option<Uuid>,
    #[serde(default, deserialize_with = "nullable")]
    pub postal_service_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_service_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_service_code: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub vendor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_module_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tracking_number_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub weight_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub ignore_packaging_group: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrated_service_id: Option<Uuid>,
}

/// `PostalService_WithChannelAndShippingLinks`: GetPostalServices items and the
/// CreatePostalService body. Channel and shipping links are not used here.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct PostalServiceWithLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(
        rename = "hasMappedShippingService",
        default,
        deserialize_with = "nullable"
    )]
    pub has_mapped_shipping_service: bool,
    #[serde(flatten)]
    pub service: PostalService,
}
