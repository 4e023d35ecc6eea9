//! What every handler shares: the engine, and request plumbing (parse, then authorise).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::config::InstallationConfig;
use crate::server::errors::{RETRY_AFTER_SECONDS, StoreFailure};
use crate::server::refusals::RefusalLog;
use crate::store::{Order, StoreError};
use crate::sync::Engine;
use crate::sync::job_error::JobError;

use super::contract::{
    AuthorizationToken, CancelLabelRequest, ConfigDeletedRequest, CreateManifestRequest,
    ExtendedPropertyMappingRequest, GenerateLabelRequest, PrintManifestRequest,
    UpdateConfigRequest, UserAvailableServicesRequest, UserConfigRequest, Validate, parse_request,
};

/// Who the audit log names for work Linnworks asked for.
pub const ACTOR: &str = "linnworks";

/// How long a tracking number confirmed present in Linnworks is not checked again, so that
/// reprints do not spend Linnworks' per-minute call allowance.
const TRACKING_CHECK_TTL: Duration = Duration::from_secs(10 * 60);
/// Entries kept before the oldest are dropped.
const TRACKING_CHECK_MAX: usize = 10_000;

/// The reply to an unknown token. It says nothing of which tokens exist.
pub const UNKNOWN_TOKEN: &str = "AuthorizationToken is not recognised: no installation of this \
    integration has this token. Check the token entered in Linnworks against the Installation's \
    spec.shippingIntegration.authorizationToken Secret";

#[derive(Clone)]
pub struct Gateway {
    pub engine: Engine,
    refusals: RefusalLog,
    /// (installation, order id) -> when its tracking number was last confirmed in Linnworks.
    tracking_checked: Arc<Mutex<HashMap<(String, String), Instant>>>,
}

/// A request type that carries the integration's token.
pub trait Authorised {
    fn token(&self) -> &AuthorizationToken;
}

macro_rules! authorised {
    ($($request:ty),* $(,)?) => {$(
        impl Authorised for $request {
            fn token(&self) -> &AuthorizationToken {
                &self.authorization_token
            }
        }
    )*};
}

authorised!(
    UserConfigRequest,
    UpdateConfigRequest,
    ConfigDeletedRequest,
    UserAvailableServicesRequest,
    ExtendedPropertyMappingRequest,
    GenerateLabelRequest,
    CancelLabelRequest,
    CreateManifestRequest,
    PrintManifestRequest,
);

impl Gateway {
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            refusals: RefusalLog::new("shipping-integration"),
            tracking_checked: Arc::default(),
        }
    }

    /// Parses and validates the body, then finds the installation whose token it carries.
    /// The error is the reply's `ErrorMessage`: the field at fault, or the unknown token.
    pub fn authorise<T>(&self, body: &[u8]) -> Result<(T, InstallationConfig), String>
    where
        T: DeserializeOwned + Validate + Authorised,
    {
        let request: T = parse_request(body).map_err(|e| e.to_string())?;
        let (installation, any_active) = {
            let config = self.engine.config();
            let snapshot = config.borrow();
            (
                snapshot.by_gateway_token(request.token().expose()).cloned(),
                snapshot.installations.values().any(|i| !i.spec.suspend),
            )
        };
        match installation {
            Some(inst) => Ok((request, inst)),
            // Nothing is served at all: the guide's error says so, rather than blaming
            // the token.
            None if !any_active => {
                self.refusals
                    .refused("a call while no installation is active");
                Err(crate::sync::validation::ValidationError::NoActiveInstallations.to_string())
            }
            None => {
                self.refusals.refused("an unknown AuthorizationToken");
                Err(UNKNOWN_TOKEN.to_string())
            }
        }
    }

    /// Whether the tracking number of this order was confirmed in Linnworks recently.
    pub fn tracking_recently_checked(&self, installation: &str, order_id: &str) -> bool {
        let checked = self
            .tracking_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        checked
            .get(&(installation.to_string(), order_id.to_string()))
            .is_some_and(|at| at.elapsed() < TRACKING_CHECK_TTL)
    }

    pub fn tracking_checked(&self, installation: &str, order_id: &str) {
        let mut checked = self
            .tracking_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if checked.len() >= TRACKING_CHECK_MAX {
            checked.retain(|_, at| at.elapsed() < TRACKING_CHECK_TTL);
            if checked.len() >= TRACKING_CHECK_MAX {
                checked.clear();
            }
        }
        checked.insert(
            (installation.to_string(), order_id.to_string()),
            Instant::now(),
        );
    }
}

/// Which reading of an order's name to try first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    /// An `OrderReference`: the Linnworks reference number first.
    Reference,
    /// An `OrderId`: the order number or Linnworks id first.
    Number,
}

/// The queued order a Linnworks call names by a string. The contract's pages do not pin down
/// whether it is the reference number, the order number or the order id (*inferred*), so each
/// is tried, in the order `prefer` says.
pub async fn find_order(
    gw: &Gateway,
    inst: &InstallationConfig,
    name: &str,
    prefer: Prefer,
) -> Result<Option<Order>, StoreError> {
    let store = gw.engine.store();
    let installation = inst.key.id();
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let by_reference = || store.order_by_reference(&installation, name);
    if prefer == Prefer::Reference
        && let Some(order) = by_reference().await?
    {
        return Ok(Some(order));
    }
    if let Ok(num) = name.parse::<i64>()
        && let Some(order) = store.order_by_num_order_id(&installation, num).await?
    {
        return Ok(Some(order));
    }
    let id = uuid::Uuid::parse_str(name).map_or_else(|_| name.to_string(), |u| u.to_string());
    if let Some(order) = store.order(&installation, &id).await? {
        return Ok(Some(order));
    }
    if prefer == Prefer::Number {
        return by_reference().await;
    }
    Ok(None)
}

tokio::task_local! {
    /// The worst store failure met while answering the current call, so that
    /// [`answer_store_failures`] can give the reply the HTTP status its class needs.
    static STORE_FAILURE: std::cell::Cell<Option<StoreFailure>>;
}

/// The reply's `ErrorMessage` for a store failure: its class, never the driver's text (which
/// is logged). Marks the call so a database outage is answered 503 with `Retry-After`.
pub fn store_error(e: &StoreError) -> String {
    let class = StoreFailure::of(e);
    tracing::error!("shipping-integration call: store error: {e}");
    let _ = STORE_FAILURE.try_with(|f| {
        if f.get() != Some(StoreFailure::Unavailable) {
            f.set(Some(class));
        }
    });
    class.message().to_string()
}

/// [`store_error`] for a store failure inside a job; other failures as they are.
pub fn job_error(e: &JobError) -> String {
    match e {
        JobError::Store(s) => store_error(s),
        other => other.to_string(),
    }
}

/// Middleware: a call that met the database unavailable is answered 503 with
/// `Retry-After` (the contract's JSON body stays), so Linnworks or a proxy retries it.
pub async fn answer_store_failures(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (mut response, failure) = STORE_FAILURE
        .scope(std::cell::Cell::new(None), async {
            let response = next.run(req).await;
            (response, STORE_FAILURE.with(|f| f.get()))
        })
        .await;
    if failure == Some(StoreFailure::Unavailable) {
        *response.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
        );
    }
    response
}
