//! Assertions on orders as the Linnworks simulator holds them. Plain functions over JSON, so
//! test binaries that do not use the rest of `support` can include this file by path.

use serde_json::Value;

/// The write-back reached Linnworks: the tracking number, exactly one `StreamTrackingURL`
/// (with this value, when given) and the Sent to Stream identifier.
pub fn assert_written_back(lw: &Value, tracking: Option<&str>, url: Option<&str>) {
    assert_eq!(
        lw["ShippingInfo"]["TrackingNumber"].as_str(),
        tracking,
        "{lw}"
    );
    let urls: Vec<&Value> = lw["ExtendedProperties"]
        .as_array()
        .expect("properties")
        .iter()
        .filter(|p| p["Name"] == "StreamTrackingURL")
        .collect();
    assert_eq!(urls.len(), 1, "{lw}");
    if let Some(url) = url {
        assert_eq!(urls[0]["Value"].as_str(), Some(url));
    }
    assert!(
        lw["GeneralInfo"]["Identifiers"]
            .as_array()
            .expect("identifiers")
            .iter()
            .any(|t| t["Tag"] == "SENT_TO_STREAM"),
        "{lw}"
    );
}
