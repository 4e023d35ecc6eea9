//! The gateway as the processes serve it: `linnstream gateway -f DIR` as a real process,
//! `linnstream run` (in-process) with the gateway beside the webhook receiver, and the
//! demo's labels, all against the simulators with the example resources.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linnstream::app::{AppOptions, start};
use linnstream::config::load_dir;
use linnstream::server::gateway::service_id;
use linnstream::settings::SystemSettings;
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use serde_json::{Value, json};

/// The AuthorizationToken of the example installation, as the resources hold it.
fn token(resources: &Path) -> String {
    load_dir(resources)
        .expect("resources load")
        .installations
        .values()
        .next()
        .and_then(|i| i.credentials.gateway_token.clone())
        .expect("the example installation has a gateway token")
}

/// A label request for Linnworks order `n` (see `sim::world::order`).
fn label_request(resources: &Path, token: &str, n: i64) -> Value {
    let snapshot = load_dir(resources).expect("resources load");
    let inst = snapshot
        .installations
        .values()
        .next()
        .expect("installation");
    let mapping = inst
        .mapping_for(None, Some(NEXT_DAY))
        .expect("the next-day mapping");
    json!({
        "AuthorizationToken": token,
        "Name": format!("Customer {n}"), "AddressLine1": format!("{n} High Street"),
        "Town": "Leeds", "CountryCode": "GB", "Postalcode": "LS6 1AA",
        "OrderId": n, "OrderReference": format!("WEB-{n}"), "OrderCurrency": "GBP",
        "ServiceId": service_id(inst, mapping).to_string(),
        "Packages": [{"SequenceNumber": 1, "PackageWeight": 13000}],
    })
}

/// Starts `linnstream gateway` and returns it with its base URL, read from its banner.
fn spawn_gateway(resources: &Path, database_url: &str) -> (Child, String) {
    spawn_surface("gateway", resources, database_url, &[])
}

/// Starts `linnstream COMMAND -f resources` with `extra` environment and returns it with
/// its base URL, read from its banner.
fn spawn_surface(
    command: &str,
    resources: &Path,
    database_url: &str,
    extra: &[(&str, &str)],
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args([command, "-f"])
        .arg(resources)
        .args(["--database-url", database_url, "--listen", "127.0.0.1:0"])
        .env("LINNSTREAM_LOG", "warn")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start linnstream gateway");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(at) = line.find("http://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ';')
                    .collect();
                let _ = tx.send(url);
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => (child, url),
        Err(_) => {
            let _ = child.kill();
            panic!("linnstream {command} printed no address within 60 s");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linnstream_gateway_serves_every_installation_in_a_folder() {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    world
        .add_orders(vec![order(2001, NEXT_DAY)])
        .expect("order");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());
    let token = token(&resources);
    let (mut child, url) = spawn_gateway(&resources, &database);
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let services: Value = http
        .post(format!("{url}/api/Setup/UserAvailableServices"))
        .json(&json!({"AuthorizationToken": token}))
        .send()
        .await
        .expect("gateway")
        .json()
        .await
        .expect("json");
    assert_eq!(services["IsError"], json!(false), "{services}");
    assert_eq!(services["Services"].as_array().map(Vec::len), Some(2));

    // The order is not synced: the gateway process sends it to Stream, then labels it.
    let reply: Value = http
        .post(format!("{url}/api/Consignment/GenerateLabel"))
        .json(&label_request(&resources, &token, 2001))
        .send()
        .await
        .expect("gateway")
        .json()
        .await
        .expect("json");
    assert_eq!(reply["IsError"], json!(false), "{}", reply["ErrorMessage"]);
    let tracking = reply["LeadTrackingNumber"]
        .as_str()
        .expect("tracking")
        .to_string();
    let stream: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    assert_eq!(stream["orders"][0]["trackingId"], json!(tracking));

    let wrong: Value = http
        .post(format!("{url}/api/Setup/UserConfig"))
        .json(&json!({"AuthorizationToken": "nope"}))
        .send()
        .await
        .expect("gateway")
        .json()
        .await
        .expect("json");
    assert_eq!(wrong["IsError"], json!(true));
    let _ = child.kill();
    let _ = child.wait();
}

/// `linnstream console`: the admin API and dashboard for every Installation in the folder,
/// behind the admin token, on a listener of its own without the label endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linnstream_console_serves_the_admin_api_and_dashboard_alone() {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());

    // Without a token it refuses to start, naming the settings.
    let refused = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["console", "-f"])
        .arg(&resources)
        .args(["--database-url", &database, "--listen", "127.0.0.1:0"])
        .env_remove("LINNSTREAM_ADMIN_TOKEN")
        .env_remove("LINNSTREAM_ADMIN_TOKEN_FILE")
        .output()
        .expect("console runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--admin-token-file"), "{stderr}");

    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "alice console-token-0123456789\n").expect("tokens");
    let tokens = tokens.display().to_string();
    let (mut child, url) = spawn_surface(
        "console",
        &resources,
        &database,
        &[("LINNSTREAM_ADMIN_TOKEN_FILE", &tokens)],
    );
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let anonymous = http
        .get(format!("{url}/api/admin/installations"))
        .send()
        .await
        .expect("admin");
    assert_eq!(anonymous.status().as_u16(), 401);
    let list: Value = http
        .get(format!("{url}/api/admin/installations"))
        .bearer_auth("console-token-0123456789")
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["installations"][0]["id"],
        json!(format!("{NAMESPACE}/{NAME}")),
        "{list}"
    );
    let page = http
        .get(format!("{url}/admin/"))
        .send()
        .await
        .expect("dashboard");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.expect("page").contains("<form"));
    // The label endpoints are the gateway's, not the console's.
    let label = http
        .post(format!("{url}/api/Setup/UserConfig"))
        .json(&json!({"AuthorizationToken": token(&resources)}))
        .send()
        .await
        .expect("console");
    assert_eq!(label.status().as_u16(), 404);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linnstream_run_serves_the_gateway_beside_the_webhook_receiver() {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    let app = start(AppOptions {
        config_dir: resources.clone(),
        database_url: format!("sqlite:{}", dir.path().join("queue.db").display()),
        listen: "127.0.0.1:0".parse().expect("address"),
        settings: SystemSettings::default(),
        master_data: false,
        remote: None,
        scheduler: false,
        admin: None,
        webhook_secret: Some("test-secret-of-at-least-32-bytes-0123".into()),
    })
    .await
    .expect("run starts");
    let http = reqwest::Client::new();
    let config: Value = http
        .post(format!("{}/api/Setup/UserConfig", app.url()))
        .json(&json!({"AuthorizationToken": token(&resources)}))
        .send()
        .await
        .expect("gateway")
        .json()
        .await
        .expect("json");
    assert_eq!(config["IsError"], json!(false), "{config}");
    assert_eq!(config["IsConfigActive"], json!(true));

    // Every path of the OpenAPI description is served on run's listener, the webhook
    // receiver's included (refused here for want of its token, not missing).
    let spec: Value = http
        .get(format!("{}/openapi.json", app.url()))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let path = path
            .replace("{namespace}", NAMESPACE)
            .replace("{name}", NAME);
        for method in item.as_object().expect("operations").keys() {
            let request = match method.as_str() {
                "get" => http.get(format!("{}{path}", app.url())),
                _ => http.post(format!("{}{path}", app.url())).body("{}"),
            };
            let status = request.send().await.expect("run").status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {path} is described but run answers {status}"
            );
        }
    }
    app.shutdown().await;
}

