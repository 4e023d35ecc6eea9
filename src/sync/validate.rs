//! Checks an order against the guide's validation rules before it is sent. Pure; works on
//! the parts an open order and a full order share, so fetch and send judge alike.

use crate::config::{InstallationConfig, MappingConfig};
use crate::linnworks::{OrderCustomerInfo, OrderShippingInfo};
use crate::store::Depot;

use super::errors::ValidationError;
use super::transform::country_code;

/// The mapping the order is sent under, or the first validation error it hits.
/// `depots`, when master data has been synced, also catches a mapping whose depot or
/// delivery method Stream no longer offers.
pub fn validate_order<'a>(
    inst: &'a InstallationConfig,
    shipping: &OrderShippingInfo,
    customer: &OrderCustomerInfo,
    depots: Option<&[Depot]>,
) -> Result<&'a MappingConfig, ValidationError> {
    let service_id = shipping.postal_service_id.map(|id| id.to_string());
    let service_name = shipping
        .postal_service_name
        .as_deref()
        .filter(|n| !n.trim().is_empty());
    let unassigned =
        shipping.postal_service_id.is_none_or(|id| id.is_nil()) && service_name.is_none();
    if unassigned {
        return Err(ValidationError::PostalServiceNotAssigned);
    }
    let described = service_name
        .map(str::to_string)
        .or(service_id.clone())
        .unwrap_or_default();
    let mapping = inst
        .mapping_for(service_id.as_deref(), service_name)
        .ok_or_else(|| ValidationError::PostalServiceNotConfigured {
            service: described.clone(),
        })?;
    if mapping.spec.depot.trim().is_empty() || mapping.spec.delivery_method.trim().is_empty() {
        return Err(ValidationError::PostalServiceNotConfigured { service: described });
    }
    if let Some(depots) = depots.filter(|d| !d.is_empty()) {
        let known = depots.iter().any(|d| {
            d.id.eq_ignore_ascii_case(&mapping.spec.depot)
                && d.delivery_methods
                    .iter()
                    .any(|m| m.id.eq_ignore_ascii_case(&mapping.spec.delivery_method))
        });
        if !known {
            return Err(ValidationError::PostalServiceNotConfigured { service: described });
        }
    }
    let address = &customer.address;
    let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    let mut missing = Vec::new();
    if blank(&address.address1) {
        missing.push("Address Line 1");
    }
    if blank(&address.town) {
        missing.push("Town");
    }
    if blank(&address.post_code) {
        missing.push("Postcode");
    }
    if blank(&address.country) || address.country.as_deref().and_then(country_code).is_none() {
        missing.push("Country");
    }
    if !missing.is_empty() {
        return Err(ValidationError::MissingAddressFields(missing));
    }
    Ok(mapping)
}
