//! The operator, run in-process against a real kube-apiserver (Kubernetes 1.20 with
//! kube-controller-manager, started by scripts/test.sh), a fresh PostgreSQL database and
//! the Stream simulator: YAML in, children, status, events and Stream webhook
//! subscriptions out.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::json;

use linnstream::crd::{ConditionStatus, Installation, PostalServiceMapping};
use linnstream::domain::EventCode;
use linnstream::domain::Job;
use linnstream::domain::{JobOutcome, OrderType};
use linnstream::store::{FetchedOrder, SendFailure, SendSuccess};

use crate::support;
use crate::support::eventually;
use crate::support::operator::{Env, PUBLIC_BASE_URL, kubectl};

const TRUE: ConditionStatus = ConditionStatus::True;
const FALSE: ConditionStatus = ConditionStatus::False;

/// Four orders for `acme`: two pending, one completed, one failed; and a successful fetch.
async fn seed_orders(env: &Env) {
    let id = env.id("acme");
    for n in 1..=4 {
        env.store
            .upsert_fetched(&FetchedOrder {
                installation: id.clone(),
                order_id: format!("order-{n}"),
                num_order_id: Some(1000 + n),
                reference: Some(format!("REF-{n}")),
                postal_service_id: None,
                postal_service_name: Some("Stream Next Day".into()),
                order_type: OrderType::Delivery,
                snapshot: None,
            })
            .await
            .expect("order");
    }
    let claimed = env
        .store
        .claim(&id, 2, "test-worker", Duration::from_secs(300))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    env.store
        .complete_claim(
            &claimed[0].claim().expect("claim"),
            &SendSuccess {
                http_status: Some(200),
                consignment_no: Some("C1".into()),
                ..SendSuccess::default()
            },
        )
        .await
        .expect("complete");
    env.store
        .fail_claim(
            &claimed[1].claim().expect("claim"),
            &SendFailure {
                http_status: Some(400),
                error: "rejected".into(),
            },
        )
        .await
        .expect("fail");
    let now = chrono::Utc::now();
    env.store
        .record_job_run(
            &id,
            Job::Fetch.name(),
            now - chrono::Duration::seconds(30),
            now - chrono::Duration::seconds(29),
            JobOutcome::Succeeded,
            "fetched 4 orders",
        )
        .await
        .expect("job run");
    env.store
        .record_job_run(
            &id,
            Job::PostalServices.name(),
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(2) + chrono::Duration::seconds(40),
            JobOutcome::Succeeded,
            "2 depots, 3 postal services",
        )
        .await
        .expect("job run");
}

