//! The setup endpoints, in a design where installations are Kubernetes resources declared by
//! a platform team rather than created from Linnworks' wizard:
//!
//! - AddNewUser answers an error saying how installations are created. It never hands out a
//!   token: the call is unauthenticated, so returning the token of a "matching" account would
//!   give any caller the credential of that account.
//! - UserConfig reports the installation's settings read-only (`ReadOnly: true`, no secrets).
//! - UpdateConfig accepts a save that changes nothing and refuses any change, naming the item
//!   and the resource to edit instead.
//! - ConfigDeleted is acknowledged and logged; the Installation stays until the platform team
//!   deletes it (an error would leave the Linnworks user unable to remove the integration).
//! - UserAvailableServices lists the PostalServiceMappings as services.
//! - ExtendedPropertyMapping lists no properties: the integration reads none from orders.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use crate::config::InstallationConfig;
use crate::crd::installation::CancelLabelMode;

use super::contract::{
    AddNewUserRequest, AddNewUserResponse, ConfigDeletedRequest, ConfigDeletedResponse, ConfigItem,
    ConfigStage, ConfigValueType, ExtendedPropertyMappingRequest, ExtendedPropertyMappingResponse,
    ListValue, UpdateConfigRequest, UpdateConfigResponse, UserAvailableServicesRequest,
    UserAvailableServicesResponse, UserConfigRequest, UserConfigResponse, parse_request,
};
use super::services::courier_service;
use super::state::Gateway;

/// `ConfigStatus` of an installation that is running, and of a suspended one.
pub const CONFIG_STATUS_ACTIVE: &str = "CONFIGURED";
pub const CONFIG_STATUS_SUSPENDED: &str = "SUSPENDED";

pub async fn add_new_user(body: Bytes) -> Json<AddNewUserResponse> {
    let request: AddNewUserRequest = match parse_request(&body) {
        Ok(r) => r,
        Err(e) => return Json(AddNewUserResponse::error(e.to_string())),
    };
    tracing::info!(
        account = %request.account_name,
        linnworks_id = %request.linnworks_unique_identifier,
        "AddNewUser refused: installations are declared as resources"
    );
    Json(AddNewUserResponse::error(format!(
        "Accounts are not added from Linnworks: each Linnworks account is connected by your \
         platform team, who declare it as an Installation resource. Ask them to create one for \
         account {:?} (Linnworks id {}); they will give you its AuthorizationToken to enter here.",
        request.account_name, request.linnworks_unique_identifier
    )))
}

pub async fn user_config(State(gw): State<Gateway>, body: Bytes) -> Json<UserConfigResponse> {
    let (_, inst) = match gw.authorise::<UserConfigRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(UserConfigResponse::error(e)),
    };
    let suspended = inst.spec.suspend;
    Json(UserConfigResponse {
        is_config_active: !suspended,
        config_status: if suspended {
            CONFIG_STATUS_SUSPENDED
        } else {
            CONFIG_STATUS_ACTIVE
        }
        .to_string(),
        config_stage: ConfigStage {
            wizard_step_title: "Managed by your platform team".into(),
            wizard_step_description: format!(
                "These settings come from the Installation resource {} and are read-only here. \
                 To change them, ask your platform team to edit that resource.{}",
                inst.key,
                if suspended {
                    " The installation is suspended: no orders are fetched or sent."
                } else {
                    ""
                }
            ),
            config_items: config_items(&inst),
        },
        ..UserConfigResponse::default()
    })
}

