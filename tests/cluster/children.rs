//! The children the operator builds for an Installation, against a real kube-apiserver
//! (Kubernetes 1.20 with kube-controller-manager, started by scripts/test.sh): the API
//! server accepts every one of them, and owner references make them go with the
//! Installation.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::{Value, json};

use linnstream::crd::{Installation, SecretKeyRef};
use linnstream::operator::build::{self, BuildInput, Children, CronJobApi, OperatorSettings};

use crate::support;
use crate::support::{apply, apply_examples, client, eventually};

/// The CronJob API this cluster serves, found the way the operator will find it.
async fn served_cron_job_api(client: &Client) -> CronJobApi {
    let batch_v1 = client
        .list_api_group_resources("batch/v1")
        .await
        .expect("batch/v1 served");
    if batch_v1.resources.iter().any(|r| r.name == "cronjobs") {
        CronJobApi::BatchV1
    } else {
        CronJobApi::BatchV1Beta1
    }
}

async fn build_for(client: &Client, ns: &str, api: CronJobApi) -> Children {
    let inst = Api::<Installation>::namespaced(client.clone(), ns)
        .get("acme")
        .await
        .expect("Installation acme");
    let settings = OperatorSettings::new(
        "linnstream:test",
        SecretKeyRef {
            name: "linnstream-database".into(),
            key: "url".into(),
        },
    );
    build::build(&BuildInput {
        installation: &inst,
        secret_versions: &Default::default(),
        settings: &settings,
        existing_webhook_auth: None,
        cron_job_api: api,
        now: chrono::Utc::now(),
    })
    .expect("children build")
}

#[tokio::test]
async fn every_child_passes_a_server_side_dry_run() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    let ns = apply_examples(&client).await;
    let api = served_cron_job_api(&client).await;
    assert_eq!(
        api,
        CronJobApi::BatchV1Beta1,
        "Kubernetes 1.20 serves CronJobs in batch/v1beta1 only"
    );
    let children = build_for(&client, &ns.name, api).await;
    let objects = children.to_json().expect("json");
    assert_eq!(objects.len(), 9);
    for obj in &objects {
        let what = format!("{} {}", obj["kind"], obj["metadata"]["name"]);
        let answer = apply(&client, &ns.name, obj, true)
            .await
            .unwrap_or_else(|e| panic!("the API server refused {what}: {e}"));
        let answer = serde_json::to_value(answer).expect("json");
        // The server kept what was built (nothing dropped as unknown).
        assert_eq!(
            answer["metadata"]["labels"], obj["metadata"]["labels"],
            "{what}"
        );
        assert_eq!(
            answer["spec"]["replicas"], obj["spec"]["replicas"],
            "{what}"
        );
        if obj["kind"] == "CronJob" {
            assert_eq!(answer["spec"]["schedule"], obj["spec"]["schedule"]);
            assert_eq!(
                answer["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"],
                obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
            );
        }
        if obj["kind"] == "Deployment" {
            let pod = &answer["spec"]["template"]["spec"];
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            assert_eq!(
                pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
                true
            );
        }
    }
    // A dry run stores nothing.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns.name);
    assert!(
        accounts
            .get_opt("acme-config-reader")
            .await
            .expect("get")
            .is_none()
    );
    ns.delete().await;
}

async fn apply_all(client: &Client, ns: &str, children: &Children) {
    for obj in children.to_json().expect("json") {
        apply(client, ns, &obj, false)
            .await
            .unwrap_or_else(|e| panic!("apply {}: {e}", obj["metadata"]["name"]));
    }
}

async fn cron_job(client: &Client, ns: &str, name: &str) -> Value {
    let probe =
        json!({"apiVersion": "batch/v1beta1", "kind": "CronJob", "metadata": {"name": name}});
    support::get_json(client, ns, &probe).await
}

#[tokio::test]
async fn applied_children_run_suspend_and_go_with_their_installation() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    let ns = apply_examples(&client).await;
    let api = served_cron_job_api(&client).await;
    apply_all(&client, &ns.name, &build_for(&client, &ns.name, api).await).await;

    // The controller manager takes the worker Deployment up (no kubelet: pods stay Pending).
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    let selector = ListParams::default()
        .labels("app.kubernetes.io/instance=acme,app.kubernetes.io/component=worker");
    eventually(30, "a ReplicaSet for the worker", || async {
        !replica_sets
            .list(&selector)
            .await
            .expect("list")
            .items
            .is_empty()
    })
    .await;
    let job = cron_job(&client, &ns.name, "acme-identifiers").await;
    assert_eq!(job["spec"]["suspend"], false);
    assert_eq!(
        job["metadata"]["annotations"]["linnstream.io/schedule"],
        "0 3 * * *"
    );

    // Suspending the Installation: rebuilt and re-applied children stop all automated work.
    let installations: Api<Installation> = Api::namespaced(client.clone(), &ns.name);
    // A merge patch, as `kubectl patch` would: re-applying a part with the manager that
    // applied the whole would remove every other field.
    installations
        .patch(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"suspend": true}})),
        )
        .await
        .expect("suspend");
    apply_all(&client, &ns.name, &build_for(&client, &ns.name, api).await).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let worker = deployments.get("acme-worker").await.expect("worker");
    assert_eq!(worker.spec.and_then(|s| s.replicas), Some(0));
    for name in ["acme-identifiers", "acme-postal-services"] {
        assert_eq!(
            cron_job(&client, &ns.name, name).await["spec"]["suspend"],
            true,
            "{name}"
        );
    }

    // Deleting the Installation deletes every child (garbage collection by owner reference).
    installations
        .delete("acme", &DeleteParams::background())
        .await
        .expect("delete");
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns.name);
    eventually(60, "garbage collection of the children", || async {
        accounts
            .get_opt("acme-config-reader")
            .await
            .expect("get")
            .is_none()
            && deployments
                .list(&ListParams::default())
                .await
                .expect("list")
                .items
                .is_empty()
    })
    .await;
    ns.delete().await;
}
