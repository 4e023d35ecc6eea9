//! Request ids and request logging for every HTTP listener: an incoming `X-Request-Id`
//! is kept (so a caller's id follows the request through), otherwise one is made; it is
//! sent back in the reply and carried by the `request` span, so every log line the
//! request causes names it. Only the path is logged: query strings and bodies may hold
//! tokens.

use axum::Router;
use axum::http::Request;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// `router` with request ids and a span per request.
pub fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    router
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %req.uri().path(),
                    request_id = %id,
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}
