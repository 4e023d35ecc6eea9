//! Nothing acknowledged is lost: the real `linnstream run` binary receives a stream of
//! notifications from many concurrent callers (its receiver writes them in group commits)
//! and is killed with SIGKILL in the middle; every notification it answered 200 to is in the
//! store afterwards, with its body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linnstream::domain::InstallationKey;
use linnstream::domain::webhook::webhook_path;
use linnstream::server::derive_token;
use linnstream::sim::world::{NAME, NAMESPACE, World, WorldSettings};
use serde_json::{Value, json};

use crate::lifecycle::{kill9, listening_url, spawn_run};
use crate::on_both_backends;
use crate::support::db::{Backend, TestDb};

const SECRET: &str = "ingest-crash-webhook-secret-0123456789abcdef";
const CALLERS: usize = 16;

on_both_backends!(acknowledged_notifications_survive_a_sigkill_under_load);

fn notification(caller: usize, n: usize) -> String {
    json!({"webhook": {
        "event": {
            "event_code": "PARTDELVRD",
            "event_code_desc": "Part delivered",
            "event_date": "2026-06-20",
            "event_time": "10:00:00",
            "event_text": format!("caller {caller} scan {n}"),
        },
        "order": {"id": format!("CN-{caller}-{n}")},
    }})
    .to_string()
}

async fn acknowledged_notifications_survive_a_sigkill_under_load(backend: Backend) {
    let db = TestDb::new(backend).await;
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(
            &resources,
            &WorldSettings {
                public_base_url: Some("http://127.0.0.1:9".into()),
                webhook_interval: "10m".into(),
                ..WorldSettings::default()
            },
        )
        .expect("resources");
    let log = dir.path().join("run.log");
    let child = spawn_run(&resources, &db.url, &log, &["--webhook-secret", SECRET]);
    let base = listening_url(&log).await;
    let key = InstallationKey::new(NAMESPACE, NAME);
    let url = format!("{base}{}", webhook_path(&key));
    let token = derive_token(SECRET.as_bytes(), &key);

    // Every acknowledged notification: the stored id the receiver named, and its text.
    let acked: Arc<Mutex<HashMap<i64, String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let (http, url, token, acked, stop) = (
            http.clone(),
            url.clone(),
            token.clone(),
            acked.clone(),
            stop.clone(),
        );
        callers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = notification(caller, n);
                n += 1;
                let reply = http
                    .post(&url)
                    .header("authorization", &token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                // A call cut off by the kill was never acknowledged.
                let Ok(reply) = reply else { continue };
                if reply.status() != 200 {
                    continue;
                }
                let Ok(answer) = reply.json::<Value>().await else {
                    continue;
                };
                if let Some(id) = answer["id"].as_i64() {
                    assert_eq!(answer["duplicate"], json!(false), "{answer}");
                    acked.lock().expect("acked").insert(id, body);
                }
            }
        }));
    }
    // Under load for a while, then killed mid-flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("acked").len() < 300 {
        assert!(
            Instant::now() < deadline,
            "the receiver acknowledged only {} notifications in 60 s: {}",
            acked.lock().expect("acked").len(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill9(child);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in callers {
        c.await.expect("caller");
    }

    let acked = acked.lock().expect("acked").clone();
    let store = db.connect_again(2).await;
    let mut missing = Vec::new();
    for (id, body) in &acked {
        match store.webhook_event(*id).await.expect("store") {
            Some(event) => assert_eq!(&event.body, body, "event {id} holds its own body"),
            None => missing.push(*id),
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged notifications are not in the store: {missing:?}",
        missing.len(),
        acked.len()
    );
    // Each acknowledged notification has its audit entry too (written in the same commit).
    let audit = store
        .audit_entries(&linnstream::store::AuditQuery {
            installation: Some(key.id()),
            action: Some(linnstream::domain::AuditAction::Webhook),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("audit");
    for id in acked.keys() {
        let needle = format!("stored as event {id}");
        assert!(
            audit.iter().any(|e| e.message.ends_with(&needle)),
            "no audit entry says {needle:?}"
        );
    }
}
