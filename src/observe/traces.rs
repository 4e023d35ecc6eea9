//! OTLP/HTTP export of the spans the logs already carry (`job`, `order`, `request`), on
//! only when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set:
//! otherwise no layer, no thread, no cost.
//!
//! Written here rather than with the opentelemetry crates: their HTTP exporter either pulls
//! in tonic or a second reqwest (see docs/observability.md). Spans go out in OTLP's JSON
//! encoding (`application/json` on `/v1/traces`, which OTLP/HTTP receivers accept), in
//! batches, from one thread with the process's reqwest client.
//!
//! Standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended),
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), `OTEL_EXPORTER_OTLP_HEADERS` and
//! `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`key=value,...`), `OTEL_EXPORTER_OTLP_TIMEOUT` and
//! `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (ms), `OTEL_SERVICE_NAME`, `OTEL_BSP_SCHEDULE_DELAY`
//! (ms), `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_SDK_DISABLED`.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, warn};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Spans sent in one request at most.
const MAX_BATCH: usize = 512;

/// Where and how to export, from the standard variables; `None`: export is off.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    pub url: String,
    /// Header names and values: values may be credentials and are never logged.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub service_name: String,
    pub schedule_delay: Duration,
    pub max_queue: usize,
}

impl OtlpConfig {
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<OtlpConfig> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return None;
        }
        let url = match (
            set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            set("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(url), _) => url,
            (None, Some(base)) => format!("{}/v1/traces", base.trim_end_matches('/')),
            (None, None) => return None,
        };
        let mut headers = Vec::new();
        for name in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            for pair in set(name).unwrap_or_default().split(',') {
                if let Some((k, v)) = pair.split_once('=') {
                    let v = percent_decode(v.trim());
                    headers
                        .retain(|(old, _): &(String, String)| !old.eq_ignore_ascii_case(k.trim()));
                    headers.push((k.trim().to_string(), v));
                }
            }
        }
        let millis = |name: &str, default: u64| {
            set(name)
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_millis)
                .unwrap_or(Duration::from_millis(default))
        };
        let timeout = set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(10));
        Some(OtlpConfig {
            url,
            headers,
            timeout,
            service_name: set("OTEL_SERVICE_NAME").unwrap_or_else(|| "linnstream".into()),
            schedule_delay: millis("OTEL_BSP_SCHEDULE_DELAY", 5000),
            max_queue: set("OTEL_BSP_MAX_QUEUE_SIZE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(2048),
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A span being recorded (kept in the span's extensions).
struct Open {
    trace_id: u128,
    span_id: u64,
    parent: Option<u64>,
    start: SystemTime,
    attributes: Vec<(String, String)>,
}

/// A closed span, on its way to the exporter thread.
struct Closed {
    open: Open,
    name: &'static str,
    end: SystemTime,
}

enum Message {
    Span(Box<Closed>),
    /// Send what is queued, then answer.
    Flush(SyncSender<()>),
}

struct Attrs<'a>(&'a mut Vec<(String, String)>);

impl Visit for Attrs<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

/// The layer that hands closed spans to the exporter thread; a full queue drops spans
/// rather than slow the process.
pub struct OtlpLayer {
    tx: SyncSender<Message>,
}

static FLUSH: Mutex<Option<SyncSender<Message>>> = Mutex::new(None);

/// The layer and its exporter thread, when the variables ask for export.
pub fn layer(process: &str) -> Option<OtlpLayer> {
    let config = OtlpConfig::from_env(|n| std::env::var(n).ok())?;
    let (tx, rx) = sync_channel(config.max_queue);
    let process = process.to_string();
    let spawned = std::thread::Builder::new()
        .name("otlp-export".into())
        .spawn(move || export_loop(config, process, rx));
    if spawned.is_err() {
        return None;
    }
    if let Ok(mut f) = FLUSH.lock() {
        *f = Some(tx.clone());
    }
    Some(OtlpLayer { tx })
}

/// Sends the spans still queued (at exit), waiting at most `wait`.
pub fn flush(wait: Duration) {
    let tx = FLUSH.lock().ok().and_then(|f| f.clone());
    if let Some(tx) = tx {
        let (done_tx, done_rx) = sync_channel(1);
        if tx.send(Message::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(wait);
        }
    }
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent().and_then(|p| {
            p.extensions()
                .get::<Open>()
                .map(|o| (o.trace_id, o.span_id))
        });
        let (trace_id, parent) = match parent {
            Some((trace, span)) => (trace, Some(span)),
            None => (rand::random::<u128>().max(1), None),
        };
        let mut open = Open {
            trace_id,
            span_id: rand::random::<u64>().max(1),
            parent,
            start: SystemTime::now(),
            attributes: Vec::new(),
        };
        attrs.record(&mut Attrs(&mut open.attributes));
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(open) = span.extensions_mut().get_mut::<Open>()
        {
            values.record(&mut Attrs(&mut open.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else {
            return;
        };
        let closed = Closed {
            open,
            name: span.metadata().name(),
            end: SystemTime::now(),
        };
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Message::Span(Box::new(closed))) {
            // Dropped: the collector is slower than the process; the logs still have it.
        }
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().to_string())
        .unwrap_or_else(|_| "0".into())
}

/// One batch in OTLP's JSON encoding.
fn encode(service: &str, process: &str, spans: &[Closed]) -> Value {
    let string = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let spans: Vec<Value> = spans
        .iter()
        .map(|c| {
            let mut span = json!({
                "traceId": format!("{:032x}", c.open.trace_id),
                "spanId": format!("{:016x}", c.open.span_id),
                "name": c.name,
                // SERVER for HTTP requests served, INTERNAL for the rest.
                "kind": if c.name == "request" { 2 } else { 1 },
                "startTimeUnixNano": nanos(c.open.start),
                "endTimeUnixNano": nanos(c.end),
                "attributes": c.open.attributes.iter().map(|(k, v)| string(k, v)).collect::<Vec<_>>(),
            });
            if let Some(parent) = c.open.parent {
                span["parentSpanId"] = json!(format!("{parent:016x}"));
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            string("service.name", service),
            string("service.version", env!("CARGO_PKG_VERSION")),
            string("linnstream.process", process),
        ]},
        "scopeSpans": [{
            "scope": {"name": "linnstream", "version": env!("CARGO_PKG_VERSION")},
            "spans": spans,
        }],
    }]})
}

fn export_loop(config: OtlpConfig, process: String, rx: Receiver<Message>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    // The client needs the runtime's reactor from its creation on.
    let _entered = runtime.enter();
    let Ok(client) = reqwest::Client::builder().timeout(config.timeout).build() else {
        return;
    };
    let send = |batch: &mut Vec<Closed>| {
        if batch.is_empty() {
            return;
        }
        let body = encode(&config.service_name, &process, batch);
        batch.clear();
        let mut request = client.post(&config.url).json(&body);
        for (k, v) in &config.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        match runtime.block_on(request.send()) {
            Ok(r) if r.status().is_success() => {}
            // Said without the headers (they may hold credentials).
            Ok(r) => {
                warn!(url = %config.url, status = r.status().as_u16(), "the OTLP receiver refused spans")
            }
            Err(e) => warn!(url = %config.url, "could not export spans: {}", e.without_url()),
        }
    };
    let mut batch: Vec<Closed> = Vec::new();
    let mut due = Instant::now() + config.schedule_delay;
    loop {
        let wait = due.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                if batch.len() >= MAX_BATCH {
                    send(&mut batch);
                }
            }
            Ok(Message::Flush(done)) => {
                while let Ok(Message::Span(span)) = rx.try_recv() {
                    batch.push(*span);
                }
                send(&mut batch);
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => {
                send(&mut batch);
                due = Instant::now() + config.schedule_delay;
            }
            Err(RecvTimeoutError::Disconnected) => {
                send(&mut batch);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    }

    #[test]
    fn off_unless_an_endpoint_is_set() {
        assert_eq!(OtlpConfig::from_env(env(&[])), None);
        assert_eq!(
            OtlpConfig::from_env(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])),
            None
        );
        assert_eq!(
            OtlpConfig::from_env(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ])),
            None
        );
    }

    #[test]
    fn the_standard_variables_are_read() {
        let c = OtlpConfig::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db,x-tenant=shop"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Tenant=ops"),
            ("OTEL_SERVICE_NAME", "linnstream-prod"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"),
        ]))
        .expect("on");
        assert_eq!(c.url, "http://collector:4318/v1/traces");
        assert_eq!(
            c.headers,
            [
                ("api-key".to_string(), "a=b".to_string()),
                ("X-Tenant".to_string(), "ops".to_string())
            ]
        );
        assert_eq!(c.service_name, "linnstream-prod");
        assert_eq!(c.schedule_delay, Duration::from_millis(250));
        assert_eq!(c.timeout, Duration::from_secs(3));
        let c = OtlpConfig::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/traces"),
        ]))
        .expect("on");
        assert_eq!(c.url, "http://b:9999/traces");
    }
}
