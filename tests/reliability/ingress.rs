//! Hostile and slow callers on the HTTP listeners: read timeouts, limits answered in each
//! caller's contract shape, webhook authentication that does not confirm which
//! installations exist, weak secrets refused at start, text the store refuses answered 400,
//! and a database outage answered 503 with `Retry-After` and no driver text. Served over
//! TCP by `linnstream run`'s listener (in-process) or the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linnstream::app::{AppOptions, RunningApp, start};
use linnstream::config::load_dir;
use linnstream::domain::InstallationKey;
use linnstream::domain::webhook::webhook_path;
use linnstream::server::WebhookAuth;
use linnstream::server::admin::AdminAuth;
use linnstream::server::gateway::service_id;
use linnstream::settings::HttpSettings;
use linnstream::settings::SystemSettings;
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::on_both_backends;
use crate::support::db::{Backend, PgDb, create_postgres_database, postgres_admin_url};
use crate::support::sync::{Harness, Options};

const ADMIN_TOKEN: &str = "ingress-admin-token-0123456789abcdef";
const SECRET: &str = "ingress-webhook-secret-0123456789abcdef";

/// `linnstream run` in-process over the simulators, with the example resources.
struct App {
    app: RunningApp,
    world: World,
    resources: PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _pg: Option<PgDb>,
}

impl App {
    async fn start(backend: Backend, settings: SystemSettings) -> App {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite:{}", dir.path().join("queue.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = create_postgres_database().await;
                (pg.url.clone(), Some(pg))
            }
        };
        Self::start_on(url, pg, dir, settings).await
    }

    async fn start_on(
        database_url: String,
        pg: Option<PgDb>,
        dir: tempfile::TempDir,
        settings: SystemSettings,
    ) -> App {
        let world = World::start().await.expect("simulators");
        let resources = dir.path().join("resources");
        let public = WorldSettings {
            public_base_url: Some("http://127.0.0.1:1".into()),
            ..WorldSettings::default()
        };
        world
            .write_resources(&resources, &public)
            .expect("resources");
        let app = start(AppOptions {
            config_dir: resources.clone(),
            database_url,
            listen: "127.0.0.1:0".parse().expect("address"),
            settings,
            master_data: false,
            remote: None,
            scheduler: false,
            admin: Some(AdminAuth::single(ADMIN_TOKEN).expect("admin token")),
            webhook_secret: Some(SECRET.into()),
        })
        .await
        .expect("run starts");
        App {
            app,
            world,
            resources,
            http: reqwest::Client::new(),
            _dir: dir,
            _pg: pg,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url())
    }

    fn gateway_token(&self) -> String {
        load_dir(&self.resources)
            .expect("resources load")
            .installations
            .values()
            .next()
            .and_then(|i| i.credentials.gateway_token.clone())
            .expect("the example installation has a gateway token")
    }

    /// A GenerateLabel request for Linnworks order `n` with `packages` packages.
    fn label_request(&self, n: i64, packages: usize) -> Value {
        let snapshot = load_dir(&self.resources).expect("resources load");
        let inst = snapshot
            .installations
            .values()
            .next()
            .expect("installation");
        let mapping = inst
            .mapping_for(None, Some(NEXT_DAY))
            .expect("the next-day mapping");
        let packages: Vec<Value> = (1..=packages)
            .map(|i| json!({"SequenceNumber": i, "PackageWeight": 1000}))
            .collect();
        json!({
            "AuthorizationToken": self.gateway_token(),
            "Name": format!("Customer {n}"), "AddressLine1": format!("{n} High Street"),
            "Town": "Leeds", "CountryCode": "GB", "Postalcode": "LS6 1AA",
            "OrderId": n, "OrderReference": format!("WEB-{n}"), "OrderCurrency": "GBP",
            "ServiceId": service_id(inst, mapping).to_string(),
            "Packages": packages,
        })
    }

    async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value, Option<String>) {
        let reply = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .expect("run answers");
        reply_parts(reply).await
    }

    async fn post_webhook(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> (u16, Value, Option<String>) {
        let reply = self
            .http
            .post(self.url(path))
            .header("authorization", token)
            .json(body)
            .send()
            .await
            .expect("run answers");
        reply_parts(reply).await
    }

    async fn admin_get(&self, path: &str) -> (u16, Value, Option<String>) {
        let reply = self
            .http
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("run answers");
        reply_parts(reply).await
    }
}

/// Status, JSON body (or the text as a string) and `Retry-After`.
async fn reply_parts(reply: reqwest::Response) -> (u16, Value, Option<String>) {
    let status = reply.status().as_u16();
    let retry_after = reply
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = reply.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value, retry_after)
}

