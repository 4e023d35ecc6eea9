//! The Linnworks shipping-integration contract: exact field names both ways,
//! and request errors that name the field at fault.

use std::process::Command;

use base64::Engine as _;
use linnstream::labels::manifest::{Manifest, ManifestEntry, render_manifest_pdf};
use linnstream::labels::{LabelAddress, LabelInput, LabelType, render_label};
use linnstream::server::gateway::contract::*;
use serde_json::{Value, json};

fn generate_label_body() -> Value {
    json!({
        "AuthorizationToken": "6f1c2a8e-3f5b-4c1d-9a7e-2b8d4e6f0a1c",
        "Name": "Jane Whitaker",
        "CompanyName": "Whitaker & Sons",
        "AddressLine1": "Flat 2",
        "AddressLine2": "14 Abbey Road",
        "AddressLine3": null,
        "Town": "Manchester",
        "Region": "Greater Manchester",
        "CountryCode": "GB",
        "Postalcode": "M14 5RW",
        "DeliveryNote": "Leave with neighbour",
        "Email": "jane@example.com",
        "Phone": "07700 900123",
        "OrderId": 100234,
        "OrderReference": "LW-100234",
        "OrderCurrency": "GBP",
        "OrderValue": 54.99,
        "PostageCharges": 4.5,
        "ServiceId": "0b9d2d3e-8f43-4a43-9d1e-5c2f7c1b9a10",
        "Packages": [
            {"SequenceNumber": 1, "PackageWeight": 2500, "PackageWidth": 30, "PackageHeight": 20,
             "PackageDepth": 10, "PackageFormat": "Parcel",
             "Items": [{"ItemName": "Trowel", "ProductCode": "TRW-1", "Quantity": 2, "UnitValue": 9.99,
                        "UnitWeight": 400, "Height": 5, "Width": 8, "Length": 30,
                        "ExtendedProperties": [{"Name": "Colour", "Value": "Green"}]}]},
            {"SequenceNumber": 2, "PackageWeight": 1200, "PackageWidth": 20, "PackageHeight": 10,
             "PackageDepth": 10, "PackageFormat": "Parcel", "Items": []}
        ],
        "OrderExtendedProperties": [{"Name": "Channel", "Value": "Shopify"}],
        "ServiceConfigItems": [{"ConfigItemId": "SIGNATURE", "SelectedValue": "true"}]
    })
}

fn parse<T: serde::de::DeserializeOwned + Validate>(body: &Value) -> Result<T, ContractError> {
    parse_request(body.to_string().as_bytes())
}

#[test]
fn generate_label_request_reads_every_contract_field() {
    let req: GenerateLabelRequest = parse(&generate_label_body()).expect("valid request");
    assert_eq!(
        req.authorization_token.expose(),
        "6f1c2a8e-3f5b-4c1d-9a7e-2b8d4e6f0a1c"
    );
    assert_eq!(req.postalcode, "M14 5RW");
    assert_eq!(req.address_line3, "", "null reads as empty");
    assert_eq!(req.address_lines(), vec!["Flat 2", "14 Abbey Road"]);
    assert_eq!(req.order_id, 100234);
    assert_eq!(
        req.service_id.to_string(),
        "0b9d2d3e-8f43-4a43-9d1e-5c2f7c1b9a10"
    );
    assert_eq!(req.packages.len(), 2);
    assert_eq!(
        req.packages[0].items[0].extended_properties[0].value,
        "Green"
    );
    assert_eq!(req.packages[1].package_weight, 1200.0);
    assert_eq!(req.order_extended_properties[0].name, "Channel");
    assert_eq!(req.service_config_items[0].config_item_id, "SIGNATURE");
    assert_eq!(req.delivery_note, "Leave with neighbour");
}

#[test]
fn save_config_items_is_accepted_as_the_other_name_of_service_config_items() {
    let mut body = generate_label_body();
    let items = body["ServiceConfigItems"].take();
    body.as_object_mut()
        .expect("object")
        .remove("ServiceConfigItems");
    body["SaveConfigItems"] = items;
    let req: GenerateLabelRequest = parse(&body).expect("valid");
    assert_eq!(req.service_config_items[0].selected_value, "true");
}

/// Applies `change` to a valid body and returns the error's field and text.
fn error_for(change: impl FnOnce(&mut Value)) -> (String, String) {
    let mut body = generate_label_body();
    change(&mut body);
    let err = parse::<GenerateLabelRequest>(&body).expect_err("invalid");
    (err.field.clone(), err.to_string())
}