async fn owned_by_acme(env: &Env, obj: &kube::api::ObjectMeta) {
    let inst = env.installation("acme").await;
    let owners = obj.owner_references.as_ref().expect("owner references");
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].kind, "Installation");
    assert_eq!(Some(&owners[0].uid), inst.metadata.uid.as_ref());
    assert_eq!(owners[0].controller, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_become_owned_children_and_a_ready_status_with_the_stores_counts() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    seed_orders(&env).await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let operator = env.start_operator(env.config("only")).await;

    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    let inst = env.installation("acme").await;
    let status = inst.status.clone().expect("status");
    assert_eq!(status.observed_generation, inst.metadata.generation);
    let queue = status.queue.expect("queue counts");
    assert_eq!(
        (
            queue.pending,
            queue.in_progress,
            queue.completed,
            queue.failed
        ),
        (2, 0, 1, 1)
    );
    assert!(status.last_sync_time.is_some());
    assert_eq!(status.last_fetch.expect("last fetch").outcome, "Succeeded");
    let md = status
        .last_postal_services_sync
        .expect("last postal services sync");
    assert_eq!(md.message.as_deref(), Some("2 depots, 3 postal services"));
    assert_eq!(
        status.webhook_url.as_deref(),
        Some(format!("{PUBLIC_BASE_URL}/webhooks/{}/acme", env.ns.name).as_str())
    );
    let workers = status.workers.expect("workers");
    assert_eq!(workers.live_heartbeats, 1);
    // No kubelet in the test cluster: the worker pod never becomes available.
    assert_eq!(workers.available_replicas, 0);
    for c in &status.conditions {
        if c.type_ != "Ready" {
            assert_eq!(c.status, FALSE, "{c:?}");
        }
        assert!(!c.reason.is_empty() && !c.last_transition_time.is_empty());
    }

    // Every child exists, owned by the Installation.
    let ns = &env.ns.name;
    let c = &env.client;
    owned_by_acme(
        &env,
        &Api::<ServiceAccount>::namespaced(c.clone(), ns)
            .get("acme-config-reader")
            .await
            .expect("sa")
            .metadata,
    )
    .await;
    owned_by_acme(
        &env,
        &Api::<Role>::namespaced(c.clone(), ns)
            .get("acme-config-reader")
            .await
            .expect("role")
            .metadata,
    )
    .await;
    owned_by_acme(
        &env,
        &Api::<RoleBinding>::namespaced(c.clone(), ns)
            .get("acme-config-reader")
            .await
            .expect("rb")
            .metadata,
    )
    .await;
    owned_by_acme(
        &env,
        &Api::<Secret>::namespaced(c.clone(), ns)
            .get("acme-webhook-auth")
            .await
            .expect("auth")
            .metadata,
    )
    .await;
    owned_by_acme(
        &env,
        &Api::<Service>::namespaced(c.clone(), ns)
            .get("acme-webhooks")
            .await
            .expect("svc")
            .metadata,
    )
    .await;
    let deployments = Api::<Deployment>::namespaced(c.clone(), ns);
    for name in ["acme-worker", "acme-webhooks"] {
        owned_by_acme(
            &env,
            &deployments.get(name).await.expect("deployment").metadata,
        )
        .await;
    }
    let cron = support::api_for(
        c,
        &json!({"apiVersion": "batch/v1beta1", "kind": "CronJob"}),
        ns,
    )
    .await;
    for name in ["acme-identifiers", "acme-postal-services"] {
        let job: DynamicObject = cron.get(name).await.expect("cron job");
        owned_by_acme(&env, &job.metadata).await;
    }

    // Stream delivers the subscribed events to the receiver's public URL; status has the ids.
    let subs = env.stream_subscriptions().await;
    let url = format!("{PUBLIC_BASE_URL}/webhooks/{}/acme", env.ns.name);
    assert_eq!(subs.len(), events().len(), "{subs:?}");
    for event in events() {
        assert!(
            subs.iter().any(|s| s.event == event && s.url_path == url),
            "{event}"
        );
    }
    let recorded = inst
        .status
        .as_ref()
        .and_then(|s| s.webhook_subscriptions.clone())
        .expect("recorded subscriptions");
    assert_eq!(recorded.subscriptions.len(), events().len());
    assert!(
        recorded
            .subscriptions
            .iter()
            .all(|r| subs.iter().any(|s| s.id == r.id))
    );

    // Both mappings find their depot and method in the synced master data.
    let mappings: Api<PostalServiceMapping> = Api::namespaced(c.clone(), ns);
    eventually(30, "both mappings Ready", || async {
        mappings
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .iter()
            .all(|m| {
                m.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == TRUE)
                })
            })
    })
    .await;

    // kubectl shows the printer columns with real values.
    let table = kubectl(ns, &["get", "installations,postalservicemappings"]);
    let acme = table
        .lines()
        .find(|l| l.starts_with("installation.linnstream.io/acme"))
        .unwrap_or_else(|| panic!("no acme row in:\n{table}"));
    let cols: Vec<&str> = acme.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["True", "2", "1"], "{table}");
    assert!(
        cols[4].ends_with('s') || cols[4].ends_with('m'),
        "Last Sync: {table}"
    );
    let next_day = table
        .lines()
        .find(|l| l.starts_with("postalservicemapping.linnstream.io/acme-next-day"))
        .unwrap_or_else(|| panic!("no mapping row in:\n{table}"));
    assert_eq!(
        &next_day.split_whitespace().collect::<Vec<_>>()[1..5],
        ["acme", "LEEDS", "HOME-2MAN", "True"],
        "{table}"
    );

    // Events with stable reasons.
    eventually(
        10,
        "ChildrenApplied, WebhookSubscribed, MasterDataSynced events",
        || async {
            let reasons: Vec<String> = env
                .event_reasons("acme")
                .await
                .into_iter()
                .map(|(r, _)| r)
                .collect();
            ["ChildrenApplied", "WebhookSubscribed", "MasterDataSynced"]
                .iter()
                .all(|want| reasons.iter().any(|r| r == want))
        },
    )
    .await;
    // Metrics: reconciles counted, queue depth per installation.
    let text = operator.metrics.encode();
    assert!(
        text.contains("linnstream_operator_reconciles_total{controller=\"installation\"}"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "linnstream_operator_queue_orders{{installation=\"{}/acme\",status=\"Pending\"}} 2",
            env.ns.name
        )),
        "{text}"
    );

    // A change of the counts in the store reaches the status at the next resync.
    env.store
        .claim(&env.id("acme"), 1, "w", Duration::from_secs(300))
        .await
        .expect("claim");
    eventually(20, "the new counts in status", || async {
        env.installation("acme")
            .await
            .status
            .and_then(|s| s.queue)
            .is_some_and(|q| q.in_progress == 1 && q.pending == 1)
    })
    .await;

    operator.stop().await.expect("clean stop");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_only_the_rules_refuse_is_reported_and_creates_nothing() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    env.seed_healthy("acme").await;
    // Valid for the schema; refused by the rules: the send offset is not shorter than the
    // send interval.
    env.apply_examples(|inst| {
        inst["spec"]["schedule"]["sendOffset"] = json!("10m");
    })
    .await;
    let operator = env.start_operator(env.config("only")).await;
    env.wait_condition("acme", "Ready", FALSE, "InvalidSpec")
        .await;
    let (status, reason, message) = env
        .condition("acme", "InvalidSpec")
        .await
        .expect("condition");
    assert_eq!((status, reason.as_str()), (TRUE, "ValidationFailed"));
    assert!(
        message
            .contains("spec.schedule.sendOffset: \"10m\" must be shorter than sendInterval \"5m\""),
        "{message}"
    );
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns.name);
    assert!(
        deployments
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(env.stream_subscriptions().await.is_empty());
    eventually(10, "an InvalidSpec event", || async {
        env.event_reasons("acme")
            .await
            .iter()
            .any(|(r, n)| r == "InvalidSpec" && n.contains("sendOffset"))
    })
    .await;

    // Fixed: the children appear and it becomes Ready.
    env.patch_installation("acme", json!({"spec": {"schedule": {"sendOffset": "2m"}}}))
        .await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    assert!(
        deployments
            .get_opt("acme-worker")
            .await
            .expect("get")
            .is_some()
    );

    // What the schema refuses never reaches the operator.
    let refused = support::apply(
        &env.client,
        &env.ns.name,
        &support::yaml_doc(&support::example("broken/bad-interval.yaml")),
        false,
    )
    .await;
    assert!(refused.is_err());
    operator.stop().await.expect("clean stop");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_is_reported_without_its_values_until_it_appears() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let linnworks = support::yaml_docs(&support::example("secrets.yaml"))
        .into_iter()
        .find(|s| s["metadata"]["name"] == "acme-linnworks")
        .expect("secret");
    env.delete_secret("acme-linnworks").await;
    let operator = env.start_operator(env.config("only")).await;

    env.wait_condition("acme", "Ready", FALSE, "CredentialsMissing")
        .await;
    let (status, reason, message) = env
        .condition("acme", "CredentialsMissing")
        .await
        .expect("condition");
    assert_eq!((status, reason.as_str()), (TRUE, "SecretNotFound"));
    assert!(
        message.contains("Secret \"acme-linnworks\" (spec.linnworks.applicationId) does not exist"),
        "{message}"
    );
    for value in linnworks["stringData"].as_object().expect("data").values() {
        assert!(
            !message.contains(value.as_str().expect("text")),
            "a value leaked"
        );
    }
    eventually(10, "a CredentialsMissing event", || async {
        env.event_reasons("acme")
            .await
            .iter()
            .any(|(r, _)| r == "CredentialsMissing")
    })
    .await;

    // A Secret without one key: still missing, naming the key.
    let mut partial = linnworks.clone();
    partial["stringData"]
        .as_object_mut()
        .expect("data")
        .remove("installation-token");
    env.apply_json(&partial).await;
    env.wait_condition("acme", "CredentialsMissing", TRUE, "SecretKeyNotFound")
        .await;
    let (_, _, message) = env
        .condition("acme", "CredentialsMissing")
        .await
        .expect("condition");
    assert!(
        message.contains("has no key \"installation-token\" (spec.linnworks.installationToken)"),
        "{message}"
    );

    // Complete again: Ready without waiting for a resync (the Secret watch triggers it).
    env.apply_json(&linnworks).await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    operator.stop().await.expect("clean stop");
    env.finish().await;
}

fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.as_ref().and_then(|s| s.replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_the_worker_and_the_cron_jobs_and_resume_restarts_them() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let operator = env.start_operator(env.config("only")).await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns.name);
    let cron = support::api_for(
        &env.client,
        &json!({"apiVersion": "batch/v1beta1", "kind": "CronJob"}),
        &env.ns.name,
    )
    .await;

    env.patch_installation("acme", json!({"spec": {"suspend": true}}))
        .await;
    env.wait_condition("acme", "Ready", FALSE, "Suspended")
        .await;
    assert_eq!(
        replicas(&deployments.get("acme-worker").await.expect("worker")),
        Some(0)
    );
    // The receiver keeps storing Stream's events while suspended.
    assert_eq!(
        replicas(&deployments.get("acme-webhooks").await.expect("receiver")),
        Some(1)
    );
    for name in ["acme-identifiers", "acme-postal-services"] {
        let job = cron.get(name).await.expect("cron job");
        assert_eq!(job.data["spec"]["suspend"], true, "{name}");
    }

    env.patch_installation("acme", json!({"spec": {"suspend": false}}))
        .await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    assert_eq!(
        replicas(&deployments.get("acme-worker").await.expect("worker")),
        Some(1)
    );
    assert_eq!(
        cron.get("acme-identifiers").await.expect("job").data["spec"]["suspend"],
        false
    );
    operator.stop().await.expect("clean stop");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_off_prunes_the_receiver_and_deletion_unsubscribes_and_removes_the_children() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let mut config = env.config("only");
    config.config_secret = Some(linnstream::operator::ConfigSecret {
        namespace: env.ns.name.clone(),
        name: "linnstream-config".into(),
    });
    let operator = env.start_operator(config).await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    assert_eq!(env.stream_subscriptions().await.len(), events().len());

    // The config Secret counts the active Installations; suspended, none is active (the
    // guide's "No active installations available").
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns.name);
    let active = || async {
        secrets
            .get_opt("linnstream-config")
            .await
            .expect("get")
            .and_then(|s| s.metadata.annotations)
            .and_then(|a| a.get(linnstream::operator::ACTIVE_ANNOTATION).cloned())
    };
    eventually(30, "one active installation", || async {
        active().await.as_deref() == Some("1")
    })
    .await;
    env.patch_installation("acme", json!({"spec": {"suspend": true}}))
        .await;
    eventually(30, "no active installation", || async {
        active().await.as_deref() == Some("0")
    })
    .await;
    env.patch_installation("acme", json!({"spec": {"suspend": false}}))
        .await;
    eventually(30, "active again", || async {
        active().await.as_deref() == Some("1")
    })
    .await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    let inst = env.installation("acme").await;
    assert!(
        inst.metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == "linnstream.io/webhook-subscriptions")
    );

    // Dispatch sync on: DISPATCHED is subscribed too; off again: that subscription goes.
    env.patch_installation(
        "acme",
        json!({"spec": {"sync": {"orderDispatchSyncEnabled": true}}}),
    )
    .await;
    eventually(30, "DISPATCHED subscribed", || async {
        let subs = env.stream_subscriptions().await;
        subs.len() == events().len() + 1 && subs.iter().any(|s| s.event == "DISPATCHED")
    })
    .await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    env.patch_installation(
        "acme",
        json!({"spec": {"sync": {"orderDispatchSyncEnabled": false}}}),
    )
    .await;
    eventually(30, "DISPATCHED unsubscribed", || async {
        let subs = env.stream_subscriptions().await;
        subs.len() == events().len() && !subs.iter().any(|s| s.event == "DISPATCHED")
    })
    .await;

    // A warehouse mapping naming a depot Stream does not have: LocationUnmatched.
    env.patch_installation(
        "acme",
        json!({"spec": {"locations": [
            {"linnworksLocation": {"name": "York Warehouse"}, "depot": "YORK"}]}}),
    )
    .await;
    env.wait_condition("acme", "LocationUnmatched", TRUE, "LocationUnmatched")
        .await;
    env.wait_condition("acme", "Ready", FALSE, "LocationUnmatched")
        .await;
    env.patch_installation("acme", json!({"spec": {"locations": null}}))
        .await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;

    // Webhooks off: unsubscribed, receiver children deleted, no finalizer needed.
    env.patch_installation("acme", json!({"spec": {"webhooks": {"enabled": false}}}))
        .await;
    env.wait_condition("acme", "WebhookNotSubscribed", FALSE, "WebhooksDisabled")
        .await;
    let services: Api<Service> = Api::namespaced(env.client.clone(), &env.ns.name);
    eventually(20, "the receiver pruned and unsubscribed", || async {
        services
            .get_opt("acme-webhooks")
            .await
            .expect("get")
            .is_none()
            && env.stream_subscriptions().await.is_empty()
    })
    .await;
    eventually(
        10,
        "WebhookUnsubscribed and ChildrenPruned events",
        || async {
            let reasons: Vec<String> = env
                .event_reasons("acme")
                .await
                .into_iter()
                .map(|(r, _)| r)
                .collect();
            reasons.iter().any(|r| r == "WebhookUnsubscribed")
                && reasons.iter().any(|r| r == "ChildrenPruned")
        },
    )
    .await;

    // On again, then delete: the finalizer removes the subscriptions, then the children go.
    env.patch_installation("acme", json!({"spec": {"webhooks": {"enabled": true}}}))
        .await;
    eventually(30, "subscribed again", || async {
        env.stream_subscriptions().await.len() == events().len()
    })
    .await;
    let installations: Api<Installation> = Api::namespaced(env.client.clone(), &env.ns.name);
    installations
        .delete("acme", &DeleteParams::background())
        .await
        .expect("delete");
    eventually(
        30,
        "the Installation gone and Stream unsubscribed",
        || async {
            installations.get_opt("acme").await.expect("get").is_none()
                && env.stream_subscriptions().await.is_empty()
        },
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(env.client.clone(), &env.ns.name);
    let accounts: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.ns.name);
    eventually(60, "garbage collection of the children", || async {
        deployments
            .list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty()
            && accounts
                .get_opt("acme-config-reader")
                .await
                .expect("get")
                .is_none()
    })
    .await;
    operator.stop().await.expect("clean stop");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_stream_delays_deletion_only_until_the_finalizer_gives_up() {
    let _cluster = crate::shared_cluster().await;
    let mut env = Env::new().await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let mut config = env.config("only");
    config.finalizer_timeout = Duration::from_secs(4);
    config.children.system.stream_api_max_retry_attempts = 0;
    let operator = env.start_operator(config).await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    // Stream goes away.
    env.sim_server.take().expect("running").shutdown().await;
    let installations: Api<Installation> = Api::namespaced(env.client.clone(), &env.ns.name);
    let started = std::time::Instant::now();
    installations
        .delete("acme", &DeleteParams::background())
        .await
        .expect("delete");
    eventually(60, "the Installation deleted after all", || async {
        installations.get_opt("acme").await.expect("get").is_none()
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it did try for a while"
    );
    let events = env.event_reasons("acme").await;
    let abandoned = events
        .iter()
        .find(|(r, _)| r == "WebhookUnsubscribeAbandoned")
        .unwrap_or_else(|| panic!("no abandon event in {events:?}"));
    assert!(abandoned.1.contains("DELIVERED"), "{}", abandoned.1);
    operator.stop().await.expect("clean stop");
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_never_both_act_and_the_follower_takes_over() {
    let _cluster = crate::shared_cluster().await;
    let env = Env::new().await;
    env.seed_healthy("acme").await;
    env.apply_examples(|_| {}).await;
    let a = env.start_operator(env.config("operator-a")).await;
    let b = env.start_operator(env.config("operator-b")).await;
    env.wait_condition("acme", "Ready", TRUE, "Running").await;
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert!(leader.is_leader() && !follower.is_leader());
    assert!(leader.reconciles() > 0);
    // A few resyncs later the follower still has not reconciled anything.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(follower.reconciles(), 0, "the follower acted");
    assert!(!follower.is_leader());

    // The leader stops (and releases the Lease): the follower takes over and acts.
    leader.stop().await.expect("clean stop");
    eventually(20, "the follower leads", || async { follower.is_leader() }).await;
    env.patch_installation("acme", json!({"spec": {"suspend": true}}))
        .await;
    env.wait_condition("acme", "Ready", FALSE, "Suspended")
        .await;
    assert!(follower.reconciles() > 0);

    // Someone else takes the Lease: the leader stops at once.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(env.client.clone(), &env.ns.name);
    leases
        .patch(
            "linnstream-operator",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {
                "holderIdentity": "intruder",
                "leaseDurationSeconds": 3600,
                "renewTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(k8s_openapi::jiff::Timestamp::now()),
            }})),
        )
        .await
        .expect("take the lease");
    let result = tokio::time::timeout(Duration::from_secs(20), follower.task)
        .await
        .expect("the leader stops within 20 s")
        .expect("task");
    match result {
        Err(linnstream::operator::RunError::LostLease(lost)) => {
            assert!(lost.to_string().contains("intruder"), "{lost}")
        }
        other => panic!("expected a lost lease, got {other:?}"),
    }
    env.finish().await;
}

/// What an installation without dispatch sync subscribes to.
fn events() -> Vec<&'static str> {
    EventCode::subscribed_codes(false)
}
