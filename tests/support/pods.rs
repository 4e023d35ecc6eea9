//! Running a pod's container as a local process, as a kubelet would (the test cluster has
//! no kubelet): its command line and environment from the pod spec, Secrets read from the
//! API, the Kubernetes API reached through an impersonating kubeconfig.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::Api;
use serde_json::Value;
use tokio::process::{Child, Command};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The test cluster's kubeconfig, acting as `user` (impersonated), written into `dir`.
pub fn kubeconfig_as(dir: &Path, user: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(super::kubeconfig_path()).expect("kubeconfig");
    let mut config: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
    for u in config["users"].as_array_mut().expect("users") {
        u["user"]["as"] = serde_json::Value::from(user);
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_saphyr::to_string(&config).expect("yaml")).expect("write");
    path
}

/// The command line and environment of a pod's container, as a kubelet would run it:
/// `secretKeyRef`s read from the API, the pod name from the `fieldRef`. Listen addresses
/// move to free loopback ports (a pod has a network of its own; this process does not);
/// the main listener (`--listen`, `--metrics-listen`) becomes `listen` when given. Flags
/// may be given as `--flag VALUE` or `--flag=VALUE`.
pub async fn pod_command(
    client: &Client,
    ns: &str,
    pod: &Value,
    pod_name: &str,
    kubeconfig: &Path,
    listen: Option<u16>,
) -> Command {
    let container = &pod["containers"][0];
    let mut args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("arg").to_string())
        .collect();
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((flag, _)) => (flag.to_string(), true),
            None => (args[i].clone(), false),
        };
        let replacement = match flag.as_str() {
            "--health-listen" => Some(format!("127.0.0.1:{}", free_port())),
            "--listen" | "--metrics-listen" => Some(format!(
                "127.0.0.1:{}",
                listen.unwrap_or_else(|| panic!("a port for {flag}"))
            )),
            _ => None,
        };
        if let Some(value) = replacement {
            if inline {
                args[i] = format!("{flag}={value}");
            } else if i + 1 < args.len() {
                args[i + 1] = value;
                i += 1;
            }
        }
        i += 1;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut command = Command::new(env!("CARGO_BIN_EXE_linnstream"));
    command
        .args(&args)
        .env_clear()
        .env("KUBECONFIG", kubeconfig)
        .env("HOSTNAME", pod_name)
        .env("LINNSTREAM_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for var in container["env"].as_array().expect("env") {
        let name = var["name"].as_str().expect("name");
        let value = if let Some(v) = var["value"].as_str() {
            v.to_string()
        } else if let Some(r) = var["valueFrom"].get("secretKeyRef") {
            let secret = secrets
                .get(r["name"].as_str().expect("secret name"))
                .await
                .expect("the referenced Secret");
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(r["key"].as_str().expect("key")))
                .map(|b| b.0.clone())
                .unwrap_or_else(|| panic!("{name}: no such key"));
            String::from_utf8(bytes).expect("utf-8")
        } else if var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name" {
            pod_name.to_string()
        } else {
            panic!("{name}: unexpected {var}");
        };
        command.env(name, value);
    }
    command
}

pub async fn output(child: Child, what: &str) -> String {
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
        .expect(what);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

/// Stops a long-running child the way Kubernetes does (SIGTERM), returning its log.
pub async fn terminate(child: Child, what: &str) -> String {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    output(child, what).await
}