/// An edit to a valid GenerateLabel body.
type Change = Box<dyn FnOnce(&mut Value)>;

#[test]
fn generate_label_errors_name_the_field() {
    let remove = |name: &'static str| {
        move |b: &mut Value| {
            b.as_object_mut().expect("object").remove(name);
        }
    };
    let cases: Vec<(Change, &str, &str)> = vec![
        (Box::new(remove("OrderId")), "OrderId", "is required"),
        (
            Box::new(remove("AuthorizationToken")),
            "AuthorizationToken",
            "is required",
        ),
        (
            Box::new(|b| b["AuthorizationToken"] = Value::Null),
            "AuthorizationToken",
            "is required",
        ),
        (
            Box::new(|b| b["OrderId"] = json!("ten")),
            "OrderId",
            "wrong type",
        ),
        (
            Box::new(|b| b["ServiceId"] = json!("not-a-guid")),
            "ServiceId",
            "wrong type",
        ),
        (
            Box::new(|b| b["Packages"][0]["PackageWeight"] = json!("heavy")),
            "Packages[0].PackageWeight",
            "wrong type",
        ),
        (
            Box::new(|b| b["Packages"][1]["Items"] = json!([{"Quantity": 1.5}])),
            "Packages[1].Items[0].Quantity",
            "wrong type",
        ),
        (
            Box::new(|b| b["Packages"][1]["SequenceNumber"] = json!(1)),
            "Packages[1].SequenceNumber",
            "repeats",
        ),
        (
            Box::new(|b| b["Packages"][0]["PackageWeight"] = json!(-3)),
            "Packages[0].PackageWeight",
            "at least 0",
        ),
        (
            Box::new(|b| b["Packages"] = json!([])),
            "Packages",
            "at least one package",
        ),
        (
            Box::new(|b| {
                b["Name"] = json!("");
                b["CompanyName"] = json!(null);
            }),
            "Name",
            "recipient",
        ),
        (
            Box::new(|b| b["AddressLine1"] = json!(" ")),
            "AddressLine1",
            "is required",
        ),
        (
            Box::new(|b| b["CountryCode"] = json!("GBR")),
            "CountryCode",
            "two-letter",
        ),
        (
            Box::new(|b| b["OrderReference"] = json!("")),
            "OrderReference",
            "is required",
        ),
        (
            Box::new(|b| b["ServiceId"] = json!("00000000-0000-0000-0000-000000000000")),
            "ServiceId",
            "nil",
        ),
        (
            Box::new(|b| b["ServiceConfigItems"][0]["ConfigItemId"] = json!("X".repeat(21))),
            "ServiceConfigItems[0].ConfigItemId",
            "longer than 20",
        ),
    ];
    for (change, field, text) in cases {
        let (got_field, message) = error_for(change);
        assert_eq!(got_field, field, "{message}");
        assert!(
            message.starts_with(field) && message.contains(text),
            "{message:?} should say {text:?}"
        );
    }
}

#[test]
fn malformed_bodies_are_rejected_as_a_whole() {
    for body in ["", "{", "[1, 2]", "{\"OrderId\": 1} trailing"] {
        let err = parse_request::<GenerateLabelRequest>(body.as_bytes()).expect_err(body);
        assert!(!err.to_string().is_empty());
    }
    let err = parse_request::<GenerateLabelRequest>(b"{").expect_err("syntax");
    assert_eq!(err.field, "");
    assert!(
        err.to_string()
            .starts_with("request body is not valid JSON"),
        "{err}"
    );
    let err = parse_request::<GenerateLabelRequest>(b"[1]").expect_err("array");
    assert_eq!(err.to_string(), "request body must be a JSON object");
    let err = parse_request::<GenerateLabelRequest>(b"  ").expect_err("empty");
    assert_eq!(err.to_string(), "request body is empty");
}