fn scan(png: &Path) -> Vec<(String, String)> {
    let output = Command::new("zbarimg")
        .args(["--quiet"])
        .arg(png)
        .output()
        .unwrap_or_else(|e| {
            panic!("zbarimg could not run ({e}): run scripts/test.sh, which installs zbar-tools")
        });
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_demo_writes_labels_and_a_manifest_that_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["demo", "--dir"])
        .arg(&demo)
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed after {:?}: {stdout}\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr)
    );
    let labels = demo.join("labels");
    assert!(
        stdout.contains(&format!("Labels and manifest are in {}", labels.display())),
        "{stdout}"
    );
    let mut pngs: Vec<_> = std::fs::read_dir(&labels)
        .expect("labels folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pngs.sort();
    assert!(pngs.len() >= 4, "{pngs:?}");
    for png in &pngs {
        let symbols = scan(png);
        let code = symbols
            .iter()
            .find(|(k, _)| k == "CODE-128")
            .unwrap_or_else(|| panic!("{} has no readable barcode: {symbols:?}", png.display()));
        // The printed line for this order names the tracking number.
        assert!(
            stdout.contains(&code.1),
            "{} not in the demo output",
            code.1
        );
        let pdf = png.with_extension("pdf");
        let pdf = if pdf.exists() {
            pdf
        } else {
            // A copy's PNG shares its package's PDF.
            let stem = png.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            labels.join(format!(
                "{}.pdf",
                stem.split("-copy").next().unwrap_or(stem)
            ))
        };
        assert!(
            std::fs::read(&pdf)
                .expect("the package PDF")
                .starts_with(b"%PDF"),
            "{}",
            pdf.display()
        );
    }
    let manifest = std::fs::read_dir(&labels)
        .expect("labels folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("manifest-MAN-"))
        })
        .expect("a manifest PDF");
    assert!(
        std::fs::read(manifest)
            .expect("manifest")
            .starts_with(b"%PDF")
    );
}
