//! The settings source of the processes the operator runs (`config::cluster`), against a real
//! kube-apiserver, acting as the Installation's own ServiceAccount: it may read its
//! Installation and mappings (and sees their changes live), and nothing else.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use linnstream::config::KubeSource;
use linnstream::config::{Credentials, SnapshotReceiver};
use linnstream::crd::{Installation, SecretKeyRef};
use linnstream::domain::InstallationKey;
use linnstream::operator::build::{self, BuildInput, CronJobApi, OperatorSettings};

use crate::support;
use crate::support::{apply, apply_examples, client, client_as, eventually};

fn credentials() -> Credentials {
    Credentials {
        stream_client_id: "from-env".into(),
        stream_client_secret: "s".into(),
        linnworks_application_id: "a".into(),
        linnworks_application_secret: "b".into(),
        linnworks_installation_token: "c".into(),
        gateway_token: None,
    }
}

/// Applies the ServiceAccount, Role and RoleBinding the operator builds for `acme`.
async fn apply_access(client: &Client, ns: &str) {
    let inst = Api::<Installation>::namespaced(client.clone(), ns)
        .get("acme")
        .await
        .expect("acme");
    let settings = OperatorSettings::new(
        "linnstream:test",
        SecretKeyRef {
            name: "db".into(),
            key: "url".into(),
        },
    );
    let children = build::build(&BuildInput {
        installation: &inst,
        secret_versions: &Default::default(),
        settings: &settings,
        existing_webhook_auth: None,
        cron_job_api: CronJobApi::BatchV1Beta1,
        now: chrono::Utc::now(),
    })
    .expect("build");
    for child in children.to_json().expect("json").iter().take(3) {
        apply(client, ns, child, false).await.expect("apply access");
    }
}

fn lookback(rx: &SnapshotReceiver, key: &InstallationKey) -> Option<u32> {
    rx.borrow()
        .get(key)
        .map(|i| i.spec.sync.order_lookback_days)
}

fn mapping_names(rx: &SnapshotReceiver, key: &InstallationKey) -> Vec<String> {
    rx.borrow()
        .get(key)
        .map(|i| i.mappings.iter().map(|m| m.name.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_service_account_watches_its_installation_and_mappings_live() {
    let _cluster = crate::shared_cluster().await;
    let admin = client().await;
    let ns = apply_examples(&admin).await;
    apply_access(&admin, &ns.name).await;
    let me = client_as(&format!(
        "system:serviceaccount:{}:acme-config-reader",
        ns.name
    ))
    .await;
    let key = InstallationKey::new(&ns.name, "acme");
    let source = KubeSource::start(
        me.clone(),
        key.clone(),
        credentials(),
        Duration::from_secs(20),
    )
    .await
    .expect("the ServiceAccount may read its settings");
    let rx = source.receiver();
    {
        let snap = rx.borrow();
        let acme = snap.get(&key).expect("acme in the first snapshot");
        assert_eq!(acme.spec.stream.client_url, "https://www.go2stream.net/api");
        assert_eq!(acme.credentials.stream_client_id, "from-env");
    }
    assert_eq!(mapping_names(&rx, &key), ["acme-next-day", "acme-returns"]);

    // A settings change reaches the process without a restart.
    let installations: Api<Installation> = Api::namespaced(admin.clone(), &ns.name);
    installations
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"sync": {"orderLookbackDays": 21}}})),
        )
        .await
        .expect("patch");
    eventually(20, "the new lookback in the snapshot", || async {
        lookback(&rx, &key) == Some(21)
    })
    .await;

    // Mappings come and go; those of another Installation are not ours.
    let mappings =
        Api::<linnstream::crd::PostalServiceMapping>::namespaced(admin.clone(), &ns.name);
    mappings
        .delete("acme-returns", &DeleteParams::default())
        .await
        .expect("delete mapping");
    let mut foreign = support::yaml_doc(&support::example("mapping-delivery.yaml"));
    foreign["metadata"]["name"] = json!("other-next-day");
    foreign["spec"]["installationRef"]["name"] = json!("other");
    apply(&admin, &ns.name, &foreign, false)
        .await
        .expect("apply foreign");
    eventually(20, "the deleted mapping gone", || async {
        mapping_names(&rx, &key) == ["acme-next-day"]
    })
    .await;

    // The ServiceAccount may not read Secrets, nor Installations elsewhere.
    let secrets: Api<Secret> = Api::namespaced(me.clone(), &ns.name);
    match secrets.get("acme-stream").await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403, "{status:?}"),
        other => panic!("the config reader could read a Secret: {other:?}"),
    }
    let elsewhere: Api<Installation> = Api::namespaced(me.clone(), "default");
    assert!(elsewhere.list(&Default::default()).await.is_err());

    // Deleted: the snapshot empties.
    installations
        .delete("acme", &DeleteParams::default())
        .await
        .expect("delete");
    eventually(20, "the Installation gone from the snapshot", || async {
        rx.borrow().installations.is_empty()
    })
    .await;
    drop(source);
    ns.delete().await;
}

#[tokio::test]
async fn without_access_start_fails_and_says_why() {
    let _cluster = crate::shared_cluster().await;
    let admin = client().await;
    let ns = apply_examples(&admin).await;
    // No Role applied: the ServiceAccount may read nothing.
    let me = client_as(&format!(
        "system:serviceaccount:{}:acme-config-reader",
        ns.name
    ))
    .await;
    let err = KubeSource::start(
        me,
        InstallationKey::new(&ns.name, "acme"),
        credentials(),
        Duration::from_secs(3),
    )
    .await
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains(&format!("Installation {}/acme", ns.name)),
        "{text}"
    );
    assert!(text.contains("forbidden") || text.contains("403"), "{text}");
    ns.delete().await;
}
