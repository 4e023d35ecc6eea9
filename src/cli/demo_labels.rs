//! The demo's label step: Linnworks' part played over HTTP. For each order in Stream it
//! calls GenerateLabel on the running gateway, as a print station would, and writes the
//! PNG(s) and PDF of each package to a folder; then it makes and prints a manifest.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::domain::InstallationKey;
use crate::domain::OrderStatus;
use crate::server::gateway::service_id;
use crate::store::{Order, OrderQuery};
use crate::sync::Engine;

/// Labels every Completed order of `key` through the gateway at `base_url`, into `dir`.
pub async fn print_labels(
    base_url: &str,
    engine: &Engine,
    key: &InstallationKey,
    dir: &Path,
) -> anyhow::Result<()> {
    let inst = engine
        .installation(key)
        .with_context(|| format!("installation {key} is not configured"))?;
    let Some(token) = inst.credentials.gateway_token.clone() else {
        println!("    No shippingIntegration.authorizationToken on {key}: no labels printed");
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut orders: Vec<Order> = engine
        .store()
        .list_orders(&OrderQuery {
            installation: key.id(),
            status: Some(OrderStatus::Completed),
            limit: 100,
            ..OrderQuery::default()
        })
        .await?
        .orders;
    orders.sort_by_key(|o| o.num_order_id);
    let http = reqwest::Client::new();
    let mut numbers = Vec::new();
    for order in &orders {
        let Some(num) = order.num_order_id else {
            continue;
        };
        let Some(mapping) = inst.mapping_for(
            order.postal_service_id.as_deref(),
            order.postal_service_name.as_deref(),
        ) else {
            continue;
        };
        let body = label_request(&token, order, num, service_id(&inst, mapping).to_string());
        let started = Instant::now();
        let reply: Value = http
            .post(format!("{base_url}/api/Consignment/GenerateLabel"))
            .json(&body)
            .send()
            .await?
            .json()
            .await
            .context("GenerateLabel answered something other than JSON")?;
        let took = started.elapsed();
        if reply["IsError"] == json!(true) {
            println!(
                "    #{num} no label: {}",
                reply["ErrorMessage"].as_str().unwrap_or("?")
            );
            continue;
        }
        let packages = reply["Package"].as_array().cloned().unwrap_or_default();
        let mut copies = 0;
        for package in &packages {
            let seq = package["SequenceNumber"].as_i64().unwrap_or(1);
            let pngs = std::iter::once(&package["PNGLabelDataBase64"]).chain(
                package["AdditionalPngsBase64"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            );
            copies = 0;
            for (copy, png) in pngs.enumerate() {
                let name = if copy == 0 {
                    format!("{num}-{seq}.png")
                } else {
                    format!("{num}-{seq}-copy{}.png", copy + 1)
                };
                write(dir, &name, png)?;
                copies += 1;
            }
            for pdf in package["PDFBytesDocumentationBase64"]
                .as_array()
                .into_iter()
                .flatten()
            {
                write(dir, &format!("{num}-{seq}.pdf"), pdf)?;
            }
        }
        println!(
            "    #{num} {:<12} {} package(s) x {copies} cop{}  {:>4} ms  {num}-*.png, {num}-*.pdf",
            reply["LeadTrackingNumber"].as_str().unwrap_or("-"),
            packages.len(),
            if copies == 1 { "y" } else { "ies" },
            took.as_millis(),
        );
        numbers.push(num.to_string());
    }
    if numbers.is_empty() {
        return Ok(());
    }
    let created: Value = http
        .post(format!("{base_url}/api/Manifest/CreateManifest"))
        .json(&json!({"AuthorizationToken": token, "OrderId": numbers}))
        .send()
        .await?
        .json()
        .await?;
    let Some(reference) = created["ManifestReference"]
        .as_str()
        .filter(|r| !r.is_empty())
    else {
        println!(
            "    No manifest: {}",
            created["ErrorMessage"].as_str().unwrap_or("?")
        );
        return Ok(());
    };
    let printed: Value = http
        .post(format!("{base_url}/api/Manifest/PrintManifest"))
        .json(&json!({"AuthorizationToken": token, "ManifestReference": reference}))
        .send()
        .await?
        .json()
        .await?;
    let name = format!("manifest-{reference}.pdf");
    write(dir, &name, &printed["PDFbase64"])?;
    println!(
        "    Manifest {reference} for {} consignments: {name}",
        numbers.len()
    );
    println!("    Labels and manifest are in {}", dir.display());
    Ok(())
}

/// What Linnworks sends for an order: the delivery address as fetched, one package per unit
/// (up to two, so "Package 1 of 2" shows).
fn label_request(token: &str, order: &Order, num: i64, service: String) -> Value {
    let snapshot = order.snapshot.clone().unwrap_or(Value::Null);
    let address = &snapshot["CustomerInfo"]["Address"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let units: i64 = snapshot["Items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["Quantity"].as_i64()).sum())
        .unwrap_or(1);
    let packages: Vec<Value> = (1..=units.clamp(1, 2))
        .map(|n| json!({"SequenceNumber": n, "PackageWeight": 6500.0, "Items": []}))
        .collect();
    let name = match text(&address["FullName"]) {
        n if n.is_empty() => "Customer".to_string(),
        n => n,
    };
    json!({
        "AuthorizationToken": token,
        "Name": name,
        "CompanyName": text(&address["Company"]),
        "AddressLine1": text(&address["Address1"]),
        "AddressLine2": text(&address["Address2"]),
        "Town": text(&address["Town"]),
        "Region": text(&address["Region"]),
        // Linnworks sends the ISO code of the order's country; the demo's customers are in the UK.
        "CountryCode": "GB",
        "Postalcode": text(&address["PostCode"]),
        "Phone": text(&address["PhoneNumber"]),
        "OrderId": num,
        "OrderReference": order.reference.clone().unwrap_or_else(|| num.to_string()),
        "OrderCurrency": "GBP",
        "ServiceId": service,
        "Packages": packages,
    })
}

fn write(dir: &Path, name: &str, base64: &Value) -> anyhow::Result<()> {
    let bytes = BASE64
        .decode(base64.as_str().unwrap_or_default())
        .with_context(|| format!("{name}: the gateway sent invalid base64"))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}