fn delivered_body(consignment: &str, text: &str) -> Value {
    json!({"webhook": {
        "event": {"event_code": "DELIVERED", "event_code_desc": "Delivered", "event_date": "2026-06-20",
                  "event_time": "10:00:00", "event_text": text},
        "order": {"id": consignment},
    }})
}

fn installation_path() -> String {
    format!("/api/admin/installations/{NAMESPACE}/{NAME}")
}

fn short_timeouts() -> SystemSettings {
    SystemSettings {
        http: HttpSettings {
            http_header_timeout_seconds: 2,
            http_body_timeout_seconds: 2,
        },
        ..SystemSettings::default()
    }
}

/// Reads until the server closes the connection; fails if it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration, what: &str) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "{what}: the connection is still open after {limit:?}"
    );
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_and_slow_body_clients_are_cut_off_while_normal_calls_work() {
    let app = App::start(Backend::Sqlite, short_timeouts()).await;
    let addr = app.app.addr;
    let token = app.gateway_token();
    let config = json!({"AuthorizationToken": token}).to_string();

    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut slow_header = TcpStream::connect(addr).await.expect("connect");
    slow_header
        .write_all(b"POST /api/Setup/UserConfig HTTP/1.1\r\nHost: linnstream\r\nContent-Type: appl")
        .await
        .expect("write");
    let mut slow_body = TcpStream::connect(addr).await.expect("connect");
    slow_body
        .write_all(
            format!(
                "POST /api/Setup/UserConfig HTTP/1.1\r\nHost: linnstream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                config.len(),
                &config[..10]
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let key = InstallationKey::new(NAMESPACE, NAME);
    let webhook_token = WebhookAuth::derived(SECRET.as_bytes().to_vec())
        .token_for(&key)
        .expect("token");
    let slow_webhook_call = |token: &str| {
        format!(
            "POST {} HTTP/1.1\r\nHost: linnstream\r\nAuthorization: {token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"webh",
            webhook_path(&key)
        )
    };
    let mut slow_webhook = TcpStream::connect(addr).await.expect("connect");
    slow_webhook
        .write_all(slow_webhook_call(&webhook_token).as_bytes())
        .await
        .expect("write");
    // A stranger's body is not waited for: refused before it is read.
    let mut stranger = TcpStream::connect(addr).await.expect("connect");
    stranger
        .write_all(slow_webhook_call("not-the-token").as_bytes())
        .await
        .expect("write");
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(1), stranger.read_exact(&mut head))
        .await
        .expect("answered before the body timeout")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 401");

    // While those hang, a normal call on the same listener is answered.
    let (status, reply, _) = app.post("/api/Setup/UserConfig", config.clone()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["IsError"], json!(false), "{reply}");

    let limit = Duration::from_secs(8);
    let answer = read_until_closed(&mut silent, limit, "a connection that sends nothing").await;
    assert!(!answer.contains(" 200 "), "{answer}");
    let answer = read_until_closed(&mut slow_header, limit, "unfinished headers").await;
    assert!(!answer.contains(" 200 "), "{answer}");
    let answer = read_until_closed(&mut slow_body, limit, "an unfinished gateway body").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"IsError\":true") && answer.contains("not received within 2 s"),
        "the contract's error shape: {answer}"
    );
    let answer = read_until_closed(&mut slow_webhook, limit, "an unfinished webhook body").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\""), "{answer}");

    // A kept-alive connection left idle is closed too, after its one answered request.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: linnstream\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_closed(&mut idle, limit, "an idle keep-alive connection").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // And the listener still serves.
    let (status, reply, _) = app.post("/api/Setup/UserConfig", config).await;
    assert_eq!((status, &reply["IsError"]), (200, &json!(false)), "{reply}");
    app.app.shutdown().await;
}

