//! The Helm chart (`charts/linnstream`) with the real `helm` and `kubectl` (from
//! `scripts/test-cluster.sh tools`): lint and render with default values and with every
//! toggle on, the schema's refusals, values that match the binary's flags and the README,
//! a server-side dry run of the rendered objects against the test cluster, an install whose
//! operator (run as a local process with the rendered Deployment's arguments, as the
//! chart's ServiceAccount) brings the example Installation to Ready, and an install with
//! the console whose gateway and console learn their settings from the operator's config
//! Secret. Fails, never skips, without helm or the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::Role;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use linnstream::crd::{ConditionStatus, Installation};

use crate::support;
use crate::support::operator::Env;
use crate::support::pods::{free_port, kubeconfig_as, pod_command, terminate};
use crate::support::{TestNamespace, client, eventually, root};

// ---------------------------------------------------------------------------------------
// helm, kubectl and the chart

fn chart() -> PathBuf {
    root().join("charts/linnstream")
}

fn all_on_values() -> PathBuf {
    chart().join("ci/all-on-values.yaml")
}

/// `helm` from `scripts/test-cluster.sh tools`: LINNSTREAM_TEST_HELM, else next to
/// LINNSTREAM_TEST_KUBECTL (both set by `scripts/test-cluster.sh env`).
fn helm_bin() -> PathBuf {
    if let Ok(path) = std::env::var("LINNSTREAM_TEST_HELM") {
        return PathBuf::from(path);
    }
    if let Ok(kubectl) = std::env::var("LINNSTREAM_TEST_KUBECTL") {
        let helm = Path::new(&kubectl).with_file_name("helm");
        if helm.is_file() {
            return helm;
        }
    }
    panic!(
        "helm not found: these tests need it. Run scripts/test.sh, or `scripts/test-cluster.sh tools` \
         and `eval \"$(scripts/test-cluster.sh env)\"` (LINNSTREAM_TEST_HELM)"
    )
}

fn kubectl_bin() -> String {
    std::env::var("LINNSTREAM_TEST_KUBECTL").unwrap_or_else(|_| {
        panic!("LINNSTREAM_TEST_KUBECTL is not set: run scripts/test.sh or `eval \"$(scripts/test-cluster.sh env)\"`")
    })
}

fn run(mut command: Command, what: &str) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn helm(args: &[&str]) -> Output {
    let mut command = Command::new(helm_bin());
    command.args(args);
    // Helm's caches and config stay out of the home folder.
    let home = std::env::temp_dir().join("linnstream-helm-tests");
    command
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    if let Ok(kubeconfig) = std::env::var("LINNSTREAM_TEST_KUBECONFIG") {
        command.env("KUBECONFIG", kubeconfig);
    }
    run(command, "helm")
}

fn helm_ok(args: &[&str]) -> String {
    let out = helm(args);
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn yaml_stream(text: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(text)
        .expect("rendered YAML")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// `helm template RELEASE chart -n NS EXTRA...`, as JSON objects.
fn render(release: &str, ns: &str, extra: &[&str]) -> Vec<Value> {
    let chart = chart();
    let mut args = vec![
        "template",
        release,
        chart.to_str().expect("path"),
        "--namespace",
        ns,
    ];
    args.extend_from_slice(extra);
    yaml_stream(&helm_ok(&args))
}

fn kinds(docs: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in docs {
        *out.entry(d["kind"].as_str().expect("kind").to_string())
            .or_default() += 1;
    }
    out
}

fn one<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among {:?}", kinds(docs)))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn args_of(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg").to_string())
        .collect()
}

fn env_of<'a>(deployment: &'a Value, name: &str) -> &'a Value {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"))
}

