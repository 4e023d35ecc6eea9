//! The Installation reconcile against a mocked API server (the `tower-test` pattern of
//! kube-rs `controller-rs`), beside the real-server tests in tests/cluster/operator.rs:
//! every request the reconcile makes is recorded and answered from a table, so what it
//! asks of Kubernetes (which objects, applied how, which status and events) is checked in
//! milliseconds, with no cluster. Watches, garbage collection and Stream are left to the
//! real-server tests: the caches are filled by hand, and webhooks are off wherever a
//! reconcile would call Stream.

mod harness;
mod server;

use std::collections::BTreeSet;
use std::time::Duration;

use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::error::Error;
use super::installation::error_policy;
use harness::{
    GENERATION, Harness, RESYNC, UID, applied, condition, events, installation, only_known_calls,
    secret_reads, webhooks_off, written_status,
};
use server::{Call, NS};

const SA: &str = "/api/v1/namespaces/shop/serviceaccounts/acme-config-reader";
const ROLE: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/acme-config-reader";
const BINDING: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/acme-config-reader";
const WORKER: &str = "/apis/apps/v1/namespaces/shop/deployments/acme-worker";
const IDENTIFIERS: &str = "/apis/batch/v1/namespaces/shop/cronjobs/acme-identifiers";
const POSTAL_SERVICES: &str = "/apis/batch/v1/namespaces/shop/cronjobs/acme-postal-services";

