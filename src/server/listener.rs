//! Serving a router on a TCP listener with the read timeouts every linnstream listener
//! needs against slow or hostile callers, and reading request bodies with a size limit and
//! a deadline. `axum::serve` has neither: a client that never finishes its headers or body
//! would hold its connection (and a task) open for ever.
//!
//! - Headers: hyper's header-read timeout. hyper starts that clock whenever the
//!   connection waits for a request, so it also closes kept-alive connections left idle
//!   that long between requests (the idle timeout).
//! - Bodies: [`body_limit`], a middleware each surface puts in front of its handlers,
//!   reads the whole body within the body timeout and under the surface's size limit, and
//!   answers a caller that is too slow or too large in the surface's own error shape.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::settings::HttpSettings;

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish (idle connections close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    http: &HttpSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_timeout())
        .keep_alive(true);
    let (closing_tx, closing_rx) = watch::channel(false);
    // Each connection holds a sender; when all are dropped, every connection is closed.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: pause
                    // rather than spin, and keep serving.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let mut closing = closing_rx.clone();
        let open = open_tx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async { let _ = closing.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                log_connection_error(peer, &e);
            }
            drop(open);
        });
    }
    let _ = closing_tx.send(true);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// A timed-out or broken connection is the caller's doing: one debug line, not a warning
/// a stranger could fill the log with.
fn log_connection_error(peer: SocketAddr, e: &hyper::Error) {
    if e.is_timeout() {
        tracing::debug!(%peer, "connection closed: the request headers took too long");
    } else {
        tracing::debug!(%peer, "connection closed: {e}");
    }
}

/// Builds a surface's error reply: status and a message for the caller.
pub type Refuse = fn(StatusCode, String) -> Response;

/// How a surface reads request bodies: at most `limit` bytes, within `timeout`, refusals
/// answered by `refuse` in the surface's own shape.
#[derive(Clone)]
pub struct BodyPolicy {
    pub limit: usize,
    pub timeout: Duration,
    pub refuse: Refuse,
}

/// Reads the whole request body under the policy before the handler runs, so no handler
/// waits on a slow body and none sees more than the limit.
pub async fn body_limit(
    State(policy): State<Arc<BodyPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    // Read up to the limit rather than refused on Content-Length alone: a caller whose body
    // is unread when the connection closes may lose the answer to a reset.
    let (parts, body) = req.into_parts();
    let deadline = tokio::time::Instant::now() + policy.timeout;
    let mut stream = body.into_data_stream();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => {
                return (policy.refuse)(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body was not received within {} s",
                        policy.timeout.as_secs()
                    ),
                );
            }
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                return (policy.refuse)(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read: the connection failed".into(),
                );
            }
            Ok(Some(Ok(chunk))) => {
                if buffer.len() + chunk.len() > policy.limit {
                    return (policy.refuse)(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the request body is larger than {} bytes, the most this endpoint accepts",
                            policy.limit
                        ),
                    );
                }
                buffer.extend_from_slice(&chunk);
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(Bytes::from(buffer))))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        http: HttpSettings,
    }

    #[test]
    fn defaults_are_the_flags_and_ranges_are_enforced() {
        let parsed = Cli::try_parse_from(["x"]).expect("defaults").http;
        assert_eq!(parsed, HttpSettings::default());
        for (flag, lo, hi) in [
            ("--http-header-timeout-seconds", 1, 300),
            ("--http-body-timeout-seconds", 1, 600),
        ] {
            for ok in [lo, hi] {
                assert!(Cli::try_parse_from(["x", flag, &ok.to_string()]).is_ok());
            }
            for bad in [lo - 1, hi + 1] {
                let e = Cli::try_parse_from(["x", flag, &bad.to_string()])
                    .err()
                    .expect("out of range");
                assert!(e.to_string().contains(flag), "{e}");
            }
        }
        for (name, v, lo, hi) in parsed.ranges() {
            assert!((lo..=hi).contains(&v), "{name}");
        }
    }
}
