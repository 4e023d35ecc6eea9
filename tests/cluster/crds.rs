//! The generated CRDs and the examples against a real kube-apiserver (Kubernetes 1.20,
//! started by scripts/test.sh). Each test works in a namespace of its own.

use std::path::PathBuf;
use std::process::Command;

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

use linnstream::crd::Installation;

use crate::support;
use crate::support::{
    TestNamespace, apply, apply_examples, client, get_json, install_crds, refusal, root, yaml_doc,
};

fn example(name: &str) -> PathBuf {
    support::example(name)
}

#[tokio::test]
async fn crds_are_established_with_short_names_and_category() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    install_crds(&client).await;
    let served = client
        .list_api_group_resources("linnstream.io/v1alpha1")
        .await
        .expect("group served");
    let find = |name: &str| {
        served
            .resources
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} not served"))
    };
    let inst = find("installations");
    assert_eq!(inst.kind, "Installation");
    assert!(inst.namespaced);
    assert_eq!(inst.short_names.as_deref(), Some(&["lsi".to_string()][..]));
    assert_eq!(
        inst.categories.as_deref(),
        Some(&["linnstream".to_string()][..])
    );
    let map = find("postalservicemappings");
    assert_eq!(map.short_names.as_deref(), Some(&["lspsm".to_string()][..]));
    assert_eq!(
        map.categories.as_deref(),
        Some(&["linnstream".to_string()][..])
    );
    // The status subresource is served, so the controller can write status alone.
    assert!(
        served
            .resources
            .iter()
            .any(|r| r.name == "installations/status")
    );
    assert!(
        served
            .resources
            .iter()
            .any(|r| r.name == "postalservicemappings/status")
    );
}

#[tokio::test]
async fn examples_apply_and_the_server_fills_in_the_defaults() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    let ns = apply_examples(&client).await;

    // The collection mapping leaves labelCopies and the flags out: the server fills them.
    let returns = get_json(
        &client,
        &ns.name,
        &yaml_doc(&example("mapping-collection.yaml")),
    )
    .await;
    let spec = &returns["spec"];
    assert_eq!(spec["labelCopies"], 1);
    assert_eq!(spec["skipCompositeParent"], true);
    assert_eq!(spec["overridePackagingSplit"], false);
    assert_eq!(spec["processedOnDelivered"], false);
    assert_eq!(spec["orderType"], "Collection");

    // An Installation without schedule, webhooks or API URL gets the guide's defaults.
    let mut minimal = yaml_doc(&example("installation.yaml"));
    minimal["metadata"]["name"] = json!("acme-minimal");
    let spec = minimal["spec"].as_object_mut().expect("spec");
    for field in [
        "schedule",
        "webhooks",
        "labels",
        "shippingIntegration",
        "suspend",
    ] {
        spec.remove(field);
    }
    spec["linnworks"]
        .as_object_mut()
        .expect("linnworks")
        .remove("apiBaseUrl");
    apply(&client, &ns.name, &minimal, false)
        .await
        .expect("minimal Installation accepted");
    let stored = get_json(&client, &ns.name, &minimal).await;
    let s = &stored["spec"];
    assert_eq!(s["schedule"]["fetchInterval"], "5m");
    assert_eq!(s["schedule"]["sendInterval"], "5m");
    assert_eq!(s["schedule"]["sendOffset"], "2m");
    assert_eq!(s["schedule"]["webhookInterval"], "2m");
    assert_eq!(s["schedule"]["identifiersSchedule"], "0 3 * * *");
    assert_eq!(s["schedule"]["postalServicesSchedule"], "0 4 * * *");
    assert_eq!(s["schedule"]["timeZone"], "Etc/UTC");
    assert_eq!(s["schedule"]["sendAfterFetch"], true);
    assert_eq!(s["suspend"], false);
    assert_eq!(s["webhooks"]["enabled"], false);
    assert_eq!(s["linnworks"]["apiBaseUrl"], "https://api.linnworks.net");
    assert_eq!(s["sync"]["orderDispatchSyncEnabled"], false);

    // The server's defaults are the code's defaults: reading what was sent (serde fills
    // the gaps) and what is stored (the server did) gives the same spec.
    let sent: Installation = serde_json::from_value(minimal).expect("typed");
    let got: Installation = serde_json::from_value(stored).expect("typed");
    assert_eq!(sent.spec, got.spec);
    ns.delete().await;
}