#[test]
fn setup_requests_validate_with_named_fields() {
    let ok: AddNewUserRequest = parse(&json!({
        "LinnworksUniqueIdentifier": "2f0e7a3c-1b4d-4e8f-9a6b-7c5d3e1f0a2b",
        "Email": "ops@acme.example", "AccountName": "Acme"
    }))
    .expect("valid");
    assert_eq!(ok.account_name, "Acme");

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"LinnworksUniqueIdentifier": "nope", "Email": "a@b", "AccountName": "A"}),
            "LinnworksUniqueIdentifier",
        ),
        (
            json!({"Email": "a@b", "AccountName": "A"}),
            "LinnworksUniqueIdentifier",
        ),
        (
            json!({"LinnworksUniqueIdentifier": "2f0e7a3c-1b4d-4e8f-9a6b-7c5d3e1f0a2b", "AccountName": "A"}),
            "Email",
        ),
        (
            json!({"LinnworksUniqueIdentifier": "2f0e7a3c-1b4d-4e8f-9a6b-7c5d3e1f0a2b", "Email": "nobody", "AccountName": "A"}),
            "Email",
        ),
        (
            json!({"LinnworksUniqueIdentifier": "2f0e7a3c-1b4d-4e8f-9a6b-7c5d3e1f0a2b", "Email": "a@b", "AccountName": null}),
            "AccountName",
        ),
    ];
    for (body, field) in cases {
        let err = parse::<AddNewUserRequest>(&body).expect_err("invalid");
        assert_eq!(err.field, field, "{err}");
    }

    for body in [
        json!({}),
        json!({"AuthorizationToken": ""}),
        json!({"AuthorizationToken": null}),
    ] {
        assert_eq!(
            parse::<UserConfigRequest>(&body)
                .expect_err("no token")
                .field,
            "AuthorizationToken"
        );
        assert_eq!(
            parse::<ConfigDeletedRequest>(&body)
                .expect_err("no token")
                .field,
            "AuthorizationToken"
        );
        assert_eq!(
            parse::<UserAvailableServicesRequest>(&body)
                .expect_err("no token")
                .field,
            "AuthorizationToken"
        );
        assert_eq!(
            parse::<ExtendedPropertyMappingRequest>(&body)
                .expect_err("no token")
                .field,
            "AuthorizationToken"
        );
    }
    parse::<UserConfigRequest>(&json!({"AuthorizationToken": "t"})).expect("valid");

    let update = json!({"AuthorizationToken": "t", "ConfigStatus": "CONFIG",
        "ConfigItems": [{"ConfigItemId": "APIKEY", "SelectedValue": "s3cret-value"},
                        {"ConfigItemId": "", "SelectedValue": "x"}]});
    assert_eq!(
        parse::<UpdateConfigRequest>(&update)
            .expect_err("empty id")
            .field,
        "ConfigItems[1].ConfigItemId"
    );
    let update = json!({"AuthorizationToken": "t", "ConfigStatus": "",
        "ConfigItems": []});
    assert_eq!(
        parse::<UpdateConfigRequest>(&update)
            .expect_err("no status")
            .field,
        "ConfigStatus"
    );
    let update = json!({"AuthorizationToken": "t", "ConfigStatus": "CONFIG", "ConfigItems": [{"ConfigItemId": 5}]});
    assert_eq!(
        parse::<UpdateConfigRequest>(&update)
            .expect_err("type")
            .field,
        "ConfigItems[0].ConfigItemId"
    );
}

