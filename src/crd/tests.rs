//! Defaults, ranges and every conditional rule of both resources.

use serde_json::json;

use super::installation::{CancelLabelMode, Installation};
use super::mapping::PostalServiceMapping;
use super::validate::{validate_installation, validate_mapping};
use super::{crds, schema_check::check_against_schema, schema_of};
use crate::domain::schedule::{parse_cron, parse_duration};
use crate::domain::{LabelType, OrderType};

fn minimal_installation() -> serde_json::Value {
    json!({
        "apiVersion": "linnstream.io/v1alpha1",
        "kind": "Installation",
        "metadata": {"name": "acme"},
        "spec": {
            "stream": {
                "clientUrl": "https://www.go2stream.net/api",
                "clientId": {"secretKeyRef": {"name": "s", "key": "id"}},
                "clientSecret": {"secretKeyRef": {"name": "s", "key": "secret"}}
            },
            "linnworks": {
                "applicationId": {"secretKeyRef": {"name": "l", "key": "a"}},
                "applicationSecret": {"secretKeyRef": {"name": "l", "key": "b"}},
                "installationToken": {"secretKeyRef": {"name": "l", "key": "c"}}
            },
            "sender": {
                "contactName": "A", "companyName": "B", "addressLine1": "1 Road",
                "city": "Leeds", "countryCode": "GB", "postCode": "LS1 1AA",
                "contactPhoneNo": "0113 000"
            },
            "sync": {"orderSyncEnabled": true, "orderLookbackDays": 3}
        }
    })
}

fn minimal_mapping() -> serde_json::Value {
    json!({
        "apiVersion": "linnstream.io/v1alpha1",
        "kind": "PostalServiceMapping",
        "metadata": {"name": "m"},
        "spec": {
            "installationRef": {"name": "acme"},
            "postalService": {"name": "Next Day"},
            "depot": "LEEDS",
            "deliveryMethod": "HOME"
        }
    })
}

fn spec_schema(kind: &str) -> serde_json::Value {
    let crd = crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .expect("crd");
    schema_of(&crd)
        .pointer("/properties/spec")
        .cloned()
        .expect("spec schema")
}

