//! What a platform team sees of the real processes during a sync against the simulators:
//! `/metrics` of `linnstream run` and `linnstream gateway` read with a Prometheus parser
//! (prometheus-parse, independent of the encoder) and compared with what the sync did (a
//! validation failure, a 429 from Stream, a webhook); JSON and text logs written to files
//! (no escape codes; one order's correlation id across fetch, send and write-back; the
//! request id of an HTTP call); `/readyz` while PostgreSQL refuses connections and after.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linnstream::config::load_dir;
use linnstream::domain::InstallationKey;
use linnstream::server::derive_token;
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use serde_json::{Value, json};

use crate::support::db;

const WEBHOOK_SECRET: &str = "observability-test-secret-of-at-least-32-bytes";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills the process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], log: &Path, format: &str) -> Running {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(args)
        .args(["--log-format", format])
        .env("LINNSTREAM_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start linnstream");
    Running(child)
}

/// One scrape of `/metrics`, parsed.
async fn scrape(base: &str) -> prometheus_parse::Scrape {
    let reply = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("/metrics answers");
    assert_eq!(reply.status().as_u16(), 200);
    let content_type = reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.contains("text"), "{content_type}");
    let text = reply.text().await.expect("body");
    assert!(
        text.trim_end().ends_with("# EOF"),
        "an OpenMetrics exposition"
    );
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("the exposition parses")
}

/// The sum of the samples named `metric` whose labels include `labels`; `None` when there
/// is no such sample.
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for s in scrape.samples.iter().filter(|s| s.metric == metric) {
        if labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)) {
            let v = match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(_) => continue,
            };
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

fn at_least(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, metric, labels).unwrap_or(0.0)
}

