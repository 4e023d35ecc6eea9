//! Holds the hand-written openapi.json to the contract's Rust types: for every schema the
//! document declares, its property names (as serde spells them), which of them are
//! required and each one's JSON type must match the schema schemars derives from the type.
//! A request's required properties are also checked against what the gateway refuses. The
//! prose (descriptions, examples) and the limits (`minLength`, `minimum`, ...) stay
//! hand-written; the limits are `Validate`'s, checked by tests/gateway/contract.rs.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value};

use super::contract::*;
use super::routes::OPENAPI_JSON;

const SCHEMAS: &str = "#/components/schemas/";

/// Schemas with no Rust type behind them: the webhook receiver reads any JSON object and
/// answers with `json!` literals (its replies are checked by tests/sync/webhook_ingest.rs).
const UNTYPED: [&str; 3] = ["StreamNotification", "WebhookAccepted", "WebhookRefused"];

/// Which way a type travels. A request is read, so a field serde fills in by default may
/// be left out; a reply is written with every field, so each one is required.
#[derive(Clone, Copy, PartialEq)]
enum Way {
    Request,
    Reply,
}

/// A Rust type's derived schema with the definitions its `$ref`s point to.
struct Derived {
    rust: &'static str,
    way: Way,
    schema: Value,
    definitions: Map<String, Value>,
}

fn derive<T: JsonSchema>(rust: &'static str, way: Way) -> Derived {
    let contract = match way {
        Way::Request => Contract::Deserialize,
        Way::Reply => Contract::Serialize,
    };
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.contract = contract)
        .into_generator();
    let schema = generator.subschema_for::<T>().to_value();
    Derived {
        rust,
        way,
        schema,
        definitions: generator.take_definitions(true),
    }
}

/// `"DocName" => Way Type, Type; ...`: the document's schema and the Rust types it describes.
macro_rules! described_by {
    ($($doc:literal => $way:ident $($rust:ty),+;)*) => {
        vec![$($(($doc, derive::<$rust>(stringify!($rust), Way::$way)),)+)*]
    };
}

fn described_types() -> Vec<(&'static str, Derived)> {
    described_by![
        "AuthorizationToken" => Request AuthorizationToken;
        "ReplyStatus" => Reply ReplyStatus, ErrorReply, UpdateConfigResponse,
            ConfigDeletedResponse, CancelLabelResponse;
        "TokenOnlyRequest" => Request UserConfigRequest, ConfigDeletedRequest,
            UserAvailableServicesRequest, ExtendedPropertyMappingRequest;
        "AddNewUserRequest" => Request AddNewUserRequest;
        "AddNewUserResponse" => Reply AddNewUserResponse;
        "ListValue" => Reply ListValue;
        "ConfigItem" => Reply ConfigItem;
        "ConfigStage" => Reply ConfigStage;
        "UserConfigResponse" => Reply UserConfigResponse;
        "ConfigItemValue" => Request ConfigItemValue;
        "UpdateConfigRequest" => Request UpdateConfigRequest;
        "ServiceProperty" => Reply ServiceProperty;
        "CourierService" => Reply CourierService;
        "UserAvailableServicesResponse" => Reply UserAvailableServicesResponse;
        "ExtendedPropertyMappingItem" => Reply ExtendedPropertyMappingItem;
        "ExtendedPropertyMappingResponse" => Reply ExtendedPropertyMappingResponse;
        "NameValue" => Request NameValue;
        "PackageItem" => Request PackageItem;
        "Package" => Request Package;
        "GenerateLabelRequest" => Request GenerateLabelRequest;
        "LabelPackage" => Reply LabelPackage;
        "GenerateLabelResponse" => Reply GenerateLabelResponse;
        "CancelLabelRequest" => Request CancelLabelRequest;
        "CreateManifestRequest" => Request CreateManifestRequest;
        "CreateManifestResponse" => Reply CreateManifestResponse;
        "PrintManifestRequest" => Request PrintManifestRequest;
        "PrintManifestResponse" => Reply PrintManifestResponse;
    ]
}

/// The schema a `$ref` points to (the schema itself when it is none), with its name.
fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> (&'a Value, Option<&'a str>) {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(to) => {
            let name = to.strip_prefix(SCHEMAS).unwrap_or(to);
            (defs.get(name).unwrap_or(&Value::Null), Some(name))
        }
        None => (schema, None),
    }
}

/// An object schema's properties and required names, `allOf` parts merged.
#[derive(Default)]
struct Shape {
    properties: BTreeMap<String, Value>,
    required: BTreeSet<String>,
}