pub async fn update_config(State(gw): State<Gateway>, body: Bytes) -> Json<UpdateConfigResponse> {
    let (request, inst) = match gw.authorise::<UpdateConfigRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(UpdateConfigResponse::error(e)),
    };
    let current = config_items(&inst);
    for (i, item) in request.config_items.iter().enumerate() {
        let id = item.config_item_id.trim();
        let Some(known) = current
            .iter()
            .find(|c| c.config_item_id.eq_ignore_ascii_case(id))
        else {
            return Json(UpdateConfigResponse::error(format!(
                "ConfigItems[{i}].ConfigItemId {id:?} is not a setting of this integration"
            )));
        };
        if item.selected_value.trim() != known.selected_value {
            return Json(UpdateConfigResponse::error(format!(
                "ConfigItems[{i}] ({}) cannot be changed from Linnworks: settings are managed on \
                 the Installation resource {}. Ask your platform team to change it there.",
                known.name, inst.key
            )));
        }
    }
    Json(UpdateConfigResponse::default())
}

pub async fn config_deleted(State(gw): State<Gateway>, body: Bytes) -> Json<ConfigDeletedResponse> {
    let (_, inst) = match gw.authorise::<ConfigDeletedRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(ConfigDeletedResponse::error(e)),
    };
    tracing::warn!(
        installation = %inst.key,
        "Linnworks reports the integration was removed from the account; the Installation \
         stays (and its token keeps working) until the platform team deletes it"
    );
    Json(ConfigDeletedResponse::default())
}

pub async fn user_available_services(
    State(gw): State<Gateway>,
    body: Bytes,
) -> Json<UserAvailableServicesResponse> {
    let (_, inst) = match gw.authorise::<UserAvailableServicesRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(UserAvailableServicesResponse::error(e)),
    };
    let mut services: Vec<_> = inst
        .mappings
        .iter()
        .map(|m| courier_service(&inst, m))
        .collect();
    services.sort_by(|a, b| a.service_name.cmp(&b.service_name));
    Json(UserAvailableServicesResponse {
        services,
        ..UserAvailableServicesResponse::default()
    })
}

pub async fn extended_property_mapping(
    State(gw): State<Gateway>,
    body: Bytes,
) -> Json<ExtendedPropertyMappingResponse> {
    match gw.authorise::<ExtendedPropertyMappingRequest>(&body) {
        Ok(_) => Json(ExtendedPropertyMappingResponse::default()),
        Err(e) => Json(ExtendedPropertyMappingResponse::error(e)),
    }
}

