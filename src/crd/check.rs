//! `linnstream check`: validates resource YAML offline with the rules the API server and
//! the controller apply, and reports every problem with file, resource and field path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kube::CustomResourceExt;
use serde_json::Value;

use super::common::{Problem, SecretValue};
use super::installation::Installation;
use super::mapping::PostalServiceMapping;
use super::{API_VERSION, schema_check, schema_of, validate};

/// A problem found in one resource of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    /// `Kind/name`, or `document N` when the document has no usable kind or name.
    pub resource: String,
    pub problem: Problem,
    /// Warnings (such as a Secret not among the files) do not fail the check.
    pub warning: bool,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = if self.warning { "warning" } else { "error" };
        write!(
            f,
            "{level}: {}: {}: {}",
            self.file.display(),
            self.resource,
            self.problem
        )
    }
}

/// What was found across all the files checked.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub installations: Vec<(PathBuf, Installation)>,
    pub mappings: Vec<(PathBuf, PostalServiceMapping)>,
    /// Secrets found, by (namespace, name): key -> decoded value. Values are kept for the
    /// standalone runner, which resolves credentials from files; they are never printed.
    pub secrets: BTreeMap<(String, String), BTreeMap<String, String>>,
    pub resources_checked: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| !f.warning).count()
    }
}

