//! Holds the hand-written openapi.json to the contract's Rust types: for every schema the
//! document declares, its property names (as serde spells them), which of them are
//! required and each one's JSON type must match the schema schemars derives from the type.
//! The prose (descriptions, examples) and the limits (`minLength`, `minimum`, ...) stay
//! hand-written; the limits are `Validate`'s, checked by tests/gateway_contract.rs.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value};

use super::contract::*;
use super::routes::OPENAPI_JSON;

const SCHEMAS: &str = "#/components/schemas/";

/// Schemas with no Rust type behind them: the webhook receiver reads any JSON object and
/// answers with `json!` literals (its replies are checked by tests/webhook_ingest.rs).
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
    let is_object = |t: &str| t == "object" || t.chars().next().is_some_and(char::is_uppercase);
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

#[test]
fn every_schema_in_openapi_json_matches_its_rust_types() {
    let spec: Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
    let doc_defs = spec["components"]["schemas"]
        .as_object()
        .expect("openapi.json has components.schemas");
    let described = described_types();
    let mut found = Vec::new();
    for name in doc_defs.keys() {
        if !UNTYPED.contains(&name.as_str()) && !described.iter().any(|(doc, _)| doc == name) {
            found.push(format!("{name}: no Rust type is checked against it"));
        }
    }
    for (name, rust) in &described {
        let reference = Value::String(format!("{SCHEMAS}{name}"));
        let doc = serde_json::json!({ "$ref": reference });
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
