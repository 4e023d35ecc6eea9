//! What Stream receives, read from the Stream simulator's recorded request bodies: orders
//! to many countries, both order types, composites ordered more than once, items with box
//! dimensions, Linnworks' packaging split and each per-service and installation option
//! that shapes the body.

use linnstream::domain::OrderStatus;
use linnstream::domain::OrderType;
use linnstream::sim::world::{NEXT_DAY, RETURNS, order};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::sync::Harness;

on_both_backends!(
    with Harness::example;
    stream_receives_every_country_and_both_order_types,
    stream_receives_composites_dimensions_and_packaging,
    stream_receives_service_location_and_hands_on_date,
);

/// The Stream order recorded for Linnworks order `num` (the example prefix is `ACME-`).
async fn stream_order(h: &Harness, num: i64) -> Value {
    let no = format!("ACME-{num}");
    h.stream_orders()
        .await
        .into_iter()
        .find(|o| o["orderNo"] == no.as_str())
        .unwrap_or_else(|| panic!("Stream has no order {no}"))
}

/// Puts one order into Linnworks, fetches and sends it, and answers the body Stream
/// received for it.
async fn ship(h: &Harness, order: Value) -> Value {
    let num = order["numOrderId"].as_i64().expect("numbered order");
    h.add_orders(vec![order]).expect("order added");
    h.fetch().await;
    assert_eq!(h.send().await.completed, 1, "order {num}");
    stream_order(h, num).await["request"].take()
}

/// The body's item group (`delivery` or `collection`).
fn group(body: &Value) -> &Value {
    body.get("delivery")
        .or_else(|| body.get("collection"))
        .expect("a delivery or collection group")
}

/// Every order Stream received came without a warning: in particular never Stream's
/// "required is missing".
async fn no_warnings(h: &Harness) {
    for o in h.stream_orders().await {
        assert_eq!(
            o["warnings"],
            json!([]),
            "{}: {}",
            o["orderNo"],
            o["warnings"]
        );
    }
}

pub async fn stream_receives_every_country_and_both_order_types(h: &Harness) {
    let cases: &[(i64, &str, &str, &str)] = &[
        (3001, "Hungary", "HU", NEXT_DAY),
        (3002, "Japan", "JP", NEXT_DAY),
        (3003, "United Arab Emirates", "AE", NEXT_DAY),
        (3004, "UK", "GB", NEXT_DAY),
        (3005, "USA", "US", NEXT_DAY),
        (3006, "Korea, Republic of", "KR", NEXT_DAY),
        (3007, "FRA", "FR", NEXT_DAY),
        (3008, "ie", "IE", NEXT_DAY),
        (3009, "Viet Nam", "VN", RETURNS),
        (3010, "Japan", "JP", RETURNS),
        (3011, "Côte d'Ivoire", "CI", RETURNS),
    ];
    let mut orders: Vec<Value> = cases
        .iter()
        .map(|(n, country, _, service)| {
            let mut o = order(*n, service);
            o["customer"]["country"] = json!(country);
            o
        })
        .collect();
    let mut nowhere = order(3020, NEXT_DAY);
    nowhere["customer"]["country"] = json!("Narnia");
    orders.push(nowhere);
    h.add_orders(orders).expect("orders added");
    // A real-looking captured order in the OrderDetails shape GetOrdersById returns, with
    // the capturing account's postal service id (unknown here: matched by name instead).
    let captured = captured_order_details(3030);
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/orders", h.linnworks_url))
        .json(&captured)
        .send()
        .await
        .expect("sim reachable");
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );

    h.fetch().await;
    let sent = h.send().await;
    assert_eq!(sent.completed, cases.len() + 1, "{sent:?}");
    for (n, country, code, service) in cases {
        assert_eq!(h.status(*n).await, OrderStatus::Completed, "{country}");
        let body = &stream_order(h, *n).await["request"];
        let (key, method_key, method) = if *service == RETURNS {
            ("collection", "collectionMethod", "NTH-COLL")
        } else {
            ("delivery", "deliveryMethod", "NTH-2MAN")
        };
        let g = &body[key];
        assert_eq!(g["address"]["country"], *code, "{country}");
        assert_eq!(
            body["header"]["customer"]["address"]["country"], *code,
            "{country}"
        );
        assert_eq!(g[method_key], method, "{country}");
        assert_eq!(
            body["header"]["orderType"],
            key.to_ascii_uppercase(),
            "{country}"
        );
        assert_eq!(
            g["required"],
            json!({"fromDateTime": "0", "toDateTime": "0"}),
            "{country}"
        );
    }
    let refused = h.queued(3020).await;
    assert_eq!(refused.status, OrderStatus::ValidationFailed);
    let reason = refused.last_error.unwrap_or_default();
    assert!(
        reason.starts_with("Missing delivery address fields") && reason.contains("Country"),
        "{reason}"
    );

    // The replayed capture went through like any order: its country, its lines, its box.
    let body = &stream_order(h, 3030).await["request"];
    assert_eq!(body["delivery"]["address"]["country"], "HU");
    assert_eq!(body["delivery"]["address"]["address4"], "Budapest");
    assert_eq!(body["header"]["customerOrderNo"], "206-5551234-0000001");
    let items = body["delivery"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "the shipping charge line is not an item");
    assert_eq!(items[0]["code"], "BKSHELF-WAL");
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[0]["weight"], json!(36.8));
    // 2 x (180 x 40 x 30 cm) = 2 x 0.216 m3.
    assert_eq!(items[0]["cube"], json!(0.432));
    no_warnings(h).await;
}