/// What the API server does with each broken example, applied server-side.
const BROKEN: &[(&str, &[&str])] = &[
    ("bad-interval.yaml", &["spec.schedule.fetchInterval"]),
    (
        "bad-lookback-and-country.yaml",
        &["spec.sync.orderLookbackDays", "spec.sender.countryCode"],
    ),
    ("bad-order-type.yaml", &["spec.orderType"]),
    // Refused for the cron field count; its time zone and send offset are only caught by
    // `linnstream check` and the controller (see the next test).
    ("bad-schedule.yaml", &["spec.schedule.identifiersSchedule"]),
    ("copies-out-of-range.yaml", &["spec.labelCopies"]),
    (
        "default-location-missing.yaml",
        &["spec.sync.defaultLocation"],
    ),
    // Server-side apply stops at the unknown `value` (a plain create: missing secretKeyRef).
    ("inline-secret.yaml", &["spec.stream.clientSecret.value"]),
    // The `anyOf` on each warehouse-mapping entry, and the GUID pattern of its id (the
    // server names list items without their index).
    (
        "location-without-id-or-name.yaml",
        &[
            "spec.locations.linnworksLocation\" must validate at least one schema",
            "spec.locations.linnworksLocation.id in body should match",
        ],
    ),
    ("mapping-without-service.yaml", &["spec.postalService"]),
    (
        "missing-required.yaml",
        &["spec.sync.orderSyncEnabled", "spec.sender.contactPhoneNo"],
    ),
    // Server-side apply refuses unknown fields (a plain create drops them: next test).
    ("misspelt-field.yaml", &["spec.lableCopies"]),
    (
        "partner-without-id.yaml",
        &["spec.stream.partnerAccount.id"],
    ),
    ("unknown-label-type.yaml", &["spec.labelType"]),
    (
        "webhooks-without-url.yaml",
        &["spec.webhooks.publicBaseUrl"],
    ),
];

#[tokio::test]
async fn broken_examples_are_refused_with_the_field_named() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client).await;
    let dir = root().join("examples/broken");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/broken")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<String> = BROKEN.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        files, listed,
        "every broken example needs an entry in BROKEN"
    );
    for (file, fields) in BROKEN {
        let doc = yaml_doc(&dir.join(file));
        let message = refusal(apply(&client, &ns.name, &doc, false).await, file);
        for field in *fields {
            assert!(
                message.contains(field),
                "{file}: {field} not named in: {message}"
            );
        }
    }
    ns.delete().await;
}

/// What the schema cannot say, and so the API server lets through: values that need
/// parsing (time zone, cron meaning, offset shorter than the interval) and, with a plain
/// create, unknown fields (silently dropped). `linnstream check` and the controller catch
/// these; this is why the controller re-checks every spec.
#[tokio::test]
async fn what_the_schema_cannot_express_is_accepted_and_caught_by_check() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = TestNamespace::new(&client).await;
    let dir = tempfile::tempdir().expect("tempdir");

    let mut schedule = yaml_doc(&root().join("examples/broken/bad-schedule.yaml"));
    schedule["spec"]["schedule"]["identifiersSchedule"] = json!("0 3 * * *");
    apply(&client, &ns.name, &schedule, false)
        .await
        .expect("1.20 accepts what only parsing can fault");
    let file = dir.path().join("schedule.yaml");
    std::fs::write(&file, serde_saphyr::to_string(&schedule).expect("yaml")).expect("write");
    let out = check(&file);
    assert!(
        out.contains("spec.schedule.timeZone: \"Mars/Olympus\" is not an IANA time zone"),
        "{out}"
    );
    assert!(
        out.contains("spec.schedule.sendOffset: \"10m\" must be shorter than sendInterval \"5m\""),
        "{out}"
    );

    let typo = yaml_doc(&root().join("examples/broken/misspelt-field.yaml"));
    let api: Api<DynamicObject> = support::api_for(&client, &typo, &ns.name).await;
    let obj: DynamicObject = serde_json::from_value(typo.clone()).expect("object");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("a plain create drops unknown fields");
    let stored = get_json(&client, &ns.name, &typo).await;
    assert!(stored["spec"].get("lableCopies").is_none(), "{stored}");
    assert_eq!(stored["spec"]["labelCopies"], 1, "the intended 2 was lost");
    let out = check(&root().join("examples/broken/misspelt-field.yaml"));
    assert!(
        out.contains("spec.lableCopies: is not a known field (did you mean \"labelCopies\"?)"),
        "{out}"
    );
    ns.delete().await;
}

fn check(file: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["check", "-f"])
        .arg(file)
        .output()
        .expect("run linnstream check");
    assert!(!out.status.success(), "check accepted {}", file.display());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `kubectl explain`, retried for a while: the API server republishes its OpenAPI document
