//! Account setup endpoints: AddNewUser, UserConfig, UpdateConfig, ConfigDeleted,
//! UserAvailableServices, ExtendedPropertyMapping.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{ContractError, ReplyStatus, error_constructor};
use super::token::AuthorizationToken;
use super::{Validate, wire};

/// Most characters a `ConfigItemId` may have (contract rule).
pub const CONFIG_ITEM_ID_MAX: usize = 20;

fn require_token(token: &AuthorizationToken) -> Result<(), ContractError> {
    if token.is_empty() {
        return Err(ContractError::required("AuthorizationToken"));
    }
    Ok(())
}

/// Requests that carry nothing but the token.
macro_rules! token_only_request {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub struct $name {
            #[serde(rename = "AuthorizationToken")]
            pub authorization_token: AuthorizationToken,
        }

        impl Validate for $name {
            fn validate(&self) -> Result<(), ContractError> {
                require_token(&self.authorization_token)
            }
        }
    )*};
}

token_only_request!(
    /// UserConfig: which configuration stage the account is in.
    UserConfigRequest,
    /// ConfigDeleted: Linnworks removed the integration from the account.
    ConfigDeletedRequest,
    /// UserAvailableServices: the services this account can map.
    UserAvailableServicesRequest,
    /// ExtendedPropertyMapping: the extended properties the integration reads.
    ExtendedPropertyMappingRequest,
);

/// AddNewUser: a Linnworks account installs the integration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddNewUserRequest {
    #[serde(rename = "LinnworksUniqueIdentifier")]
    pub linnworks_unique_identifier: Uuid,
    #[serde(rename = "Email", default, deserialize_with = "wire::string")]
    pub email: String,
    #[serde(rename = "AccountName", default, deserialize_with = "wire::string")]
    pub account_name: String,
}

impl Validate for AddNewUserRequest {
    fn validate(&self) -> Result<(), ContractError> {
        if self.linnworks_unique_identifier.is_nil() {
            return Err(ContractError::field(
                "LinnworksUniqueIdentifier",
                "must not be the nil GUID",
            ));
        }
        if self.email.trim().is_empty() {
            return Err(ContractError::required("Email"));
        }
        if !self.email.contains('@') {
            return Err(ContractError::field("Email", "is not an email address"));
        }
        if self.account_name.trim().is_empty() {
            return Err(ContractError::required("AccountName"));
        }
        Ok(())
    }
}

/// AddNewUser reply: the token Linnworks sends on every later call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AddNewUserResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
}

/// How a config item's value is entered (sent as a number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfigValueType {
    #[default]
    String = 0,
    Int = 1,
    Double = 2,
    Boolean = 3,
    Password = 4,
    List = 5,
}

impl Serialize for ConfigValueType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

impl ConfigValueType {
    /// Every value type, in the order of their numbers.
    const ALL: [Self; 6] = [
        Self::String,
        Self::Int,
        Self::Double,
        Self::Boolean,
        Self::Password,
        Self::List,
    ];
}

impl<'de> Deserialize<'de> for ConfigValueType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let number = u8::deserialize(d)?;
        Self::ALL
            .into_iter()
            .find(|t| *t as u8 == number)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "ValueType {number} is not one of 0 (String) to 5 (List)"
                ))
            })
    }
}

impl JsonSchema for ConfigValueType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConfigValueType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let numbers: Vec<u8> = Self::ALL.into_iter().map(|t| t as u8).collect();
        schemars::json_schema!({ "type": "integer", "enum": numbers })
    }
}

/// A choice of a List config item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ListValue {
    #[serde(rename = "Display")]
    pub display: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// One setting shown in Linnworks' configuration wizard or on a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConfigItem {
    /// At most [`CONFIG_ITEM_ID_MAX`] characters.
    #[serde(rename = "ConfigItemId")]
    pub config_item_id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "GroupName")]
    pub group_name: String,
    #[serde(rename = "SortOrder")]
    pub sort_order: i32,
    #[serde(rename = "SelectedValue")]
    pub selected_value: String,
    #[serde(rename = "RegExValidation")]
    pub regex_validation: String,
    #[serde(rename = "RegExError")]
    pub regex_error: String,
    #[serde(rename = "MustBeSpecified")]
    pub must_be_specified: bool,
    #[serde(rename = "ReadOnly")]
    pub read_only: bool,
    #[serde(rename = "ValueType")]
    pub value_type: ConfigValueType,
    #[serde(rename = "ListValues")]
    pub list_values: Vec<ListValue>,
}

