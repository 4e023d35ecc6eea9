//! The Helm chart (`charts/linnstream`) with the real `helm` and `kubectl` (from
//! `scripts/test-cluster.sh tools`): lint and render with default values and with every
//! toggle on, the schema's refusals, values that match the binary's flags and the README,
//! the gateway run with its rendered arguments, a server-side dry run of the rendered
//! objects against the test cluster, and an install whose operator (run as a local process
//! with the rendered Deployment's arguments, as the chart's ServiceAccount) brings the
//! example Installation to Ready. Fails, never skips, without helm or the cluster.

mod support;

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
use support::operator::Env;
use support::pods::{free_port, kubeconfig_as, pod_command, terminate};
use support::{TestNamespace, client, eventually, root};

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
    serde_yaml::Deserializer::from_str(text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("rendered YAML"))
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
        ("Role", 1),
        ("RoleBinding", 1),
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
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--watch-namespace")));
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

    // The gateway: no API access at all.
    let gw = one(&docs, "Deployment", "acme-linnstream-gateway");
    let gw_pod = &gw["spec"]["template"]["spec"];
    assert_eq!(gw_pod["automountServiceAccountToken"], false);
    assert_eq!(gw_pod["serviceAccountName"], "acme-linnstream-gateway");
    assert_eq!(
        gw_pod["volumes"][0]["secret"]["secretName"],
        "acme-linnstream-gateway-config"
    );
    assert_eq!(args_of(gw)[0], "gateway");
    assert_restricted_and_probed(gw);
    let bindings: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "RoleBinding" || d["kind"] == "ClusterRoleBinding")
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
        ])
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
    serde_yaml::from_str(&std::fs::read_to_string(chart().join("values.yaml")).expect("values"))
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
    let chart: Value = serde_yaml::from_str(
        &std::fs::read_to_string(chart().join("Chart.yaml")).expect("Chart.yaml"),
    )
    .expect("yaml");
    assert_eq!(chart["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
}

/// The gateway Deployment's arguments, run by the binary on a folder laid out as the
/// kubelet mounts a Secret (hidden `..data` and timestamped folders behind symlinks):
/// it loads the example once and answers its probe path.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_with_its_rendered_arguments_on_a_mounted_secret() {
    use std::os::unix::fs::symlink;
    let docs = render("acme", "ops", &[]);
    let gw = one(&docs, "Deployment", "acme-linnstream-gateway");
    let mount = gw["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"]
        .as_str()
        .expect("mountPath")
        .to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let stamp = config.join("..2026_11_22_18_00_00.000000001");
    std::fs::create_dir_all(&stamp).expect("mkdir");
    for file in ["installation.yaml", "secrets.yaml"] {
        std::fs::copy(support::example(file), stamp.join(file)).expect("copy");
        symlink(format!("..data/{file}"), config.join(file)).expect("symlink");
    }
    symlink(stamp.file_name().expect("name"), config.join("..data")).expect("..data");
    let port = free_port();
    let args: Vec<String> = args_of(gw)
        .into_iter()
        .map(|a| match a.split_once('=') {
            Some(("--filename", path)) => {
                assert_eq!(path, mount, "the gateway reads the mounted Secret");
                format!("--filename={}", config.display())
            }
            Some(("--listen", _)) => format!("--listen=127.0.0.1:{port}"),
            _ => a.clone(),
        })
        .collect();
    let db = format!("sqlite:{}", dir.path().join("gateway.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(&args)
        .env("LINNSTREAM_DATABASE_URL", db)
        .env(
            "LINNSTREAM_LOG",
            env_of(gw, "LINNSTREAM_LOG")["value"].as_str().expect("log"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway");
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let mut answered = false;
    for _ in 0..150 {
        if let Ok(Some(status)) = child.try_wait() {
            let out = child.wait_with_output().await.expect("output");
            panic!("the gateway exited ({status}): {}", text(&out));
        }
        if let Ok(r) = http.get(&url).send().await
            && r.status().is_success()
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        answered,
        "the gateway's /healthz did not answer within 15 s"
    );
    let log = terminate(child, "gateway").await;
    assert!(log.contains("serving 1 installation(s)"), "{log}");
}

// ---------------------------------------------------------------------------------------
// Against the test cluster

/// `kubectl apply --server-side --dry-run=server` of a rendered chart: the API server
/// validates every object (schema, RBAC references, unknown fields) without storing it.
fn server_dry_run(ns: &str, docs: &[Value], dir: &Path, name: &str) -> String {
    let file = dir.join(format!("{name}.yaml"));
    let text_out: String = docs
        .iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).expect("yaml")))
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
    // the rendering tests, the rules by promtool in tests/observability_chart.rs).
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
        linnstream::sync::webhook_event::SUBSCRIBED_EVENTS.len(),
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