#[test]
fn consignment_and_manifest_requests_validate_with_named_fields() {
    parse::<CancelLabelRequest>(&json!({"AuthorizationToken": "t", "OrderReference": "LW-1"}))
        .expect("valid");
    assert_eq!(
        parse::<CancelLabelRequest>(&json!({"AuthorizationToken": "t"}))
            .expect_err("missing")
            .field,
        "OrderReference"
    );
    let create: CreateManifestRequest =
        parse(&json!({"AuthorizationToken": "t", "OrderId": ["100234", "100235"]})).expect("valid");
    assert_eq!(create.order_id, vec!["100234", "100235"]);
    assert_eq!(
        parse::<CreateManifestRequest>(&json!({"AuthorizationToken": "t", "OrderId": []}))
            .expect_err("empty")
            .field,
        "OrderId"
    );
    assert_eq!(
        parse::<CreateManifestRequest>(&json!({"AuthorizationToken": "t", "OrderId": ["1", " "]}))
            .expect_err("blank")
            .field,
        "OrderId[1]"
    );
    assert_eq!(
        parse::<CreateManifestRequest>(&json!({"AuthorizationToken": "t", "OrderId": "1"}))
            .expect_err("type")
            .field,
        "OrderId"
    );
    assert_eq!(
        parse::<PrintManifestRequest>(&json!({"AuthorizationToken": "t", "ManifestReference": ""}))
            .expect_err("empty")
            .field,
        "ManifestReference"
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let req: GenerateLabelRequest = parse(&generate_label_body()).expect("valid");
    let shown = format!("{req:?}");
    assert!(!shown.contains("6f1c2a8e"), "{shown}");
    let update: UpdateConfigRequest = parse(
        &json!({"AuthorizationToken": "tok-123", "ConfigStatus": "CONFIG",
        "ConfigItems": [{"ConfigItemId": "APIKEY", "SelectedValue": "s3cret-value"}]}),
    )
    .expect("valid");
    let shown = format!("{update:?}");
    assert!(
        !shown.contains("tok-123") && !shown.contains("s3cret"),
        "{shown}"
    );
}

fn label_input() -> LabelInput {
    LabelInput {
        label_type: LabelType::Default,
        copies: 3,
        sender: LabelAddress {
            name: "Acme".into(),
            ..LabelAddress::default()
        },
        recipient: LabelAddress {
            name: "Jane Whitaker".into(),
            address_lines: vec!["14 Abbey Road".into()],
            town: "Manchester".into(),
            postcode: "M14 5RW".into(),
            country_code: "GB".into(),
            ..LabelAddress::default()
        },
        order_reference: "LW-100234".into(),
        label_reference: None,
        service_name: "Stream Next Day".into(),
        service_code: String::new(),
        package_number: 1,
        package_count: 1,
        consignment_number: "CN1".into(),
        tracking_number: "STR0000001GB".into(),
        tracking_url: "https://track.example/STR0000001GB".into(),
        weight_kg: None,
    }
}

#[test]
fn generate_label_reply_uses_the_contract_names_and_never_null_lists() {
    let label = render_label(&label_input()).expect("renders");
    let reply = GenerateLabelResponse {
        lead_tracking_number: "STR0000001GB".into(),
        currency: "GBP".into(),
        package: vec![LabelPackage::from_rendered(1, "STR0000001GB", &label)],
        ..GenerateLabelResponse::default()
    };
    let json = serde_json::to_value(&reply).expect("serialises");
    assert_eq!(json["IsError"], json!(false));
    assert_eq!(json["ErrorMessage"], json!(""));
    assert_eq!(json["LeadTrackingNumber"], json!("STR0000001GB"));
    assert_eq!(json["Cost"], json!(0.0));
    let package = &json["Package"][0];
    assert_eq!(package["SequenceNumber"], json!(1));
    assert_eq!(package["TrackingNumber"], json!("STR0000001GB"));
    let pdfs = package["PDFBytesDocumentationBase64"]
        .as_array()
        .expect("the label PDF is an array");
    assert_eq!(pdfs.len(), 1, "one PDF per package, holding every copy");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(pdfs[0].as_str().expect("base64 text"))
        .expect("valid base64");
    assert_eq!(pdf, label.pdf, "the label PDF as rendered");
    assert_eq!(
        package["AdditionalPngsBase64"].as_array().map(Vec::len),
        Some(2),
        "3 copies"
    );
    assert_eq!(package["LabelWidth"], json!(4.0));
    assert_eq!(package["LabelHeight"], json!(6.0));
    let png = base64::engine::general_purpose::STANDARD
        .decode(package["PNGLabelDataBase64"].as_str().expect("string"))
        .expect("base64");
    assert!(png.starts_with(b"\x89PNG"));

    let error = serde_json::to_value(GenerateLabelResponse::error("Order LW-1 is not synced"))
        .expect("json");
    assert_eq!(error["IsError"], json!(true));
    assert_eq!(error["ErrorMessage"], json!("Order LW-1 is not synced"));
    assert_eq!(error["Package"], json!([]));
    let bare =
        serde_json::to_value(ErrorReply::from(&ContractError::required("OrderId"))).expect("json");
    assert_eq!(
        bare,
        json!({"IsError": true, "ErrorMessage": "OrderId is required"})
    );
}

#[test]
fn setup_replies_use_the_contract_names() {
    let config = UserConfigResponse {
        is_config_active: true,
        config_status: "CONFIG".into(),
        config_stage: ConfigStage {
            wizard_step_title: "Stream account".into(),
            wizard_step_description: "Connect".into(),
            config_items: vec![ConfigItem {
                config_item_id: "CLIENTID".into(),
                value_type: ConfigValueType::Password,
                list_values: vec![ListValue {
                    display: "A".into(),
                    value: "a".into(),
                }],
                must_be_specified: true,
                ..ConfigItem::default()
            }],
        },
        ..UserConfigResponse::default()
    };
    let json = serde_json::to_value(&config).expect("json");
    assert_eq!(json["IsConfigActive"], json!(true));
    assert_eq!(
        json["ConfigStage"]["WizardStepTitle"],
        json!("Stream account")
    );
    let item = &json["ConfigStage"]["ConfigItems"][0];
    assert_eq!(item["ValueType"], json!(4));
    assert_eq!(item["MustBeSpecified"], json!(true));
    assert_eq!(item["RegExValidation"], json!(""));
    assert_eq!(item["ListValues"][0]["Display"], json!("A"));

    let services = UserAvailableServicesResponse {
        services: vec![CourierService {
            service_name: "Stream Next Day".into(),
            service_unique_id: uuid::Uuid::nil(),
            service_property: vec![ServiceProperty {
                property_name: "Vendor".into(),
                property_value: "STREAM".into(),
            }],
            ..CourierService::default()
        }],
        ..UserAvailableServicesResponse::default()
    };
    let json = serde_json::to_value(&services).expect("json");
    assert_eq!(
        json["Services"][0]["ServiceUniqueId"],
        json!("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(
        json["Services"][0]["ServiceProperty"][0]["PropertyValue"],
        json!("STREAM")
    );

    let mapping = ExtendedPropertyMappingResponse {
        items: vec![ExtendedPropertyMappingItem {
            property_type: PropertyType::Item,
            ..Default::default()
        }],
        ..Default::default()
    };
    let json = serde_json::to_value(&mapping).expect("json");
    assert_eq!(json["Items"][0]["PropertyType"], json!("ITEM"));

    let token = serde_json::to_value(AddNewUserResponse {
        authorization_token: AuthorizationToken::new("abc"),
        ..Default::default()
    })
    .expect("json");
    assert_eq!(
        token,
        json!({"IsError": false, "ErrorMessage": "", "AuthorizationToken": "abc"})
    );
    let manifest = serde_json::to_value(PrintManifestResponse {
        pdf_base64: "JVBE".into(),
        ..Default::default()
    })
    .expect("json");
    assert_eq!(manifest["PDFbase64"], json!("JVBE"));
    let created =
        serde_json::to_value(CreateManifestResponse::error("nothing to manifest")).expect("json");
    assert_eq!(created["IsError"], json!(true));
    assert_eq!(created["ManifestReference"], json!(""));
}

fn run(tool: &str, args: &[&str]) -> String {
    match Command::new(tool).args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`{tool}` is not installed: run scripts/test.sh, which installs poppler-utils")
        }
        Err(e) => panic!("could not run {tool}: {e}"),
    }
}