fn shape(schema: &Value, defs: &Map<String, Value>) -> Shape {
    fn collect(schema: &Value, defs: &Map<String, Value>, into: &mut Shape) {
        let (schema, _) = resolve(schema, defs);
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(part, defs, into);
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            into.properties.extend(properties.clone());
        }
        let required = schema.get("required").and_then(Value::as_array);
        into.required.extend(
            required
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from),
        );
    }
    let mut shape = Shape::default();
    collect(schema, defs, &mut shape);
    shape
}

/// A property's JSON type: `string`, `array of integer`, or the name of the object schema
/// it refers to. A `$ref` to a non-object (a string token, an enum) counts as that type.
fn json_type(schema: &Value, defs: &Map<String, Value>) -> String {
    let (schema, name) = resolve(schema, defs);
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        && schema.get("properties").is_none()
    {
        // schemars wraps a described `$ref` in a one-part allOf.
        return json_type(only, defs);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => format!("array of {}", json_type(&schema["items"], defs)),
        Some("object") | None => name.unwrap_or("object").to_string(),
        Some(other) => other.to_string(),
    }
}

/// Whether a [`json_type`] is an object (objects are named by their schema).
fn is_object(json_type: &str) -> bool {
    json_type == "object" || json_type.starts_with(char::is_uppercase)
}

/// The values an enum property may take, `$ref`s and one-part allOfs followed.
fn enum_values<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> Option<&'a Vec<Value>> {
    let (schema, _) = resolve(schema, defs);
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        return enum_values(only, defs);
    }
    schema.get("enum").and_then(Value::as_array)
}

/// How `doc` (the document's schema `name`) differs from the schema derived from Rust.
fn differences(
    name: &str,
    doc: &Value,
    doc_defs: &Map<String, Value>,
    rust: &Derived,
) -> Vec<String> {
    let mut found = Vec::new();
    let at = |what: String| format!("{name} (Rust {}): {what}", rust.rust);
    let (doc_type, rust_type) = (
        json_type(doc, doc_defs),
        json_type(&rust.schema, &rust.definitions),
    );
    if !(is_object(&doc_type) && is_object(&rust_type)) {
        if doc_type != rust_type {
            found.push(at(format!(
                "openapi.json says type {doc_type}, Rust has {rust_type}"
            )));
        }
        return found;
    }
    let doc = shape(doc, doc_defs);
    let derived = shape(&rust.schema, &rust.definitions);
    for property in doc.properties.keys() {
        if !derived.properties.contains_key(property) {
            found.push(at(format!(
                "property {property} is in openapi.json but not in the Rust type"
            )));
        }
    }
    for (property, schema) in &derived.properties {
        let Some(documented) = doc.properties.get(property) else {
            found.push(at(format!(
                "property {property} is in the Rust type but not in openapi.json"
            )));
            continue;
        };
        let (doc_type, rust_type) = (
            json_type(documented, doc_defs),
            json_type(schema, &rust.definitions),
        );
        if doc_type != rust_type {
            found.push(at(format!(
                "property {property}: openapi.json says {doc_type}, Rust has {rust_type}"
            )));
        }
        if let Some(values) = enum_values(schema, &rust.definitions)
            && enum_values(documented, doc_defs) != Some(values)
        {
            found.push(at(format!(
                "property {property}: openapi.json does not list the values {values:?}"
            )));
        }
        let (doc_required, rust_required) = (
            doc.required.contains(property),
            derived.required.contains(property),
        );
        // A request's field serde fills in may still be required by `Validate`.
        let differs = match rust.way {
            Way::Reply => doc_required != rust_required,
            Way::Request => rust_required && !doc_required,
        };
        if differs {
            let (doc_says, rust_says) = match rust.way {
                Way::Reply if !rust_required => ("required", "may leave it out"),
                Way::Reply => ("optional", "always sends it"),
                Way::Request => ("optional", "refuses a body without it"),
            };
            found.push(at(format!(
                "property {property}: openapi.json says {doc_says}, Rust {rust_says}"
            )));
        }
    }
    found
}

/// openapi.json's `components.schemas`.
fn document_schemas() -> Map<String, Value> {
    let mut spec: Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
    match spec["components"]["schemas"].take() {
        Value::Object(schemas) => schemas,
        _ => panic!("openapi.json has no components.schemas"),
    }
}