/// a moment after any CRD update, and the other cluster tests in this process re-apply the
/// CRDs (before they shared a process, they ran one crate after another).
async fn kubectl_explain(namespace: &str, what: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let bin = std::env::var("LINNSTREAM_TEST_KUBECTL").unwrap_or_default();
        let out = Command::new(&bin)
            .arg("--kubeconfig")
            .arg(support::kubeconfig_path())
            .args(["--namespace", namespace, "explain", what])
            .output();
        if let Ok(out) = &out
            && out.status.success()
        {
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        if std::time::Instant::now() >= deadline {
            // Fails with kubectl's own message.
            return kubectl(namespace, &["explain", what]);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn kubectl(namespace: &str, args: &[&str]) -> String {
    let bin = std::env::var("LINNSTREAM_TEST_KUBECTL").unwrap_or_else(|_| {
        panic!(
            "LINNSTREAM_TEST_KUBECTL is not set: run scripts/test.sh, or \
             `scripts/test-cluster.sh tools` and `eval \"$(scripts/test-cluster.sh env)\"`"
        )
    });
    let out = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(support::kubeconfig_path())
        .args(["--namespace", namespace])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn line_starting<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{output}"))
}

#[tokio::test]
async fn kubectl_get_shows_the_printer_columns_short_names_and_category() {
    let _cluster = crate::shared_cluster().await;
    let client = client().await;
    let ns = apply_examples(&client).await;
    // Status as the controller will write it.
    let installations: Api<DynamicObject> =
        support::api_for(&client, &yaml_doc(&example("installation.yaml")), &ns.name).await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let status = json!({"status": {
        "observedGeneration": 1,
        "conditions": [{"type": "Ready", "status": "True", "reason": "Synced",
                        "message": "workers running", "lastTransitionTime": now}],
        "queue": {"pending": 3, "inProgress": 0, "completed": 10, "failed": 1,
                  "validationFailed": 0, "readyForRetry": 0, "deleted": 0},
        "lastSyncTime": now,
        "workers": {"liveHeartbeats": 1, "availableReplicas": 2, "mode": "Pool",
                    "holder": "linnstream-pool-worker-7d9f-x2"},
    }});
    installations
        .patch_status("acme", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status written");

    let out = kubectl(&ns.name, &["get", "installations,postalservicemappings"]);
    assert_eq!(
        words(line_starting(&out, "NAME ")),
        [
            "NAME", "READY", "PENDING", "FAILED", "LAST", "SYNC", "MODE", "WORKER", "REASON",
            "MESSAGE", "AGE"
        ],
        "{out}"
    );
    let row = words(line_starting(&out, "installation.linnstream.io/acme "));
    assert_eq!(row[1..4], ["True", "3", "1"], "{out}");
    // Which mode, and which worker holds it.
    assert!(
        row.contains(&"Pool") && row.contains(&"linnstream-pool-worker-7d9f-x2"),
        "{out}"
    );
    // The Ready condition's reason and message, after Last Sync, Mode and Worker.
    assert_eq!(row[7..10], ["Synced", "workers", "running"], "{out}");
    let mapping_header = out
        .lines()
        .filter(|l| l.starts_with("NAME "))
        .nth(1)
        .unwrap_or_else(|| panic!("no mapping table in:\n{out}"));
    assert_eq!(
        words(mapping_header),
        [
            "NAME",
            "INSTALLATION",
            "DEPOT",
            "METHOD",
            "READY",
            "REASON",
            "MESSAGE",
            "AGE"
        ]
    );
    // `kubectl explain` describes the status. (Kubernetes 1.20 publishes a nullable
    // object without its fields, so explain cannot go deeper there; the CRD's own schema
    // describes every status field, as crd_resources checks.)
    let explained = kubectl_explain(&ns.name, "installations.status").await;
    assert!(
        explained.contains("Written only by the operator"),
        "{explained}"
    );
    let failed = kubectl(
        &ns.name,
        &[
            "get",
            "crd",
            "installations.linnstream.io",
            "-o",
            "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.status.properties.queue.properties.failed.description}",
        ],
    );
    assert!(failed.contains("Refused by Stream"), "{failed}");
    let row = words(line_starting(
        &out,
        "postalservicemapping.linnstream.io/acme-next-day ",
    ));
    assert_eq!(row[1..4], ["acme", "LEEDS", "HOME-2MAN"], "{out}");

    let short = kubectl(&ns.name, &["get", "lsi"]);
    assert!(line_starting(&short, "acme ").contains("True"), "{short}");
    let short = kubectl(&ns.name, &["get", "lspsm", "-o", "name"]);
    assert_eq!(
        short.lines().collect::<Vec<_>>(),
        [
            "postalservicemapping.linnstream.io/acme-next-day",
            "postalservicemapping.linnstream.io/acme-returns"
        ]
    );
    let category = kubectl(&ns.name, &["get", "linnstream", "-o", "name"]);
    // kubectl lists a category's kinds in discovery order, which is not fixed.
    let mut listed = category.lines().collect::<Vec<_>>();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "installation.linnstream.io/acme",
            "postalservicemapping.linnstream.io/acme-next-day",
            "postalservicemapping.linnstream.io/acme-returns"
        ]
    );
    ns.delete().await;
}