#[test]
fn manifest_pdf_lists_every_consignment_across_pages() {
    let entries: Vec<ManifestEntry> = (1..=80)
        .map(|n| ManifestEntry {
            order_reference: format!("LW-{n:06}"),
            tracking_number: format!("STR{n:07}GB"),
            consignment_number: format!("CN{n:05}"),
            recipient_postcode: "m14 5rw".into(),
            service: "Stream Next Day".into(),
        })
        .collect();
    let manifest = Manifest {
        reference: "MAN-20260620-01".into(),
        shipper: "Acme Garden Supplies Ltd".into(),
        created: "2026-06-20 17:05 UTC".into(),
        entries,
    };
    let pdf = render_manifest_pdf(&manifest).expect("renders");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("manifest.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let path = path.to_str().expect("utf-8");
    let info = run("pdfinfo", &[path]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("page count");
    assert!(pages >= 2, "{info}");
    assert!(info.contains("595.276 x 841.89 pts"), "A4: {info}");
    let text = run("pdftotext", &["-layout", path, "-"]);
    for n in [1, 40, 80] {
        assert!(
            text.contains(&format!("STR{n:07}GB")),
            "missing consignment {n}"
        );
        assert!(text.contains(&format!("LW-{n:06}")));
    }
    assert!(text.contains("M14 5RW"));
    assert!(text.contains("Total consignments: 80"));
    assert!(text.contains(&format!("page {pages} of {pages}")));
    assert_eq!(
        text.matches("Tracking number").count(),
        pages,
        "header on every page"
    );
}