/// Every pod and container runs restricted, and every probe reaches a declared port at a
/// path the binary serves.
fn assert_restricted_and_probed(deployment: &Value) {
    let name = &deployment["metadata"]["name"];
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{name}"
    );
    for c in pod["containers"].as_array().expect("containers") {
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true, "{name}");
        assert_eq!(sc["runAsUser"], 65532, "{name}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{name}");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{name}");
        assert!(c["resources"]["requests"]["memory"].is_string(), "{name}");
        assert!(c["resources"]["limits"]["memory"].is_string(), "{name}");
        let ports: Vec<&str> = c["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| {
                assert_eq!(p["protocol"], "TCP");
                p["name"].as_str().expect("port name")
            })
            .collect();
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &c[probe]["httpGet"];
            assert_eq!(get["path"], path, "{name} {probe}");
            let port = get["port"].as_str().expect("named port");
            assert!(ports.contains(&port), "{name} {probe} port {port}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Offline: lint, render, schema, values vs binary and README

#[test]
fn helm_lint_passes_with_default_values_and_with_every_toggle_on() {
    let chart = chart();
    let chart = chart.to_str().expect("path");
    let out = helm_ok(&["lint", "--strict", chart]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
    let values = all_on_values();
    let out = helm_ok(&[
        "lint",
        "--strict",
        chart,
        "-f",
        values.to_str().expect("path"),
    ]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
}

#[test]
fn default_values_render_the_operator_gateway_crds_and_least_privilege_rbac() {
    let docs = render("acme", "linnstream-system", &[]);
    let expected: BTreeMap<String, usize> = [
        ("ClusterRole", 1),
        ("ClusterRoleBinding", 1),
        ("CustomResourceDefinition", 2),
        ("Deployment", 2),
        ("Role", 2),
        ("RoleBinding", 2),
        ("Service", 2),
        ("ServiceAccount", 2),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds(&docs), expected);
    for d in &docs {
        if d["kind"] != "CustomResourceDefinition"
            && !d["kind"].as_str().unwrap_or("").starts_with("Cluster")
        {
            assert_eq!(
                d["metadata"]["namespace"], "linnstream-system",
                "{}",
                d["metadata"]["name"]
            );
        }
        assert_eq!(
            d["metadata"]["labels"]["app.kubernetes.io/instance"],
            "acme"
        );
    }

    // The CRDs: exactly the committed ones, kept on uninstall.
    let committed = support::yaml_docs(&root().join("crds/linnstream.yaml"));
    for crd in of_kind(&docs, "CustomResourceDefinition") {
        assert_eq!(
            crd["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
        let same = committed
            .iter()
            .find(|c| c["metadata"]["name"] == crd["metadata"]["name"])
            .expect("a committed CRD of that name");
        assert_eq!(crd["spec"], same["spec"]);
    }

    // The operator: leader election in the release namespace, the database from the
    // default Secret, restricted, probed on /healthz and /readyz.
    let op = one(&docs, "Deployment", "acme-linnstream-operator");
    assert_eq!(op["spec"]["replicas"], 1);
    let args = args_of(op);
    assert_eq!(args[0], "operator");
    for want in [
        "--image=linnstream:0.1.0",
        "--lease-namespace=linnstream-system",
        "--lease-name=linnstream-operator",
        "--database-secret-name=linnstream-database",
        "--max-batch-size-per-installation=5",
        "--claim-lease-seconds=300",
        "--config-secret-name=acme-linnstream-config",
        "--config-secret-namespace=linnstream-system",
        // Installations Dedicated unless they say; the shared pool is off by default.
        "--default-worker-mode=Dedicated",
        "--installation-lease-duration=15s",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--watch-namespace")));
    assert!(
        !args.iter().any(|a| a.starts_with("--pool-")),
        "the pool is off by default: {args:?}"
    );
    assert_eq!(
        env_of(op, "LINNSTREAM_DATABASE_URL")["valueFrom"]["secretKeyRef"],
        json!({"name": "linnstream-database", "key": "url"})
    );
    assert_eq!(
        env_of(op, "LINNSTREAM_POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    let pod = &op["spec"]["template"]["spec"];
    assert!(pod["affinity"].is_null(), "one replica: no anti-affinity");
    assert_eq!(pod["serviceAccountName"], "acme-linnstream-operator");
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert_restricted_and_probed(op);

    // The gateway: API access to the config Secret only, watched by name.
    let gw = one(&docs, "Deployment", "acme-linnstream-gateway");
    let gw_pod = &gw["spec"]["template"]["spec"];
    assert_eq!(gw_pod["automountServiceAccountToken"], true);
    assert_eq!(gw_pod["serviceAccountName"], "acme-linnstream-gateway");
    let gw_args = args_of(gw);
    assert_eq!(gw_args[0], "gateway");
    assert!(gw_args.contains(&"--config-secret=acme-linnstream-config".to_string()));
    assert!(gw_args.contains(&"--config-secret-namespace=linnstream-system".to_string()));
    assert_restricted_and_probed(gw);
    let reader = one(&docs, "Role", "acme-linnstream-config-reader");
    assert_eq!(
        reader["rules"],
        json!([{"apiGroups": [""], "resources": ["secrets"],
                "resourceNames": ["acme-linnstream-config"], "verbs": ["get", "list", "watch"]}])
    );
    let reader_binding = one(&docs, "RoleBinding", "acme-linnstream-config-reader");
    assert_eq!(
        reader_binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "acme-linnstream-gateway", "namespace": "linnstream-system"}])
    );
    let bindings: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding" || d["kind"] == "ClusterRoleBinding")
        .filter(|d| d["metadata"]["name"] != "acme-linnstream-config-reader")
        .collect();
    for b in &bindings {
        assert_eq!(
            b["subjects"],
            json!([{"kind": "ServiceAccount", "name": "acme-linnstream-operator", "namespace": "linnstream-system"}]),
            "only the operator is bound to a role"
        );
    }
    let svc = one(&docs, "Service", "acme-linnstream-gateway");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    let metrics = one(&docs, "Service", "acme-linnstream-operator-metrics");
    assert_eq!(metrics["spec"]["ports"][0]["targetPort"], "metrics");
    assert_eq!(
        metrics["spec"]["selector"],
        op["spec"]["selector"]["matchLabels"]
    );

    // RBAC: exactly what docs/operator.md lists; no wildcards, no escalate/bind.
    let role = one(&docs, "ClusterRole", "acme-linnstream-operator");
    let mut granted: BTreeSet<String> = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in rule["apiGroups"].as_array().expect("groups") {
            for resource in rule["resources"].as_array().expect("resources") {
                for verb in rule["verbs"].as_array().expect("verbs") {
                    granted.insert(format!(
                        "{}/{}:{}",
                        group.as_str().expect("group"),
                        resource.as_str().expect("resource"),
                        verb.as_str().expect("verb")
                    ));
                }
            }
        }
    }
    let mut wanted = BTreeSet::new();
    let crud = ["get", "list", "watch", "create", "patch", "delete"];
    for r in ["installations", "postalservicemappings"] {
        for v in ["get", "list", "watch", "patch"] {
            wanted.insert(format!("linnstream.io/{r}:{v}"));
        }
        wanted.insert(format!("linnstream.io/{r}/status:patch"));
    }
    for (g, r) in [
        ("", "serviceaccounts"),
        ("", "services"),
        ("", "secrets"),
        ("apps", "deployments"),
        ("batch", "cronjobs"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
    ] {
        for v in crud {
            wanted.insert(format!("{g}/{r}:{v}"));
        }
    }
    wanted.insert("events.k8s.io/events:create".into());
    wanted.insert("events.k8s.io/events:patch".into());
    assert_eq!(granted, wanted);
    let leader = one(&docs, "Role", "acme-linnstream-operator-leader");
    assert_eq!(
        leader["rules"],
        json!([
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "resourceNames": ["linnstream-operator"], "verbs": ["get", "update"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["secrets"],
             "resourceNames": ["acme-linnstream-config"], "verbs": ["get", "patch", "update"]},
        ])
    );
}

#[test]
fn admin_enabled_renders_the_console_on_its_own_port_service_and_policies() {
    let refused = helm(&[
        "template",
        "acme",
        chart().to_str().expect("path"),
        "--set",
        "admin.enabled=true",
    ]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("admin.existingSecret is required"),
        "{}",
        text(&refused)
    );
    let docs = render(
        "acme",
        "ops",
        &[
            "--set",
            "admin.enabled=true",
            "--set",
            "admin.existingSecret=console-tokens",
            "--set",
            "admin.replicas=2",
            "--set",
            "admin.ingress.enabled=true",
            "--set",
            "networkPolicy.enabled=true",
            "--set",
            "global.imageRegistry=example",
        ],
    );
    let console = one(&docs, "Deployment", "acme-linnstream-console");
    let args = args_of(console);
    assert_eq!(args[0], "console");
    for want in [
        "--config-secret=acme-linnstream-config",
        "--config-secret-namespace=ops",
        "--listen=0.0.0.0:8081",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }
    assert_eq!(
        env_of(console, "LINNSTREAM_ADMIN_TOKEN_FILE")["value"],
        "/etc/linnstream/admin/tokens"
    );
    let pod = &console["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "acme-linnstream-console");
    let tokens = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "admin-tokens")
        .expect("the tokens volume");
    assert_eq!(tokens["secret"]["secretName"], "console-tokens");
    assert_restricted_and_probed(console);
    let svc = one(&docs, "Service", "acme-linnstream-console");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8081);
    assert_eq!(
        svc["spec"]["selector"],
        console["spec"]["selector"]["matchLabels"]
    );
    let ingress = one(&docs, "Ingress", "acme-linnstream-console");
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "acme-linnstream-console"
    );
    one(&docs, "NetworkPolicy", "acme-linnstream-console");
    one(&docs, "PodDisruptionBudget", "acme-linnstream-console");
    let binding = one(&docs, "RoleBinding", "acme-linnstream-config-reader");
    let subjects: Vec<&str> = binding["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        subjects,
        ["acme-linnstream-gateway", "acme-linnstream-console"]
    );
}

#[test]
fn every_toggle_on_renders_ingress_service_monitor_network_policies_and_pdbs() {
    let values = all_on_values();
    let values = values.to_str().expect("path");
    let docs = render("acme", "ops", &["-f", values, "--kube-version", "1.25.0"]);
    let k = kinds(&docs);
    for (kind, n) in [
        ("Ingress", 1),
        ("ServiceMonitor", 1),
        ("NetworkPolicy", 2),
        ("PodDisruptionBudget", 2),
        ("Secret", 1),
    ] {
        assert_eq!(k.get(kind), Some(&n), "{kind}: {k:?}");
    }
    let op = one(&docs, "Deployment", "acme-linnstream-operator");
    let gw = one(&docs, "Deployment", "acme-linnstream-gateway");
    assert_eq!(op["spec"]["replicas"], 2);
    assert_eq!(gw["spec"]["replicas"], 2);
    // The pool with an autoscaler: it scales the Deployment the operator keeps, and the
    // operator leaves the count to it.
    let hpa = one(
        &docs,
        "HorizontalPodAutoscaler",
        "acme-linnstream-pool-worker",
    );
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "acme-linnstream-pool-worker"})
    );
    assert_eq!(
        (&hpa["spec"]["minReplicas"], &hpa["spec"]["maxReplicas"]),
        (&json!(2), &json!(10))
    );
    let op_args = args_of(op);
    for arg in [
        "--pool-enabled",
        "--pool-name=acme-linnstream-pool",
        "--pool-replicas=0",
        "--default-worker-mode=Pool",
        "--installation-lease-duration=15s",
    ] {
        assert!(op_args.iter().any(|a| a == arg), "{arg} in {op_args:?}");
    }
    // On a cluster without autoscaling/v2 (before 1.23), v2beta2.
    let old = render("acme", "ops", &["-f", values, "--kube-version", "1.20.0"]);
    assert_eq!(
        one(
            &old,
            "HorizontalPodAutoscaler",
            "acme-linnstream-pool-worker"
        )["apiVersion"],
        "autoscaling/v2beta2"
    );
    // Replicas prefer different nodes.
    for d in [op, gw] {
        let term = &d["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
            [0]["podAffinityTerm"];
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
        assert_eq!(
            term["labelSelector"]["matchLabels"],
            d["spec"]["selector"]["matchLabels"]
        );
    }

    // The trial database: a Secret the chart makes, read by both, rolled on change.
    let secret = one(&docs, "Secret", "acme-linnstream-database");
    assert_eq!(
        secret["stringData"]["url"],
        "postgres://linnstream@db.example:5432/linnstream"
    );
    for d in [op, gw] {
        assert_eq!(
            env_of(d, "LINNSTREAM_DATABASE_URL")["valueFrom"]["secretKeyRef"],
            json!({"name": "acme-linnstream-database", "key": "url"})
        );
        assert!(d["spec"]["template"]["metadata"]["annotations"]["checksum/database"].is_string());
        assert_restricted_and_probed(d);
    }

    // PDBs: policy/v1 on 1.21+, selecting each Deployment's pods.
    for (pdb, d) in [
        ("acme-linnstream-operator", op),
        ("acme-linnstream-gateway", gw),
    ] {
        let pdb = one(&docs, "PodDisruptionBudget", pdb);
        assert_eq!(pdb["apiVersion"], "policy/v1");
        assert_eq!(pdb["spec"]["minAvailable"], 1);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"],
            d["spec"]["selector"]["matchLabels"]
        );
    }
    let old = render("acme", "ops", &["-f", values, "--kube-version", "1.20.2"]);
    for pdb in of_kind(&old, "PodDisruptionBudget") {
        assert_eq!(pdb["apiVersion"], "policy/v1beta1");
    }

    let ingress = one(&docs, "Ingress", "acme-linnstream-gateway");
    assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        ingress["spec"]["tls"][0]["secretName"],
        "linnstream-gateway-tls"
    );
    let paths = &ingress["spec"]["rules"][0]["http"]["paths"];
    assert_eq!(paths[1]["path"], "/openapi.json");
    assert_eq!(paths[1]["pathType"], "Exact");
    assert_eq!(
        paths[0]["backend"]["service"],
        json!({"name": "acme-linnstream-gateway", "port": {"name": "http"}})
    );

    let monitor = one(&docs, "ServiceMonitor", "acme-linnstream-operator");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    let metrics = one(&docs, "Service", "acme-linnstream-operator-metrics");
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("selector")
    {
        assert_eq!(&metrics["metadata"]["labels"][key], value, "{key}");
    }
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");

    let np = one(&docs, "NetworkPolicy", "acme-linnstream-operator");
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress"]));
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], "metrics");
    assert_eq!(
        np["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let np = one(&docs, "NetworkPolicy", "acme-linnstream-gateway");
    assert_eq!(np["spec"]["ingress"][0]["ports"][0]["port"], "http");
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"],
        gw["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn existing_secret_watch_namespace_and_the_crd_switches_change_what_is_rendered() {
    let docs = render(
        "lsi",
        "ops",
        &[
            "--set",
            "database.existingSecret=pg",
            "--set",
            "database.existingSecretKey=uri",
            "--set",
            "operator.watchNamespace=shop",
            "--set",
            "gateway.enabled=false",
            "--set",
            "crds.keep=false",
        ],
    );
    let k = kinds(&docs);
    assert!(!k.contains_key("Secret"), "{k:?}");
    assert!(!k.contains_key("ClusterRole"), "{k:?}");
    assert_eq!(k.get("Deployment"), Some(&1));
    // A release name containing "linnstream" is not repeated.
    let op = one(&docs, "Deployment", "lsi-linnstream-operator");
    assert!(args_of(op).contains(&"--watch-namespace=shop".to_string()));
    assert_eq!(
        env_of(op, "LINNSTREAM_DATABASE_URL")["valueFrom"]["secretKeyRef"],
        json!({"name": "pg", "key": "uri"})
    );
    let role = one(&docs, "Role", "lsi-linnstream-operator");
    assert_eq!(role["metadata"]["namespace"], "shop");
    let binding = one(&docs, "RoleBinding", "lsi-linnstream-operator");
    assert_eq!(binding["metadata"]["namespace"], "shop");
    assert_eq!(binding["subjects"][0]["namespace"], "ops");
    for crd in of_kind(&docs, "CustomResourceDefinition") {
        assert!(crd["metadata"]["annotations"].is_null(), "no keep policy");
    }
    let docs = render("x", "ops", &["--set", "crds.enabled=false"]);
    assert!(of_kind(&docs, "CustomResourceDefinition").is_empty());
    let docs = render("linnstream", "ops", &[]);
    one(&docs, "Deployment", "linnstream-operator");
}

/// Anyone who can list processes on a node reads command lines: no rendered Deployment
/// passes the database URL (with its password) or another secret as an argument; the URL
/// reaches the pods from a Secret through the environment.
#[test]
fn no_rendered_command_line_carries_a_secret() {
    let password = "s3cret-PASSWORD-in-a-url";
    let url = format!("database.url=postgres://linnstream:{password}@db.example/linnstream");
    for extra in [vec![], vec!["--set", url.as_str()]] {
        let docs = render("acme", "linnstream-system", &extra);
        let deployments = of_kind(&docs, "Deployment");
        assert!(!deployments.is_empty());
        for d in deployments {
            let spec = &d["spec"]["template"]["spec"];
            for container in spec["containers"].as_array().expect("containers") {
                let command_line: Vec<&str> = ["command", "args"]
                    .iter()
                    .filter_map(|k| container[*k].as_array())
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for arg in command_line {
                    assert!(
                        !arg.contains(password) && !arg.contains("://"),
                        "{}: {arg} on a command line",
                        d["metadata"]["name"]
                    );
                    for flag in [
                        "--database-url",
                        "--admin-token",
                        "--webhook-secret",
                        "--auth-token",
                    ] {
                        assert!(
                            !arg.starts_with(flag) || arg.starts_with(&format!("{flag}-file")),
                            "{}: {arg}",
                            d["metadata"]["name"]
                        );
                    }
                }
            }
            let url = env_of(d, "LINNSTREAM_DATABASE_URL");
            assert!(url["value"].is_null(), "{url}");
            assert!(url["valueFrom"]["secretKeyRef"].is_object(), "{url}");
        }
    }
}

#[test]
fn the_schema_refuses_bad_values_naming_them() {
    let chart = chart();
    let chart = chart.to_str().expect("path");
    for (set, needle) in [
        (
            "settings.maxRetryAttempts=-1",
            "settings.maxRetryAttempts: Must be greater than or equal to 1",
        ),
        (
            "settings.orderSyncPageSize=501",
            "settings.orderSyncPageSize: Must be less than or equal to 500",
        ),
        (
            "settings.streamApiMaxRetryAttempts=6",
            "settings.streamApiMaxRetryAttempts: Must be less than or equal to 5",
        ),
        (
            "image.pullPolicy=Sometimes",
            "image.pullPolicy: image.pullPolicy must be one of",
        ),
        (
            "operator.lease.duration=15sec",
            "operator.lease.duration: Does not match pattern",
        ),
        ("operator.replicas=0", "operator.replicas"),
        (
            "operator.replica=2",
            "operator: Additional property replica is not allowed",
        ),
        ("database.url=mysql://db/x", "database.url"),
        ("gateway.service.type=External", "gateway.service.type"),
    ] {
        let out = helm(&["template", "x", chart, "--set", set]);
        let message = text(&out);
        assert!(!out.status.success(), "helm accepted {set}");
        assert!(
            message.contains("values don't meet the specifications of the schema")
                && message.contains(needle),
            "{set}: {message}"
        );
    }
    // A rule across settings, checked by the chart as the binary checks it.
    let out = helm(&[
        "template",
        "x",
        chart,
        "--set",
        "settings.claimLeaseSeconds=120",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("settings.claimLeaseSeconds is 120; it must exceed the longest send"),
        "{}",
        text(&out)
    );
    let out = helm(&["template", "x", chart, "--set", "database.existingSecret="]);
    assert!(!out.status.success());
    assert!(text(&out).contains("database"), "{}", text(&out));
}

fn schema() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(chart().join("values.schema.json")).expect("schema"),
    )
    .expect("schema JSON")
}

fn values() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(chart().join("values.yaml")).expect("values"))
        .expect("values YAML")
}