/// Collects `.yaml`/`.yml` files in `path`, sorted. Like `kubectl apply -f`, sub-folders
/// are only searched when `recursive` is set (so `examples/broken/` stays out of
/// `check -f examples/`). Hidden entries (names starting with `.`) are skipped: a mounted
/// Secret or ConfigMap keeps each file a second and third time under `..data/` and
/// `..<timestamp>/`, behind the visible symlinks (the chart's gateway reads such a folder).
pub fn collect_files(path: &Path, recursive: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = entry.path();
            if p.is_dir() {
                if recursive {
                    files.extend(collect_files(&p, true)?);
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                files.push(p);
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
    Ok(files)
}

/// Checks every file; I/O and YAML syntax problems become findings too.
pub fn check_files(files: &[PathBuf], namespace_default: &str) -> Report {
    let mut report = Report::default();
    for file in files {
        match std::fs::read_to_string(file) {
            Ok(text) => check_text(&mut report, file, &text, namespace_default),
            Err(e) => report.findings.push(Finding {
                file: file.clone(),
                resource: "-".into(),
                problem: Problem::new("-", format!("cannot read the file: {e}")),
                warning: false,
            }),
        }
    }
    cross_check(&mut report);
    report
}

pub fn check_text(report: &mut Report, file: &Path, text: &str, namespace_default: &str) {
    // The whole stream is read first: a syntax error anywhere stops it. The message says
    // line and column but quotes no source: the file may hold Secret values.
    let options = serde_saphyr::options! { with_snippet: false };
    let documents =
        match serde_saphyr::from_str_multiple_with_options::<Value, Vec<_>>(text, options) {
            Ok(documents) => documents,
            Err(e) => {
                report.findings.push(Finding {
                    file: file.to_path_buf(),
                    resource: "-".into(),
                    problem: Problem::new("-", format!("is not valid YAML: {e}")),
                    warning: false,
                });
                return;
            }
        };
    for (index, json) in documents.into_iter().enumerate() {
        if json.is_null() {
            continue;
        }
        let doc_label = format!("document {}", index + 1);
        check_value(report, file, &doc_label, json, namespace_default);
    }
}

fn check_value(report: &mut Report, file: &Path, doc_label: &str, json: Value, ns_default: &str) {
    let kind = json
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let api_version = json
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = json
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = json
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(ns_default)
        .to_string();
    let resource = if kind.is_empty() || name.is_empty() {
        doc_label.to_string()
    } else {
        format!("{kind}/{name}")
    };
    let push = |report: &mut Report, problem: Problem| {
        report.findings.push(Finding {
            file: file.to_path_buf(),
            resource: resource.clone(),
            problem,
            warning: false,
        })
    };
    if kind.is_empty() {
        push(report, Problem::new("kind", "is required"));
        return;
    }
    if name.is_empty() {
        push(report, Problem::new("metadata.name", "is required"));
    } else if let Err(e) = check_dns_name(name) {
        push(report, Problem::new("metadata.name", e));
    }
    report.resources_checked += 1;
    match kind.as_str() {
        "Installation" | "PostalServiceMapping" => {
            if api_version != API_VERSION {
                push(
                    report,
                    Problem::new(
                        "apiVersion",
                        format!("{api_version:?} is not served; use {API_VERSION:?}"),
                    ),
                );
                return;
            }
            let crd = if kind == "Installation" {
                Installation::crd()
            } else {
                PostalServiceMapping::crd()
            };
            let schema = schema_of(&crd);
            let spec_schema = schema
                .pointer("/properties/spec")
                .cloned()
                .unwrap_or(Value::Null);
            let Some(spec) = json.get("spec") else {
                push(report, Problem::new("spec", "is required"));
                return;
            };
            let schema_problems = schema_check::check_against_schema(&spec_schema, spec, "spec");
            let reported: BTreeSet<String> =
                schema_problems.iter().map(|p| p.path.clone()).collect();
            let valid_schema = schema_problems.is_empty();
            for p in schema_problems {
                push(report, p);
            }
            // Cross-field and parsed-value rules run even when the schema found problems, so
            // one run reports everything; a field the schema already faulted is not repeated.
            let typed = |report: &mut Report, problems: Vec<Problem>| {
                for p in problems.into_iter().filter(|p| !reported.contains(&p.path)) {
                    push(report, p);
                }
            };
            if kind == "Installation" {
                match serde_json::from_value::<Installation>(json) {
                    Ok(mut inst) => {
                        typed(report, validate::validate_installation(&inst.spec));
                        if valid_schema {
                            inst.metadata.namespace = Some(namespace);
                            report.installations.push((file.to_path_buf(), inst));
                        }
                    }
                    Err(e) if valid_schema => push(report, Problem::new("spec", e.to_string())),
                    // Missing required fields (already reported) stop typed parsing, and with
                    // it the cross-field rules; those run once the schema problems are fixed.
                    Err(_) => {}
                }
            } else {
                match serde_json::from_value::<PostalServiceMapping>(json) {
                    Ok(mut m) => {
                        typed(report, validate::validate_mapping(&m.spec));
                        if valid_schema {
                            m.metadata.namespace = Some(namespace);
                            report.mappings.push((file.to_path_buf(), m));
                        }
                    }
                    Err(e) if valid_schema => push(report, Problem::new("spec", e.to_string())),
                    Err(_) => {}
                }
            }
        }
        "Secret" => {
            let mut values = BTreeMap::new();
            for field in ["data", "stringData"] {
                let Some(map) = json.get(field).and_then(Value::as_object) else {
                    continue;
                };
                for (k, v) in map {
                    let Some(text) = v.as_str() else {
                        push(
                            report,
                            Problem::new(format!("{field}.{k}"), "must be a string"),
                        );
                        continue;
                    };
                    let decoded = if field == "data" {
                        use base64::Engine as _;
                        match base64::engine::general_purpose::STANDARD
                            .decode(text.trim())
                            .map(String::from_utf8)
                        {
                            Ok(Ok(value)) => value,
                            Ok(Err(_)) => {
                                push(
                                    report,
                                    Problem::new(
                                        format!("data.{k}"),
                                        "is not UTF-8 text once decoded",
                                    ),
                                );
                                continue;
                            }
                            Err(_) => {
                                push(
                                    report,
                                    Problem::new(format!("data.{k}"), "is not valid base64"),
                                );
                                continue;
                            }
                        }
                    } else {
                        text.to_string()
                    };
                    values.insert(k.clone(), decoded);
                }
            }
            report.secrets.insert((namespace, name.to_string()), values);
        }
        other => {
            report.findings.push(Finding {
                file: file.to_path_buf(),
                resource,
                problem: Problem::new(
                    "kind",
                    format!("{other:?} is not a linnstream resource; skipped"),
                ),
                warning: true,
            });
        }
    }
}

pub fn check_dns_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
        ))
    }
}

