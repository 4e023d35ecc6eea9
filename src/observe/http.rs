//! Request ids and request logging for every HTTP listener: an incoming `X-Request-Id`
//! is kept (so a caller's id follows the request through), otherwise one is made; it is
//! sent back in the reply and carried by the `request` span, so every log line the
//! request causes names it. Only the path is logged: query strings and bodies may hold
//! tokens. A reply of 400 or more is logged at info (a refusal is worth seeing); the rest
//! at debug, so probes and scrapes do not fill the log.

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
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<axum::body::Body>| {
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
                })
                .on_response(
                    |res: &axum::http::Response<axum::body::Body>,
                     took: std::time::Duration,
                     _: &tracing::Span| {
                        let status = res.status().as_u16();
                        let ms = took.as_millis() as u64;
                        if status >= 400 {
                            tracing::info!(status, took_ms = ms, "answered {status}");
                        } else {
                            tracing::debug!(status, took_ms = ms, "answered {status}");
                        }
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}
