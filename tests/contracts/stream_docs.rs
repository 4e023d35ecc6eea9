//! The Stream curl walk-through in docs/simulators.md works: it is run as written against the
//! simulator, and what it did is checked in the simulator's state. Needs `curl` and `bash`
//! (scripts/test.sh installs curl); the test fails without them.

use std::time::{Duration, Instant};

use linnstream::sim::stream::{StreamSim, StreamSimConfig};
use serde_json::Value;

const MARKER: &str = "<!-- stream-curl: run by tests/contracts/stream_docs.rs -->";

fn doc_script() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulators.md"))
        .expect("docs/simulators.md");
    let after = doc
        .split_once(MARKER)
        .expect("the marker in docs/simulators.md")
        .1;
    let block = after
        .split_once("```sh\n")
        .expect("a sh block after the marker")
        .1
        .split_once("```")
        .expect("the end of the block")
        .0;
    block.to_string()
}

#[tokio::test]
async fn the_documented_curl_commands_work() {
    let script = doc_script();
    assert!(script.contains("S=http://localhost:8082\n"), "{script}");
    let sim = StreamSim::new(StreamSimConfig::default()).expect("sim");
    let server = sim.serve_loopback().await.expect("serve");
    let script = script.replace(
        "S=http://localhost:8082\n",
        &format!("S={}\n", server.url()),
    );
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .output()
        .await
        .expect("bash and curl must be installed (scripts/test.sh installs curl)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the documented commands failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("\"NTH-2MAN\""), "depots listed: {stdout}");
    assert!(
        stdout.contains("\"consignmentNo\""),
        "order created: {stdout}"
    );

    let http = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{}{path}", server.url());
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let order = get("/_sim/orders/DEMO-1001").await;
    assert_eq!(order["status"], "DELIVERED", "{order}");
    let started = Instant::now();
    let inbox = loop {
        let inbox = get("/_sim/inbox").await;
        if inbox["received"].as_array().is_some_and(|r| !r.is_empty()) {
            break inbox;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no webhook arrived: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let got = &inbox["received"][0];
    assert_eq!(got["body"]["webhook"]["event"]["event_code"], "DELIVERED");
    assert_eq!(
        got["body"]["webhook"]["order"]["id"],
        order["consignmentNo"]
    );
    assert_eq!(got["headers"]["authorization"], "*** (masked)");
    server.shutdown().await;
}

/// The same walk-through against `linnstream simulate`, as a new user runs it.
#[tokio::test]
async fn the_documented_curl_commands_work_against_linnstream_simulate() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["simulate", "--no-linnworks", "--stream-port", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("linnstream simulate starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.strip_prefix("Stream simulator: ")
                && let Some((url, _)) = rest.split_once("/api")
            {
                return url.to_string();
            }
        }
        panic!("no Stream URL in the banner: {banner}");
    })
    .await
    .expect("the banner within 30 s");
    let script = doc_script().replace("S=http://localhost:8082\n", &format!("S={url}\n"));
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .output()
        .await
        .expect("bash and curl must be installed (scripts/test.sh installs curl)");
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let order: Value = reqwest::get(format!("{url}/_sim/orders/DEMO-1001"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(order["status"], "DELIVERED", "{order}");
    child.kill().await.expect("stop simulate");
}
