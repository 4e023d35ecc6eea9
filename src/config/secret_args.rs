//! Secrets given as a value (flag or environment variable) or as a file (`--X-file`,
//! `X_FILE`). Files and the environment keep secrets out of the process list, where any
//! local user can read command lines; the flags remain for trials.

use std::path::Path;

/// The secret from `value` or from the file at `file` (at most one is given: clap refuses
/// both). A file's trailing line break is dropped (`echo` and editors add one). Errors name
/// the flag or the file, never the content.
pub fn value_or_file(
    value: Option<String>,
    file: Option<&Path>,
    file_flag: &str,
) -> anyhow::Result<Option<String>> {
    let Some(path) = file else {
        return Ok(value);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{file_flag} {}: cannot be read: {e}", path.display()))?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        anyhow::bail!("{file_flag} {}: the file is empty", path.display());
    }
    Ok(Some(text.to_string()))
}

/// [`value_or_file`] for a setting that must be given one way or the other.
pub fn required(
    value: Option<String>,
    file: Option<&Path>,
    flag: &str,
    file_flag: &str,
) -> anyhow::Result<String> {
    value_or_file(value, file, file_flag)?
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("{flag} or {file_flag} is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_wins_and_loses_its_line_break() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").expect("write");
        let v = value_or_file(None, Some(&path), "--x-file").expect("read");
        assert_eq!(v.as_deref(), Some("s3cret"));
        std::fs::write(&path, "\n").expect("write");
        let e = value_or_file(None, Some(&path), "--x-file").expect_err("empty");
        assert!(e.to_string().contains("--x-file"), "{e}");
        let e = required(None, None, "--x", "--x-file").expect_err("missing");
        assert_eq!(e.to_string(), "--x or --x-file is required");
    }
}
