//! The README's "Running it without Kubernetes" commands work when pasted into a shell:
//! the `linnstream run` block (secrets made, resources copied, the process started) and the
//! `linnstream webhook-token` line, run by bash exactly as written, with only the listen
//! port swapped for a free one.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `sh` code blocks of the README section starting at `heading`, in order.
fn blocks(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find(heading).expect("the README section");
    let section = &readme[start..];
    let end = section[heading.len()..]
        .find("\n## ")
        .map_or(section.len(), |i| i + heading.len());
    section[..end]
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_run_example_works_when_pasted() {
    let found = blocks("## Running it without Kubernetes");
    let run_block = found
        .iter()
        .find(|b| b.contains("linnstream run"))
        .expect("a block with linnstream run");
    // A comment after a line continuation ends the command there.
    for line in run_block.lines() {
        let code = line.split(" #").next().unwrap_or(line);
        assert!(
            !(line.contains(" #") && code.trim_end().ends_with('\\')),
            "a comment follows a line continuation: {line}"
        );
    }
    let token_line = found
        .iter()
        .flat_map(|b| b.lines())
        .find(|l| l.starts_with("linnstream webhook-token"))
        .expect("a linnstream webhook-token line")
        .to_string();

    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(root().join("examples"), dir.path().join("examples"))
        .expect("examples");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let script = run_block.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    assert_ne!(&script, run_block, "the block listens on 127.0.0.1:8080");
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_linnstream"))
        .parent()
        .expect("binary folder")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &format!("exec 2>&1\n{script}")])
        .current_dir(dir.path())
        .env("PATH", &path)
        .env("LINNSTREAM_LOG", "warn")
        .env_remove("LINNSTREAM_ADMIN_TOKEN")
        .env_remove("LINNSTREAM_WEBHOOK_SECRET")
        .env_remove("LINNSTREAM_DATABASE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    let webhooks = format!("webhooks at http://127.0.0.1:{port}/webhooks/default/acme");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                let done = line.contains(&webhooks);
                seen.push(line);
                if done {
                    break;
                }
            }
            other => panic!(
                "the README's run block did not start and print the webhook URL ({other:?}):\n{}",
                seen.join("\n")
            ),
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("linnstream is running on http://127.0.0.1:{port}"))),
        "{}",
        seen.join("\n")
    );
    let admin = reqwest::get(format!("http://127.0.0.1:{port}/admin/login"))
        .await
        .expect("the dashboard answers");
    assert_eq!(admin.status(), reqwest::StatusCode::OK);
    let _ = child.kill().await;

    // The token line, pasted in the same folder, prints the path and a token.
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &token_line])
        .current_dir(dir.path())
        .env("PATH", &path)
        .env_remove("LINNSTREAM_WEBHOOK_SECRET")
        .output()
        .await
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("webhook path: /webhooks/default/acme"),
        "{text}"
    );
    let secret = std::fs::read_to_string(dir.path().join("webhook-secret")).expect("secret");
    assert!(!text.contains(secret.trim()), "the secret is never printed");
}
