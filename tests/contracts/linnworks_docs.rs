//! The Linnworks curl walk-through in docs/simulators.md works: run as written against the
//! simulator seeded as `linnstream simulate` seeds it, then checked in the simulator's
//! state. Needs `curl` and `bash`; the test fails without them.

use linnstream::sim::linnworks::{LinnworksSim, LinnworksSimConfig};

const MARKER: &str = "<!-- linnworks-curl: run by tests/contracts/linnworks_docs.rs -->";

fn doc_script() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulators.md"))
        .expect("docs/simulators.md");
    let after = doc.split_once(MARKER).expect("the marker").1;
    let block = after.split_once("```sh\n").expect("a sh block").1;
    block
        .split_once("```")
        .expect("the end of the block")
        .0
        .to_string()
}

#[tokio::test]
async fn the_documented_curl_commands_work() {
    let script = doc_script();
    assert!(script.contains("L=http://localhost:8081\n"), "{script}");
    let sim = LinnworksSim::new(LinnworksSimConfig::default());
    sim.seed_demo(3).expect("seed");
    let server = sim.start_loopback().await.expect("serve");
    let script = script.replace(
        "L=http://localhost:8081\n",
        &format!("L={}\n", server.url()),
    );
    let output = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .output()
        .await
        .expect("bash and curl must be installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the documented commands failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].contains("\"TotalEntries\":3"),
        "JSON listing: {}",
        lines[0]
    );
    // Two of the three demo orders are on the STREAM TECH vendor.
    assert!(
        lines[1].contains("\"TotalEntries\":2"),
        "form listing: {}",
        lines[1]
    );
    assert!(lines[2].contains("CURL-1"), "order added: {}", lines[2]);
    assert!(
        lines[3].contains("\"TrackingNumber\":\"TRK123\""),
        "{}",
        lines[3]
    );
    let order = sim
        .order("7b0d1f4e-3c2a-4b5e-9f10-000000000001")
        .expect("the order");
    assert_eq!(order["ShippingInfo"]["TrackingNumber"], "TRK123");
    assert_eq!(order["ShippingInfo"]["Vendor"], "STREAM TECH");
    server.shutdown().await;
}