/// A wizard step: title, description and the items to fill in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConfigStage {
    #[serde(rename = "WizardStepTitle")]
    pub wizard_step_title: String,
    #[serde(rename = "WizardStepDescription")]
    pub wizard_step_description: String,
    #[serde(rename = "ConfigItems")]
    pub config_items: Vec<ConfigItem>,
}

/// UserConfig reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct UserConfigResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "IsConfigActive")]
    pub is_config_active: bool,
    #[serde(rename = "ConfigStatus")]
    pub config_status: String,
    #[serde(rename = "ConfigStage")]
    pub config_stage: ConfigStage,
}

/// A value the user entered for a config item. `Debug` hides the value: a
/// Password item carries a credential.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigItemValue {
    #[serde(rename = "ConfigItemId", default, deserialize_with = "wire::string")]
    pub config_item_id: String,
    #[serde(rename = "SelectedValue", default, deserialize_with = "wire::string")]
    pub selected_value: String,
}

impl std::fmt::Debug for ConfigItemValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigItemValue")
            .field("config_item_id", &self.config_item_id)
            .field(
                "selected_value",
                &format_args!("<{} chars>", self.selected_value.chars().count()),
            )
            .finish()
    }
}

pub(crate) fn validate_config_values(
    field: &str,
    items: &[ConfigItemValue],
) -> Result<(), ContractError> {
    for (i, item) in items.iter().enumerate() {
        let id = item.config_item_id.trim();
        if id.is_empty() {
            return Err(ContractError::required(format!(
                "{field}[{i}].ConfigItemId"
            )));
        }
        if id.chars().count() > CONFIG_ITEM_ID_MAX {
            return Err(ContractError::field(
                format!("{field}[{i}].ConfigItemId"),
                format!("is longer than {CONFIG_ITEM_ID_MAX} characters"),
            ));
        }
    }
    Ok(())
}

/// UpdateConfig: the user saved a wizard step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateConfigRequest {
    #[serde(rename = "AuthorizationToken")]
    pub authorization_token: AuthorizationToken,
    #[serde(rename = "ConfigStatus", default, deserialize_with = "wire::string")]
    pub config_status: String,
    #[serde(rename = "ConfigItems", default, deserialize_with = "wire::list")]
    pub config_items: Vec<ConfigItemValue>,
}

impl Validate for UpdateConfigRequest {
    fn validate(&self) -> Result<(), ContractError> {
        require_token(&self.authorization_token)?;
        if self.config_status.trim().is_empty() {
            return Err(ContractError::required("ConfigStatus"));
        }
        validate_config_values("ConfigItems", &self.config_items)
    }
}

/// UpdateConfig reply (status only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct UpdateConfigResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
}

/// ConfigDeleted reply (status only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConfigDeletedResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
}

/// A name/value property of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ServiceProperty {
    #[serde(rename = "PropertyName")]
    pub property_name: String,
    #[serde(rename = "PropertyValue")]
    pub property_value: String,
}

/// A shipping service Linnworks can assign to orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CourierService {
    #[serde(rename = "ServiceName")]
    pub service_name: String,
    #[serde(rename = "ServiceCode")]
    pub service_code: String,
    #[serde(rename = "ServiceTag")]
    pub service_tag: String,
    #[serde(rename = "ServiceGroup")]
    pub service_group: String,
    #[serde(rename = "ServiceUniqueId")]
    pub service_unique_id: Uuid,
    #[serde(rename = "ConfigItems")]
    pub config_items: Vec<ConfigItem>,
    #[serde(rename = "ServiceProperty")]
    pub service_property: Vec<ServiceProperty>,
}

/// UserAvailableServices reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct UserAvailableServicesResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "Services")]
    pub services: Vec<CourierService>,
}

/// Whether an extended property sits on the order or on an item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PropertyType {
    #[default]
    #[serde(rename = "ORDER")]
    Order,
    #[serde(rename = "ITEM")]
    Item,
}

/// An extended property the integration reads, offered for mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ExtendedPropertyMappingItem {
    #[serde(rename = "PropertyTitle")]
    pub property_title: String,
    #[serde(rename = "PropertyName")]
    pub property_name: String,
    #[serde(rename = "PropertyDescription")]
    pub property_description: String,
    #[serde(rename = "PropertyType")]
    pub property_type: PropertyType,
}

/// ExtendedPropertyMapping reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ExtendedPropertyMappingResponse {
    #[serde(flatten)]
    pub status: ReplyStatus,
    #[serde(rename = "Items")]
    pub items: Vec<ExtendedPropertyMappingItem>,
}

error_constructor!(
    AddNewUserResponse,
    UserConfigResponse,
    UpdateConfigResponse,
    ConfigDeletedResponse,
    UserAvailableServicesResponse,
    ExtendedPropertyMappingResponse,
);
