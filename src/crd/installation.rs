//! The `Installation` resource: one Linnworks account connected to one Stream account.
//!
//! Field names follow the user guide's "Integration-Level Settings" (the guide's name is in
//! each field's doc comment), grouped the way a platform team reads them.
// kube-derive's repeated `printcolumn(...)` entries trip this lint; they are distinct columns.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{Condition, SecretValue};
use crate::domain::schedule::ScheduleText;

pub const DEFAULT_LINNWORKS_API_URL: &str = "https://api.linnworks.net";

#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "linnstream.io",
    version = "v1alpha1",
    kind = "Installation",
    namespaced,
    status = "InstallationStatus",
    shortname = "lsi",
    category = "linnstream",
    doc = "One Linnworks account connected to one Stream account.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.queue.pending"
    ),
    printcolumn(name = "Failed", type_ = "integer", json_path = ".status.queue.failed"),
    printcolumn(name = "Last Sync", type_ = "date", json_path = ".status.lastSyncTime"),
    printcolumn(
        name = "Mode",
        type_ = "string",
        description = "Dedicated (its own worker pods) or Pool (the shared worker pool).",
        json_path = ".status.workers.mode"
    ),
    printcolumn(
        name = "Worker",
        type_ = "string",
        description = "The worker that holds the Installation now (a pod of the pool, or its own).",
        json_path = ".status.workers.holder"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the Ready condition is what it is.",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        description = "The Ready condition's explanation.",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct InstallationSpec {
    /// Make the installation inactive: workers scale to zero, the master-data CronJobs are
    /// suspended, and manual sends, resends, deletes and GenerateLabel are refused with
    /// "Installation not found or inactive". Stream webhooks are still received and kept.
    #[serde(default)]
    pub suspend: bool,
    /// The Stream account.
    pub stream: StreamSettings,
    /// The Linnworks account.
    pub linnworks: LinnworksSettings,
    /// Sender contact and address, printed on labels and manifests. Not sent to Stream:
    /// Stream's order model has no shipper (neither public Stream client sends one), so
    /// Stream takes the shipper from the account and the depot.
    pub sender: Sender,
    /// Label settings of the integration.
    #[serde(default)]
    pub labels: LabelSettings,
    /// Order synchronisation.
    pub sync: SyncSettings,
    /// Warehouse mapping (the guide's "select the Linnworks warehouse, assign the
    /// corresponding Stream depot or location"): the Stream depot, delivery method and stock
    /// location of the orders of each Linnworks location. An order's location is matched
    /// here first; what an entry leaves unset, and orders of locations not listed, take the
    /// postal service mapping's values. With `sync.useDefaultLocation`, every order is
    /// treated as being in `sync.defaultLocation`. Orders of every location are fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub locations: Vec<LocationMapping>,
    /// Stream webhooks (delivery and planning events).
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// When each job runs.
    #[serde(default)]
    pub schedule: Schedule,
    /// The Linnworks shipping-integration calls (label printing) for this installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_integration: Option<ShippingIntegration>,
    /// Which processes run this installation's sync loops and webhook receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkerSettings>,
}

impl InstallationSpec {
    /// The mode asked for, or `default` (the operator's `--default-worker-mode`).
    pub fn worker_mode(&self, default: WorkerMode) -> WorkerMode {
        self.workers.as_ref().map_or(default, |w| w.mode)
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSettings {
    /// `Dedicated`: a worker Deployment and webhook receiver of its own. `Pool`: served by
    /// the shared worker pool (one Deployment of N workers, leases in PostgreSQL) and the
    /// shared webhook receiver. Without `workers`: the operator's `--default-worker-mode`.
    pub mode: WorkerMode,
}

#[derive(
    schemars::JsonSchema,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
)]
pub enum WorkerMode {
    #[default]
    #[value(name = "Dedicated")]
    Dedicated,
    #[value(name = "Pool")]
    Pool,
}

