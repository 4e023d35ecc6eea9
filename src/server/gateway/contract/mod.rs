//! The Linnworks shipping-integration contract: what Linnworks POSTs to the
//! integration and what it expects back, with the exact JSON field names.
//!
//! Source: the Linnworks shipping-integration endpoint pages, summarised in
//! shared/reference/external-apis.md section 2. Every request carries
//! `AuthorizationToken` (except AddNewUser, which creates it); every reply
//! carries `IsError` and `ErrorMessage`.
//!
//! Handlers call [`parse_request`] on the body, which deserialises (naming the
//! field of any wrong type or missing value) and then validates; on error they
//! answer the endpoint's reply type built with `error(message)`, or
//! [`ErrorReply`] when nothing else is known.
//!
//! Tolerance: unknown fields are ignored (Linnworks adds fields over time), and
//! `null` is read as empty for strings and lists, as .NET clients send `null`
//! for unset values (*inferred* from the contract's C# origins).

mod error;
mod manifest;
mod setup;
mod shipping;
mod token;
mod wire;

pub use error::{ContractError, ErrorReply, ReplyStatus};
pub use manifest::{
    CreateManifestRequest, CreateManifestResponse, MAX_MANIFEST_ORDERS, PrintManifestRequest,
    PrintManifestResponse,
};
pub use setup::{
    AddNewUserRequest, AddNewUserResponse, CONFIG_ITEM_ID_MAX, ConfigDeletedRequest,
    ConfigDeletedResponse, ConfigItem, ConfigItemValue, ConfigStage, ConfigValueType,
    CourierService, ExtendedPropertyMappingItem, ExtendedPropertyMappingRequest,
    ExtendedPropertyMappingResponse, ListValue, PropertyType, ServiceProperty, UpdateConfigRequest,
    UpdateConfigResponse, UserAvailableServicesRequest, UserAvailableServicesResponse,
    UserConfigRequest, UserConfigResponse,
};
pub use shipping::{
    CancelLabelRequest, CancelLabelResponse, GenerateLabelRequest, GenerateLabelResponse,
    LabelPackage, MAX_PACKAGES, NameValue, Package, PackageItem,
};
pub use token::AuthorizationToken;

/// A request that can check its own content after deserialising.
pub trait Validate {
    /// Checks required fields and ranges; the error names the contract field.
    fn validate(&self) -> Result<(), ContractError>;
}

/// Parses a request body: JSON into `T` (an error names the field by its path,
/// e.g. `Packages[0].PackageWeight`), then [`Validate::validate`].
pub fn parse_request<T>(body: &[u8]) -> Result<T, ContractError>
where
    T: serde::de::DeserializeOwned + Validate,
{
    // serde would also read a struct from a JSON array; the contract sends objects.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ContractError::body("request body is empty")),
        Some(_) => return Err(ContractError::body("request body must be a JSON object")),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(ContractError::from_serde)?;
    de.end().map_err(|e| {
        ContractError::body(format!("request body has data after the JSON object: {e}"))
    })?;
    value.validate()?;
    Ok(value)
}