#[test]
fn every_schema_in_openapi_json_matches_its_rust_types() {
    let doc_defs = &document_schemas();
    let described = described_types();
    let mut found = Vec::new();
    for name in doc_defs.keys() {
        if !UNTYPED.contains(&name.as_str()) && !described.iter().any(|(doc, _)| doc == name) {
            found.push(format!("{name}: no Rust type is checked against it"));
        }
    }
    for (name, rust) in &described {
        let doc = serde_json::json!({ "$ref": format!("{SCHEMAS}{name}") });
        if !doc_defs.contains_key(*name) {
            found.push(format!("{name}: not in openapi.json"));
            continue;
        }
        found.extend(differences(name, &doc, doc_defs, rust));
    }
    assert!(
        found.is_empty(),
        "openapi.json differs from the contract's Rust types:\n  {}",
        found.join("\n  ")
    );
}

/// A request body the gateway accepts, and where in it an object of schema `doc` sits.
struct Accepted {
    doc: &'static str,
    parse: fn(&[u8]) -> Result<(), ContractError>,
    body: Value,
    /// JSON pointer to the object, and the same place as a `ContractError` field path.
    pointer: &'static str,
    path: &'static str,
}

fn parses<T: serde::de::DeserializeOwned + Validate>(body: &[u8]) -> Result<(), ContractError> {
    parse_request::<T>(body).map(|_| ())
}

fn accepted_bodies() -> Vec<Accepted> {
    let token = serde_json::json!({ "AuthorizationToken": "6f1c2a8e" });
    let update = serde_json::json!({
        "AuthorizationToken": "6f1c2a8e", "ConfigStatus": "CONFIGURED",
        "ConfigItems": [{ "ConfigItemId": "SIGNATURE", "SelectedValue": "true" }]
    });
    let label = serde_json::json!({
        "AuthorizationToken": "6f1c2a8e", "Name": "Jane Whitaker", "CompanyName": "Whitaker & Sons",
        "AddressLine1": "14 Abbey Road", "CountryCode": "GB", "OrderId": 100234,
        "OrderReference": "LW-100234", "ServiceId": "0b9d2d3e-8f43-4a43-9d1e-5c2f7c1b9a10",
        "Packages": [{ "SequenceNumber": 1, "PackageWeight": 2500,
            "Items": [{ "ItemName": "Trowel", "Quantity": 2,
                "ExtendedProperties": [{ "Name": "Colour", "Value": "Green" }] }] }],
        "OrderExtendedProperties": [{ "Name": "Channel", "Value": "Shopify" }],
        "ServiceConfigItems": [{ "ConfigItemId": "SIGNATURE", "SelectedValue": "true" }]
    });
    let at = |doc, parse, body: &Value, pointer, path| Accepted {
        doc,
        parse,
        body: body.clone(),
        pointer,
        path,
    };
    vec![
        at(
            "TokenOnlyRequest",
            parses::<UserConfigRequest>,
            &token,
            "",
            "",
        ),
        at(
            "AddNewUserRequest",
            parses::<AddNewUserRequest>,
            &serde_json::json!({
                "LinnworksUniqueIdentifier": "0b9d2d3e-8f43-4a43-9d1e-5c2f7c1b9a10",
                "Email": "jane@example.com", "AccountName": "Whitaker"
            }),
            "",
            "",
        ),
        at(
            "UpdateConfigRequest",
            parses::<UpdateConfigRequest>,
            &update,
            "",
            "",
        ),
        at(
            "ConfigItemValue",
            parses::<UpdateConfigRequest>,
            &update,
            "/ConfigItems/0",
            "ConfigItems[0].",
        ),
        at(
            "GenerateLabelRequest",
            parses::<GenerateLabelRequest>,
            &label,
            "",
            "",
        ),
        at(
            "Package",
            parses::<GenerateLabelRequest>,
            &label,
            "/Packages/0",
            "Packages[0].",
        ),
        at(
            "PackageItem",
            parses::<GenerateLabelRequest>,
            &label,
            "/Packages/0/Items/0",
            "Packages[0].Items[0].",
        ),
        at(
            "NameValue",
            parses::<GenerateLabelRequest>,
            &label,
            "/OrderExtendedProperties/0",
            "OrderExtendedProperties[0].",
        ),
        at(
            "CancelLabelRequest",
            parses::<CancelLabelRequest>,
            &serde_json::json!({ "AuthorizationToken": "6f1c2a8e", "OrderReference": "LW-1" }),
            "",
            "",
        ),
        at(
            "CreateManifestRequest",
            parses::<CreateManifestRequest>,
            &serde_json::json!({ "AuthorizationToken": "6f1c2a8e", "OrderId": ["100234"] }),
            "",
            "",
        ),
        at(
            "PrintManifestRequest",
            parses::<PrintManifestRequest>,
            &serde_json::json!({ "AuthorizationToken": "6f1c2a8e", "ManifestReference": "M-1" }),
            "",
            "",
        ),
    ]
}