/// References between resources: a mapping's Installation, and Secrets named by an
/// Installation. A missing Secret is only a warning: it may already be in the cluster.
pub fn cross_check(report: &mut Report) {
    let mut findings = Vec::new();
    let installations: BTreeSet<(String, String)> = report
        .installations
        .iter()
        .map(|(_, i)| (ns(&i.metadata), i.metadata.name.clone().unwrap_or_default()))
        .collect();
    for (file, m) in &report.mappings {
        let key = (ns(&m.metadata), m.spec.installation_ref.name.clone());
        if !installations.contains(&key) {
            findings.push(Finding {
                file: file.clone(),
                resource: format!(
                    "PostalServiceMapping/{}",
                    m.metadata.name.clone().unwrap_or_default()
                ),
                problem: Problem::new(
                    "spec.installationRef.name",
                    format!("Installation {:?} is not among the files checked", key.1),
                ),
                warning: true,
            });
        }
    }
    // The warehouse mapping: a DefaultLocation naming no entry, and entries whose depot no
    // mapping of the installation uses while they name no delivery method of their own (the
    // mappings' methods would then have to exist at that depot).
    for (file, inst) in &report.installations {
        let resource = format!(
            "Installation/{}",
            inst.metadata.name.clone().unwrap_or_default()
        );
        if let Some(default) = inst.spec.default_location_unmatched() {
            findings.push(Finding {
                file: file.clone(),
                resource: resource.clone(),
                problem: Problem::new(
                    "spec.sync.defaultLocation",
                    format!(
                        "{default:?} matches no spec.locations entry by id or name; it is sent to Stream as a stock location"
                    ),
                ),
                warning: true,
            });
        }
        let own_depots: Vec<&str> = report
            .mappings
            .iter()
            .filter(|(_, m)| {
                ns(&m.metadata) == ns(&inst.metadata)
                    && Some(&m.spec.installation_ref.name) == inst.metadata.name.as_ref()
            })
            .map(|(_, m)| m.spec.depot.as_str())
            .collect();
        for (i, l) in inst.spec.locations.iter().enumerate() {
            if l.delivery_method.is_none()
                && !own_depots.is_empty()
                && !own_depots
                    .iter()
                    .any(|d| d.trim().eq_ignore_ascii_case(l.depot.trim()))
            {
                findings.push(Finding {
                    file: file.clone(),
                    resource: resource.clone(),
                    problem: Problem::new(
                        format!("spec.locations[{i}].deliveryMethod"),
                        format!(
                            "is unset and no PostalServiceMapping uses depot {:?}: orders of {} would need the mappings' delivery methods at that depot",
                            l.depot,
                            l.linnworks_location.describe()
                        ),
                    ),
                    warning: true,
                });
            }
        }
    }
    if !report.secrets.is_empty() {
        for (file, inst) in &report.installations {
            for (path, secret) in secret_refs(inst) {
                let key = (ns(&inst.metadata), secret.secret_key_ref.name.clone());
                let problem = match report.secrets.get(&key) {
                    None => Some(format!("Secret {:?} is not among the files checked", key.1)),
                    Some(keys) if !keys.contains_key(&secret.secret_key_ref.key) => Some(format!(
                        "Secret {:?} has no key {:?}",
                        key.1, secret.secret_key_ref.key
                    )),
                    Some(_) => None,
                };
                if let Some(message) = problem {
                    findings.push(Finding {
                        file: file.clone(),
                        resource: format!(
                            "Installation/{}",
                            inst.metadata.name.clone().unwrap_or_default()
                        ),
                        problem: Problem::new(path, message),
                        warning: true,
                    });
                }
            }
        }
    }
    report.findings.extend(findings);
}

fn ns(meta: &kube::api::ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_else(|| "default".into())
}

/// Every Secret reference of an Installation with the field path that holds it.
pub fn secret_refs(inst: &Installation) -> Vec<(&'static str, &SecretValue)> {
    let s = &inst.spec;
    let mut refs = vec![
        ("spec.stream.clientId", &s.stream.client_id),
        ("spec.stream.clientSecret", &s.stream.client_secret),
        ("spec.linnworks.applicationId", &s.linnworks.application_id),
        (
            "spec.linnworks.applicationSecret",
            &s.linnworks.application_secret,
        ),
        (
            "spec.linnworks.installationToken",
            &s.linnworks.installation_token,
        ),
    ];
    if let Some(token) = s
        .shipping_integration
        .as_ref()
        .and_then(|g| g.authorization_token.as_ref())
    {
        refs.push(("spec.shippingIntegration.authorizationToken", token));
    }
    refs
}