impl WorkerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerMode::Dedicated => "Dedicated",
            WorkerMode::Pool => "Pool",
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamSettings {
    /// StreamClientUrl: base URL of the Stream API, e.g. `https://www.go2stream.net/api`.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub client_url: String,
    /// StreamClientId: the OAuth client id (also the `Stream-Party` header).
    pub client_id: SecretValue,
    /// StreamClientSecret: the OAuth client secret.
    pub client_secret: SecretValue,
    /// IsUsingStreamPartnerAccount, StreamPartnerAccountId, StreamPartnerAccountName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_account: Option<PartnerAccount>,
    /// Which Stream environment `clientUrl` is. Decides the vendor name of the postal
    /// services the master-data sync creates in Linnworks: `STREAM TECH` in production,
    /// `STREAMTECH` in staging (the guide's two names). `Auto`: a `clientUrl` whose host
    /// has a `demo`, `staging`, `sandbox` or `test` label is staging.
    #[serde(default)]
    pub environment: StreamEnvironment,
}

#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum StreamEnvironment {
    #[default]
    Auto,
    Production,
    Staging,
}

/// The vendor name of production Stream postal services in Linnworks.
pub const PRODUCTION_VENDOR: &str = "STREAM TECH";
/// The vendor name of staging Stream postal services in Linnworks.
pub const STAGING_VENDOR: &str = "STREAMTECH";