/// An order as Linnworks' GetOrdersById returns it (field names, nesting, value types and
/// the empty Guids and `null`s of a real reply), as someone would capture it to replay
/// (`captured_order_details.json`; the postal service is the simulated account's name,
/// with the capturing account's id).
fn captured_order_details(num: i64) -> Value {
    let mut order: Value =
        serde_json::from_str(include_str!("captured_order_details.json")).expect("fixture");
    order["NumOrderId"] = json!(num);
    // Received now, so the lookback finds it.
    order["GeneralInfo"]["ReceivedDate"] = json!(
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string()
    );
    order
}

/// A composite ordered twice (a table and four chairs per set: Linnworks lists the sets'
/// 2 tables and 8 chairs), a lamp shipped in two boxes per unit with an over-long title, a
/// shipping charge, and Linnworks' own split of the order into two packages.
fn furniture_order(n: i64) -> Value {
    let mut o = order(n, NEXT_DAY);
    o["items"] = json!([
        {"sku": "DINING-SET", "title": "Oak dining set: table and four chairs", "quantity": 2,
         "weight": 0.0, "compositeSubItems": [
            {"sku": "TABLE-OAK", "title": "Oak dining table", "quantity": 2, "weight": 38.0,
             "boxes": [{"width": 120.0, "height": 10.0, "length": 80.0}]},
            {"sku": "CHAIR-OAK", "title": "Oak dining chair", "quantity": 8, "weight": 6.5,
             "boxes": [{"width": 45.0, "height": 95.0, "length": 50.0}]}
        ]},
        {"sku": "LAMP-ARC", "title": long_title(), "quantity": 3, "weight": 4.2,
         "boxes": [{"name": "Base", "width": 30.0, "height": 40.0, "length": 30.0},
                   {"name": "Arc", "width": 20.0, "height": 60.0, "length": 20.0}]},
        {"sku": "DELIVERY", "title": "Two-man delivery charge", "quantity": 1, "isService": true}
    ]);
    o["packagingSplit"] = json!([
        {"items": [{"sku": "TABLE-OAK", "quantity": 2}, {"sku": "CHAIR-OAK", "quantity": 4}]},
        {"items": [{"sku": "CHAIR-OAK", "quantity": 4}, {"sku": "LAMP-ARC", "quantity": 3}]}
    ]);
    o
}

fn long_title() -> String {
    "Arc floor lamp with marble base, brushed brass arm and linen shade; dimmable, ".repeat(3)
}