fn kebab(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `[default: X]` of `flag` in a `--help` text.
fn help_default(help: &str, flag: &str) -> String {
    let start = help
        .find(&format!("{flag} <"))
        .unwrap_or_else(|| panic!("{flag} not in the help"));
    let rest = &help[start + flag.len()..];
    let next_option = regex::Regex::new(r"\n\s+-").expect("regex");
    let end = next_option
        .find(rest)
        .map(|m| m.start())
        .unwrap_or(rest.len());
    let section = &rest[..end];
    let at = section
        .find("[default: ")
        .unwrap_or_else(|| panic!("{flag} has no default"));
    section[at + 10..]
        .split(']')
        .next()
        .expect("default")
        .to_string()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
}

/// The chart's settings are the binary's: the same names, defaults and ranges (the
/// binary accepts both ends of each schema range and refuses one beyond), and the
/// operator values default to the operator's own defaults.
#[test]
fn the_values_defaults_and_ranges_are_the_binarys() {
    let schema = schema();
    let values = values();
    let settings = schema["properties"]["settings"]["properties"]
        .as_object()
        .expect("settings");
    assert_eq!(
        settings.len(),
        15,
        "the 13 system settings and the 2 HTTP timeouts"
    );
    let help = text(&run(
        {
            let mut c = bin();
            c.args(["gateway", "--help"]);
            c
        },
        "gateway --help",
    ));
    for (name, s) in settings {
        let flag = format!("--{}", kebab(name));
        let lo = s["minimum"].as_u64().expect("minimum");
        let hi = s["maximum"].as_u64().expect("maximum");
        assert_eq!(
            help_default(&help, &flag),
            values["settings"][name].to_string(),
            "{name}: values.yaml default"
        );
        assert_eq!(
            s["default"], values["settings"][name],
            "{name}: schema default"
        );
        // In range, the binary goes on to the next problem (the missing folder).
        for ok in [lo, hi] {
            let out = run(
                {
                    let mut c = bin();
                    c.args(["gateway", "-f", "/nonexistent-linnstream-config"])
                        .arg(format!("{flag}={ok}"))
                        .env_remove("LINNSTREAM_DATABASE_URL");
                    c
                },
                "gateway",
            );
            let t = text(&out);
            assert!(t.contains("no such folder"), "{flag}={ok}: {t}");
        }
        let mut beyond = vec![(hi + 1).to_string()];
        beyond.push(if lo == 0 {
            "-1".into()
        } else {
            (lo - 1).to_string()
        });
        for bad in beyond {
            let out = run(
                {
                    let mut c = bin();
                    c.args(["gateway", "-f", "/nonexistent-linnstream-config"])
                        .arg(format!("{flag}={bad}"));
                    c
                },
                "gateway",
            );
            let t = text(&out);
            assert!(
                !out.status.success() && t.contains(&flag) && !t.contains("no such folder"),
                "{flag}={bad}: {t}"
            );
        }
    }
    let help = text(&run(
        {
            let mut c = bin();
            c.args(["operator", "--help"]);
            c
        },
        "operator --help",
    ));
    let op = &values["operator"];
    for (flag, value) in [
        ("--lease-name", &op["lease"]["name"]),
        ("--lease-duration", &op["lease"]["duration"]),
        ("--lease-renew-deadline", &op["lease"]["renewDeadline"]),
        ("--lease-retry-period", &op["lease"]["retryPeriod"]),
        ("--resync-interval", &op["resyncInterval"]),
        ("--concurrency", &op["concurrency"]),
        ("--finalizer-timeout", &op["finalizerTimeout"]),
        (
            "--database-secret-name",
            &values["database"]["childSecret"]["name"],
        ),
        (
            "--database-secret-key",
            &values["database"]["childSecret"]["key"],
        ),
        ("--image-pull-policy", &values["image"]["pullPolicy"]),
        ("--default-worker-mode", &values["pool"]["defaultMode"]),
        (
            "--installation-lease-duration",
            &values["pool"]["leaseDuration"],
        ),
        ("--pool-replicas", &values["pool"]["replicas"]),
        (
            "--pool-webhook-replicas",
            &values["pool"]["webhookReplicas"],
        ),
    ] {
        let want = value
            .as_str()
            .map(str::to_string)
            .unwrap_or(value.to_string());
        assert_eq!(help_default(&help, flag), want, "{flag}");
    }
    let pull = schema["properties"]["image"]["properties"]["pullPolicy"]["enum"].clone();
    assert_eq!(pull, json!(["Always", "IfNotPresent", "Never"]));
    assert!(help.contains("[possible values: Always, IfNotPresent, Never]"));
}

/// (path, schema node) of every leaf: a node without `properties`.
fn leaves(node: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match node.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (k, child) in props {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(child, &p, out);
            }
        }
        None => out.push((path.to_string(), node.clone())),
    }
}