/// The installation's settings as read-only config items (the guide's names; never a
/// credential). Ids are at most 20 characters, as the contract requires.
pub fn config_items(inst: &InstallationConfig) -> Vec<ConfigItem> {
    let s = &inst.spec;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let flag = |b: bool| if b { "true" } else { "false" }.to_string();
    let partner = s.stream.partner_account.as_ref();
    let cancel = s
        .shipping_integration
        .as_ref()
        .map(|g| g.cancel_label)
        .unwrap_or_default();
    let cancel = match cancel {
        CancelLabelMode::AlwaysSucceed => "AlwaysSucceed",
        CancelLabelMode::Refuse => "Refuse",
        CancelLabelMode::DeleteUnplanned => "DeleteUnplanned",
    };
    use ConfigValueType::{Boolean, Int, List, String as Text};
    let items: Vec<(&str, &str, &str, ConfigValueType, String)> = vec![
        (
            "StreamClientUrl",
            "Stream Client URL",
            "Stream",
            Text,
            s.stream.client_url.clone(),
        ),
        (
            "PartnerAccount",
            "Using Stream Partner Account",
            "Stream",
            Boolean,
            flag(partner.is_some_and(|p| p.enabled)),
        ),
        (
            "PartnerAccountId",
            "Stream Partner Account ID",
            "Stream",
            Text,
            partner.and_then(|p| p.id.clone()).unwrap_or_default(),
        ),
        (
            "PartnerAccountName",
            "Stream Partner Account Name",
            "Stream",
            Text,
            partner.and_then(|p| p.name.clone()).unwrap_or_default(),
        ),
        (
            "ContactName",
            "Contact Name",
            "Sender",
            Text,
            s.sender.contact_name.clone(),
        ),
        (
            "CompanyName",
            "Company Name",
            "Sender",
            Text,
            s.sender.company_name.clone(),
        ),
        (
            "AddressLine1",
            "Address Line 1",
            "Sender",
            Text,
            s.sender.address_line1.clone(),
        ),
        (
            "AddressLine2",
            "Address Line 2",
            "Sender",
            Text,
            opt(&s.sender.address_line2),
        ),
        (
            "AddressLine3",
            "Address Line 3",
            "Sender",
            Text,
            opt(&s.sender.address_line3),
        ),
        ("City", "City", "Sender", Text, s.sender.city.clone()),
        ("County", "County", "Sender", Text, opt(&s.sender.county)),
        (
            "CountryCode",
            "Country Code",
            "Sender",
            Text,
            s.sender.country_code.clone(),
        ),
        (
            "PostCode",
            "Postcode",
            "Sender",
            Text,
            s.sender.post_code.clone(),
        ),
        (
            "ContactPhoneNo",
            "Contact Phone Number",
            "Sender",
            Text,
            s.sender.contact_phone_no.clone(),
        ),
        (
            "LabelReference",
            "Label Reference",
            "Labels",
            Text,
            opt(&s.labels.reference),
        ),
        (
            "CancelLabel",
            "Cancel Label",
            "Labels",
            List,
            cancel.to_string(),
        ),
        (
            "OrderNumPrefix",
            "Order Number Prefix",
            "Sync",
            Text,
            opt(&s.sync.order_num_prefix),
        ),
        (
            "OrderSyncEnabled",
            "Order Sync Enabled",
            "Sync",
            Boolean,
            flag(s.sync.order_sync_enabled),
        ),
        (
            "DispatchSyncEnabled",
            "Order Dispatch Sync Enabled",
            "Sync",
            Boolean,
            flag(s.sync.order_dispatch_sync_enabled),
        ),
        (
            "UseDefaultLocation",
            "Use Default Location",
            "Sync",
            Boolean,
            flag(s.sync.use_default_location),
        ),
        (
            "DefaultLocation",
            "Default Location",
            "Sync",
            Text,
            opt(&s.sync.default_location),
        ),
        (
            "OrderLookbackDays",
            "Order Lookback Days",
            "Sync",
            Int,
            s.sync.order_lookback_days.to_string(),
        ),
        (
            "HandsOnDateToday",
            "Use Current Date as Hands-On Date",
            "Sync",
            Boolean,
            flag(s.sync.use_current_date_as_hands_on_date),
        ),
        (
            "WebhooksEnabled",
            "Webhook Features Enabled",
            "Webhooks",
            Boolean,
            flag(s.webhooks.enabled),
        ),
        (
            "GroupSequenceIds",
            "Group Sequence Identifier Enabled",
            "Webhooks",
            Boolean,
            flag(s.webhooks.group_sequence_identifiers),
        ),
    ];
    items
        .into_iter()
        .enumerate()
        .map(|(i, (id, name, group, value_type, value))| ConfigItem {
            config_item_id: id.to_string(),
            name: name.to_string(),
            description: format!("{name} (set on the Installation resource)"),
            group_name: group.to_string(),
            sort_order: i32::try_from(i).unwrap_or(i32::MAX),
            selected_value: value,
            read_only: true,
            value_type,
            list_values: if value_type == List {
                ["AlwaysSucceed", "Refuse", "DeleteUnplanned"]
                    .into_iter()
                    .map(|v| ListValue {
                        display: v.to_string(),
                        value: v.to_string(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            ..ConfigItem::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::server::gateway::contract::CONFIG_ITEM_ID_MAX;

    #[test]
    fn config_item_ids_fit_the_contract() {
        let inst = crate::config::test_support::example_installation();
        let items = super::config_items(&inst);
        assert!(items.len() > 20);
        for item in &items {
            assert!(
                item.config_item_id.len() <= CONFIG_ITEM_ID_MAX,
                "{} is longer than {CONFIG_ITEM_ID_MAX}",
                item.config_item_id
            );
            assert!(item.read_only);
        }
    }
}
