//! The gateway's HTTP surface: one service for every installation (the token says which),
//! the contract's endpoints at their conventional paths, and its OpenAPI description.
//!
//! Every endpoint is `POST` with a JSON body and answers HTTP 200 with the contract's reply,
//! errors included (`IsError: true` and an `ErrorMessage` naming the field at fault): Linnworks
//! shows the message to the user, which a bare HTTP error status would not give it. Three
//! answers carry an HTTP error status besides the same JSON, because a proxy or client
//! library must act on them: 413 for a body over [`MAX_BODY_BYTES`], 408 for a body slower
//! than the body timeout, and 503 with `Retry-After` while the queue database is unavailable.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};

use crate::server::listener::{BodyPolicy, body_limit};

use crate::sync::Engine;

use super::contract::ErrorReply;
use super::state::{Gateway, answer_store_failures};
use super::{cancel, label, manifest, setup};

/// Largest request body the gateway reads: far above any real call (a GenerateLabel with
/// the most packages allowed is a few tens of kilobytes).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Where the OpenAPI description is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The OpenAPI 3 description of the gateway and of the webhook receiver.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Path and handler of every endpoint; the router is built from this list, so a test can
/// check the list against the OpenAPI description.
fn endpoints() -> Vec<(&'static str, MethodRouter<Gateway>)> {
    vec![
        ("/api/Setup/AddNewUser", post(setup::add_new_user)),
        ("/api/Setup/UserConfig", post(setup::user_config)),
        ("/api/Setup/UpdateConfig", post(setup::update_config)),
        ("/api/Setup/ConfigDeleted", post(setup::config_deleted)),
        (
            "/api/Setup/UserAvailableServices",
            post(setup::user_available_services),
        ),
        (
            "/api/Setup/ExtendedPropertyMapping",
            post(setup::extended_property_mapping),
        ),
        (
            "/api/Consignment/GenerateLabel",
            post(label::generate_label),
        ),
        ("/api/Consignment/CancelLabel", post(cancel::cancel_label)),
        (
            "/api/Manifest/CreateManifest",
            post(manifest::create_manifest),
        ),
        (
            "/api/Manifest/PrintManifest",
            post(manifest::print_manifest),
        ),
        (OPENAPI_PATH, get(openapi)),
    ]
}

/// Every path the gateway router serves.
pub fn gateway_paths() -> Vec<&'static str> {
    endpoints().into_iter().map(|(path, _)| path).collect()
}

/// The shipping-integration endpoints for every installation, and `/openapi.json`.
/// Mount it beside other routers (it has no fallback and no `/healthz`).
pub fn gateway_router(engine: Engine) -> Router {
    let policy = Arc::new(BodyPolicy {
        limit: MAX_BODY_BYTES,
        timeout: engine.settings().http.body_timeout(),
        refuse: contract_refusal,
    });
    let mut router = Router::new();
    for (path, handler) in endpoints() {
        router = router.route(path, handler);
    }
    router
        .layer(from_fn(answer_store_failures))
        .layer(from_fn_with_state(policy, body_limit))
        .with_state(Gateway::new(engine))
}

/// A body refused before parsing, in the contract's error shape.
fn contract_refusal(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorReply::new(message))).into_response()
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> serde_json::Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
    }

    #[test]
    fn every_served_path_is_described_with_its_method() {
        let spec = spec();
        assert_eq!(spec["openapi"], "3.0.3");
        for path in gateway_paths() {
            let method = if path == OPENAPI_PATH { "get" } else { "post" };
            assert!(
                spec["paths"][path][method].is_object(),
                "{method} {path} is served but not in openapi.json"
            );
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let spec = spec();
        let text = OPENAPI_JSON;
        let mut rest = text;
        let mut seen = 0;
        while let Some(at) = rest.find("#/components/schemas/") {
            rest = &rest[at + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(
                spec["components"]["schemas"][&name].is_object(),
                "{name} is referenced but not defined"
            );
            seen += 1;
        }
        assert!(seen > 20);
    }
}
