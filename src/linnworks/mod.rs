//! The Linnworks API client: one login per installation (AuthorizeByApplication), the
//! session reused on the returned `Server` and renewed once on 401, and typed calls for
//! the endpoints the integration uses. No business rules: callers decide what to send.
//!
//! Field names follow Linnworks' OpenAPI files exactly (see `model`); timeouts and
//! retries are the shared `crate::remote` policy; errors carry the HTTP status and the
//! remote `Message`, never the application secret, the installation token or the session.

mod calls;
mod client;
pub mod model;
mod serde_util;

pub use client::{Credentials, LinnworksClient, SERVICE, Session};
pub use model::*;

/// Linnworks' published per-minute limits for the calls the integration makes (from the
/// spec). The client paces itself to them; the simulator enforces them.
pub const PUBLISHED_RATE_LIMITS: &[(&str, u32)] = &[
    ("Auth/AuthorizeByApplication", 150),
    ("Orders/GetOpenOrders", 250),
    ("Orders/GetOrdersById", 250),
    ("Orders/GetOrderPackagingCalculation", 150),
    ("Orders/SetOrderShippingInfo", 250),
    ("Orders/SetOrderGeneralInfo", 250),
    ("Orders/AddOrdersNote", 150),
    ("Orders/AddExtendedProperties", 150),
    ("Orders/SetExtendedProperties", 250),
    ("Orders/ProcessOrder", 250),
    ("OpenOrders/GetIdentifiers", 150),
    ("OpenOrders/SaveIdentifier", 150),
    ("OpenOrders/AssignOrderIdentifier", 250),
    ("OpenOrders/UnassignOrderIdentifier", 250),
    ("PostalServices/GetPostalServices", 150),
    ("Inventory/GetStockLocations", 150),
    ("PostalServices/CreatePostalService", 150),
    ("PostalServices/UpdatePostalService", 150),
];

/// Linnworks' public API host, where AuthorizeByApplication is called.
pub const DEFAULT_API_BASE_URL: &str = "https://api.linnworks.net";
