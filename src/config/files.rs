//! Settings from YAML files (standalone `linnstream run -f DIR`): Installations,
//! PostalServiceMappings and the Secrets they reference, checked with the same rules as
//! `linnstream check`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Credentials, InstallationConfig, InstallationKey, MappingConfig, Snapshot};
use crate::crd::SecretValue;
use crate::crd::check::{Report, check_files, collect_files};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("no .yaml or .yml files in {0}")]
    Empty(String),
    #[error("the resources have problems:\n{0}")]
    Invalid(String),
}

/// Loads every installation in `dir` (its sub-folders too), failing with every problem
/// found when any resource is invalid or a referenced Secret or key is missing.
pub fn load_dir(dir: &Path) -> Result<Snapshot, LoadError> {
    let files = collect_files(dir, true).map_err(|source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    if files.is_empty() {
        return Err(LoadError::Empty(dir.display().to_string()));
    }
    let report = check_files(&files, "default");
    snapshot_from_report(&report)
}

pub fn snapshot_from_report(report: &Report) -> Result<Snapshot, LoadError> {
    let mut problems: Vec<String> = report
        .findings
        .iter()
        .filter(|f| !f.warning)
        .map(ToString::to_string)
        .collect();
    let mut snapshot = Snapshot::default();
    for (file, inst) in &report.installations {
        let namespace = inst
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = inst.metadata.name.clone().unwrap_or_default();
        let key = InstallationKey::new(namespace.clone(), name.clone());
        let mut resolve = |path: &str, value: &SecretValue| -> String {
            let r = &value.secret_key_ref;
            match report
                .secrets
                .get(&(namespace.clone(), r.name.clone()))
                .map(|keys| keys.get(&r.key))
            {
                Some(Some(v)) => v.clone(),
                Some(None) => {
                    problems.push(format!(
                        "error: {}: Installation/{name}: {path}: Secret {:?} has no key {:?}",
                        file.display(),
                        r.name,
                        r.key
                    ));
                    String::new()
                }
                None => {
                    problems.push(format!(
                        "error: {}: Installation/{name}: {path}: Secret {:?} is not among the files",
                        file.display(),
                        r.name
                    ));
                    String::new()
                }
            }
        };
        let s = &inst.spec;
        let credentials = Credentials {
            stream_client_id: resolve("spec.stream.clientId", &s.stream.client_id),
            stream_client_secret: resolve("spec.stream.clientSecret", &s.stream.client_secret),
            linnworks_application_id: resolve(
                "spec.linnworks.applicationId",
                &s.linnworks.application_id,
            ),
            linnworks_application_secret: resolve(
                "spec.linnworks.applicationSecret",
                &s.linnworks.application_secret,
            ),
            linnworks_installation_token: resolve(
                "spec.linnworks.installationToken",
                &s.linnworks.installation_token,
            ),
            gateway_token: s
                .shipping_integration
                .as_ref()
                .and_then(|g| g.authorization_token.as_ref())
                .map(|t| resolve("spec.shippingIntegration.authorizationToken", t)),
        };
        match InstallationConfig::new(key.clone(), inst.spec.clone(), credentials, Vec::new()) {
            Ok(config) => {
                snapshot.installations.insert(key, config);
            }
            Err(e) => problems.push(format!(
                "error: {}: Installation/{name}: spec.{e}",
                file.display()
            )),
        }
    }
    let mut mappings: BTreeMap<InstallationKey, Vec<MappingConfig>> = BTreeMap::new();
    for (file, m) in &report.mappings {
        let namespace = m
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = m.metadata.name.clone().unwrap_or_default();
        let key = InstallationKey::new(namespace, m.spec.installation_ref.name.clone());
        if !snapshot.installations.contains_key(&key) {
            problems.push(format!(
                "error: {}: PostalServiceMapping/{name}: spec.installationRef.name: Installation {:?} is not among the files",
                file.display(),
                key.name
            ));
            continue;
        }
        mappings.entry(key).or_default().push(MappingConfig {
            name,
            spec: m.spec.clone(),
        });
    }
    for (key, list) in mappings {
        if let Some(inst) = snapshot.installations.get_mut(&key) {
            inst.mappings = list;
        }
    }
    if problems.is_empty() {
        Ok(snapshot)
    } else {
        Err(LoadError::Invalid(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn examples() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
    }

    /// A Secret mounted as a volume, as the kubelet writes it: the files in a hidden
    /// timestamped folder, `..data` pointing at it, and a visible symlink per key.
    #[cfg(unix)]
    #[test]
    fn loads_a_mounted_secret_folder_once() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().expect("temp dir");
        let stamp = dir.path().join("..2026_11_22_18_00_00.123456789");
        std::fs::create_dir(&stamp).expect("mkdir");
        for file in [
            "installation.yaml",
            "secrets.yaml",
            "mapping-delivery.yaml",
            "mapping-collection.yaml",
        ] {
            std::fs::copy(examples().join(file), stamp.join(file)).expect("copy");
            symlink(format!("..data/{file}"), dir.path().join(file)).expect("symlink");
        }
        symlink(stamp.file_name().expect("name"), dir.path().join("..data")).expect("..data");
        let files = collect_files(dir.path(), true).expect("list");
        assert_eq!(files.len(), 4, "{files:?}");
        let snapshot = load_dir(dir.path()).expect("the mounted folder loads");
        assert_eq!(snapshot.installations.len(), 1);
        let inst = snapshot
            .get(&InstallationKey::new("default", "acme"))
            .expect("acme installation");
        assert_eq!(inst.mappings.len(), 2);
    }

    #[test]
    fn loads_the_examples_with_credentials_and_mappings() {
        // The broken examples live in a sub-folder; load only the top level here.
        let files = collect_files(&examples(), false).expect("list");
        let snapshot = snapshot_from_report(&check_files(&files, "default")).expect("valid");
        let inst = snapshot
            .get(&InstallationKey::new("default", "acme"))
            .expect("acme installation");
        assert_eq!(inst.credentials.stream_client_id, "acme-stream-client");
        assert_eq!(
            inst.credentials.gateway_token.as_deref(),
            Some("0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e")
        );
        assert_eq!(inst.mappings.len(), 2);
        let by_id = inst
            .mapping_for(Some("3F2B1A0C-9D8E-4F7A-B6C5-D4E3F2A1B0C9"), None)
            .expect("mapping by id, any case");
        assert_eq!(by_id.name, "acme-next-day");
        let by_name = inst
            .mapping_for(None, Some("stream returns collection"))
            .expect("mapping by name");
        assert_eq!(by_name.name, "acme-returns");
        assert!(
            inst.mapping_for(
                Some("00000000-0000-0000-0000-000000000000"),
                Some("Royal Mail")
            )
            .is_none()
        );
        assert!(
            snapshot
                .by_gateway_token("0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e")
                .is_some()
        );
        assert!(
            snapshot
                .by_gateway_token("0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6f")
                .is_none()
        );
        assert!(!format!("{:?}", inst.credentials).contains("acme-stream-client"));
    }

    #[test]
    fn a_missing_secret_key_is_an_error_naming_the_field_not_the_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(
            examples().join("installation.yaml"),
            dir.path().join("i.yaml"),
        )
        .expect("copy");
        let secrets = std::fs::read_to_string(examples().join("secrets.yaml"))
            .expect("read")
            .replace("installation-token:", "installation-tokn:");
        std::fs::write(dir.path().join("s.yaml"), secrets).expect("write");
        let err = load_dir(dir.path()).expect_err("missing key").to_string();
        assert!(
            err.contains("spec.linnworks.installationToken: Secret \"acme-linnworks\" has no key \"installation-token\""),
            "{err}"
        );
        assert!(
            !err.contains("1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"),
            "a secret value leaked: {err}"
        );
    }

    #[test]
    fn base64_data_is_decoded_and_bad_base64_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(
            examples().join("installation.yaml"),
            dir.path().join("i.yaml"),
        )
        .expect("copy");
        let secrets = std::fs::read_to_string(examples().join("secrets.yaml"))
            .expect("read")
            .replacen(
                "stringData:\n  client-id: acme-stream-client\n  client-secret: change-me-stream-secret",
                "data:\n  client-id: YWNtZS1zdHJlYW0tY2xpZW50\n  client-secret: Y2hhbmdlLW1lLXN0cmVhbS1zZWNyZXQ=",
                1,
            );
        std::fs::write(dir.path().join("s.yaml"), &secrets).expect("write");
        let snapshot = load_dir(dir.path()).expect("valid");
        let inst = snapshot.installations.values().next().expect("one");
        assert_eq!(inst.credentials.stream_client_id, "acme-stream-client");
        std::fs::write(
            dir.path().join("s.yaml"),
            secrets.replace("YWNtZS1zdHJlYW0tY2xpZW50", "not base64!"),
        )
        .expect("write");
        let err = load_dir(dir.path()).expect_err("bad base64").to_string();
        assert!(err.contains("data.client-id: is not valid base64"), "{err}");
    }
}