fn schema_messages(kind: &str, spec: &serde_json::Value) -> Vec<String> {
    check_against_schema(&spec_schema(kind), spec, "spec")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn installation_defaults_follow_the_guide() {
    let inst: Installation = serde_json::from_value(minimal_installation()).expect("parse");
    let s = &inst.spec;
    assert!(!s.suspend);
    assert_eq!(s.linnworks.api_base_url, "https://api.linnworks.net");
    assert_eq!(s.schedule.fetch_interval, "5m");
    assert_eq!(s.schedule.send_interval, "5m");
    assert_eq!(s.schedule.send_offset, "2m");
    assert_eq!(s.schedule.webhook_interval, "2m");
    assert_eq!(s.schedule.identifiers_schedule, "0 3 * * *");
    assert_eq!(s.schedule.postal_services_schedule, "0 4 * * *");
    assert_eq!(s.schedule.time_zone, "Etc/UTC");
    assert!(!s.webhooks.enabled && !s.webhooks.group_sequence_identifiers);
    assert!(!s.sync.order_dispatch_sync_enabled && !s.sync.use_default_location);
    assert!(!s.sync.use_current_date_as_hands_on_date);
    assert!(s.shipping_integration.is_none());
    assert!(validate_installation(s).is_empty());
    assert!(schema_messages("Installation", &minimal_installation()["spec"]).is_empty());
}

#[test]
fn mapping_defaults_follow_the_guide() {
    let m: PostalServiceMapping = serde_json::from_value(minimal_mapping()).expect("parse");
    assert_eq!(m.spec.order_type, OrderType::Delivery);
    assert_eq!(m.spec.label_type, LabelType::Default);
    assert_eq!(m.spec.label_copies, 1);
    assert!(m.spec.skip_composite_parent);
    assert!(!m.spec.override_packaging_split);
    assert!(!m.spec.processed_on_delivered);
    assert!(validate_mapping(&m.spec).is_empty());
}

#[test]
fn schema_carries_the_defaults_for_the_api_server() {
    let schema = spec_schema("PostalServiceMapping");
    let props = &schema["properties"];
    assert_eq!(props["labelCopies"]["default"], 1);
    assert_eq!(props["labelCopies"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(props["labelCopies"]["maximum"].as_f64(), Some(5.0));
    assert_eq!(props["skipCompositeParent"]["default"], true);
    assert_eq!(props["orderType"]["default"], "Delivery");
    assert_eq!(props["labelType"]["default"], "Default");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in [
        "installationRef",
        "postalService",
        "depot",
        "deliveryMethod",
    ] {
        assert!(required.contains(&field), "{field} should be required");
    }
    let inst = spec_schema("Installation");
    assert_eq!(
        inst["properties"]["sync"]["properties"]["orderLookbackDays"]["minimum"].as_f64(),
        Some(1.0)
    );
    assert_eq!(
        inst["properties"]["schedule"]["properties"]["fetchInterval"]["default"],
        "5m"
    );
}

#[test]
fn label_copies_range_is_one_to_five() {
    for (copies, ok) in [(0, false), (1, true), (5, true), (6, false)] {
        let mut m = minimal_mapping();
        m["spec"]["labelCopies"] = json!(copies);
        assert_eq!(
            schema_messages("PostalServiceMapping", &m["spec"]).is_empty(),
            ok,
            "{copies}"
        );
    }
}

#[test]
fn all_four_label_types_and_both_order_types_are_accepted() {
    for label in [
        "Default",
        "PortraitWithoutQr",
        "PortraitStandard",
        "Compact",
    ] {
        for order in ["Delivery", "Collection"] {
            let mut m = minimal_mapping();
            m["spec"]["labelType"] = json!(label);
            m["spec"]["orderType"] = json!(order);
            assert!(
                schema_messages("PostalServiceMapping", &m["spec"]).is_empty(),
                "{label} {order}"
            );
            let parsed: PostalServiceMapping = serde_json::from_value(m).expect("parse");
            assert!(validate_mapping(&parsed.spec).is_empty());
        }
    }
}

#[test]
fn mapping_needs_a_postal_service_id_or_name() {
    let mut m = minimal_mapping();
    m["spec"]["postalService"] = json!({});
    let parsed: PostalServiceMapping = serde_json::from_value(m.clone()).expect("parse");
    let problems = validate_mapping(&parsed.spec);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "spec.postalService");
    m["spec"]["postalService"] = json!({"id": "not-a-guid"});
    assert!(
        schema_messages("PostalServiceMapping", &m["spec"])[0]
            .contains("does not match the pattern")
    );
}

fn installation_with(patch: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
    let mut v = minimal_installation();
    patch(&mut v["spec"]);
    let mut messages = schema_messages("Installation", &v["spec"]);
    if messages.is_empty() {
        let inst: Installation = serde_json::from_value(v).expect("parse");
        messages.extend(
            validate_installation(&inst.spec)
                .iter()
                .map(ToString::to_string),
        );
    }
    messages
}

#[test]
fn partner_account_id_is_required_only_when_enabled() {
    assert!(
        installation_with(|s| s["stream"]["partnerAccount"] = json!({"enabled": false})).is_empty()
    );
    assert!(
        installation_with(|s| s["stream"]["partnerAccount"] = json!({"enabled": true, "id": "P1"}))
            .is_empty()
    );
    let m = installation_with(|s| s["stream"]["partnerAccount"] = json!({"enabled": true}));
    assert_eq!(
        m,
        [
            "spec.stream.partnerAccount.id: is required when spec.stream.partnerAccount.enabled is true"
        ]
    );
    let m =
        installation_with(|s| s["stream"]["partnerAccount"] = json!({"enabled": true, "id": ""}));
    assert_eq!(m.len(), 1);
}

#[test]
fn default_location_is_required_only_when_used() {
    assert!(installation_with(|s| s["sync"]["defaultLocation"] = json!("WH1")).is_empty());
    let m = installation_with(|s| s["sync"]["useDefaultLocation"] = json!(true));
    assert_eq!(
        m,
        ["spec.sync.defaultLocation: is required when spec.sync.useDefaultLocation is true"]
    );
    assert!(
        installation_with(|s| {
            s["sync"]["useDefaultLocation"] = json!(true);
            s["sync"]["defaultLocation"] = json!("WH1");
        })
        .is_empty()
    );
}

#[test]
fn webhook_url_is_required_only_when_webhooks_are_on() {
    let m = installation_with(|s| s["webhooks"] = json!({"enabled": true}));
    assert_eq!(m.len(), 1);
    assert!(m[0].starts_with("spec.webhooks.publicBaseUrl: is required"));
    assert!(
        installation_with(|s| s["webhooks"] =
            json!({"enabled": true, "publicBaseUrl": "https://x.example/hooks"}))
        .is_empty()
    );
}

#[test]
fn lookback_days_and_country_code_are_ranged() {
    assert!(!installation_with(|s| s["sync"]["orderLookbackDays"] = json!(0)).is_empty());
    assert!(installation_with(|s| s["sync"]["orderLookbackDays"] = json!(365)).is_empty());
    assert!(!installation_with(|s| s["sync"]["orderLookbackDays"] = json!(366)).is_empty());
    assert!(!installation_with(|s| s["sender"]["countryCode"] = json!("GBR")).is_empty());
}

#[test]
fn schedules_are_parsed_and_checked() {
    assert!(
        installation_with(|s| s["schedule"] = json!({"fetchInterval": "90s", "sendOffset": "0"}))
            .is_empty()
    );
    let m = installation_with(|s| s["schedule"] = json!({"fetchInterval": "5s"}));
    assert_eq!(
        m,
        ["spec.schedule.fetchInterval: \"5s\" is shorter than the minimum of 10s"]
    );
    let m = installation_with(|s| s["schedule"] = json!({"sendOffset": "5m"}));
    assert_eq!(
        m,
        ["spec.schedule.sendOffset: \"5m\" must be shorter than sendInterval \"5m\""]
    );
    let m = installation_with(|s| s["schedule"] = json!({"postalServicesSchedule": "0 25 * * *"}));
    assert!(
        m[0].starts_with(
            "spec.schedule.postalServicesSchedule: \"0 25 * * *\" is not a valid cron expression"
        ),
        "{m:?}"
    );
    let m = installation_with(|s| s["schedule"] = json!({"timeZone": "Europe/Lundun"}));
    assert_eq!(
        m,
        [
            "spec.schedule.timeZone: \"Europe/Lundun\" is not an IANA time zone (e.g. Europe/London, Etc/UTC)"
        ]
    );
}

#[test]
fn durations_parse_like_go() {
    assert_eq!(parse_duration("5m").map(|d| d.as_secs()), Ok(300));
    assert_eq!(parse_duration("1h30m").map(|d| d.as_secs()), Ok(5400));
    assert_eq!(parse_duration("90s").map(|d| d.as_secs()), Ok(90));
    assert_eq!(parse_duration("0").map(|d| d.as_secs()), Ok(0));
    assert!(
        parse_duration("5")
            .expect_err("no unit")
            .contains("lacks a unit")
    );
    assert!(
        parse_duration("5d")
            .expect_err("bad unit")
            .contains("unknown unit")
    );
    // Go adds units in any order: "5s1m" is 65 seconds.
    assert_eq!(parse_duration("5s1m").map(|d| d.as_secs()), Ok(65));
    assert!(parse_cron("0 3 * * *").is_ok());
    assert!(parse_cron("*/5 * * * 1-5").is_ok());
    // Kubernetes numbers weekdays from Sunday = 0: "0" is Sunday and "1-5" Monday to Friday.
    use chrono::{Datelike, TimeZone};
    let saturday = chrono::Utc
        .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("time");
    let next = |expr: &str| {
        parse_cron(expr)
            .expect("valid")
            .next_after(&saturday)
            .expect("next")
            .weekday()
    };
    assert_eq!(next("0 3 * * 0"), chrono::Weekday::Sun);
    // Kubernetes (robfig/cron v3) stops at 6: "7" is refused rather than read as Sunday.
    assert!(
        parse_cron("0 3 * * 7")
            .expect_err("7")
            .contains("Sunday is 0 or SUN")
    );
    assert_eq!(next("0 3 * * 1-5"), chrono::Weekday::Mon);
    assert_eq!(next("0 3 * * 6"), chrono::Weekday::Sat);
}

#[test]
fn cancel_label_defaults_to_the_guides_behaviour() {
    let inst = installation_with(|s| s["shippingIntegration"] = json!({}));
    assert!(inst.is_empty());
    let mut v = minimal_installation();
    v["spec"]["shippingIntegration"] = json!({});
    let parsed: Installation = serde_json::from_value(v).expect("parse");
    assert_eq!(
        parsed.spec.shipping_integration.map(|g| g.cancel_label),
        Some(CancelLabelMode::AlwaysSucceed)
    );
    assert!(
        !installation_with(|s| s["shippingIntegration"] = json!({"cancelLabel": "Sometimes"}))
            .is_empty()
    );
}

/// The `anyOf` rules the API server enforces and the cross-field rules of `validate`
/// accept and refuse the same objects.
#[test]
fn schema_required_if_rules_agree_with_validate() {
    let schemas: Vec<serde_json::Value> = crate::crd::crds().iter().map(schema_of).collect();
    let any_of = |doc: usize, path: &str| {
        let node = schemas[doc]
            .pointer(path)
            .unwrap_or_else(|| panic!("{path} in the schema"));
        json!({"anyOf": node.get("anyOf").unwrap_or_else(|| panic!("anyOf at {path}"))})
    };
    let partner = any_of(
        0,
        "/properties/spec/properties/stream/properties/partnerAccount",
    );
    let sync = any_of(0, "/properties/spec/properties/sync");
    let webhooks = any_of(0, "/properties/spec/properties/webhooks");
    let service = any_of(1, "/properties/spec/properties/postalService");
    let cases = [
        (
            &partner,
            "stream",
            "partnerAccount",
            json!({"enabled": true}),
        ),
        (
            &partner,
            "stream",
            "partnerAccount",
            json!({"enabled": true, "id": ""}),
        ),
        (
            &partner,
            "stream",
            "partnerAccount",
            json!({"enabled": true, "id": "P1"}),
        ),
        (
            &partner,
            "stream",
            "partnerAccount",
            json!({"enabled": false}),
        ),
        (
            &sync,
            "",
            "sync",
            json!({"orderSyncEnabled": true, "orderLookbackDays": 7, "useDefaultLocation": true}),
        ),
        (
            &sync,
            "",
            "sync",
            json!({"orderSyncEnabled": true, "orderLookbackDays": 7, "useDefaultLocation": true, "defaultLocation": "WH1"}),
        ),
        (
            &sync,
            "",
            "sync",
            json!({"orderSyncEnabled": true, "orderLookbackDays": 7, "useDefaultLocation": false}),
        ),
        (&webhooks, "", "webhooks", json!({"enabled": true})),
        (
            &webhooks,
            "",
            "webhooks",
            json!({"enabled": true, "publicBaseUrl": "https://x.example/h"}),
        ),
        (&webhooks, "", "webhooks", json!({"enabled": false})),
    ];
    for (schema, parent, field, value) in cases {
        let server_accepts = any_of_accepts(schema, &value);
        let mut inst = minimal_installation();
        if parent.is_empty() {
            inst["spec"][field] = value.clone();
        } else {
            inst["spec"][parent][field] = value.clone();
        }
        let inst: Installation = serde_json::from_value(inst).expect("parses");
        let controller_accepts = validate_installation(&inst.spec).is_empty();
        assert_eq!(server_accepts, controller_accepts, "{field}: {value}");
    }
    for (value, ok) in [
        (json!({}), false),
        (json!({"id": "3f2b1a0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"}), true),
        (json!({"name": "Next Day"}), true),
    ] {
        assert_eq!(any_of_accepts(&service, &value), ok, "{value}");
        let mut m = minimal_mapping();
        m["spec"]["postalService"] = value.clone();
        let m: PostalServiceMapping = serde_json::from_value(m).expect("parses");
        assert_eq!(validate_mapping(&m.spec).is_empty(), ok, "{value}");
    }
}

/// How the API server reads a structural `anyOf` branch: its `required` keys must be
/// present and each property it names must satisfy its constraints; other fields are
/// governed by the main schema, not the branch.
fn any_of_accepts(schema: &serde_json::Value, value: &serde_json::Value) -> bool {
    schema["anyOf"]
        .as_array()
        .expect("anyOf")
        .iter()
        .any(|branch| {
            let required = branch["required"].as_array().into_iter().flatten();
            let properties = branch["properties"].as_object().into_iter().flatten();
            required
                .filter_map(|k| k.as_str())
                .all(|k| value.get(k).is_some())
                && properties.into_iter().all(|(k, sub)| {
                    value
                        .get(k)
                        .is_none_or(|v| check_against_schema(sub, v, k).is_empty())
                })
        })
}

#[test]
fn locations_need_a_linnworks_id_or_name_and_a_depot() {
    let ok = json!([
        {"linnworksLocation": {"name": "Leeds Warehouse"}, "depot": "NORTH", "stockLocation": "LDS"},
        {"linnworksLocation": {"id": "00000000-0000-0000-0000-000000000000"}, "depot": "MIDLANDS",
         "deliveryMethod": "MID-2MAN"},
    ]);
    assert!(installation_with(|s| s["locations"] = ok.clone()).is_empty());
    // The schema the API server enforces: an id or a name, a GUID id, a depot.
    let m = installation_with(|s| {
        s["locations"] = json!([{"linnworksLocation": {}, "depot": "NORTH"}])
    });
    assert!(
        m.iter()
            .any(|m| m.starts_with("spec.locations[0].linnworksLocation")),
        "{m:?}"
    );
    let m = installation_with(|s| {
        s["locations"] = json!([{"linnworksLocation": {"id": "Leeds"}, "depot": "NORTH"}])
    });
    assert!(
        m.iter()
            .any(|m| m.starts_with("spec.locations[0].linnworksLocation.id")
                && m.contains("pattern")),
        "{m:?}"
    );
    let m =
        installation_with(|s| s["locations"] = json!([{"linnworksLocation": {"name": "Leeds"}}]));
    assert!(m.iter().any(|m| m.contains("depot")), "{m:?}");
    let m = installation_with(|s| {
        s["locations"] = json!([{"linnworksLocation": {"name": "Leeds"}, "depot": ""}])
    });
    assert!(
        m.iter().any(|m| m.starts_with("spec.locations[0].depot")),
        "{m:?}"
    );
    // The same location twice: the second entry could never apply.
    let m = installation_with(|s| {
        s["locations"] = json!([
            {"linnworksLocation": {"name": "Leeds"}, "depot": "NORTH"},
            {"linnworksLocation": {"name": "LEEDS"}, "depot": "SOUTH"},
        ])
    });
    assert_eq!(
        m,
        [
            "spec.locations[1].linnworksLocation.name: \"LEEDS\" is already mapped by spec.locations[0]"
        ]
    );
    // At most 50 entries.
    let many: Vec<serde_json::Value> = (0..51)
        .map(|i| json!({"linnworksLocation": {"name": format!("W{i}")}, "depot": "NORTH"}))
        .collect();
    assert!(!installation_with(|s| s["locations"] = json!(many)).is_empty());
    // The generated CRD carries the id-or-name rule for the API server.
    let schema = spec_schema("Installation");
    let any_of =
        &schema["properties"]["locations"]["items"]["properties"]["linnworksLocation"]["anyOf"];
    assert_eq!(
        any_of,
        &json!([{"required": ["id"]}, {"required": ["name"]}])
    );
    assert_eq!(schema["properties"]["locations"]["maxItems"], 50);
}

#[test]
fn a_default_location_naming_no_entry_is_reported() {
    let inst = |default: &str| -> Installation {
        let mut v = minimal_installation();
        v["spec"]["sync"]["useDefaultLocation"] = json!(true);
        v["spec"]["sync"]["defaultLocation"] = json!(default);
        v["spec"]["locations"] =
            json!([{"linnworksLocation": {"name": "Leeds Warehouse"}, "depot": "NORTH"}]);
        serde_json::from_value(v).expect("parse")
    };
    assert_eq!(
        inst("leeds warehouse").spec.default_location_unmatched(),
        None
    );
    assert_eq!(
        inst("LDS").spec.default_location_unmatched().as_deref(),
        Some("LDS")
    );
}

#[test]
fn staging_stream_accounts_use_the_streamtech_vendor() {
    use super::installation::{StreamEnvironment, StreamSettings};
    let stream = |url: &str, env: Option<&str>| -> StreamSettings {
        let mut v = minimal_installation()["spec"]["stream"].clone();
        v["clientUrl"] = json!(url);
        if let Some(env) = env {
            v["environment"] = json!(env);
        }
        serde_json::from_value(v).expect("stream settings")
    };
    assert_eq!(
        stream("https://www.go2stream.net/api", None).vendor_name(),
        "STREAM TECH"
    );
    let demo = stream("https://www.demo.go2stream.net/api", None);
    assert_eq!(demo.effective_environment(), StreamEnvironment::Staging);
    assert_eq!(demo.vendor_name(), "STREAMTECH");
    assert_eq!(
        stream("https://www.go2stream.net/api", Some("Staging")).vendor_name(),
        "STREAMTECH"
    );
    assert_eq!(
        stream("https://www.demo.go2stream.net/api", Some("Production")).vendor_name(),
        "STREAM TECH"
    );
    // A word inside a host label is not a staging label.
    assert_eq!(
        stream("https://demonstration.example.com/api", None).vendor_name(),
        "STREAM TECH"
    );
}

#[test]
fn check_warns_about_locations_that_cannot_match() {
    use super::check::{Report, check_text, cross_check};
    let mut inst = minimal_installation();
    inst["spec"]["sync"]["useDefaultLocation"] = json!(true);
    inst["spec"]["sync"]["defaultLocation"] = json!("Bristol");
    inst["spec"]["locations"] = json!([
        {"linnworksLocation": {"name": "Leeds Warehouse"}, "depot": "LEEDS"},
        {"linnworksLocation": {"name": "Coventry Warehouse"}, "depot": "COVENTRY"},
        {"linnworksLocation": {"name": "York Warehouse"}, "depot": "YORK", "deliveryMethod": "Y-1"},
    ]);
    let text = format!(
        "{}\n---\n{}\n",
        serde_saphyr::to_string(&inst).expect("yaml"),
        serde_saphyr::to_string(&minimal_mapping()).expect("yaml")
    );
    let mut report = Report::default();
    check_text(
        &mut report,
        std::path::Path::new("acme.yaml"),
        &text,
        "default",
    );
    cross_check(&mut report);
    let warnings: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.warning)
        .map(|f| f.problem.to_string())
        .collect();
    assert_eq!(report.errors(), 0, "{:?}", report.findings);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("spec.sync.defaultLocation: \"Bristol\" matches no spec.locations entry"),
        "{warnings:?}"
    );
    // COVENTRY is no mapping's depot and the entry names no method; LEEDS is the mapping's,
    // and YORK names its own.
    assert!(
        warnings[1].starts_with("spec.locations[1].deliveryMethod: is unset and no PostalServiceMapping uses depot \"COVENTRY\""),
        "{warnings:?}"
    );
}

#[test]
fn check_says_where_yaml_is_broken_without_quoting_it() {
    use super::check::{Report, check_text};
    let text =
        "apiVersion: v1\nkind: Secret\nstringData:\n  token: s3cr3t-value\n  other: [unclosed\n";
    let mut report = Report::default();
    check_text(&mut report, std::path::Path::new("s.yaml"), text, "default");
    assert_eq!(report.errors(), 1, "{:?}", report.findings);
    let message = report.findings[0].problem.to_string();
    assert!(message.contains("is not valid YAML"), "{message}");
    assert!(message.contains("line "), "{message}");
    assert!(!message.contains("s3cr3t-value"), "{message}");

    let duplicate = "apiVersion: v1\nkind: Secret\nkind: Secret\n";
    let mut report = Report::default();
    check_text(
        &mut report,
        std::path::Path::new("d.yaml"),
        duplicate,
        "default",
    );
    let message = report.findings[0].problem.to_string();
    assert!(message.contains("line 3"), "{message}");
}