/// `(code, quantity, parentSequence, weight kg, cube m3, packageId)` of each item.
fn lines(body: &Value) -> Vec<(String, u64, u64, f64, f64, String)> {
    group(body)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap_or_default().to_string(),
                i["quantity"].as_u64().unwrap_or_default(),
                i["parentSequence"].as_u64().unwrap_or_default(),
                i["weight"].as_f64().unwrap_or(-1.0),
                i["cube"].as_f64().unwrap_or(-1.0),
                i["packageId"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn line(
    code: &str,
    quantity: u64,
    parent: u64,
    weight: f64,
    cube: f64,
    package: &str,
) -> (String, u64, u64, f64, f64, String) {
    (code.into(), quantity, parent, weight, cube, package.into())
}

/// The furniture order's lines with the composite parent skipped and Linnworks' split
/// followed: the chairs are in both packages, so they are two lines. Weights are unit x
/// quantity; cubes the boxes' cubic metres x quantity (table 120x10x80 cm, chair
/// 45x95x50 cm, lamp 30x40x30 + 20x60x20 cm).
fn split_lines() -> Vec<(String, u64, u64, f64, f64, String)> {
    vec![
        line("TABLE-OAK", 2, 0, 76.0, 0.192, "P1"),
        line("CHAIR-OAK", 4, 0, 26.0, 0.855, "P1"),
        line("CHAIR-OAK", 4, 0, 26.0, 0.855, "P2"),
        line("LAMP-ARC", 3, 0, 12.6, 0.18, "P2"),
    ]
}

pub async fn stream_receives_composites_dimensions_and_packaging(h: &Harness) {
    // The example installation sends a hands-on date; this test looks at the rest.
    h.update_installation(|inst| inst.spec.sync.use_current_date_as_hands_on_date = false);
    let body = &ship(h, furniture_order(4001)).await;
    // Composite parent skipped (the default); the children's quantities are the whole
    // order's, as Linnworks reports them (2 tables, 8 chairs for 2 sets), not multiplied
    // again.
    assert_eq!(lines(body), split_lines());
    let items = &body["delivery"]["items"];
    let lamp = items[3]["description"].as_str().expect("description");
    assert_eq!(lamp.chars().count(), 140, "cut to 140 characters");
    assert_eq!(lamp, long_title().chars().take(140).collect::<String>());
    assert_eq!(items[0]["description"], "Oak dining table");
    for i in items.as_array().expect("items") {
        assert_eq!(i["stockLocation"], "LDS", "the mapping's stock location");
        assert_eq!(i["packageType"], "Default");
        assert!(i.get("onHandDate").is_none(), "hands-on date off");
    }

    // Composite parents kept, and the packaging split overridden: one package per line.
    h.update_installation(|inst| {
        for m in &mut inst.mappings {
            if m.spec.order_type == OrderType::Delivery {
                m.spec.skip_composite_parent = false;
                m.spec.override_packaging_split = true;
            }
        }
    });
    let body = &ship(h, furniture_order(4002)).await;
    assert_eq!(
        lines(body),
        vec![
            line("DINING-SET", 2, 0, 0.0, 0.0, "P1"),
            line("TABLE-OAK", 2, 1, 76.0, 0.192, "P2"),
            line("CHAIR-OAK", 8, 1, 52.0, 1.71, "P3"),
            line("LAMP-ARC", 3, 0, 12.6, 0.18, "P4"),
        ]
    );

    // Parents kept with Linnworks' split: a parent has no package of its own in Linnworks
    // and travels in its first child's.
    h.update_installation(|inst| {
        for m in &mut inst.mappings {
            if m.spec.order_type == OrderType::Delivery {
                m.spec.override_packaging_split = false;
            }
        }
    });
    let mut second_package_first = furniture_order(4003);
    second_package_first["packagingSplit"] = json!([
        {"items": [{"sku": "LAMP-ARC", "quantity": 3}]},
        {"items": [{"sku": "TABLE-OAK", "quantity": 2}, {"sku": "CHAIR-OAK", "quantity": 8}]}
    ]);
    assert_eq!(
        lines(&ship(h, second_package_first).await),
        vec![
            line("DINING-SET", 2, 0, 0.0, 0.0, "P2"),
            line("TABLE-OAK", 2, 1, 76.0, 0.192, "P2"),
            line("CHAIR-OAK", 8, 1, 52.0, 1.71, "P2"),
            line("LAMP-ARC", 3, 0, 12.6, 0.18, "P1"),
        ]
    );

    // A collection gets the same lines under `collection`.
    let mut collection = furniture_order(4004);
    collection["postalServiceName"] = json!(RETURNS);
    let body = &ship(h, collection).await;
    assert_eq!(body["header"]["orderType"], "COLLECTION");
    assert_eq!(
        lines(body),
        split_lines(),
        "the collection mapping keeps its defaults"
    );
    no_warnings(h).await;
}

pub async fn stream_receives_service_location_and_hands_on_date(h: &Harness) {
    // Every option off first (the example mapping sets a service and a service level, the
    // example installation a hands-on date).
    h.update_installation(|inst| {
        inst.spec.sync.use_current_date_as_hands_on_date = false;
        for m in &mut inst.mappings {
            m.spec.service = None;
            m.spec.service_level = None;
        }
    });
    let body = &ship(h, order(5001, NEXT_DAY)).await;
    assert!(body["header"].get("services").is_none());
    assert!(body["header"].get("serviceLevel").is_none());
    assert_eq!(body["delivery"]["items"][0]["stockLocation"], "LDS");
    assert!(body["delivery"]["items"][0].get("onHandDate").is_none());
    assert_eq!(
        body["delivery"]["required"],
        json!({"fromDateTime": "0", "toDateTime": "0"})
    );
    // The sender is not part of Stream's order model (the public clients send none): Stream
    // takes the shipper from the account and the depot. Nothing of it is in the body.
    let sent = body.to_string();
    for sender in [
        "Dispatch Desk",
        "Acme Homewares",
        "Riverside Park",
        "LS10 1AB",
        "+44 113 496 0000",
        "Mill Lane",
    ] {
        assert!(!sent.contains(sender), "{sender} in {sent}");
    }
    let mut header_keys: Vec<&str> = body["header"]
        .as_object()
        .expect("header")
        .keys()
        .map(String::as_str)
        .collect();
    header_keys.sort_unstable();
    assert_eq!(
        header_keys,
        [
            "customer",
            "customerOrderNo",
            "orderDate",
            "orderNo",
            "orderType"
        ]
    );

    h.update_installation(|inst| {
        inst.spec.sync.use_current_date_as_hands_on_date = true;
        inst.spec.sync.use_default_location = true;
        inst.spec.sync.default_location = Some("LDS".into());
        for m in &mut inst.mappings {
            if m.spec.order_type == OrderType::Delivery {
                m.spec.service = Some("TWO-MAN".into());
                m.spec.service_level = Some("PREMIUM".into());
                m.spec.stock_location = None;
            }
        }
    });
    let body = &ship(h, order(5002, NEXT_DAY)).await;
    assert_eq!(body["header"]["services"], json!([{"code": "TWO-MAN"}]));
    assert_eq!(body["header"]["serviceLevel"], "PREMIUM");
    let item = &body["delivery"]["items"][0];
    assert_eq!(item["stockLocation"], "LDS", "the default location");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        item["onHandDate"],
        today.as_str(),
        "item-level hands-on date"
    );
    assert_eq!(
        body["delivery"]["required"],
        json!({"fromDateTime": "0", "toDateTime": "0"}),
        "the hands-on date is not a delivery window"
    );

    // Without the default location the mapping's (now none) applies.
    h.update_installation(|inst| inst.spec.sync.use_default_location = false);
    let body = &ship(h, order(5003, NEXT_DAY)).await;
    assert!(
        body["delivery"]["items"][0].get("stockLocation").is_none(),
        "{body}"
    );
    no_warnings(h).await;
}
