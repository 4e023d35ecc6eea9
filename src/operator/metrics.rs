//! Prometheus metrics of the operator (`prometheus-client`), served with the health checks
//! on the operator's metrics address: `GET /metrics`, `GET /healthz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::QueueCounts;

use crate::domain::OrderStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub controller: String,
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// The resource (`installations`, `deployments`, `leases`, ...; `other` for the rest).
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `namespace/name`.
    pub installation: String,
    pub status: String,
}

pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<ControllerLabels, Counter>,
    pub failures: Family<FailureLabels, Counter>,
    pub durations: Family<ControllerLabels, Histogram>,
    pub queue: Family<QueueLabels, Gauge>,
    /// Requests this process sent to the Kubernetes API (see [`counting_layer`]).
    pub api_requests: Family<RequestLabels, Counter>,
    pub leader: Gauge,
    serving: AtomicBool,
    store: std::sync::OnceLock<crate::store::Store>,
    /// Installations with queue gauges, so gauges of deleted ones can be dropped.
    queued: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("linnstream_operator");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles run, by controller",
            reconciles.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by controller and error kind",
            failures.clone(),
        );
        let durations = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 12))
        });
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took, by controller",
            durations.clone(),
        );
        let queue = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_orders",
            "Orders in the queue of each installation, by status",
            queue.clone(),
        );
        let api_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "api_requests",
            "Requests sent to the Kubernetes API, by verb and resource",
            api_requests.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this process holds the leader lease and reconciles",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            failures,
            durations,
            queue,
            api_requests,
            leader,
            serving: AtomicBool::new(false),
            store: std::sync::OnceLock::new(),
            queued: std::sync::Mutex::new(std::collections::BTreeSet::new()),
        }
    }

    /// Counts a reconcile and times it until the returned guard is dropped.
    pub fn reconcile(&self, controller: &str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels {
            controller: controller.to_string(),
        };
        self.reconciles.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            started: Instant::now(),
        }
    }

    pub fn failure(&self, controller: &str, error: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                controller: controller.to_string(),
                error: error.to_string(),
            })
            .inc();
    }

    pub fn set_queue(&self, installation: &str, counts: &QueueCounts) {
        if let Ok(mut queued) = self.queued.lock() {
            queued.insert(installation.to_string());
        }
        for status in OrderStatus::ALL {
            self.queue
                .get_or_create(&QueueLabels {
                    installation: installation.to_string(),
                    status: status.as_str().to_string(),
                })
                .set(counts.get(*status) as i64);
        }
    }

    /// Drops the gauges of installations `exists` says are gone (deleted without the
    /// operator seeing their last moments).
    pub fn retain_installations(&self, exists: impl Fn(&str) -> bool) {
        let gone: Vec<String> = match self.queued.lock() {
            Ok(queued) => queued.iter().filter(|i| !exists(i)).cloned().collect(),
            Err(_) => return,
        };
        for installation in gone {
            self.forget_installation(&installation);
        }
    }

    pub fn forget_installation(&self, installation: &str) {
        if let Ok(mut queued) = self.queued.lock() {
            queued.remove(installation);
        }
        for status in OrderStatus::ALL {
            self.queue.remove(&QueueLabels {
                installation: installation.to_string(),
                status: status.as_str().to_string(),
            });
        }
    }

    /// Reconciles counted so far, by controller.
    pub fn reconciles_of(&self, controller: &str) -> u64 {
        self.reconciles
            .get_or_create(&ControllerLabels {
                controller: controller.to_string(),
            })
            .get()
    }

    /// The operator's metrics, then the process-wide ones (`linnstream_build_info`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        crate::observe::metrics().encode_registry(&mut out);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }

    /// The store the operator reads status counts from; `/readyz` checks it answers.
    pub fn set_store(&self, store: crate::store::Store) {
        let _ = self.store.set(store);
    }
}

pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    started: Instant,
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .durations
            .get_or_create(&self.labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

/// The resources the operator talks about, for bounded metric labels.
const RESOURCES: [&str; 12] = [
    "installations",
    "postalservicemappings",
    "secrets",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "services",
    "deployments",
    "cronjobs",
    "leases",
    "events",
    "namespaces",
];

/// The verb and resource of a request to the Kubernetes API, from its method and path
/// (`/api/v1/namespaces/NS/secrets/NAME`, `/apis/GROUP/VERSION/RESOURCE?watch=true`, ...).
pub fn classify(method: &str, path: &str, query: Option<&str>) -> RequestLabels {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Past `/api/VERSION` or `/apis/GROUP/VERSION`, and a `namespaces/NS` scope.
    let mut rest: &[&str] = match segments.first() {
        Some(&"api") => segments.get(2..).unwrap_or_default(),
        Some(&"apis") => segments.get(3..).unwrap_or_default(),
        _ => &[],
    };
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        rest = &rest[2..];
    }
    let resource = rest
        .first()
        .filter(|r| RESOURCES.contains(r))
        .map(|r| r.to_string())
        .unwrap_or_else(|| "other".into());
    let named = rest.len() >= 2;
    let watch = query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let verb = match method {
        "GET" if watch => "watch",
        "GET" if named => "get",
        "GET" => "list",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "other",
    };
    RequestLabels {
        verb: verb.into(),
        resource,
    }
}

