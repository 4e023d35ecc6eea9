//! The metrics every long-running process exports (`linnstream run`, `worker`, `webhooks`,
//! `gateway`), in one process-wide registry: the code that does the work counts with a
//! one-line call, wherever it runs, and `/metrics` serves whatever this process did.
//! Names follow Prometheus conventions (`linnstream_` prefix, base units, `_total` on
//! counters, `_seconds`); an installation is two labels, `namespace` and `installation`.
//! No label ever carries a credential: only names, statuses, endpoints and reasons.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `namespace` and `installation` of an installation id (`namespace/name`); a bare name
/// has an empty namespace.
pub fn split(installation: &str) -> (String, String) {
    match installation.split_once('/') {
        Some((ns, name)) => (ns.to_string(), name.to_string()),
        None => (String::new(), installation.to_string()),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
    /// `run`, `worker`, `webhooks`, `gateway`, `operator`, ...
    pub process: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstallationLabels {
    pub namespace: String,
    pub installation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub namespace: String,
    pub installation: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub namespace: String,
    pub installation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub namespace: String,
    pub installation: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RemoteLabels {
    pub namespace: String,
    pub installation: String,
    /// `linnworks` or `stream`.
    pub service: String,
    /// The API call, e.g. `Orders/GetOpenOrders` (never an id or a URL with a query).
    pub endpoint: String,
    /// `2xx`, `3xx`, `4xx`, `5xx`, or `error` when no reply arrived (timeout, connection).
    pub status_class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub service: String,
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    pub namespace: String,
    pub installation: String,
    pub service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub namespace: String,
    pub installation: String,
    pub job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobOutcomeLabels {
    pub namespace: String,
    pub installation: String,
    pub job: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub namespace: String,
    pub installation: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LabelTypeLabels {
    pub label_type: String,
}

/// Every metric of the process. Reach it with [`metrics`].
pub struct Metrics {
    registry: Registry,
    /// (name, type) of every family, as exposed: the exposition lists a family only once
    /// it has a sample, the dashboard test needs them all.
    families: Vec<(String, &'static str)>,
    pub build_info: Family<BuildLabels, Gauge>,
    pub order_transitions: Family<StatusLabels, Counter>,
    pub sends: Family<OutcomeLabels, Counter>,
    pub remote_requests: Family<RemoteLabels, Counter>,
    pub remote_duration: Family<EndpointLabels, Histogram>,
    pub remote_rate_limited: Family<ServiceLabels, Counter>,
    pub remote_retries: Family<ServiceLabels, Counter>,
    pub webhooks_received: Family<InstallationLabels, Counter>,
    pub webhooks_duplicate: Family<InstallationLabels, Counter>,
    pub webhooks_refused: Family<ReasonLabels, Counter>,
    pub webhooks_processed: Family<OutcomeLabels, Counter>,
    pub webhook_backlog: Family<InstallationLabels, Gauge>,
    pub label_render: Family<LabelTypeLabels, Histogram>,
    pub queue: Family<StatusLabels, Gauge>,
    pub job_runs: Family<JobOutcomeLabels, Counter>,
    pub job_last_success: Family<JobLabels, Gauge>,
    pub master_data_synced: Family<KindLabels, Gauge>,
    pub worker_heartbeat: Family<InstallationLabels, Gauge>,
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

fn latency_buckets() -> Histogram {
    // 5 ms to about 41 s: remote calls time out at 30 s by default.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    fn new() -> Self {
        let mut r = Registry::with_prefix("linnstream");
        let mut families = Vec::new();
        macro_rules! register {
            ($name:literal, $help:literal, $metric:expr) => {{
                let m = $metric;
                r.register($name, $help, m.clone());
                let kind = prometheus_client::encoding::EncodeMetric::metric_type(&m);
                families.push((format!("linnstream_{}", $name), metric_type_name(kind)));
                m
            }};
        }
        let build_info = register!(
            "build_info",
            "Always 1; the version and process kind as labels",
            Family::<BuildLabels, Gauge>::default()
        );
        let order_transitions = register!(
            "order_transitions",
            "Orders that moved into a status, by the status they moved into",
            Family::<StatusLabels, Counter>::default()
        );
        let sends = register!(
            "sends",
            "Orders sent to Stream, by outcome (completed, failed, validation_failed)",
            Family::<OutcomeLabels, Counter>::default()
        );
        let remote_requests = register!(
            "remote_requests",
            "HTTP requests to Linnworks and Stream, by service, endpoint and status class",
            Family::<RemoteLabels, Counter>::default()
        );
        let remote_duration = register!(
            "remote_request_duration_seconds",
            "Time from sending a request to Linnworks or Stream to its whole reply",
            Family::<EndpointLabels, Histogram>::new_with_constructor(latency_buckets)
        );
        let remote_rate_limited = register!(
            "remote_rate_limited",
            "429 Too Many Requests replies from Linnworks and Stream",
            Family::<ServiceLabels, Counter>::default()
        );
        let remote_retries = register!(
            "remote_retries",
            "Requests to Linnworks and Stream repeated after a transient failure",
            Family::<ServiceLabels, Counter>::default()
        );
        let webhooks_received = register!(
            "webhook_events_received",
            "Stream webhook events accepted and stored",
            Family::<InstallationLabels, Counter>::default()
        );
        let webhooks_duplicate = register!(
            "webhook_events_duplicate",
            "Stream webhook events acknowledged again without storing (already received)",
            Family::<InstallationLabels, Counter>::default()
        );
        let webhooks_refused = register!(
            "webhook_requests_refused",
            "Webhook calls refused, by reason (unauthorized, unknown_installation, invalid, ...)",
            Family::<ReasonLabels, Counter>::default()
        );
        let webhooks_processed = register!(
            "webhook_events_processed",
            "Stream webhook events applied to Linnworks, by outcome (processed, failed)",
            Family::<OutcomeLabels, Counter>::default()
        );
        let webhook_backlog = register!(
            "webhook_events_backlog",
            "Webhook events waiting to be processed (pending or ready for retry), from the store",
            Family::<InstallationLabels, Gauge>::default()
        );
        let label_render = register!(
            "label_render_duration_seconds",
            "Time to render one label call's PNG and PDF, by label type",
            Family::<LabelTypeLabels, Histogram>::new_with_constructor(|| Histogram::new(
                exponential_buckets(0.001, 2.0, 12)
            ))
        );
        let queue = register!(
            "queue_orders",
            "Orders in the queue by status, from the store",
            Family::<StatusLabels, Gauge>::default()
        );
        let job_runs = register!(
            "job_runs",
            "Scheduler job runs, by job and outcome (succeeded, failed)",
            Family::<JobOutcomeLabels, Counter>::default()
        );
        let job_last_success = register!(
            "job_last_success_timestamp_seconds",
            "Unix time of the job's last successful run in this process",
            Family::<JobLabels, Gauge>::default()
        );
        let master_data_synced = register!(
            "master_data_last_sync_timestamp_seconds",
            "Unix time each master data set was last replaced, from the store",
            Family::<KindLabels, Gauge>::default()
        );
        let worker_heartbeat = register!(
            "worker_last_heartbeat_timestamp_seconds",
            "Unix time of the newest heartbeat of the installation's scheduler loops, from the store",
            Family::<InstallationLabels, Gauge>::default()
        );
        Self {
            registry: r,
            families,
            build_info,
            order_transitions,
            sends,
            remote_requests,
            remote_duration,
            remote_rate_limited,
            remote_retries,
            webhooks_received,
            webhooks_duplicate,
            webhooks_refused,
            webhooks_processed,
            webhook_backlog,
            label_render,
            queue,
            job_runs,
            job_last_success,
            master_data_synced,
            worker_heartbeat,
        }
    }

    /// (name, `counter` | `gauge` | `histogram`) of every metric family; sample names add
    /// `_total` to counters and `_bucket`, `_sum`, `_count` to histograms.
    pub fn families(&self) -> &[(String, &'static str)] {
        &self.families
    }

    /// Names this process in `linnstream_build_info`.
    pub fn set_process(&self, process: &str) {
        self.build_info.clear();
        self.build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                process: process.to_string(),
            })
            .set(1);
    }

    /// The registry in the text exposition format, without the closing `# EOF`, so the
    /// operator can serve it after its own.
    pub fn encode_registry(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(out, &self.registry);
    }

    /// The whole exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        self.encode_registry(&mut out);
        let _ = prometheus_client::encoding::text::encode_eof(&mut out);
        out
    }
}

fn metric_type_name(kind: prometheus_client::metrics::MetricType) -> &'static str {
    use prometheus_client::metrics::MetricType;
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        _ => "unknown",
    }
}

fn installation_labels(installation: &str) -> InstallationLabels {
    let (namespace, installation) = split(installation);
    InstallationLabels {
        namespace,
        installation,
    }
}

/// An order of `installation` (`namespace/name`) moved into `status`.
pub fn order_transition(installation: &str, status: crate::domain::OrderStatus) {
    let (namespace, installation) = split(installation);
    metrics()
        .order_transitions
        .get_or_create(&StatusLabels {
            namespace,
            installation,
            status: status_label(status),
        })
        .inc();
}

/// `n` orders of `installation` moved into `status` at once.
pub fn order_transitions(installation: &str, status: crate::domain::OrderStatus, n: u64) {
    if n == 0 {
        return;
    }
    let (namespace, installation) = split(installation);
    metrics()
        .order_transitions
        .get_or_create(&StatusLabels {
            namespace,
            installation,
            status: status_label(status),
        })
        .inc_by(n);
}

/// Status label values: the stored name (`ReadyForRetry`), as the operator's queue gauges.
pub fn status_label(status: crate::domain::OrderStatus) -> String {
    status.as_str().to_string()
}

/// How many orders of one send batch ended each way (`completed`, `failed`,
/// `validation_failed`, `deferred`).
pub fn sends(installation: &str, outcomes: &[(&str, usize)]) {
    let (namespace, installation) = split(installation);
    for &(outcome, n) in outcomes {
        if n > 0 {
            metrics()
                .sends
                .get_or_create(&OutcomeLabels {
                    namespace: namespace.clone(),
                    installation: installation.clone(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n as u64);
        }
    }
}

/// One HTTP exchange with a remote API; `status` is `None` when no reply arrived.
pub fn remote_request(service: &str, endpoint: &str, status: Option<u16>, took: Duration) {
    let m = metrics();
    let (namespace, installation) = super::current_installation();
    let service = service.to_ascii_lowercase();
    let status_class = match status {
        Some(s) => format!("{}xx", s / 100),
        None => "error".to_string(),
    };
    m.remote_requests
        .get_or_create(&RemoteLabels {
            namespace: namespace.clone(),
            installation: installation.clone(),
            service: service.clone(),
            endpoint: endpoint.to_string(),
            status_class,
        })
        .inc();
    m.remote_duration
        .get_or_create(&EndpointLabels {
            service: service.clone(),
            endpoint: endpoint.to_string(),
        })
        .observe(took.as_secs_f64());
    if status == Some(429) {
        m.remote_rate_limited
            .get_or_create(&ServiceLabels {
                namespace,
                installation,
                service,
            })
            .inc();
    }
}

/// A request to `service` is about to be repeated.
pub fn remote_retry(service: &str) {
    let (namespace, installation) = super::current_installation();
    metrics()
        .remote_retries
        .get_or_create(&ServiceLabels {
            namespace,
            installation,
            service: service.to_ascii_lowercase(),
        })
        .inc();
}

/// A webhook event was stored (`duplicate`: it had been already).
pub fn webhook_received(installation: &str, duplicate: bool) {
    let labels = installation_labels(installation);
    let m = metrics();
    if duplicate {
        m.webhooks_duplicate.get_or_create(&labels).inc();
    } else {
        m.webhooks_received.get_or_create(&labels).inc();
    }
}

/// A webhook call was refused; `installation` as the path named it (empty when unknown).
pub fn webhook_refused(installation: &str, reason: &str) {
    let (namespace, installation) = split(installation);
    metrics()
        .webhooks_refused
        .get_or_create(&ReasonLabels {
            namespace,
            installation,
            reason: reason.to_string(),
        })
        .inc();
}

/// A webhook event was applied (`processed`) or failed to be (`failed`).
pub fn webhook_processed(installation: &str, outcome: &str) {
    let (namespace, installation) = split(installation);
    metrics()
        .webhooks_processed
        .get_or_create(&OutcomeLabels {
            namespace,
            installation,
            outcome: outcome.to_string(),
        })
        .inc();
}

/// One label call's rendering took `took`.
pub fn label_rendered(label_type: &str, took: Duration) {
    metrics()
        .label_render
        .get_or_create(&LabelTypeLabels {
            label_type: label_type.to_string(),
        })
        .observe(took.as_secs_f64());
}

/// A scheduler job ended; `succeeded` also stamps its last success.
pub fn job_run(installation: &str, job: &str, succeeded: bool) {
    let (namespace, installation) = split(installation);
    let m = metrics();
    m.job_runs
        .get_or_create(&JobOutcomeLabels {
            namespace: namespace.clone(),
            installation: installation.clone(),
            job: job.to_string(),
            outcome: if succeeded { "succeeded" } else { "failed" }.to_string(),
        })
        .inc();
    if succeeded {
        m.job_last_success
            .get_or_create(&JobLabels {
                namespace,
                installation,
                job: job.to_string(),
            })
            .set(chrono::Utc::now().timestamp());
    }
}

/// Why the receiver refused a call, from its status (the handler answers each reason with
/// its own status, see `server::webhooks`).
pub fn webhook_refusal_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        200..=299 => return None,
        400 => "invalid",
        401 => "unauthorized",
        403 => "wrong_party",
        408 => "timeout",
        409 => "disabled",
        413 => "too_large",
        429 => "rate_limited",
        503 => "unavailable",
        _ => "other",
    })
}

/// Whether an installation id (`namespace/name`) is configured in this process.
pub type KnownInstallation = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Middleware of the webhook receiver (outside its authentication): counts refused calls
/// by reason. The installation comes from the path (`/webhooks/{namespace}/{name}`) and is
/// named only when `known` says it is configured: anyone can call with any name, and
/// made-up paths must not grow the series without bound.
pub async fn count_webhook_refusals(
    axum::extract::State(known): axum::extract::State<KnownInstallation>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let installation = request
        .uri()
        .path()
        .strip_prefix("/webhooks/")
        .unwrap_or("")
        .to_string();
    let response = next.run(request).await;
    if let Some(reason) = webhook_refusal_reason(response.status().as_u16()) {
        let named = if known(&installation) {
            installation.as_str()
        } else {
            ""
        };
        webhook_refused(named, reason);
    }
    response
}
