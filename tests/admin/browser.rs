//! The support dashboard end to end in headless Chromium, against `linnstream run`: this test
//! starts the Linnworks and Stream simulators, runs the `linnstream` binary on settings files
//! pointing at them (a SQLite queue, an admin token), seeds orders through the admin API and
//! job runs in the database, then runs tests/browser/dashboard.mjs (playwright-core driving
//! /usr/bin/chromium), which signs in, filters, resends, is refused a delete, follows a
//! correlation id, sees an overdue job, and writes a screenshot of each view to
//! target/screenshots/.
//! `scripts/test.sh` installs Chromium and playwright-core (`ensure_browser`); without them
//! this test FAILS.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use chrono::{Duration, Utc};
use linnstream::domain::JobOutcome;
use linnstream::store::Store;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness;
use crate::harness::{AdminApi, NAME, NAMESPACE, Sims, TOKEN, write_settings};

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where the screenshots go: LINNSTREAM_SCREENSHOTS, else target/screenshots/ of the checkout.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("LINNSTREAM_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"))
}

fn chromium() -> String {
    std::env::var("LINNSTREAM_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string())
}

/// Fails (never skips) with what to run when the browser tooling is missing.
fn require_browser_tooling() {
    let missing: Vec<String> = [
        (PathBuf::from(chromium()), "Chromium"),
        (
            browser_dir().join("node_modules/playwright-core/package.json"),
            "playwright-core (npm ci in tests/browser)",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !path.exists())
    .map(|(path, what)| format!("{what} at {}", path.display()))
    .collect();
    assert!(
        missing.is_empty(),
        "the dashboard browser test needs {}; run scripts/test.sh (ensure_browser in \
         scripts/lib/services.sh installs them)",
        missing.join(" and ")
    );
}

/// `linnstream run` on a free loopback port, stopped when dropped.
struct RunProcess {
    child: tokio::process::Child,
    base: String,
    log: PathBuf,
}

impl RunProcess {
    async fn start(config: &Path, database_url: &str, log: PathBuf) -> RunProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
            .arg("run")
            .arg("-f")
            .arg(config)
            .args([
                "--database-url",
                database_url,
                "--listen",
                &listen,
                "--no-master-data",
            ])
            .env("LINNSTREAM_ADMIN_TOKEN", TOKEN)
            .env("LINNSTREAM_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start linnstream run");
        let mut run = RunProcess {
            child,
            base: format!("http://{listen}"),
            log,
        };
        run.wait_until_serving().await;
        run
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_serving(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("linnstream run exited ({status}):\n{}", self.log());
            }
            if let Ok(r) = http.get(format!("{}/admin/login", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "linnstream run did not serve the dashboard within 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_end_to_end_in_headless_chromium() {
    require_browser_tooling();
    let sims = Sims::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config");
    std::fs::create_dir(&config).expect("config folder");
    // Order sync off: the scheduler leaves the queue alone; every send here is a manual one.
    write_settings(&config, &sims.linnworks.url(), &sims.stream.url(), false);
    let database_url = format!("sqlite:{}", dir.path().join("queue.db").display());
    let run = RunProcess::start(&config, &database_url, dir.path().join("run.log")).await;
    let h = AdminApi::new(run.base.clone());

    // The queue support staff will look at: one order Stream refused, one waiting, one
    // missing its postcode, one sent, and one more waiting.
    let (failed, _) = sims.add_order(json!({"reference": "WEB-1001"})).await;
    let (pending, pending_number) = sims.add_order(json!({"reference": "WEB-1002"})).await;
    let (invalid, _) = sims
        .add_order(json!({"reference": "WEB-1003", "customer": {
            "fullName": "Pat Jones", "address1": "2 Mill Lane", "town": "Leeds",
            "postCode": "", "country": "United Kingdom", "email": "pat@example.com"}}))
        .await;
    let (completed, _) = sims.add_order(json!({"reference": "WEB-1004"})).await;
    sims.add_order(json!({"reference": "WEB-1005"})).await;
    h.refetch().await;
    sims.refuse_stream_orders(400, 1).await;
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [failed]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [completed]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.status_of(&failed).await, "Failed");
    assert_eq!(h.status_of(&completed).await, "Completed");

    // The scheduler's history: identifiers last succeeded three days ago and failed last
    // night; postal services ran a minute ago.
    let inst = format!("{NAMESPACE}/{NAME}");
    let now = Utc::now();
    let store = Store::connect(&database_url)
        .await
        .expect("open the queue linnstream run uses");
    for (job, ago, outcome, message) in [
        (
            "sync-master-data-identifiers",
            Duration::days(3),
            JobOutcome::Succeeded,
            "49 identifiers registered",
        ),
        (
            "sync-master-data-identifiers",
            Duration::hours(8),
            JobOutcome::Failed,
            "Linnworks answered 503",
        ),
        (
            "sync-master-data-postal-services",
            Duration::minutes(1),
            JobOutcome::Succeeded,
            "3 depots, 12 postal services up to date",
        ),
    ] {
        store
            .record_job_run(
                &inst,
                job,
                now - ago,
                now - ago + Duration::seconds(4),
                outcome,
                message,
            )
            .await
            .expect("record a job run");
    }

    let shots = screenshot_dir();
    let orders = json!({
        "failed": failed, "pending": pending, "invalid": invalid, "completed": completed,
        "pendingReference": "WEB-1002", "pendingNumber": pending_number,
    });
    let output = tokio::process::Command::new("node")
        .arg("dashboard.mjs")
        .current_dir(browser_dir())
        .env("BASE_URL", &run.base)
        .env("ADMIN_TOKEN", TOKEN)
        .env("SCREENSHOT_DIR", &shots)
        .env("ORDERS", orders.to_string())
        .env("CHROMIUM", chromium())
        .output()
        .await
        .expect("run node (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}\nlinnstream run:\n{}",
        shots.display(),
        run.log()
    );
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");

    // What the browser did is what the queue holds.
    assert_eq!(h.status_of(&failed).await, "Completed");
    assert_eq!(h.status_of(&pending).await, "Pending");
    assert_eq!(h.status_of(&invalid).await, "Validation Failed");
    for name in [
        "01-sign-in",
        "03-order-queue",
        "05-order-detail-validation-failed",
        "09-delete-refused",
        "11-audit-correlation",
        "13-scheduler",
        "14-tablet-orders",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
}

/// Runs tests/browser/console.mjs (the overview charts, the webhook events view and its
/// retry, the label preview) against the console at `base`; returns its output. The other
/// console processes (`linnstream console`) are tested with the same script.
pub async fn run_console_script(
    base: &str,
    token: &str,
    installation: &str,
    seed: &serde_json::Value,
) -> String {
    let shots = screenshot_dir();
    let output = tokio::process::Command::new("node")
        .arg("console.mjs")
        .current_dir(browser_dir())
        .env("BASE_URL", base)
        .env("ADMIN_TOKEN", token)
        .env("INSTALLATION", installation)
        .env("SEED", seed.to_string())
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", chromium())
        .output()
        .await
        .expect("run node (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the console browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display(),
    );
    stdout
}

/// What the console scripts check, made through `linnstream run`'s admin API and store:
/// three orders sent this hour (one refused by Stream), one waiting, and a webhook event
/// the processor gave up on. Returns the seed for console.mjs and the event's id.
async fn seed_console_data(
    sims: &Sims,
    h: &AdminApi,
    database_url: &str,
) -> (serde_json::Value, i64, Store) {
    let (completed, _) = sims.add_order(json!({"reference": "PIC-1"})).await;
    let (second, _) = sims.add_order(json!({"reference": "PIC-2"})).await;
    let (refused, _) = sims.add_order(json!({"reference": "PIC-3"})).await;
    sims.add_order(json!({"reference": "PIC-4"})).await;
    h.refetch().await;
    let (status, body) = h
        .post(
            &h.inst("orders/send"),
            json!({"orderIds": [completed, second]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sims.refuse_stream_orders(400, 1).await;
    let (status, body) = h
        .post(&h.inst("orders/send"), json!({"orderIds": [refused]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, counts) = h.get(&h.inst("orders")).await;
    let (_, jobs) = h.get(&h.inst("jobs")).await;

    let inst = format!("{NAMESPACE}/{NAME}");
    let store = Store::connect(database_url)
        .await
        .expect("open the queue linnstream run uses");
    let error = "Linnworks answered 500 adding the note";
    let event = harness::seed_failed_webhook(&store, &inst, "DELIVERED", "CN-4242", error).await;
    let size = linnstream::labels::LabelSize::of(linnstream::labels::LabelType::Default);
    let seed = json!({
        "completed": completed,
        "sent": 2,
        "queue": counts["counts"],
        "failedEvent": {"id": event, "code": "DELIVERED", "order": "CN-4242", "error": error},
        "label": {"width": size.png_width(), "height": size.png_height()},
        "user": "Casey Console",
        "refused": refused,
        "jobs": jobs["jobs"].as_array().map(Vec::len),
    });
    (seed, event, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_webhook_events_and_label_preview_work_in_headless_chromium() {
    require_browser_tooling();
    let sims = Sims::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config");
    std::fs::create_dir(&config).expect("config folder");
    write_settings(&config, &sims.linnworks.url(), &sims.stream.url(), false);
    let database_url = format!("sqlite:{}", dir.path().join("queue.db").display());
    let run = RunProcess::start(&config, &database_url, dir.path().join("run.log")).await;
    let h = AdminApi::new(run.base.clone());

    let (seed, event, store) = seed_console_data(&sims, &h, &database_url).await;
    let inst = format!("{NAMESPACE}/{NAME}");
    let stdout = run_console_script(&run.base, TOKEN, &inst, &seed).await;
    println!("{stdout}");
    assert!(
        stdout.contains("5 passed, 0 failed"),
        "{stdout}\n{}",
        run.log()
    );

    // What the browser did is what the store holds: the event left Failed.
    let after = store
        .webhook_event(event)
        .await
        .expect("read the event")
        .expect("the event");
    assert_ne!(after.status.as_str(), "Failed", "{after:?}");
    for name in ["c01-overview", "c02-webhook-events", "c04-label-preview"] {
        assert!(
            screenshot_dir().join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
}

fn tool(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run scripts/test.sh, or `eval \"$(scripts/test-cluster.sh env)\"`"
        )
    })
}

fn ok(command: &mut std::process::Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

/// The same script against `linnstream console` as the chart runs it: the console
/// Deployment's rendered arguments (`helm template` with admin.enabled), its settings from
/// the config Secret watched through the test cluster's API server (here written by the
/// test, in the operator's format: the resource files), its tokens from a mounted file,
/// and the queue `linnstream run` fills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_as_the_chart_runs_it_works_in_headless_chromium() {
    require_browser_tooling();
    let kubectl = tool("LINNSTREAM_TEST_KUBECTL");
    let helm = tool("LINNSTREAM_TEST_HELM");
    let kubeconfig = tool("LINNSTREAM_TEST_KUBECONFIG");
    let sims = Sims::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config");
    std::fs::create_dir(&config).expect("config folder");
    write_settings(&config, &sims.linnworks.url(), &sims.stream.url(), false);
    let database_url = format!("sqlite:{}", dir.path().join("queue.db").display());
    let run = RunProcess::start(&config, &database_url, dir.path().join("run.log")).await;
    let h = AdminApi::new(run.base.clone());
    let (seed, event, store) = seed_console_data(&sims, &h, &database_url).await;

    // The release namespace, and the config Secret the operator would write there.
    let ns = format!(
        "lsbrowser-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let kube = |args: &[&str]| {
        ok(
            std::process::Command::new(&kubectl)
                .env("KUBECONFIG", &kubeconfig)
                .args(args),
            "kubectl",
        )
    };
    kube(&["create", "namespace", &ns]);
    let chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("charts/linnstream");
    let rendered = ok(
        std::process::Command::new(&helm).args([
            "template",
            "shop",
            chart.to_str().expect("path"),
            "--namespace",
            &ns,
            "--set",
            "admin.enabled=true",
            "--set",
            "admin.existingSecret=console-tokens",
            "--set-string",
            "database.url=postgres://unused@db/unused",
            "--show-only",
            "templates/console-deployment.yaml",
        ]),
        "helm template",
    );
    let deployment: serde_json::Value =
        serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(&rendered)
            .expect("yaml")
            .into_iter()
            .find(|d: &serde_json::Value| d["kind"] == "Deployment")
            .expect("the console Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg").to_string())
        .map(|a| {
            if a.starts_with("--listen=") {
                format!("--listen=127.0.0.1:{port}")
            } else {
                a
            }
        })
        .collect();
    let secret = args
        .iter()
        .find_map(|a| a.strip_prefix("--config-secret="))
        .expect("the console watches the config Secret")
        .to_string();
    let mut create = vec![
        "-n".to_string(),
        ns.clone(),
        "create".into(),
        "secret".into(),
        "generic".into(),
        secret,
    ];
    for file in std::fs::read_dir(&config).expect("config files") {
        let path = file.expect("file").path();
        create.push(format!("--from-file={}", path.display()));
    }
    kube(&create.iter().map(String::as_str).collect::<Vec<_>>());

    // The tokens where the kubelet would mount them.
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("support {TOKEN}\n")).expect("tokens");
    let token_file = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "LINNSTREAM_ADMIN_TOKEN_FILE")
        .expect("the console reads its tokens from a file");
    assert_eq!(token_file["value"], "/etc/linnstream/admin/tokens");
    let log = dir.path().join("console.log");
    let mut console = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(&args)
        .env("KUBECONFIG", &kubeconfig)
        .env("LINNSTREAM_DATABASE_URL", &database_url)
        .env("LINNSTREAM_ADMIN_TOKEN_FILE", &tokens)
        .env("LINNSTREAM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("start linnstream console");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = console.try_wait() {
            panic!(
                "linnstream console exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the console was not ready within 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let inst = format!("{NAMESPACE}/{NAME}");
    let stdout = run_console_script(&base, TOKEN, &inst, &seed).await;
    println!("{stdout}");
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");
    let after = store
        .webhook_event(event)
        .await
        .expect("read the event")
        .expect("the event");
    assert_ne!(after.status.as_str(), "Failed", "{after:?}");
    // The retry is audited as the console's caller, who signed in with the token named
    // "support".
    let (_, audit) = h.get(&h.inst("audit")).await;
    assert!(
        audit.to_string().contains("support"),
        "the console's actions are audited with who did them: {audit}"
    );
    // A resend of the order Stream refused, through the console's API: sent, and audited
    // with the caller's name and token.
    let refused = seed["refused"]
        .as_str()
        .expect("the refused order")
        .to_string();
    let console_api = AdminApi::new(base.clone());
    let (status, body) = console_api
        .post_as(
            &console_api.inst("orders/resend"),
            json!({"orderIds": [refused]}),
            Some("Robin Resend"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcomes"][0]["status"], "Completed", "{body}");
    let (_, audit) = h.get(&h.inst(&format!("audit?orderId={refused}"))).await;
    assert!(
        audit.to_string().contains("Robin Resend (token support)"),
        "the resend is audited with who did it: {audit}"
    );
    let _ = console.kill().await;
    kube(&["delete", "namespace", &ns, "--wait=false"]);
}