#[tokio::test]
async fn a_valid_installation_gets_its_children_applied_and_a_ready_status() {
    let h = Harness::new(installation(webhooks_off), Vec::new()).await;
    let action = h.reconcile().await.expect("reconciled");
    assert_eq!(
        action,
        Action::requeue(RESYNC),
        "checked again every resync"
    );
    let calls = h.take_calls();
    only_known_calls(&calls);

    // Every referenced Secret was looked at (their keys checked).
    assert_eq!(
        secret_reads(&calls),
        BTreeSet::from([
            "/api/v1/namespaces/shop/secrets/acme-linnworks",
            "/api/v1/namespaces/shop/secrets/acme-stream",
            "/api/v1/namespaces/shop/secrets/linnstream-database",
        ])
    );

    // The children, API access before the workloads using it; forced server-side applies
    // by the operator's field manager, each owned by the Installation.
    assert_eq!(
        applied(&calls),
        [SA, ROLE, BINDING, WORKER, IDENTIFIERS, POSTAL_SERVICES]
    );
    for c in calls.iter().filter(|c| c.is_apply()) {
        assert_eq!(
            c.param("fieldManager"),
            Some("linnstream-operator"),
            "{c:?}"
        );
        assert_eq!(c.param("force"), Some("true"), "{c:?}");
        let meta = &c.body["metadata"];
        assert_eq!(
            Some(meta["name"].as_str().expect("name")),
            c.path.rsplit('/').next(),
            "the name applied is the one in the path"
        );
        assert_eq!(meta["namespace"], NS);
        assert_eq!(
            meta["labels"]["app.kubernetes.io/managed-by"],
            "linnstream-operator"
        );
        let owner = &meta["ownerReferences"][0];
        assert_eq!(
            (
                &owner["kind"],
                &owner["name"],
                &owner["uid"],
                &owner["controller"]
            ),
            (
                &json!("Installation"),
                &json!("acme"),
                &json!(UID),
                &json!(true)
            ),
            "{c:?}"
        );
    }
    let worker = calls.iter().find(|c| c.path == WORKER).expect("worker");
    assert_eq!(worker.body["spec"]["replicas"], 1);
    assert_eq!(
        worker.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/linnstream:1.2.3"
    );

    // The status: this generation, Ready with every problem condition False, the store's
    // counts.
    let status = written_status(&calls);
    assert_eq!(status["observedGeneration"], GENERATION);
    assert_eq!(condition(status, "Ready").0, "True");
    assert_eq!(condition(status, "Ready").1, "Running");
    for c in status["conditions"].as_array().expect("conditions") {
        if c["type"] != "Ready" {
            assert_eq!(c["status"], "False", "{c}");
        }
        assert!(
            c["lastTransitionTime"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    assert_eq!(
        condition(status, "WebhookNotSubscribed").1,
        "WebhooksDisabled"
    );
    assert_eq!(status["queue"]["pending"], 1);
    assert_eq!(status["workers"]["liveHeartbeats"], 1);
    assert!(status.get("webhookUrl").is_none_or(Value::is_null));
    let text = h.ctx.metrics.encode();
    assert!(
        text.contains(
            "linnstream_operator_queue_orders{installation=\"shop/acme\",status=\"Pending\"} 1"
        ),
        "{text}"
    );

    // One event, listing what was created.
    let events = events(&calls);
    assert_eq!(events.len(), 1, "{events:?}");
    let (type_, reason, note) = &events[0];
    assert_eq!(
        (type_.as_str(), reason.as_str()),
        ("Normal", "ChildrenApplied")
    );
    for child in [
        "ServiceAccount/acme-config-reader",
        "Deployment/acme-worker",
        "CronJob/acme-postal-services",
    ] {
        assert!(note.contains(child), "{note}");
    }
}

#[tokio::test]
async fn a_secret_the_api_server_no_longer_has_is_reported_missing() {
    // The watch still lists acme-linnworks; the API server answers 404: deleted since.
    let h = Harness::new(installation(|_| {}), vec!["acme-linnworks"]).await;
    let action = h.reconcile().await.expect("reconciled");
    assert_eq!(action, Action::requeue(RESYNC));
    let calls = h.take_calls();
    only_known_calls(&calls);
    assert!(
        secret_reads(&calls).contains("/api/v1/namespaces/shop/secrets/acme-linnworks"),
        "the API server was asked"
    );

    let status = written_status(&calls);
    assert_eq!(status["observedGeneration"], GENERATION);
    let (state, reason, message) = condition(status, "CredentialsMissing");
    assert_eq!((state, reason), ("True", "SecretNotFound"));
    assert!(
        message.contains("Secret \"acme-linnworks\" (spec.linnworks.applicationId) does not exist"),
        "{message}"
    );
    let (ready, why, _) = condition(status, "Ready");
    assert_eq!((ready, why), ("False", "CredentialsMissing"));
    // No Stream subscription is attempted without credentials (not even the finalizer that
    // would precede one).
    let (state, reason, message) = condition(status, "WebhookNotSubscribed");
    assert_eq!((state, reason), ("True", "NotSubscribed"));
    assert!(message.contains("credentials are missing"), "{message}");
    assert!(
        status
            .get("webhookSubscriptions")
            .is_none_or(Value::is_null)
    );

    let events = events(&calls);
    let warning = events
        .iter()
        .find(|(_, reason, _)| reason == "CredentialsMissing")
        .unwrap_or_else(|| panic!("no CredentialsMissing event in {events:?}"));
    assert_eq!(warning.0, "Warning");
    assert!(warning.2.contains("acme-linnworks"), "{}", warning.2);
}

#[tokio::test]
async fn a_spec_only_the_rules_refuse_is_reported_and_applies_nothing() {
    // Valid for the schema; refused by the rules: the send offset is not shorter than the
    // send interval.
    let h = Harness::new(
        installation(|inst| {
            webhooks_off(inst);
            inst["spec"]["schedule"]["sendOffset"] = json!("10m");
        }),
        Vec::new(),
    )
    .await;
    assert_eq!(
        h.reconcile().await.expect("reconciled"),
        Action::requeue(RESYNC)
    );
    let calls = h.take_calls();
    only_known_calls(&calls);
    assert_eq!(applied(&calls), Vec::<&str>::new(), "nothing applied");

    let status = written_status(&calls);
    let (state, reason, message) = condition(status, "InvalidSpec");
    assert_eq!((state, reason), ("True", "ValidationFailed"));
    assert!(
        message
            .contains("spec.schedule.sendOffset: \"10m\" must be shorter than sendInterval \"5m\""),
        "{message}"
    );
    assert_eq!(condition(status, "Ready").1, "InvalidSpec");
    let events = events(&calls);
    assert!(
        events.iter().any(|(t, r, note)| t == "Warning"
            && r == "InvalidSpec"
            && note.contains("sendOffset")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_failed_apply_fails_the_reconcile_and_backs_off_until_it_succeeds() {
    let h = Harness::new(installation(webhooks_off), Vec::new()).await;
    *h.cluster.failing_apply.lock().expect("lock") = Some(WORKER.to_string());

    let error = h
        .reconcile()
        .await
        .expect_err("the 500 fails the reconcile");
    assert!(
        matches!(&error, Error::Kube(kube::Error::Api(s)) if s.code == 500),
        "{error:?}"
    );
    let calls = h.take_calls();
    only_known_calls(&calls);
    // Stopped at the failure: no later child, no status written from a half-done pass.
    assert_eq!(applied(&calls), [SA, ROLE, BINDING, WORKER]);
    assert!(!calls.iter().any(Call::is_status_write), "{calls:#?}");
    assert!(events(&calls).is_empty());

    // 1 s, then twice as long while it keeps failing.
    assert_eq!(
        error_policy(h.inst.clone(), &error, h.ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
    let again = h.reconcile().await.expect_err("still failing");
    assert_eq!(
        error_policy(h.inst.clone(), &again, h.ctx.clone()),
        Action::requeue(Duration::from_secs(2))
    );
    let text = h.ctx.metrics.encode();
    assert!(
        text.contains(
            "linnstream_operator_reconcile_failures_total{controller=\"installation\",error=\"kube\"} 2"
        ),
        "{text}"
    );

    // Fixed: the pass completes, and the next failure starts the backoff over.
    *h.cluster.failing_apply.lock().expect("lock") = None;
    assert_eq!(
        h.reconcile().await.expect("reconciled"),
        Action::requeue(RESYNC)
    );
    assert_eq!(
        condition(written_status(&h.take_calls()), "Ready").1,
        "Running"
    );
    assert_eq!(
        error_policy(h.inst.clone(), &again, h.ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
}