/// The schemars check cannot see what `Validate` insists on: this one removes each
/// property of a request the gateway accepts and sees whether it is then refused for it.
#[test]
fn the_required_request_properties_are_those_the_gateway_refuses_a_body_without() {
    let doc_defs = &document_schemas();
    let mut found = Vec::new();
    let mut checked = BTreeSet::new();
    for case in accepted_bodies() {
        let whole = serde_json::to_vec(&case.body).expect("JSON");
        assert_eq!(
            (case.parse)(&whole),
            Ok(()),
            "{}: the body is accepted",
            case.doc
        );
        let doc = shape(
            &serde_json::json!({ "$ref": format!("{SCHEMAS}{}", case.doc) }),
            doc_defs,
        );
        for property in doc.properties.keys() {
            let mut body = case.body.clone();
            let object = body
                .pointer_mut(case.pointer)
                .and_then(Value::as_object_mut);
            if object.and_then(|o| o.remove(property)).is_none() {
                continue;
            }
            checked.insert(case.doc);
            let field = format!("{}{property}", case.path);
            let refused = match (case.parse)(&serde_json::to_vec(&body).expect("JSON")) {
                Ok(()) => None,
                Err(e) if e.field == field || e.field.starts_with(&format!("{field}[")) => Some(e),
                Err(e) => panic!(
                    "{}: without {property} the body is refused for another reason: {e}",
                    case.doc
                ),
            };
            match (doc.required.contains(property), refused) {
                (true, None) => found.push(format!(
                    "{}: property {property}: openapi.json says required, but a body without it is accepted",
                    case.doc
                )),
                (false, Some(e)) => found.push(format!(
                    "{}: property {property}: openapi.json says optional, but a body without it is refused ({e})",
                    case.doc
                )),
                _ => {}
            }
        }
    }
    assert_eq!(
        checked.len(),
        accepted_bodies().len(),
        "every case removed a property"
    );
    assert!(
        found.is_empty(),
        "openapi.json's required request properties differ from the gateway's:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn a_property_the_rust_type_lacks_is_reported_by_schema_and_name() {
    let doc_defs: Map<String, Value> = serde_json::from_value(serde_json::json!({
        "CancelLabelRequest": {
            "type": "object",
            "properties": {
                "AuthorizationToken": { "$ref": "#/components/schemas/AuthorizationToken" },
                "OrderRef": { "type": "string" },
                "OrderReference": { "type": "integer" }
            },
            "required": ["OrderReference"]
        },
        "AuthorizationToken": { "type": "string" }
    }))
    .expect("a schema map");
    let doc = serde_json::json!({ "$ref": "#/components/schemas/CancelLabelRequest" });
    let rust = derive::<CancelLabelRequest>("CancelLabelRequest", Way::Request);
    let found = differences("CancelLabelRequest", &doc, &doc_defs, &rust);
    assert_eq!(
        found,
        vec![
            "CancelLabelRequest (Rust CancelLabelRequest): property OrderRef is in openapi.json \
             but not in the Rust type",
            "CancelLabelRequest (Rust CancelLabelRequest): property AuthorizationToken: \
             openapi.json says optional, Rust refuses a body without it",
            "CancelLabelRequest (Rust CancelLabelRequest): property OrderReference: \
             openapi.json says integer, Rust has string",
        ]
    );
}

#[test]
fn a_reply_field_the_document_calls_optional_is_reported() {
    let doc_defs: Map<String, Value> = serde_json::from_value(serde_json::json!({
        "ReplyStatus": {
            "type": "object",
            "properties": {
                "IsError": { "type": "boolean" },
                "ErrorMessage": { "type": "string" }
            },
            "required": ["IsError"]
        }
    }))
    .expect("a schema map");
    let doc = serde_json::json!({ "$ref": "#/components/schemas/ReplyStatus" });
    let rust = derive::<ReplyStatus>("ReplyStatus", Way::Reply);
    assert_eq!(
        differences("ReplyStatus", &doc, &doc_defs, &rust),
        vec![
            "ReplyStatus (Rust ReplyStatus): property ErrorMessage: openapi.json says \
             optional, Rust always sends it"
        ]
    );
}
