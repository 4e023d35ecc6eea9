//! The generated CRDs, the examples and the broken examples, through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn crd_output_matches_the_committed_file() {
    let out = bin().arg("crd").output().expect("run linnstream crd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    let committed = std::fs::read_to_string(root().join("crds/linnstream.yaml"))
        .expect("crds/linnstream.yaml exists");
    assert!(
        generated == committed,
        "crds/linnstream.yaml is stale: run `cargo run -- crd -o crds/linnstream.yaml`"
    );
}

#[test]
fn helm_crd_template_matches_the_committed_file() {
    let out = bin()
        .args(["crd", "--helm"])
        .output()
        .expect("run linnstream crd --helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).expect("utf-8");
    let committed = std::fs::read_to_string(root().join("charts/linnstream/templates/crds.yaml"))
        .expect("charts/linnstream/templates/crds.yaml exists");
    assert!(
        generated == committed,
        "charts/linnstream/templates/crds.yaml is stale: run \
         `cargo run -- crd --helm -o charts/linnstream/templates/crds.yaml`"
    );
    // Behind crds.enabled, kept with crds.keep, and otherwise the plain CRDs.
    assert!(generated.contains("{{- if .Values.crds.enabled }}"));
    assert!(generated.contains(
        "{{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep"
    ));
    let plain = bin().arg("crd").output().expect("run linnstream crd");
    let plain = String::from_utf8(plain.stdout).expect("utf-8");
    let body = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                !l.contains("{{")
                    && !l.starts_with('#')
                    && !l.contains("helm.sh/resource-policy")
                    && *l != "  annotations:"
                    && *l != "  labels:"
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(body(&generated), body(&plain));
}

#[test]
fn values_schema_settings_match_the_settings_definitions() {
    let path = root().join("charts/linnstream/values.schema.json");
    let committed = std::fs::read_to_string(&path).expect("values.schema.json exists");
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("values.schema.json");
    std::fs::write(&copy, &committed).expect("copy");
    let out = bin()
        .args(["crd", "--values-schema", "-o"])
        .arg(&copy)
        .output()
        .expect("run linnstream crd --values-schema");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = std::fs::read_to_string(&copy).expect("regenerated");
    assert!(
        generated == committed,
        "charts/linnstream/values.schema.json is stale: run \
         `cargo run -- crd --values-schema -o charts/linnstream/values.schema.json`"
    );
    // The chart passes every value under settings as its flag; each must be one.
    let schema: serde_json::Value = serde_json::from_str(&committed).expect("JSON");
    let names: Vec<&str> = schema["properties"]["settings"]["properties"]
        .as_object()
        .expect("settings properties")
        .keys()
        .map(String::as_str)
        .collect();
    let table = linnstream::settings::all_settings();
    assert_eq!(names.len(), table.len());
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for def in table {
        assert!(
            names.contains(&def.name),
            "{} is not in the schema",
            def.name
        );
        let row = format!(
            "| `{}` | `{}` | {} | {}-{}",
            def.flag(),
            def.env,
            def.default,
            def.min,
            def.max
        );
        assert!(readme.contains(&row), "README.md has no settings row {row}");
    }
}

#[test]
fn crd_has_printer_columns_short_names_and_category() {
    let out = bin().arg("crd").output().expect("run linnstream crd");
    let yaml = String::from_utf8(out.stdout).expect("utf-8");
    for needle in [
        "shortNames:\n    - lsi",
        "shortNames:\n    - lspsm",
        "categories:\n    - linnstream",
        "name: Last Sync",
        "jsonPath: .status.queue.pending",
        "jsonPath: .spec.deliveryMethod",
        "anyOf:\n                - required:\n                  - id",
        "subresources:\n      status: {}",
        "name: Reason",
        "jsonPath: .status.conditions[?(@.type==\"Ready\")].reason",
        "name: Message",
        "x-kubernetes-list-map-keys:\n                - type\n                x-kubernetes-list-type: map",
    ] {
        assert!(yaml.contains(needle), "CRD YAML lacks {needle:?}");
    }
    // `kubectl explain` has something to say about every status field.
    fn undescribed(node: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        if node.get("description").is_none() {
            out.push(path.to_string());
        }
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                undescribed(v, &format!("{path}.{k}"), out);
            }
        }
        if let Some(items) = node.get("items") {
            undescribed(items, &format!("{path}[]"), out);
        }
    }
    for crd in serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(&yaml).expect("yaml") {
        let status =
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
        let mut missing = Vec::new();
        undescribed(status, "status", &mut missing);
        assert!(
            missing.is_empty(),
            "{}: no description on {missing:?}",
            crd["metadata"]["name"]
        );
    }
    // Server-side apply on Kubernetes before 1.25 refuses CRDs with CEL rules, and 1.20
    // refuses an empty-string default; the cross-field rules are structural `anyOf`.
    assert!(!yaml.contains("x-kubernetes-validations"));
    assert!(!yaml.contains("default: ''"));
}

#[test]
fn examples_pass_check() {
    let out = bin()
        .args(["check", "-f"])
        .arg(root().join("examples"))
        .output()
        .expect("run check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check rejected the examples:\n{stderr}"
    );
    assert!(
        stderr.contains("checked 5 resources in 4 files: 0 errors, 0 warnings"),
        "{stderr}"
    );
}

fn expectations(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("read broken example")
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_broken_example_is_rejected_with_its_message() {
    let dir = root().join("examples/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/broken")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected at least 10 broken examples");
    for file in files {
        let expected = expectations(&file);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let out = bin()
            .args(["check", "-f"])
            .arg(&file)
            .output()
            .expect("run check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} was accepted:\n{stderr}",
            file.display()
        );
        for message in expected {
            assert!(
                stderr.contains(&message),
                "{}: expected {message:?} in:\n{stderr}",
                file.display()
            );
        }
        // Every finding names the file and the resource.
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .all(|l| l.contains(name))
        );
    }
}

#[test]
fn check_reports_missing_files_clearly() {
    let out = bin()
        .args(["check", "-f", "/no/such/place.yaml"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/no/such/place.yaml: no such file or folder")
    );
}

#[test]
fn check_warns_about_a_secret_key_that_is_not_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inst = std::fs::read_to_string(root().join("examples/installation.yaml")).expect("read");
    let secrets = std::fs::read_to_string(root().join("examples/secrets.yaml"))
        .expect("read")
        .replace("client-secret:", "client-secrt:");
    std::fs::write(dir.path().join("a.yaml"), inst).expect("write");
    std::fs::write(dir.path().join("b.yaml"), secrets).expect("write");
    let out = bin()
        .args(["check", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a warning must not fail the check: {stderr}"
    );
    assert!(
        stderr.contains("warning:")
            && stderr.contains(
                "spec.stream.clientSecret: Secret \"acme-stream\" has no key \"client-secret\""
            ),
        "{stderr}"
    );
}