impl Metrics {
    /// Requests counted for `resource`, or for every resource.
    pub fn api_requests_of(&self, resource: Option<&str>) -> u64 {
        let mut total = 0;
        for verb in [
            "get", "list", "watch", "create", "update", "patch", "delete", "other",
        ] {
            for r in RESOURCES.iter().chain(["other"].iter()) {
                if resource.is_some_and(|want| want != *r) {
                    continue;
                }
                let labels = RequestLabels {
                    verb: verb.into(),
                    resource: (*r).into(),
                };
                if let Some(c) = self.api_requests.get(&labels) {
                    total += c.get();
                }
            }
        }
        total
    }
}

/// A tower layer for the Kubernetes client that counts every request it sends, by verb
/// and resource.
pub fn counting_layer(
    metrics: Arc<Metrics>,
) -> tower::util::MapRequestLayer<
    impl Fn(axum::http::Request<kube::client::Body>) -> axum::http::Request<kube::client::Body> + Clone,
> {
    tower::util::MapRequestLayer::new(move |req: axum::http::Request<kube::client::Body>| {
        let labels = classify(req.method().as_str(), req.uri().path(), req.uri().query());
        metrics.api_requests.get_or_create(&labels).inc();
        req
    })
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

async fn healthz(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.serving.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

/// Ready once serving and, when the store is connected, while the database answers.
async fn readyz(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if !metrics.serving.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n".to_string());
    }
    let readiness = match metrics.store.get() {
        Some(store) => crate::server::health::Readiness::new(store.clone()),
        None => crate::server::health::Readiness::default(),
    };
    let problems = readiness.problems().await;
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n")
    }
}

pub fn router(metrics: Arc<Metrics>) -> Router {
    crate::observe::http::traced(
        Router::new()
            .route("/metrics", get(metrics_handler))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .with_state(metrics),
    )
}

/// Serves `/metrics` and `/healthz` on `addr` until the task is dropped; returns the bound
/// address (useful with port 0).
pub async fn serve(
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    http: &crate::settings::HttpSettings,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    metrics.serving.store(true, Ordering::Relaxed);
    let app = router(metrics);
    let http = http.clone();
    let task = tokio::spawn(async move {
        let forever = std::future::pending::<()>();
        if let Err(e) = crate::server::serve(listener, app, &http, forever).await {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_verb_and_resource() {
        let c = |m, p, q| {
            let l = classify(m, p, q);
            (l.verb, l.resource)
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            c("GET", "/api/v1/namespaces/ns/secrets/db", None),
            s("get", "secrets")
        );
        assert_eq!(
            c(
                "GET",
                "/apis/linnstream.io/v1alpha1/installations",
                Some("watch=true&timeoutSeconds=290")
            ),
            s("watch", "installations")
        );
        assert_eq!(
            c("GET", "/apis/apps/v1/namespaces/ns/deployments", None),
            s("list", "deployments")
        );
        assert_eq!(
            c(
                "PATCH",
                "/apis/linnstream.io/v1alpha1/namespaces/ns/installations/acme/status",
                None
            ),
            s("patch", "installations")
        );
        assert_eq!(
            c(
                "PUT",
                "/apis/coordination.k8s.io/v1/namespaces/ns/leases/op",
                None
            ),
            s("update", "leases")
        );
        assert_eq!(c("GET", "/version", None), s("list", "other"));
    }

    #[test]
    fn the_text_format_has_every_family() {
        let m = Metrics::new();
        m.leader.set(1);
        drop(m.reconcile("installation"));
        m.failure("installation", "kube");
        m.set_queue(
            "shop/acme",
            &QueueCounts {
                pending: 3,
                ..Default::default()
            },
        );
        m.api_requests
            .get_or_create(&classify(
                "GET",
                "/api/v1/namespaces/shop/secrets/acme",
                None,
            ))
            .inc();
        let text = m.encode();
        for line in [
            "linnstream_operator_leader 1",
            "linnstream_operator_reconciles_total{controller=\"installation\"} 1",
            "linnstream_operator_reconcile_failures_total{controller=\"installation\",error=\"kube\"} 1",
            "linnstream_operator_queue_orders{installation=\"shop/acme\",status=\"Pending\"} 3",
            "linnstream_operator_api_requests_total{verb=\"get\",resource=\"secrets\"} 1",
            "linnstream_operator_reconcile_duration_seconds_count{controller=\"installation\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
        assert_eq!(m.reconciles_of("installation"), 1);
        assert_eq!(m.api_requests_of(Some("secrets")), 1);
        assert_eq!(m.api_requests_of(None), 1);
        m.retain_installations(|i| i == "shop/acme");
        assert!(m.encode().contains("shop/acme"));
        m.retain_installations(|_| false);
        assert!(!m.encode().contains("shop/acme"));
    }
}
