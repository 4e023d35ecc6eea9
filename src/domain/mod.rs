//! Layer 0: the business's words as types, with no kube, sqlx or axum in them. Installation
//! keys, order statuses and types, the order lifecycle, event codes, label types, jobs and
//! their schedules, identifiers, webhook paths. Every other layer converts at its edge: the
//! CRDs embed these types, the store keeps them by their stored names, the clients map them
//! to the remote APIs' spellings.

pub mod audit;
pub mod event;
pub mod identifiers;
pub mod installation;
pub mod job;
pub mod label;
pub mod lifecycle;
pub mod master_data;
pub mod order;
pub mod schedule;
mod text_enum;
pub mod webhook;

pub use audit::{AuditAction, AuditOutcome};
pub use event::{EventCode, EventEffect};
pub use installation::InstallationKey;
pub use job::{Job, JobOutcome};
pub use label::LabelType;
pub use master_data::MasterDataKind;
pub use order::{OrderStatus, OrderType};
pub use text_enum::UnknownValue;
pub use webhook::WebhookStatus;