/// Scrapes until `done` holds (or fails after `secs`), returning the last scrape.
async fn scrape_until(
    base: &str,
    secs: u64,
    what: &str,
    log: &Path,
    done: impl Fn(&prometheus_parse::Scrape) -> bool,
) -> prometheus_parse::Scrape {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/metrics")).await
            && r.status().is_success()
        {
            let s = scrape(base).await;
            if done(&s) {
                return s;
            }
            if Instant::now() > deadline {
                let text = reqwest::get(format!("{base}/metrics"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                panic!(
                    "{what}: not within {secs} s\n{text}\nlog:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        } else if Instant::now() > deadline {
            panic!(
                "{what}: /metrics never answered\nlog:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn stream_fault(world: &World, fault: Value) {
    let reply = reqwest::Client::new()
        .post(format!("{}/_sim/faults", world.stream_server.url()))
        .json(&fault)
        .send()
        .await
        .expect("sim");
    assert!(reply.status().is_success(), "{fault}");
}

const INST: [(&str, &str); 2] = [("namespace", NAMESPACE), ("installation", NAME)];

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut l = INST.to_vec();
    l.extend_from_slice(extra);
    l
}

/// Every line of a JSON log, parsed; the log holds no escape codes.
fn json_lines(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).expect("log");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file:\n{text}"
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A field of a JSON log line: on the event, else on the innermost span that has it.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    if let Some(v) = line[name].as_str() {
        return Some(v);
    }
    line["spans"]
        .as_array()?
        .iter()
        .rev()
        .find_map(|s| s[name].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exports_metrics_and_json_logs_that_follow_the_sync() {
    let world = World::start().await.expect("simulators");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(
            &resources,
            &WorldSettings {
                public_base_url: Some(base.clone()),
                ..WorldSettings::default()
            },
        )
        .expect("resources");
    let mut bad_address = order(5004, NEXT_DAY);
    bad_address["customer"]["postCode"] = json!("");
    bad_address["customer"]["town"] = json!("");
    world
        .add_orders(vec![
            order(5001, NEXT_DAY),
            order(5002, NEXT_DAY),
            order(5003, NEXT_DAY),
            bad_address,
        ])
        .expect("orders");
    // Stream refuses the first order create with a 429; the client waits and retries.
    stream_fault(
        &world,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "rateLimited",
               "retryAfterSeconds": 1, "times": 1}),
    )
    .await;
    let log = dir.path().join("run.log");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());
    let listen = format!("127.0.0.1:{port}");
    let resources_arg = resources.to_str().expect("path");
    let _run = spawn(
        &[
            "run",
            "-f",
            resources_arg,
            "--database-url",
            &database,
            "--listen",
            &listen,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        &log,
        "json",
    );

    // The sync: three orders reach Stream, one fails validation, one create met a 429.
    let m = scrape_until(&base, 90, "three orders Completed", &log, |m| {
        at_least(
            m,
            "linnstream_order_transitions_total",
            &with(&[("status", "Completed")]),
        ) >= 3.0
            && at_least(
                m,
                "linnstream_queue_orders",
                &with(&[("status", "Completed")]),
            ) >= 3.0
    })
    .await;
    assert_eq!(
        value(
            &m,
            "linnstream_build_info",
            &[("process", "run"), ("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_order_transitions_total",
            &with(&[("status", "Pending")])
        ),
        Some(4.0),
        "four orders fetched"
    );
    assert_eq!(
        value(
            &m,
            "linnstream_order_transitions_total",
            &with(&[("status", "ValidationFailed")])
        ),
        Some(1.0),
        "the order without an address"
    );
    assert_eq!(
        value(
            &m,
            "linnstream_queue_orders",
            &with(&[("status", "ValidationFailed")])
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_order_transitions_total",
            &with(&[("status", "Failed")])
        ),
        None,
        "the 429 was retried, not failed"
    );
    assert_eq!(
        value(
            &m,
            "linnstream_sends_total",
            &with(&[("outcome", "completed")])
        ),
        Some(3.0)
    );
    let stream_429 = [
        ("service", "stream"),
        ("endpoint", "orders/create"),
        ("status_class", "4xx"),
    ];
    assert_eq!(
        value(&m, "linnstream_remote_requests_total", &with(&stream_429)),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_remote_requests_total",
            &with(&[
                ("service", "stream"),
                ("endpoint", "orders/create"),
                ("status_class", "2xx")
            ])
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_remote_rate_limited_total",
            &with(&[("service", "stream")])
        ),
        Some(1.0)
    );
    assert!(
        at_least(
            &m,
            "linnstream_remote_retries_total",
            &with(&[("service", "stream")])
        ) >= 1.0
    );
    assert!(
        at_least(
            &m,
            "linnstream_remote_requests_total",
            &with(&[
                ("service", "linnworks"),
                ("endpoint", "Orders/GetOpenOrders"),
                ("status_class", "2xx")
            ])
        ) >= 1.0
    );
    // The latency histogram saw every create (the 429 too).
    assert!(
        at_least(
            &m,
            "linnstream_remote_request_duration_seconds_count",
            &[("service", "stream"), ("endpoint", "orders/create")]
        ) >= 4.0
    );
    assert!(
        at_least(
            &m,
            "linnstream_job_runs_total",
            &with(&[("job", "fetch-orders"), ("outcome", "succeeded")])
        ) >= 1.0
    );
    let last_fetch = value(
        &m,
        "linnstream_job_last_success_timestamp_seconds",
        &with(&[("job", "fetch-orders")]),
    )
    .expect("last fetch success");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!((now - last_fetch).abs() < 120.0, "{last_fetch} vs {now}");
    // Master data was never synced, so `run` synced it at start.
    for kind in ["Identifiers", "Depots"] {
        let at = value(
            &m,
            "linnstream_master_data_last_sync_timestamp_seconds",
            &with(&[("kind", kind)]),
        )
        .unwrap_or_else(|| panic!("{kind} synced"));
        assert!((now - at).abs() < 120.0);
    }
    let beat = value(
        &m,
        "linnstream_worker_last_heartbeat_timestamp_seconds",
        &INST,
    )
    .expect("heartbeat");
    assert!((now - beat).abs() < 60.0);

    // Webhooks: one refused (a wrong token), one delivered by Stream, applied by the job.
    let http = reqwest::Client::new();
    let key = InstallationKey::new(NAMESPACE, NAME);
    let refused = http
        .post(format!("{base}/webhooks/{NAMESPACE}/{NAME}"))
        .header("Authorization", "not-the-token")
        .header("X-Request-Id", "obs-test-request-1")
        .json(&json!({}))
        .send()
        .await
        .expect("receiver");
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(refused.headers()["x-request-id"], "obs-test-request-1");
    let stream_orders: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let first = stream_orders["orders"][0]["orderNo"]
        .as_str()
        .expect("an order in Stream")
        .to_string();
    let delivered = http
        .post(format!("{}/_sim/events", world.stream_server.url()))
        .json(&json!({"action": "deliver", "orderNo": first}))
        .send()
        .await
        .expect("sim");
    assert!(delivered.status().is_success());
    let m = scrape_until(&base, 60, "the webhook received and processed", &log, |m| {
        at_least(m, "linnstream_webhook_events_received_total", &INST) >= 1.0
            && at_least(m, "linnstream_webhook_events_processed_total", &INST) >= 1.0
    })
    .await;
    assert_eq!(
        value(
            &m,
            "linnstream_webhook_requests_refused_total",
            &with(&[("reason", "unauthorized")])
        ),
        Some(1.0)
    );
    // Stream's retries of an acknowledged event would be duplicates; none were needed.
    assert_eq!(
        value(&m, "linnstream_webhook_events_duplicate_total", &INST),
        None
    );
    // The same event once more, as Stream would after a lost acknowledgement.
    let token = derive_token(WEBHOOK_SECRET.as_bytes(), &key);
    let inbox: Value = reqwest::get(format!("{}/_sim/webhooks", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let body = find_delivered_body(&inbox).expect("the delivered notification");
    let again = http
        .post(format!("{base}/webhooks/{NAMESPACE}/{NAME}"))
        .header("Authorization", token)
        .json(&body)
        .send()
        .await
        .expect("receiver");
    assert_eq!(again.status().as_u16(), 200);
    let m = scrape(&base).await;
    assert_eq!(
        value(&m, "linnstream_webhook_events_duplicate_total", &INST),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "linnstream_webhook_events_received_total", &INST),
        Some(1.0)
    );

    // Health.
    for path in ["/healthz", "/readyz"] {
        let r = reqwest::get(format!("{base}{path}")).await.expect(path);
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }

    // The log: JSON lines without escape codes; one order followed by its correlation id.
    let lines = json_lines(&log);
    let written: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("write-back:"))
        })
        .collect();
    assert!(!written.is_empty(), "no write-back line");
    let mut followed = 0;
    for w in written {
        let order_id = field(w, "order_id").expect("order_id");
        let correlation = field(w, "correlation_id").expect("correlation_id");
        let of_order: Vec<&Value> = lines
            .iter()
            .filter(|l| field(l, "order_id") == Some(order_id))
            .collect();
        let stage = |prefix: &str| {
            of_order
                .iter()
                .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
                .map(|l| field(l, "correlation_id"))
                .collect::<Vec<_>>()
        };
        let (fetched, sent) = (stage("fetch:"), stage("send:"));
        assert!(
            !fetched.is_empty() && !sent.is_empty(),
            "{order_id}: {of_order:?}"
        );
        assert!(
            sent.iter().all(|c| *c == Some(correlation)),
            "{order_id}: {sent:?}"
        );
        if fetched[0] == Some(correlation) {
            followed += 1;
            // And the installation and job on the way.
            assert!(
                of_order
                    .iter()
                    .all(|l| field(l, "installation") == Some(NAME))
            );
        }
    }
    assert!(
        followed >= 1,
        "no order carried its fetch's correlation id to its write-back"
    );
    let request = lines
        .iter()
        .find(|l| field(l, "request_id") == Some("obs-test-request-1"))
        .expect("a line of the refused webhook request carries its request id");
    assert_eq!(field(request, "path"), Some("/webhooks/default/acme"));
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains(WEBHOOK_SECRET) && !text.contains("not-the-token"));
}

/// The body of the first notification the Stream simulator delivered.
fn find_delivered_body(deliveries: &Value) -> Option<Value> {
    let list = deliveries
        .get("webhooks")
        .or_else(|| deliveries.get("deliveries"))
        .and_then(Value::as_array)?;
    list.iter().find_map(|d| {
        let body = d.get("body")?;
        match body {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(other.clone()),
        }
    })
}

/// The AuthorizationToken of the example installation.
fn gateway_token(resources: &Path) -> String {
    load_dir(resources)
        .expect("resources load")
        .installations
        .values()
        .next()
        .and_then(|i| i.credentials.gateway_token.clone())
        .expect("a gateway token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_exports_label_metrics_and_logs_text_without_escape_codes() {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    world
        .add_orders(vec![order(6001, NEXT_DAY)])
        .expect("order");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("gateway.log");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());
    let listen = format!("127.0.0.1:{port}");
    let _gateway = spawn(
        &[
            "gateway",
            "-f",
            resources.to_str().expect("path"),
            "--database-url",
            &database,
            "--listen",
            &listen,
        ],
        &log,
        "text",
    );
    let m = scrape_until(&base, 60, "the gateway serving", &log, |_| true).await;
    assert_eq!(
        value(&m, "linnstream_build_info", &[("process", "gateway")]),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "linnstream_label_render_duration_seconds_count", &[]),
        None,
        "nothing rendered yet"
    );

    // Linnworks asks for a label of an order not yet synced: the gateway sends and labels it.
    let snapshot = load_dir(&resources).expect("resources");
    let inst = snapshot
        .installations
        .values()
        .next()
        .expect("installation");
    let mapping = inst.mapping_for(None, Some(NEXT_DAY)).expect("mapping");
    let request = json!({
        "AuthorizationToken": gateway_token(&resources),
        "Name": "Customer 6001", "AddressLine1": "6001 High Street",
        "Town": "Leeds", "CountryCode": "GB", "Postalcode": "LS6 1AA",
        "OrderId": 6001, "OrderReference": "WEB-6001", "OrderCurrency": "GBP",
        "ServiceId": linnstream::server::gateway::service_id(inst, mapping).to_string(),
        "Packages": [{"SequenceNumber": 1, "PackageWeight": 13000}],
    });
    let reply: Value = reqwest::Client::new()
        .post(format!("{base}/api/Consignment/GenerateLabel"))
        .header("X-Request-Id", "label-call-7")
        .json(&request)
        .send()
        .await
        .expect("gateway")
        .json()
        .await
        .expect("json");
    assert_eq!(reply["IsError"], json!(false), "{reply}");
    let m = scrape(&base).await;
    assert_eq!(
        value(
            &m,
            "linnstream_label_render_duration_seconds_count",
            &[("label_type", "Default")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_remote_requests_total",
            &[
                ("service", "stream"),
                ("endpoint", "orders/create"),
                ("status_class", "2xx")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "linnstream_order_transitions_total",
            &with(&[("status", "Completed")])
        ),
        Some(1.0)
    );
    for path in ["/healthz", "/readyz"] {
        let r = reqwest::get(format!("{base}{path}")).await.expect(path);
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in the text log:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("label-call-7") && l.contains("/api/Consignment/GenerateLabel")),
        "the request id in the log:\n{text}"
    );
    assert!(
        !text.contains(&gateway_token(&resources)),
        "a token in the log"
    );
}

/// A TCP forwarder to PostgreSQL that can refuse connections (stop listening and cut
/// the open ones) and accept them again, on the same port.
struct Gate {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gate {
    async fn open(port: u16, target: String) -> Gate {
        let mut gate = Gate {
            port,
            target,
            task: None,
        };
        gate.reopen().await;
        gate
    }

    async fn reopen(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the gate");
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// Dropping the task drops the listener and every forwarded connection.
    async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_while_postgresql_refuses_connections_and_200_after() {
    let pg = db::create_postgres_database().await;
    let url: reqwest::Url = pg.url.parse().expect("url");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let gate_port = free_port();
    let mut gate = Gate::open(gate_port, target).await;
    let mut through = url.clone();
    through.set_host(Some("127.0.0.1")).expect("host");
    through.set_port(Some(gate_port)).expect("port");

    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    let mut processes = Vec::new();
    for kind in ["gateway", "run"] {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            kind,
            "-f",
            resources.to_str().expect("path"),
            "--database-url",
            through.as_str(),
            "--listen",
            &listen,
        ];
        if kind == "run" {
            args.push("--no-master-data");
        }
        let log = dir.path().join(format!("{kind}.log"));
        let child = spawn(&args, &log, "text");
        processes.push((kind, format!("http://127.0.0.1:{port}"), log, child));
    }
    let status = |base: String| async move {
        reqwest::Client::new()
            .get(format!("{base}/readyz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok()
    };
    let wait_for = |want: u16, what: &'static str| {
        let processes = &processes;
        async move {
            for (kind, base, log, _) in processes {
                let deadline = Instant::now() + Duration::from_secs(60);
                loop {
                    if status(base.clone()).await == Some(want) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{kind}: /readyz did not answer {want} {what}\n{}",
                        std::fs::read_to_string(log).unwrap_or_default()
                    );
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    };
    wait_for(200, "with the database up").await;

    gate.close().await;
    wait_for(503, "while PostgreSQL refuses connections").await;
    for (kind, base, _, _) in &processes {
        let r = reqwest::get(format!("{base}/readyz"))
            .await
            .expect("readyz");
        assert_eq!(r.status().as_u16(), 503);
        let body = r.text().await.expect("body");
        assert!(body.contains("database"), "{kind}: {body}");
        assert!(!body.contains(pg.url.as_str()), "{kind}: the URL in {body}");
        // Liveness stays: restarting would not bring the database back.
        let live = reqwest::get(format!("{base}/healthz"))
            .await
            .expect("healthz");
        assert_eq!(live.status().as_u16(), 200, "{kind}");
    }

    gate.reopen().await;
    wait_for(200, "after PostgreSQL accepts connections again").await;
    drop(processes);
    gate.close().await;
}

/// Spans go to an OTLP/HTTP receiver when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: the
/// request span with its request id, and a send job's span with its orders' spans as
/// children in one trace, under the service name and headers the variables give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_over_otlp_http_when_the_endpoint_is_set() {
    use std::sync::{Arc, Mutex};
    type Received = Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>>;
    let received: Received = Arc::default();
    let sink = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push((headers, body));
                    "{}"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    world
        .add_orders(vec![order(9001, NEXT_DAY), order(9002, NEXT_DAY)])
        .expect("orders");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = dir.path().join("run.log");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["run", "-f", resources.to_str().expect("path")])
        .args(["--database-url", &database, "--listen", &listen])
        .env("LINNSTREAM_LOG", "info")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=s3cr%3Dt")
        .env("OTEL_SERVICE_NAME", "linnstream-obs-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start linnstream run");
    let _run = Running(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut asked = false;
    loop {
        if !asked
            && let Ok(r) = reqwest::Client::new()
                .get(format!("{base}/healthz"))
                .header("X-Request-Id", "trace-me-1")
                .send()
                .await
        {
            asked = r.status().is_success();
        }
        let batches = received.lock().unwrap().clone();
        let spans: Vec<(Value, Value)> = batches
            .iter()
            .flat_map(|(_, b)| {
                let resource = b["resourceSpans"][0]["resource"].clone();
                b["resourceSpans"][0]["scopeSpans"][0]["spans"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |s| (resource.clone(), s))
            })
            .collect();
        let attr = |s: &Value, k: &str| {
            s["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["key"] == k))
                .and_then(|x| x["value"]["stringValue"].as_str().map(str::to_string))
        };
        let request = spans.iter().find(|(_, s)| {
            s["name"] == "request" && attr(s, "request_id").as_deref() == Some("trace-me-1")
        });
        let send_jobs: Vec<&Value> = spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s["name"] == "job" && attr(s, "job").as_deref() == Some("send-orders"))
            .collect();
        let orders: Vec<&Value> = spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| {
                s["name"] == "order"
                    && send_jobs
                        .iter()
                        .any(|j| j["spanId"] == s["parentSpanId"] && j["traceId"] == s["traceId"])
            })
            .collect();
        if let Some((resource, request)) = request
            && orders.len() >= 2
        {
            let service = resource["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["key"] == "service.name"))
                .map(|x| x["value"]["stringValue"].clone());
            assert_eq!(service, Some(json!("linnstream-obs-test")));
            assert_eq!(request["traceId"].as_str().map(str::len), Some(32));
            assert_eq!(request["spanId"].as_str().map(str::len), Some(16));
            assert_eq!(attr(request, "path").as_deref(), Some("/healthz"));
            let start: u128 = request["startTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let end: u128 = request["endTimeUnixNano"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(end >= start && start > 0);
            for o in &orders {
                assert!(attr(o, "order_id").is_some_and(|id| !id.is_empty()), "{o}");
            }
            let (headers, _) = &batches[0];
            assert_eq!(headers["x-collector-key"], "s3cr=t");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no request span and send job with its orders' spans exported within 60 s \
             ({} batches)\nlog:\n{}",
            batches.len(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains("s3cr"), "the collector's key in the log");
}