fn schema_type(node: &Value) -> String {
    if let Some(one_of) = node["oneOf"].as_array() {
        return one_of
            .iter()
            .map(|o| o["type"].as_str().expect("type"))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    match &node["type"] {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|t| t.as_str().expect("type"))
            .collect::<Vec<_>>()
            .join(" or "),
        other => panic!("no type: {other}"),
    }
}

#[test]
fn the_readme_documents_every_value_and_only_those() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let section = readme
        .split("\n## Install with Helm\n")
        .nth(1)
        .expect("README has \"## Install with Helm\"");
    let section = section.split("\n## ").next().expect("section");
    let mut documented: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect();
        let path = cells[0].trim_matches('`').to_string();
        assert!(
            documented.insert(path.clone(), cells).is_none(),
            "{path} documented twice"
        );
    }
    let mut all = Vec::new();
    leaves(&schema(), "", &mut all);
    // `global` is Helm's (set by a parent chart), accepted but not the chart's own.
    all.retain(|(p, _)| p != "global");
    let values = values();
    let schema_paths: BTreeSet<String> = all.iter().map(|(p, _)| p.clone()).collect();
    let doc_paths: BTreeSet<String> = documented.keys().cloned().collect();
    let missing: Vec<_> = schema_paths.difference(&doc_paths).collect();
    let extra: Vec<_> = doc_paths.difference(&schema_paths).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README's values table: undocumented {missing:?}, not in the schema {extra:?}"
    );
    for (path, node) in &all {
        let cells = &documented[path];
        assert_eq!(cells[1], schema_type(node), "{path}: type");
        let default = path.split('.').fold(&values, |v, k| &v[k]).clone();
        let cell = cells[2].trim_matches('`');
        let shown: Value =
            serde_json::from_str(cell).unwrap_or_else(|e| panic!("{path}: default {cell}: {e}"));
        assert_eq!(shown, default, "{path}: default (values.yaml)");
        if let (Some(lo), Some(hi)) = (node["minimum"].as_i64(), node["maximum"].as_i64()) {
            assert_eq!(cells[3], format!("{lo}-{hi}"), "{path}: range");
        }
        if let Some(options) = node["enum"].as_array() {
            for o in options {
                assert!(
                    cells[3].contains(&format!("`{}`", o.as_str().expect("enum"))),
                    "{path}: {o}"
                );
            }
        }
        assert!(!cells[4].is_empty(), "{path}: described");
    }
}