impl StreamSettings {
    /// The environment, as set or as the client URL's host says.
    /// Production or Staging, never Auto.
    pub fn effective_environment(&self) -> StreamEnvironment {
        if self.environment != StreamEnvironment::Auto {
            return self.environment;
        }
        let host = self
            .client_url
            .split_once("://")
            .map_or(self.client_url.as_str(), |(_, rest)| rest)
            .split(['/', ':', '?'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let staging = host
            .split('.')
            .any(|label| matches!(label, "demo" | "staging" | "sandbox" | "test"));
        if staging {
            StreamEnvironment::Staging
        } else {
            StreamEnvironment::Production
        }
    }

    /// The vendor name the master-data sync creates postal services under.
    pub fn vendor_name(&self) -> &'static str {
        match self.effective_environment() {
            StreamEnvironment::Staging => STAGING_VENDOR,
            StreamEnvironment::Production | StreamEnvironment::Auto => PRODUCTION_VENDOR,
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
// `enabled` without `id` is refused by the API server through a structural `anyOf` that
// `INSTALLATION_RULES` in `crd/mod.rs` adds to the generated schema.
#[serde(rename_all = "camelCase")]
pub struct PartnerAccount {
    /// IsUsingStreamPartnerAccount: operate under a Stream partner account.
    #[serde(default)]
    pub enabled: bool,
    /// StreamPartnerAccountId: required when `enabled` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub id: Option<String>,
    /// StreamPartnerAccountName: display name of the partner account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub name: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinnworksSettings {
    /// Base URL of the Linnworks API used to log in (`AuthorizeByApplication`); later calls
    /// go to the server Linnworks returns.
    #[serde(default = "default_linnworks_url")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub api_base_url: String,
    /// The Linnworks application id (a GUID).
    pub application_id: SecretValue,
    /// The Linnworks application secret (a GUID).
    pub application_secret: SecretValue,
    /// The permanent installation token Linnworks issued when the app was installed.
    pub installation_token: SecretValue,
}

fn default_linnworks_url() -> String {
    DEFAULT_LINNWORKS_API_URL.to_string()
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    /// ContactName.
    #[schemars(length(min = 1, max = 100))]
    pub contact_name: String,
    /// CompanyName.
    #[schemars(length(min = 1, max = 100))]
    pub company_name: String,
    /// AddressLine1.
    #[schemars(length(min = 1, max = 100))]
    pub address_line1: String,
    /// AddressLine2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub address_line2: Option<String>,
    /// AddressLine3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub address_line3: Option<String>,
    /// City.
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    /// County.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub county: Option<String>,
    /// CountryCode: ISO 3166-1 alpha-2, upper case (e.g. `GB`).
    #[schemars(regex(pattern = r"^[A-Z]{2}$"))]
    pub country_code: String,
    /// PostCode.
    #[schemars(length(min = 1, max = 20))]
    pub post_code: String,
    /// ContactPhoneNo.
    #[schemars(length(min = 1, max = 30), regex(pattern = r"^[0-9+()\- ]+$"))]
    pub contact_phone_no: String,
}

/// One Linnworks location (warehouse) and the Stream side that ships its orders.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocationMapping {
    /// The Linnworks location: its id (`pkStockLocationId`), its name, or both.
    pub linnworks_location: LinnworksLocationRef,
    /// StreamDepot: the Stream depot that ships this location's orders.
    #[schemars(length(min = 1, max = 100))]
    pub depot: String,
    /// The delivery method at this depot; when unset, the postal service mapping's
    /// (which must then exist at this depot too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub delivery_method: Option<String>,
    /// The Stream stock location of this location's items; when unset, the postal
    /// service mapping's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub stock_location: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
// "An id or a name" is in the schema: see `INSTALLATION_RULES` in `crd/mod.rs`.
#[serde(rename_all = "camelCase")]
pub struct LinnworksLocationRef {
    /// `pkStockLocationId` in Linnworks (a GUID); orders carry it as `GeneralInfo.Location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::mapping::GUID_PATTERN))]
    pub id: Option<String>,
    /// The location's name in Linnworks (`LocationName`, matched ignoring case), looked
    /// up with `Inventory/GetStockLocations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub name: Option<String>,
}

impl InstallationSpec {
    /// A DefaultLocation in use that names no `spec.locations` entry by id or name (it is
    /// then sent to Stream as the items' stock location).
    pub fn default_location_unmatched(&self) -> Option<String> {
        if !self.sync.use_default_location || self.locations.is_empty() {
            return None;
        }
        let default = self.sync.default_location.as_deref()?.trim();
        let matched = self.locations.iter().any(|e| {
            let l = &e.linnworks_location;
            l.id.as_deref()
                .is_some_and(|id| id.trim().eq_ignore_ascii_case(default))
                || l.name
                    .as_deref()
                    .is_some_and(|n| n.trim().to_lowercase() == default.to_lowercase())
        });
        (!matched).then(|| default.to_string())
    }
}

impl LinnworksLocationRef {
    /// How the location is shown in messages.
    pub fn describe(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), Some(name)) => format!("{name:?} ({id})"),
            (Some(id), None) => id.clone(),
            (None, Some(name)) => format!("{name:?}"),
            (None, None) => "(no id or name)".into(),
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LabelSettings {
    /// LabelReference: the reference printed on generated labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub reference: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
// Required-if rule in the schema: see `INSTALLATION_RULES` in `crd/mod.rs`.
#[serde(rename_all = "camelCase")]
pub struct SyncSettings {
    /// IsOrderSyncEnabled: run the automated fetch and send. Manual sends bypass it.
    pub order_sync_enabled: bool,
    /// IsOrderDispatchSyncEnabled: synchronise dispatch status.
    #[serde(default)]
    pub order_dispatch_sync_enabled: bool,
    /// OrderLookbackDays: how many days back open orders are fetched.
    #[schemars(range(min = 1, max = 365))]
    pub order_lookback_days: u32,
    /// OrderNumPrefix: prefix for order numbers sent to Stream. Keep it stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20), regex(pattern = r"^[A-Za-z0-9_-]*$"))]
    pub order_num_prefix: Option<String>,
    /// UseCurrentDateAsHandsOnDate: send today's date as each item's hands-on date
    /// (`onHandDate`, yyyy-MM-dd).
    #[serde(default)]
    pub use_current_date_as_hands_on_date: bool,
    /// UseDefaultLocation: use `defaultLocation` instead of the order's Linnworks location.
    #[serde(default)]
    pub use_default_location: bool,
    /// DefaultLocation: required when `useDefaultLocation` is true. A Linnworks location
    /// (id or name) of `spec.locations`, whose entry then applies to every order; a value
    /// matching no entry is sent to Stream as the items' stock location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub default_location: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
// Required-if rule in the schema: see `INSTALLATION_RULES` in `crd/mod.rs`.
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    /// IsWebhookFeaturesEnabled: subscribe to Stream webhooks and process delivery and
    /// planning events.
    #[serde(default)]
    pub enabled: bool,
    /// IsGroupSequenceIdentifierEnabled: also apply SEQ-01..SEQ-20 identifiers.
    #[serde(default)]
    pub group_sequence_identifiers: bool,
    /// Public base URL at which Stream reaches this installation's webhook receiver
    /// (required when `enabled`); the receiver path is appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub public_base_url: Option<String>,
}

/// Job timing. Intervals are Go-style durations (`90s`, `1.5h`, `1h30m`, `500ms`);
/// master-data schedules are cron expressions as Kubernetes CronJobs read them (five
/// fields, or `@daily`, `@weekly`, ...), evaluated in `timeZone`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// How often open orders are fetched from Linnworks.
    #[serde(default = "default_fetch_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub fetch_interval: String,
    /// How often queued orders are sent to Stream.
    #[serde(default = "default_send_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub send_interval: String,
    /// Delay of the send cycle after the fetch cycle.
    #[serde(default = "default_send_offset")]
    #[schemars(regex(pattern = DURATION_PATTERN_OR_ZERO))]
    pub send_offset: String,
    /// How often stored webhook events are processed.
    #[serde(default = "default_webhook_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub webhook_interval: String,
    /// Identifier master-data sync (cron, default 03:00).
    #[serde(default = "default_identifiers_cron")]
    #[schemars(regex(pattern = CRON_PATTERN))]
    pub identifiers_schedule: String,
    /// Postal-service master-data sync (cron, default 04:00).
    #[serde(default = "default_postal_services_cron")]
    #[schemars(regex(pattern = CRON_PATTERN))]
    pub postal_services_schedule: String,
    /// IANA time zone of the cron schedules, e.g. `Europe/London`.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// Start a send at once when a fetch finds new orders, instead of waiting for the
    /// next send cycle.
    #[serde(default = "default_true")]
    pub send_after_fetch: bool,
}

/// Go's duration syntax (`1.5h`, `500ms`, `1h30m`; `µs` with either mu); the parser gives
/// the helpful message, this only keeps nonsense out of the API server.
pub const DURATION_PATTERN: &str = r"^\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$";
pub const DURATION_PATTERN_OR_ZERO: &str =
    r"^(0|\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";
/// Five fields or a macro such as `@daily`; the parser checks the rest.
pub const CRON_PATTERN: &str = r"^(@\S+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)$";

fn default_fetch_interval() -> String {
    ScheduleText::DEFAULTS.fetch_interval.into()
}
fn default_send_interval() -> String {
    ScheduleText::DEFAULTS.send_interval.into()
}
fn default_send_offset() -> String {
    ScheduleText::DEFAULTS.send_offset.into()
}
fn default_webhook_interval() -> String {
    ScheduleText::DEFAULTS.webhook_interval.into()
}
fn default_identifiers_cron() -> String {
    ScheduleText::DEFAULTS.identifiers_schedule.into()
}
fn default_postal_services_cron() -> String {
    ScheduleText::DEFAULTS.postal_services_schedule.into()
}
fn default_time_zone() -> String {
    ScheduleText::DEFAULTS.time_zone.into()
}
fn default_true() -> bool {
    true
}

impl Schedule {
    /// The schedule as written, for the domain to parse.
    pub fn text(&self) -> ScheduleText<'_> {
        ScheduleText {
            fetch_interval: &self.fetch_interval,
            send_interval: &self.send_interval,
            send_offset: &self.send_offset,
            webhook_interval: &self.webhook_interval,
            identifiers_schedule: &self.identifiers_schedule,
            postal_services_schedule: &self.postal_services_schedule,
            time_zone: &self.time_zone,
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            fetch_interval: default_fetch_interval(),
            send_interval: default_send_interval(),
            send_offset: default_send_offset(),
            webhook_interval: default_webhook_interval(),
            identifiers_schedule: default_identifiers_cron(),
            postal_services_schedule: default_postal_services_cron(),
            time_zone: default_time_zone(),
            send_after_fetch: true,
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShippingIntegration {
    /// The `AuthorizationToken` Linnworks sends on shipping-integration calls
    /// (GenerateLabel and the rest) for this installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<SecretValue>,
    /// What CancelLabel does. `AlwaysSucceed` (the guide's behaviour) answers success and
    /// changes nothing; `Refuse` answers an error saying cancellation is not supported;
    /// `DeleteUnplanned` deletes the Stream order while it is still unplanned.
    #[serde(default)]
    pub cancel_label: CancelLabelMode,
}

#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum CancelLabelMode {
    #[default]
    AlwaysSucceed,
    Refuse,
    DeleteUnplanned,
}

/// Written only by the operator.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstallationStatus {
    /// The `.metadata.generation` the operator last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and the conditions behind it, one per type, each with a reason and message.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Orders in the queue by status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueStatus>,
    /// Time of the last successful fetch or send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// The last order fetch from Linnworks: when, its outcome and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fetch: Option<LastRun>,
    /// The last send of queued orders to Stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send: Option<LastRun>,
    /// The last processing of Stream webhook events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_webhook: Option<LastRun>,
    /// The last master-data sync of Linnworks identifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_identifiers_sync: Option<LastRun>,
    /// The last master-data sync of Linnworks postal services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_postal_services_sync: Option<LastRun>,
    /// Where Stream sends this installation's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Worker liveness: heartbeats in the store and the Deployment's replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkerStatus>,
    /// The Stream webhook subscriptions the operator made (removed again on delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_subscriptions: Option<WebhookSubscriptions>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptions {
    /// Where they deliver.
    pub url: String,
    /// The first 12 hex digits of the SHA-256 of the auth token they carry: a new token
    /// (its Secret was deleted) means subscribing again.
    pub token_fingerprint: String,
    /// One per subscribed Stream event.
    #[serde(default)]
    pub subscriptions: Vec<WebhookSubscriptionRef>,
}

/// One Stream webhook subscription.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscriptionRef {
    /// The Stream event code, e.g. `DELIVERED`.
    pub event: String,
    /// Stream's id of the subscription.
    pub id: String,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Fetched from Linnworks, waiting to be sent to Stream.
    pub pending: i64,
    /// Claimed by a worker and being sent now.
    pub in_progress: i64,
    /// Sent to Stream, with a tracking number.
    pub completed: i64,
    /// Refused by Stream or out of retries; the last error says why (resend from the console).
    pub failed: i64,
    /// Refused before sending: the order lacks something Stream needs.
    pub validation_failed: i64,
    /// Failed for a passing reason; sent again automatically.
    pub ready_for_retry: i64,
    /// Removed from Stream (a manual delete or a DeleteUnplanned cancel).
    pub deleted: i64,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    /// RFC 3339 start time of the run.
    pub time: String,
    /// `Succeeded` or `Failed`.
    pub outcome: String,
    /// What the run did, or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    /// Workers whose heartbeat in the store is recent.
    pub live_heartbeats: i64,
    /// RFC 3339 time of the newest heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat: Option<String>,
    /// Available replicas of the worker Deployment (the pool's, when pooled).
    pub available_replicas: i32,
    /// `Dedicated` or `Pool`: which processes serve the installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The worker holding the installation's lease in the store now (a pool pod's name, or
    /// the dedicated worker's id); none while nobody holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}
