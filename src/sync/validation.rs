//! The user guide's validation rules and errors ("Validation Errors and Common Causes").
//! [`validate_order`] checks an order before it is sent. It is pure, and works on the parts
//! an open order and a full order share, so fetch and send judge alike. Each
//! [`ValidationError`] has its own message; an order that hits one moves to Validation
//! Failed and is not retried until the cause is corrected (re-fetched or manually resent).

use std::fmt;

use crate::config::{InstallationConfig, MappingConfig};
use crate::linnworks::{OrderCustomerInfo, OrderShippingInfo};
use crate::store::Depot;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidationError {
    InstallationInactive,
    LinnworksTokenInvalid,
    NoActiveInstallations,
    OrderNotFoundInLinnworks,
    OrderNotFoundInDatabase,
    PostalServiceNotAssigned,
    /// The service is not mapped, or its mapping lacks a depot or delivery method.
    PostalServiceNotConfigured {
        service: String,
    },
    /// The order's warehouse-mapping entry (`spec.locations`) names a depot or delivery
    /// method Stream does not offer. A kind of the guide's "Postal service not fully
    /// configured" (the depot and method the order would ship with are not configured).
    LocationNotConfigured {
        location: String,
        reason: String,
    },
    OrderSyncDisabled,
    OrderAlreadyInProgress,
    /// The delivery address lacks these fields (Address Line 1, Town, Postcode, Country).
    MissingAddressFields(Vec<&'static str>),
    TooManyOrdersSelected {
        selected: usize,
        max: u32,
    },
    /// Linnworks holds text the queue cannot store (a NUL, an unpaired surrogate, an
    /// over-long field) or an order it cannot read; the detail names the field.
    InvalidOrderData(String),
}

impl ValidationError {
    /// The guide's name of the error, stable for filters and tests.
    pub fn title(&self) -> &'static str {
        match self {
            Self::InstallationInactive => "Installation not found or inactive",
            Self::LinnworksTokenInvalid => "Linnworks token missing or expired",
            Self::NoActiveInstallations => "No active installations available",
            Self::OrderNotFoundInLinnworks => "Order not found in Linnworks",
            Self::OrderNotFoundInDatabase => "Order not found in database",
            Self::PostalServiceNotAssigned => "Postal service not assigned",
            Self::PostalServiceNotConfigured { .. } | Self::LocationNotConfigured { .. } => {
                "Postal service not fully configured"
            }
            Self::OrderSyncDisabled => "Order sync disabled",
            Self::OrderAlreadyInProgress => "Order already in progress",
            Self::MissingAddressFields(_) => "Missing delivery address fields",
            Self::TooManyOrdersSelected { .. } => "Too many orders selected",
            Self::InvalidOrderData(_) => "Invalid order data",
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = self.title();
        match self {
            Self::InstallationInactive => write!(
                f,
                "{title}: the Linnworks account is not active in the integration; contact your administrator"
            ),
            Self::LinnworksTokenInvalid => write!(
                f,
                "{title}: the installation token is invalid or has been revoked; re-connect the installation"
            ),
            Self::NoActiveInstallations => {
                write!(
                    f,
                    "{title}: at least one active Linnworks installation must exist"
                )
            }
            Self::OrderNotFoundInLinnworks => write!(
                f,
                "{title}: the order is queued but could not be retrieved from Linnworks"
            ),
            Self::OrderNotFoundInDatabase => write!(
                f,
                "{title}: the order is not in the integration queue; trigger a re-fetch"
            ),
            Self::PostalServiceNotAssigned => write!(
                f,
                "{title}: assign a Stream postal service to the order in Linnworks"
            ),
            Self::PostalServiceNotConfigured { service } => write!(
                f,
                "{title}: {service:?} has no PostalServiceMapping with a Stream depot and delivery method; complete the service configuration"
            ),
            Self::LocationNotConfigured { location, reason } => write!(
                f,
                "{title}: the warehouse mapping {location}: {reason}; correct spec.locations"
            ),
            Self::OrderSyncDisabled => write!(
                f,
                "{title}: IsOrderSyncEnabled is false for this installation; enable it or use a manual send"
            ),
            Self::OrderAlreadyInProgress => write!(
                f,
                "{title}: another operation is sending this order; wait for it to complete"
            ),
            Self::MissingAddressFields(fields) => write!(
                f,
                "{title}: the delivery address lacks {}; Address Line 1, Town, Postcode and Country are required",
                fields.join(", ")
            ),
            Self::TooManyOrdersSelected { selected, max } => write!(
                f,
                "{title}: {selected} orders selected, the maximum is {max}; reduce the selection"
            ),
            Self::InvalidOrderData(detail) => write!(
                f,
                "{title}: {detail}; correct the order in Linnworks and the next fetch queues it"
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_starts_with_the_guides_title() {
        let all = [
            ValidationError::InstallationInactive,
            ValidationError::LinnworksTokenInvalid,
            ValidationError::NoActiveInstallations,
            ValidationError::OrderNotFoundInLinnworks,
            ValidationError::OrderNotFoundInDatabase,
            ValidationError::PostalServiceNotAssigned,
            ValidationError::PostalServiceNotConfigured {
                service: "Next Day".into(),
            },
            ValidationError::LocationNotConfigured {
                location: "spec.locations[0] (\"Leeds\")".into(),
                reason: "depot \"YORK\" is not a Stream depot of this account".into(),
            },
            ValidationError::OrderSyncDisabled,
            ValidationError::OrderAlreadyInProgress,
            ValidationError::MissingAddressFields(vec!["Town", "Postcode"]),
            ValidationError::TooManyOrdersSelected {
                selected: 7,
                max: 5,
            },
            ValidationError::InvalidOrderData(
                "CustomerInfo.Address.Address1 contains a NUL character".into(),
            ),
        ];
        for e in &all {
            assert!(e.to_string().starts_with(e.title()), "{e}");
        }
        assert_eq!(
            all[10].to_string(),
            "Missing delivery address fields: the delivery address lacks Town, Postcode; Address Line 1, Town, Postcode and Country are required"
        );
    }
}