#[test]
fn the_chart_version_is_the_crate_version() {
    let chart: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(chart().join("Chart.yaml")).expect("Chart.yaml"),
    )
    .expect("yaml");
    assert_eq!(chart["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
}

// ---------------------------------------------------------------------------------------
// Against the test cluster

/// `kubectl apply --server-side --dry-run=server` of a rendered chart: the API server
/// validates every object (schema, RBAC references, unknown fields) without storing it.
fn server_dry_run(ns: &str, docs: &[Value], dir: &Path, name: &str) -> String {
    let file = dir.join(format!("{name}.yaml"));
    let text_out: String = docs
        .iter()
        .map(|d| format!("---\n{}", serde_saphyr::to_string(d).expect("yaml")))
        .collect();
    std::fs::write(&file, text_out).expect("write");
    let mut command = Command::new(kubectl_bin());
    command
        .arg("--kubeconfig")
        .arg(support::kubeconfig_path())
        .args([
            "apply",
            "--server-side",
            "--dry-run=server",
            "--force-conflicts",
            "--field-manager=linnstream-helm-tests",
            "--namespace",
            ns,
            "-f",
        ])
        .arg(&file);
    let out = run(command, "kubectl apply --dry-run=server");
    assert!(
        out.status.success(),
        "the API server refused the rendered chart ({name}):\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_chart_passes_a_server_side_dry_run() {
    let _cluster = crate::shared_cluster().await;
    let admin = client().await;
    let ns = TestNamespace::new(&admin).await;
    let version = admin.apiserver_version().await.expect("version");
    let kube_version = version.git_version.trim_start_matches('v').to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let values = all_on_values();
    let release = format!("dry{}", &ns.name[7..]);
    let docs = render(
        &release,
        &ns.name,
        &[
            "-f",
            values.to_str().expect("path"),
            "--kube-version",
            &kube_version,
        ],
    );
    // The ServiceMonitor's, PodMonitor's and PrometheusRule's schemas belong to the
    // Prometheus operator, whose CRDs the test cluster lacks; stand-in CRDs would accept
    // anything and prove nothing, so they are left out here (their shapes are asserted by
    // the rendering tests, the rules by promtool in tests/observability/chart.rs).
    let (monitors, docs): (Vec<Value>, Vec<Value>) = docs
        .into_iter()
        .partition(|d| d["apiVersion"] == "monitoring.coreos.com/v1");
    assert_eq!(monitors.len(), 3);
    let out = server_dry_run(&ns.name, &docs, dir.path(), "all-on");
    for (kind, name) in [
        ("deployment.apps", format!("{release}-linnstream-operator")),
        ("deployment.apps", format!("{release}-linnstream-gateway")),
        (
            "ingress.networking.k8s.io",
            format!("{release}-linnstream-gateway"),
        ),
        (
            "poddisruptionbudget.policy",
            format!("{release}-linnstream-operator"),
        ),
        (
            "networkpolicy.networking.k8s.io",
            format!("{release}-linnstream-gateway"),
        ),
        (
            "clusterrole.rbac.authorization.k8s.io",
            format!("{release}-linnstream-operator"),
        ),
        (
            "customresourcedefinition.apiextensions.k8s.io",
            "installations.linnstream.io".into(),
        ),
    ] {
        assert!(
            out.contains(&format!(
                "{kind}/{name} serverside-applied (server dry run)"
            )),
            "{kind}/{name}: {out}"
        );
    }
    // The namespaced RBAC variant, and the defaults.
    let docs = render(
        &release,
        &ns.name,
        &[
            "--set",
            &format!("operator.watchNamespace={}", ns.name),
            "--set",
            "database.existingSecret=pg",
        ],
    );
    let out = server_dry_run(&ns.name, &docs, dir.path(), "namespaced");
    assert!(out.contains("role.rbac.authorization.k8s.io"), "{out}");
    ns.delete().await;
}

/// The operator's log lines with a refusal by RBAC of `user`. (Other refusals, such as
/// creating in a namespace that another test is deleting, name no user.)
fn refused_by_rbac<'a>(log: &'a str, user: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.to_lowercase().contains("forbidden") && l.contains(user))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_runs_the_example_to_ready_as_the_charts_service_account() {
    let _cluster_wide = crate::cluster_alone().await;
    let admin = client().await;
    // The Installations' namespace, database (with the children's database Secret) and
    // Stream simulator, as the operator tests have them.
    let env = Env::new().await;
    let release_ns = TestNamespace::new(&admin).await;
    let release = format!("ls{}", &release_ns.name[7..]);
    let chart = chart();

    // Install. The CRDs may exist already (other tests apply them without Helm), so Helm
    // takes them over; with crds.keep they stay after the release is gone.
    let db_url = format!("--set-string=database.url={}", env.db.url);
    let out = helm_ok(&[
        "install",
        &release,
        chart.to_str().expect("path"),
        "--namespace",
        &release_ns.name,
        "--take-ownership",
        "--set",
        "image.repository=registry.example/linnstream",
        &db_url,
    ]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        out.contains("kubectl -n NAMESPACE apply -f examples/installation.yaml"),
        "NOTES: {out}"
    );
    let status = helm_ok(&["status", &release, "--namespace", &release_ns.name]);
    assert!(status.contains("STATUS: deployed"), "{status}");

    // No kubelet runs the pods here: this test does, with the Deployment's own command
    // line and environment, as the chart's ServiceAccount (an impersonating kubeconfig),
    // so the chart's RBAC must be enough.
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &release_ns.name);
    let name = format!("{release}-linnstream-operator");
    let operator = deployments
        .get(&name)
        .await
        .expect("the operator Deployment");
    let operator = serde_json::to_value(operator).expect("json");
    let pod = &operator["spec"]["template"]["spec"];
    let sa = pod["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    let dir = tempfile::tempdir().expect("tempdir");
    let user = format!("system:serviceaccount:{}:{sa}", release_ns.name);
    let kubeconfig = kubeconfig_as(dir.path(), &user);
    let port = free_port();
    let mut command = pod_command(
        &admin,
        &release_ns.name,
        pod,
        &format!("{name}-local"),
        &kubeconfig,
        Some(port),
    )
    .await;
    let mut child = command.spawn().expect("start the operator");
    // Keep its log (and drain the pipe) while it runs.
    let stderr = child.stderr.take().expect("stderr");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });

    // The platform team applies the examples; the store says the worker and master data
    // are healthy (no kubelet runs the worker here).
    env.apply_examples(|_| {}).await;
    env.seed_healthy("acme").await;
    env.wait_condition("acme", "Ready", ConditionStatus::True, "Running")
        .await;
    let children: Api<Deployment> = Api::namespaced(admin.clone(), &env.ns.name);
    assert!(
        children
            .get_opt("acme-worker")
            .await
            .expect("get")
            .is_some()
    );
    // The operator could create the children's Role: it holds what the Role grants.
    let roles: Api<Role> = Api::namespaced(admin.clone(), &env.ns.name);
    assert!(
        roles
            .get_opt("acme-config-reader")
            .await
            .expect("get")
            .is_some()
    );
    let inst: Installation = env.installation("acme").await;
    let subs = inst
        .status
        .and_then(|s| s.webhook_subscriptions)
        .map(|w| w.subscriptions.len())
        .unwrap_or(0);
    assert_eq!(
        subs,
        linnstream::domain::EventCode::subscribed(false).len(),
        "every Stream webhook subscription"
    );
    let events = env.event_reasons("acme").await;
    assert!(
        events.iter().any(|(r, _)| r == "ChildrenApplied"),
        "events published: {events:?}"
    );

    // Its probe path and metrics, on the port the chart probes.
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert!(health.status().is_success());
    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("linnstream_operator_leader 1"),
        "{metrics}"
    );
    // The Lease in the release namespace, held by this "pod".
    let lease = support::operator::kubectl(
        &release_ns.name,
        &[
            "get",
            "lease",
            "linnstream-operator",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    assert_eq!(lease, format!("{name}-local"));

    let log_text = terminate(child, "operator").await;
    let _ = reader.await;
    let full = format!(
        "{}{log_text}",
        log.lock().map(|l| l.clone()).unwrap_or_default()
    );
    let refused = refused_by_rbac(&full, &user);
    assert!(
        refused.is_empty(),
        "the chart's RBAC refused the operator:\n{}",
        refused.join("\n")
    );

    // Uninstall: the release's objects go, the CRDs (crds.keep) and so the Installation stay.
    let out = helm_ok(&["uninstall", &release, "--namespace", &release_ns.name]);
    assert!(out.contains("uninstalled"), "{out}");
    assert!(
        out.contains("kept due to the resource policy")
            && out.contains("installations.linnstream.io")
            && out.contains("postalservicemappings.linnstream.io"),
        "helm says it kept the CRDs: {out}"
    );
    eventually(30, "the operator Deployment to go", || async {
        deployments.get_opt(&name).await.expect("get").is_none()
    })
    .await;
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    for crd in [
        "installations.linnstream.io",
        "postalservicemappings.linnstream.io",
    ] {
        let kept = crds
            .get(crd)
            .await
            .unwrap_or_else(|e| panic!("{crd} was deleted: {e}"));
        assert_eq!(
            kept.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("helm.sh/resource-policy"))
                .map(String::as_str),
            Some("keep")
        );
    }
    assert!(
        Api::<Installation>::namespaced(admin.clone(), &env.ns.name)
            .get_opt("acme")
            .await
            .expect("get")
            .is_some()
    );
    env.finish().await;
    release_ns.delete().await;
}