/// `linnstream gateway` as a real process, with a 1 s header timeout: a connection that
/// sends nothing and one that never finishes its headers are closed, while a normal call
/// on the same listener is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_process_cuts_off_slow_headers() {
    use std::io::{BufRead, BufReader};
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    let database = format!("sqlite:{}", dir.path().join("queue.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["gateway", "-f"])
        .arg(&resources)
        .args(["--database-url", &database, "--listen", "127.0.0.1:0"])
        .args(["--http-header-timeout-seconds", "1"])
        .env("LINNSTREAM_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start linnstream gateway");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://") {
                let addr: String = line[at + 7..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != ';')
                    .collect();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the gateway prints its address");
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n")
        .await
        .expect("write");
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let limit = Duration::from_secs(6);
    let answer = read_until_closed(&mut silent, limit, "gateway: a silent connection").await;
    assert!(!answer.contains(" 200 "), "{answer}");
    let answer = read_until_closed(&mut slow, limit, "gateway: unfinished headers").await;
    assert!(!answer.contains(" 200 "), "{answer}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_limit_is_answered_with_its_error_in_the_callers_shape() {
    let app = App::start(Backend::Sqlite, SystemSettings::default()).await;
    app.world
        .add_orders(vec![order(3001, NEXT_DAY)])
        .expect("order");

    // Packages: 51 is refused naming the field; two on a real order are labelled.
    let (status, reply, _) = app
        .post(
            "/api/Consignment/GenerateLabel",
            app.label_request(3001, 51).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["IsError"], json!(true), "{reply}");
    let message = reply["ErrorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("Packages") && message.contains("at most 50"),
        "{message}"
    );
    let (status, reply, _) = app
        .post(
            "/api/Consignment/GenerateLabel",
            app.label_request(3001, 2).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["IsError"], json!(false), "{}", reply["ErrorMessage"]);
    assert_eq!(
        reply["Package"].as_array().map(Vec::len),
        Some(2),
        "{reply}"
    );

    // Bodies: over each surface's limit, answered in that surface's shape.
    let mut huge = app.label_request(3001, 1);
    huge["Name"] = json!("x".repeat(600 * 1024));
    let (status, reply, _) = app
        .post("/api/Consignment/GenerateLabel", huge.to_string())
        .await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["IsError"], json!(true), "{reply}");
    assert!(
        reply["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("larger than 524288 bytes")),
        "{reply}"
    );
    let key = InstallationKey::new(NAMESPACE, NAME);
    let webhook_token = WebhookAuth::derived(SECRET.as_bytes().to_vec())
        .token_for(&key)
        .expect("token");
    let big_event = delivered_body("CN-1", &"x".repeat(300 * 1024));
    let (status, reply, _) = app
        .post_webhook(&webhook_path(&key), &webhook_token, &big_event)
        .await;
    assert_eq!(status, 413, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .is_some_and(|m| m.contains("larger than")),
        "{reply}"
    );
    let ids: Vec<String> = (0..10_000).map(|i| format!("order-{i}")).collect();
    let (status, reply, _) = app
        .post(
            &format!("{}/orders/send", installation_path()),
            json!({ "orderIds": ids }).to_string(),
        )
        .await;
    assert_eq!(status, 413, "{reply}");
    assert!(
        reply["error"]
            .as_str()
            .is_some_and(|m| m.contains("larger than")),
        "{reply}"
    );

    // Manifests: more distinct orders than fit are refused; one order listed 20,000 times
    // is one distinct order, manifested once.
    let token = app.gateway_token();
    let distinct: Vec<String> = (0..2001).map(|i| (100_000 + i).to_string()).collect();
    let (status, reply, _) = app
        .post(
            "/api/Manifest/CreateManifest",
            json!({"AuthorizationToken": token, "OrderId": distinct}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["IsError"], json!(true), "{reply}");
    assert!(
        reply["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("2001 different orders") && m.contains("at most 2000")),
        "{reply}"
    );
    let repeated = vec!["3001".to_string(); 20_000];
    let (status, reply, _) = app
        .post(
            "/api/Manifest/CreateManifest",
            json!({"AuthorizationToken": token, "OrderId": repeated}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["IsError"], json!(false), "{}", reply["ErrorMessage"]);
    let reference = reply["ManifestReference"].as_str().expect("reference");
    let manifest = app
        .app
        .engine
        .store()
        .manifest(&key.id(), reference)
        .await
        .expect("store")
        .expect("the manifest is stored");
    assert_eq!(manifest.entries.len(), 1, "one consignment, listed once");
    app.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_installation_and_a_bad_token_get_the_same_401() {
    let app = App::start(Backend::Sqlite, SystemSettings::default()).await;
    let auth = WebhookAuth::derived(SECRET.as_bytes().to_vec());
    let known = InstallationKey::new(NAMESPACE, NAME);
    let unknown = InstallationKey::new(NAMESPACE, "nobody");
    let body = delivered_body("CN-1", "Left with neighbour");
    let good = auth.token_for(&known).expect("token");
    let calls = [
        (
            webhook_path(&known),
            "wrong-token-of-some-length-0123456789".to_string(),
        ),
        (webhook_path(&unknown), good.clone()),
        (
            webhook_path(&unknown),
            auth.token_for(&unknown).expect("token"),
        ),
        (
            webhook_path(&unknown),
            "wrong-token-of-some-length-0123456789".to_string(),
        ),
    ];
    let mut replies = Vec::new();
    for (path, token) in &calls {
        let (status, reply, _) = app.post_webhook(path, token, &body).await;
        assert_eq!(status, 401, "{path}: {reply}");
        replies.push(reply);
    }
    assert!(
        replies.iter().all(|r| *r == replies[0]),
        "identical bodies: {replies:?}"
    );
    assert!(!replies[0].to_string().contains("nobody"), "{}", replies[0]);
    // The right token is still accepted.
    let (status, reply, _) = app.post_webhook(&webhook_path(&known), &good, &body).await;
    assert_eq!(status, 200, "{reply}");
    app.app.shutdown().await;
}

/// Runs the real binary with `args` and a clean environment for the secrets; returns its
/// exit status and standard error.
fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_linnstream"));
    command.args(args);
    for var in [
        "LINNSTREAM_WEBHOOK_SECRET",
        "LINNSTREAM_WEBHOOK_SECRET_FILE",
        "LINNSTREAM_WEBHOOK_AUTH_TOKEN",
        "LINNSTREAM_DATABASE_URL",
        "LINNSTREAM_ADMIN_TOKEN",
    ] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("linnstream runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_weak_webhook_secret_is_refused_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().to_str().expect("utf-8 path");
    let (ok, stderr) = run_binary(&["run", "-f", folder, "--webhook-secret", "x"], &[]);
    assert!(!ok, "a one-character secret is refused");
    assert!(
        stderr.contains("--webhook-secret") && stderr.contains("at least 32"),
        "{stderr}"
    );
    let (ok, stderr) = run_binary(&["run", "-f", folder, "--webhook-secret", ""], &[]);
    assert!(!ok, "an empty secret is refused");
    assert!(
        stderr.contains("--webhook-secret") && stderr.contains("0 bytes"),
        "{stderr}"
    );
    let file = dir.path().join("secret");
    std::fs::write(&file, "short-secret\n").expect("write");
    let file = file.to_str().expect("utf-8 path");
    let (ok, stderr) = run_binary(&["run", "-f", folder, "--webhook-secret-file", file], &[]);
    assert!(!ok, "a short secret in a file is refused");
    assert!(
        stderr.contains("--webhook-secret-file") && stderr.contains(file),
        "{stderr}"
    );
    assert!(
        !stderr.contains("short-secret"),
        "the secret is never echoed: {stderr}"
    );
    let (ok, stderr) = run_binary(
        &[
            "webhooks",
            "--installation",
            NAME,
            "--namespace",
            NAMESPACE,
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[("LINNSTREAM_WEBHOOK_AUTH_TOKEN", "tok")],
    );
    assert!(!ok, "the receiver refuses a weak token");
    assert!(
        stderr.contains("LINNSTREAM_WEBHOOK_AUTH_TOKEN") && stderr.contains("at least 32"),
        "{stderr}"
    );
}

async fn nul_in_a_webhook_body_is_refused_with_400_and_nothing_stored(backend: Backend) {
    let h = Harness::start_with(
        backend,
        Options {
            master_data: false,
            ..Options::default()
        },
    )
    .await;
    let body = delivered_body("CN-1", "Left with\u{0}neighbour").to_string();
    assert!(body.contains("\\u0000"), "{body}");
    let (status, reply) = h
        .post_webhook(
            &webhook_path(&h.key),
            body.into_bytes(),
            Some(h.token().as_str()),
        )
        .await;
    assert_eq!(
        status, 400,
        "poison is refused for good, not retried: {reply}"
    );
    let error = reply["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("NUL") && error.contains("webhook.event.event_text"),
        "{reply}"
    );
    assert!(h.events().await.is_empty(), "nothing is stored");
    // The receiver still takes good events.
    let good = delivered_body("CN-1", "Left with neighbour").to_string();
    let (status, reply) = h
        .post_webhook(
            &webhook_path(&h.key),
            good.into_bytes(),
            Some(h.token().as_str()),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(h.events().await.len(), 1);
}

async fn nul_in_admin_inputs_is_refused_with_400(backend: Backend) {
    let app = App::start(backend, SystemSettings::default()).await;
    let base = installation_path();
    for path in [
        format!("{base}/orders/%00"),
        format!("{base}/orders/abc%00def"),
        format!("/api/admin/installations/{NAMESPACE}%00/{NAME}/orders"),
        format!("{base}/orders?search=a%00b"),
        format!("{base}/audit?orderId=%00"),
    ] {
        let (status, reply, _) = app.admin_get(&path).await;
        assert_eq!(status, 400, "{path}: {reply}");
        assert!(
            reply["error"].as_str().is_some_and(|e| e.contains("NUL")),
            "{path}: {reply}"
        );
    }
    let (status, reply, _) = app
        .post(
            &format!("{base}/orders/send"),
            json!({"orderIds": ["a\u{0}b"]}).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"].as_str().is_some_and(|e| e.contains("NUL")),
        "{reply}"
    );
    // The admin API still answers normal calls.
    let (status, reply, _) = app.admin_get(&format!("{base}/orders")).await;
    assert_eq!(status, 200, "{reply}");
    app.app.shutdown().await;
}

on_both_backends!(
    nul_in_a_webhook_body_is_refused_with_400_and_nothing_stored,
    nul_in_admin_inputs_is_refused_with_400,
);

/// A TCP relay to PostgreSQL that can be "stopped": then it drops every relayed connection
/// and closes each new one at once, as a crashed or restarting server does.
struct PgRelay {
    addr: std::net::SocketAddr,
    down: Arc<AtomicBool>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl PgRelay {
    async fn start(upstream: String) -> PgRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (is_down, relays) = (down.clone(), tasks.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                relays.lock().expect("relays").push(task);
            }
        });
        PgRelay { addr, down, tasks }
    }

    fn stop(&self) {
        self.down.store(true, Ordering::SeqCst);
        for task in self.tasks.lock().expect("relays").drain(..) {
            task.abort();
        }
    }
}

/// `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> String {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let after_scheme = after_at
        .split_once("://")
        .map_or(after_at, |(_, rest)| rest);
    after_scheme
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_503_with_retry_after_and_no_driver_text() {
    let pg = create_postgres_database().await;
    let upstream = host_port(&postgres_admin_url());
    let relay = PgRelay::start(upstream.clone()).await;
    let relayed = pg.url.replacen(&upstream, &relay.addr.to_string(), 1);
    let database_name = pg.url.rsplit('/').next().unwrap_or_default().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::start_on(relayed, Some(pg), dir, SystemSettings::default()).await;
    let (status, reply, _) = app
        .admin_get(&format!("{}/orders", installation_path()))
        .await;
    assert_eq!(status, 200, "before the outage: {reply}");

    relay.stop();
    let key = InstallationKey::new(NAMESPACE, NAME);
    let webhook_token = WebhookAuth::derived(SECRET.as_bytes().to_vec())
        .token_for(&key)
        .expect("token");
    let answers = [
        (
            "GenerateLabel",
            app.post(
                "/api/Consignment/GenerateLabel",
                app.label_request(4001, 1).to_string(),
            )
            .await,
        ),
        (
            "admin orders",
            app.admin_get(&format!("{}/orders", installation_path()))
                .await,
        ),
        (
            "admin order",
            app.admin_get(&format!("{}/orders/4001", installation_path()))
                .await,
        ),
        (
            "webhook",
            app.post_webhook(
                &webhook_path(&key),
                &webhook_token,
                &delivered_body("CN-1", "Left with neighbour"),
            )
            .await,
        ),
    ];
    let port = relay.addr.port().to_string();
    for (what, (status, reply, retry_after)) in &answers {
        assert_eq!(*status, 503, "{what}: {reply}");
        assert!(
            retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u32>().is_ok()),
            "{what}: Retry-After {retry_after:?}"
        );
        let text = reply.to_string();
        for leak in [
            database_name.as_str(),
            "127.0.0.1",
            port.as_str(),
            "sqlx",
            "error communicating",
            "pool timed out",
            "Connection reset",
            "os error",
        ] {
            assert!(
                !text.contains(leak),
                "{what} shows driver text {leak:?}: {text}"
            );
        }
    }
    let (_, (_, label, _)) = &answers[0];
    assert_eq!(
        label["IsError"],
        json!(true),
        "the contract's shape: {label}"
    );
    app.app.shutdown().await;
}

/// The example installation's resources hold no secret on any command line the chart or
/// the operator renders: checked where they are built, in the operator's unit tests
/// (`cli::children`); here, the README's examples.
#[test]
fn the_readme_passes_no_secret_on_a_command_line() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    for flag in [
        "--admin-token ",
        "--admin-token=",
        "--webhook-secret ",
        "--webhook-secret=",
        "--auth-token ",
        "--database-url postgres://linnstream:",
    ] {
        assert!(
            !readme.contains(flag),
            "README passes a secret on a command line: {flag:?}"
        );
    }
}