/// Starts one of the release's Deployments as the chart's pod would run (its arguments and
/// environment, as its ServiceAccount), on `port`; `env` overrides variables (files the
/// kubelet would mount). Returns the child and the impersonated user.
async fn start_pod(
    admin: &kube::Client,
    ns: &str,
    deployment: &str,
    dir: &Path,
    port: u16,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), ns);
    let d = deployments.get(deployment).await.expect("the Deployment");
    let d = serde_json::to_value(d).expect("json");
    let pod = &d["spec"]["template"]["spec"];
    let sa = pod["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    let user = format!("system:serviceaccount:{ns}:{sa}");
    let kubeconfig = kubeconfig_as(dir, &user);
    let mut command = pod_command(
        admin,
        ns,
        pod,
        &format!("{deployment}-local"),
        &kubeconfig,
        Some(port),
    )
    .await;
    command.envs(env.iter().copied());
    (command.spawn().expect("start the pod's process"), user)
}

async fn wait_healthy(http: &reqwest::Client, port: u16, what: &str) {
    eventually(60, &format!("{what}'s /healthz"), || async {
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

/// The Linnworks postal service names the gateway offers for `token`.
async fn service_names(http: &reqwest::Client, port: u16, token: &str) -> Vec<String> {
    let reply: Value = match http
        .post(format!(
            "http://127.0.0.1:{port}/api/Setup/UserAvailableServices"
        ))
        .json(&json!({"AuthorizationToken": token}))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => return Vec::new(),
    };
    reply["Services"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|s| s["ServiceName"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `helm install` with `admin.enabled`: the operator (as its pod would run, as its
/// ServiceAccount) writes the config Secret; the gateway and the console, run with their
/// rendered arguments as their own ServiceAccounts (which may read only that Secret),
/// learn the Installation applied with kubectl with no export: GenerateLabel labels a
/// completed order after the applied mapping, a mapping changed with kubectl changes the
/// next label within seconds, the console lists the Installation and its orders, and
/// `kubectl linnstream` (through real kubectl) reaches it through the API server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_enabled_install_feeds_gateway_and_console_live_from_the_config_secret() {
    let _cluster_wide = crate::cluster_alone().await;
    let admin = client().await;
    let env = Env::new().await;
    let release_ns = TestNamespace::new(&admin).await;
    let release = format!("lc{}", &release_ns.name[7..]);
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "alice console-token-0123456789abcdef\n").expect("tokens");
    support::operator::kubectl(
        &release_ns.name,
        &[
            "create",
            "secret",
            "generic",
            "console-tokens",
            &format!("--from-file=tokens={}", tokens.display()),
        ],
    );
    let db_url = format!("--set-string=database.url={}", env.db.url);
    let out = helm_ok(&[
        "install",
        &release,
        chart().to_str().expect("path"),
        "--namespace",
        &release_ns.name,
        "--take-ownership",
        "--set",
        "image.repository=registry.example/linnstream",
        "--set",
        "admin.enabled=true",
        "--set",
        "admin.existingSecret=console-tokens",
        &db_url,
    ]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        out.contains(&format!(
            "port-forward service/{release}-linnstream-console 8081:8081"
        )),
        "NOTES say how to open the console: {out}"
    );

    let http = reqwest::Client::new();
    let op_port = free_port();
    let (operator, op_user) = start_pod(
        &admin,
        &release_ns.name,
        &format!("{release}-linnstream-operator"),
        dir.path(),
        op_port,
        &[],
    )
    .await;
    env.apply_examples(|_| {}).await;
    env.seed_healthy("acme").await;
    // A token of its own: a cluster-wide operator also serves other tests' copies of the
    // example, and a gateway token must name one installation.
    let token = format!("token-{}", env.ns.name);
    support::operator::kubectl(
        &env.ns.name,
        &[
            "patch",
            "secret",
            "acme-linnworks",
            "--type=merge",
            "-p",
            &json!({"stringData": {"authorization-token": token}}).to_string(),
        ],
    );

    // The config Secret appears with the Installation, nobody exporting anything.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(admin.clone(), &release_ns.name);
    let config_name = format!("{release}-linnstream-config");
    let key = format!("installation.{}.acme.yaml", env.ns.name);
    eventually(60, "the operator to write the config Secret", || async {
        secrets
            .get_opt(&config_name)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.data)
            .is_some_and(|d| d.contains_key(&key))
    })
    .await;

    let gw_port = free_port();
    let (gateway, gw_user) = start_pod(
        &admin,
        &release_ns.name,
        &format!("{release}-linnstream-gateway"),
        dir.path(),
        gw_port,
        &[],
    )
    .await;
    wait_healthy(&http, gw_port, "the gateway").await;
    eventually(30, "the gateway to serve the applied mappings", || async {
        service_names(&http, gw_port, &token)
            .await
            .iter()
            .any(|n| n == "Stream Next Day")
    })
    .await;

    // A mapping changed with kubectl reaches the gateway within seconds.
    let started = std::time::Instant::now();
    support::operator::kubectl(
        &env.ns.name,
        &[
            "patch",
            "postalservicemapping",
            "acme-next-day",
            "--type=merge",
            "-p",
            r#"{"spec":{"postalService":{"name":"Stream Next Day Renamed"}}}"#,
        ],
    );
    eventually(20, "the renamed service at the gateway", || async {
        service_names(&http, gw_port, &token)
            .await
            .iter()
            .any(|n| n == "Stream Next Day Renamed")
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );

    // GenerateLabel for an order the workers completed: the labels follow the mapping
    // applied with kubectl (labelCopies 2), and a copies change applied with kubectl
    // reaches the next label within seconds.
    let id = format!("{}/acme", env.ns.name);
    let (_, order) = env
        .store
        .upsert_fetched(&linnstream::store::FetchedOrder {
            installation: id.clone(),
            order_id: "11111111-2222-3333-4444-555555555555".into(),
            num_order_id: Some(4242),
            reference: Some("WEB-4242".into()),
            postal_service_id: Some("3f2b1a0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9".into()),
            postal_service_name: Some("Stream Next Day Renamed".into()),
            order_type: linnstream::domain::OrderType::Delivery,
            snapshot: None,
        })
        .await
        .expect("queued");
    let claimed = env
        .store
        .claim_order(
            &id,
            &order.order_id,
            "worker-test",
            Duration::from_secs(300),
        )
        .await
        .expect("claimed");
    env.store
        .complete_claim(
            &claimed.claim().expect("claim"),
            &linnstream::store::SendSuccess {
                http_status: Some(200),
                stream_order_id: Some("SO-4242".into()),
                consignment_no: Some("CN-4242".into()),
                tracking_number: Some("TRK-4242".into()),
                tracking_url: Some("https://track.example/TRK-4242".into()),
            },
        )
        .await
        .expect("completed");
    env.store
        .mark_written_back(&id, &order.order_id)
        .await
        .expect("written back");
    let label = |copies_wanted: usize| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let reply: Value = http
                .post(format!(
                    "http://127.0.0.1:{gw_port}/api/Consignment/GenerateLabel"
                ))
                .json(&json!({
                    "AuthorizationToken": token,
                    "Name": "Customer 4242", "AddressLine1": "1 High Street",
                    "Town": "Leeds", "CountryCode": "GB", "Postalcode": "LS6 1AA",
                    "OrderId": 4242, "OrderReference": "WEB-4242", "OrderCurrency": "GBP",
                    "ServiceId": "3f2b1a0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9",
                    "Packages": [{"SequenceNumber": 1, "PackageWeight": 1000}],
                }))
                .send()
                .await
                .expect("gateway")
                .json()
                .await
                .expect("json");
            assert_eq!(reply["IsError"], json!(false), "{reply}");
            assert_eq!(reply["LeadTrackingNumber"], "TRK-4242", "{reply}");
            let copies = 1 + reply["Package"][0]["AdditionalPngsBase64"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0);
            copies == copies_wanted
        }
    };
    assert!(label(2).await, "the applied mapping's labelCopies 2");
    let started = std::time::Instant::now();
    support::operator::kubectl(
        &env.ns.name,
        &[
            "patch",
            "postalservicemapping",
            "acme-next-day",
            "--type=merge",
            "-p",
            r#"{"spec":{"labelCopies":3}}"#,
        ],
    );
    eventually(20, "three copies per label", || label(3)).await;
    assert!(started.elapsed() < Duration::from_secs(20));

    // The console, with the tokens the kubelet would mount.
    let console_port = free_port();
    let tokens_path = tokens.display().to_string();
    let (console, console_user) = start_pod(
        &admin,
        &release_ns.name,
        &format!("{release}-linnstream-console"),
        dir.path(),
        console_port,
        &[("LINNSTREAM_ADMIN_TOKEN_FILE", &tokens_path)],
    )
    .await;
    wait_healthy(&http, console_port, "the console").await;
    let list: Value = http
        .get(format!(
            "http://127.0.0.1:{console_port}/api/admin/installations"
        ))
        .bearer_auth("console-token-0123456789abcdef")
        .send()
        .await
        .expect("console")
        .json()
        .await
        .expect("json");
    // (A cluster-wide operator serves every namespace's Installations, other tests' too.)
    let ours = format!("{}/acme", env.ns.name);
    assert!(
        list["installations"]
            .as_array()
            .is_some_and(|l| l.iter().any(|i| i["id"] == ours.as_str())),
        "the console lists {ours}: {list}"
    );
    let orders = http
        .get(format!(
            "http://127.0.0.1:{console_port}/api/admin/installations/{}/acme/orders",
            env.ns.name
        ))
        .bearer_auth("console-token-0123456789abcdef")
        .send()
        .await
        .expect("console");
    assert_eq!(orders.status().as_u16(), 200);

    // `kubectl linnstream` through real kubectl, the binary on the PATH under the plugin's
    // name. The API server's service proxy reaches the console through a Service whose
    // endpoint is this machine (no kubelet runs the console's pod here); the API server
    // refuses loopback endpoints, hence a forwarder on this machine's own address.
    env.wait_condition("acme", "Ready", ConditionStatus::True, "Running")
        .await;
    let (host, forwarded) = forward_to_loopback(console_port).await;
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(admin.clone(), &release_ns.name);
    services
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "console-here"},
                "spec": {"ports": [{"port": forwarded, "targetPort": forwarded}]},
            }))
            .expect("service"),
        )
        .await
        .expect("the console-here Service");
    // The API server proxies only to a Pod's address: a Pod object (bound to no real node,
    // so nothing runs it) whose status gives it this machine's address stands in.
    let pods: Api<k8s_openapi::api::core::v1::Pod> =
        Api::namespaced(admin.clone(), &release_ns.name);
    pods.create(
        &Default::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "console-here"},
            "spec": {"nodeName": "no-such-node",
                     "containers": [{"name": "console", "image": "registry.example/linnstream"}]},
        }))
        .expect("pod"),
    )
    .await
    .expect("the console-here Pod");
    pods.patch_status(
        "console-here",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"podIP": host, "podIPs": [{"ip": host}]}})),
    )
    .await
    .expect("the Pod's address");
    let endpoints: Api<k8s_openapi::api::core::v1::Endpoints> =
        Api::namespaced(admin.clone(), &release_ns.name);
    endpoints
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "console-here"},
                "subsets": [{
                    "addresses": [{"ip": host, "targetRef":
                        {"kind": "Pod", "name": "console-here", "namespace": release_ns.name}}],
                    "ports": [{"port": forwarded}],
                }],
            }))
            .expect("endpoints"),
        )
        .await
        .expect("the console-here Endpoints");
    let plugin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&plugin_dir).expect("bin");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_linnstream"),
        plugin_dir.join("kubectl-linnstream"),
    )
    .expect("the plugin link");
    let console_ref = format!("{}/console-here:{forwarded}", release_ns.name);
    let plugin = |args: &[&str]| {
        let path = format!(
            "{}:{}",
            plugin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(kubectl_bin());
        command
            .env("PATH", path)
            .env("KUBECONFIG", support::kubeconfig_path())
            .env("LINNSTREAM_ADMIN_TOKEN", "console-token-0123456789abcdef")
            .env("LINNSTREAM_CONSOLE", &console_ref)
            .arg("linnstream")
            .args(args);
        run(command, "kubectl linnstream")
    };
    let out = plugin(&["-n", &env.ns.name, "status", "acme"]);
    let shown = text(&out);
    for want in [
        format!("Installation {}/acme", env.ns.name),
        "Ready:               True (Running)".to_string(),
        "Conditions".to_string(),
        "Queue".to_string(),
        "Webhook backlog:     0 pending".to_string(),
        "Failing orders".to_string(),
        "fetch-orders".to_string(),
        "Workers".to_string(),
        "Stream webhook subscriptions".to_string(),
    ] {
        assert!(shown.contains(&want), "status lacks {want:?}:\n{shown}");
    }
    assert!(out.status.success(), "{shown}");
    let out = plugin(&["-n", &env.ns.name, "jobs"]);
    assert!(
        text(&out).contains(&format!("installation {}/acme", env.ns.name)),
        "{}",
        text(&out)
    );
    let out = plugin(&["-n", &env.ns.name, "orders", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = plugin(&["-n", &env.ns.name, "webhooks", "list"]);
    assert!(out.status.success(), "{}", text(&out));

    let mut refused = Vec::new();
    for (child, user, what) in [
        (console, console_user, "console"),
        (gateway, gw_user, "gateway"),
        (operator, op_user, "operator"),
    ] {
        let log = terminate(child, what).await;
        refused.extend(
            refused_by_rbac(&log, &user)
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
        );
    }
    assert!(refused.is_empty(), "RBAC refused:\n{}", refused.join("\n"));
    let _ = helm(&["uninstall", &release, "--namespace", &release_ns.name]);
    env.finish().await;
    release_ns.delete().await;
}

/// Forwards connections on this machine's outward address (a free port) to
/// 127.0.0.1:`port`; returns the address and the port.
async fn forward_to_loopback(port: u16) -> (String, u16) {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
    probe.connect("10.255.255.255:9").expect("route");
    let host = probe.local_addr().expect("address").ip().to_string();
    let listener = tokio::net::TcpListener::bind((host.as_str(), 0))
        .await
        .expect("listen");
    let forwarded = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (host, forwarded)
}
