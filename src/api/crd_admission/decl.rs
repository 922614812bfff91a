//! The CEL declaration of a schema node as the API server derives it: the
//! type, how many elements (characters, items, properties) a value can
//! hold, and the smallest JSON a value serialises to. Sizes come from
//! `maxLength` / `maxItems` / `maxProperties` where the schema declares
//! them, otherwise from what fits in one request.

use std::collections::BTreeMap;

use serde_json::Value;

/// The largest request body the API server accepts (3 MiB).
pub const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;
const MIN_STRING_SIZE: u64 = 2;
const MIN_BOOL_SIZE: u64 = 4;
const MIN_DURATION_SIZE: u64 = 4;
const MAX_DURATION_SIZE: u64 = 32;
const DATE_SIZE: u64 = 12;
const MIN_DATETIME_SIZE: u64 = 21;
const MAX_DATETIME_SIZE: u64 = 64;

/// What kind of value a schema node holds.
#[derive(Clone, Debug)]
pub enum Kind {
    Bool,
    Int,
    Double,
    String,
    Bytes,
    Duration,
    Timestamp,
    /// `x-kubernetes-int-or-string`: typed at run time.
    Dyn,
    List(Box<Decl>),
    /// An object with `additionalProperties`: string keys.
    Map(Box<Decl>),
    Object(BTreeMap<String, Decl>),
}

/// A schema node as a CEL declaration.
#[derive(Clone, Debug)]
pub struct Decl {
    pub kind: Kind,
    /// Characters of a string, items of a list, entries of a map.
    pub max_elements: u64,
    /// The smallest JSON a value of this node serialises to.
    pub min_size: u64,
}

impl Decl {
    fn simple(kind: Kind, min_size: u64, max_elements: u64) -> Self {
        Self {
            kind,
            max_elements,
            min_size,
        }
    }
}

fn int(schema: &Value, key: &str) -> Option<u64> {
    schema.get(key)?.as_i64().map(|n| n.max(0) as u64)
}

fn string_max(schema: &Value) -> u64 {
    match schema.get("format").and_then(Value::as_str) {
        Some("duration") => MAX_DURATION_SIZE,
        Some("date") => DATE_SIZE,
        Some("date-time") => MAX_DATETIME_SIZE,
        _ => MAX_REQUEST_BYTES - 2,
    }
}

/// The declaration of `schema`; `None` where the API server hides the node
/// from CEL (an array or map whose items it hides). `resource_root` adds
/// `apiVersion`, `kind` and `metadata.{name,generateName}` as unbounded
/// strings, as at the root of every resource.
pub fn of(schema: &Value, resource_root: bool) -> Option<Decl> {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return Some(Decl::simple(Kind::Dyn, 1, MAX_REQUEST_BYTES - 2));
    }
    match schema.get("type").and_then(Value::as_str)? {
        "array" => {
            let items = of(schema.get("items")?, embedded(schema.get("items")?))?;
            let max =
                int(schema, "maxItems").unwrap_or((MAX_REQUEST_BYTES - 2) / (items.min_size + 1));
            Some(Decl::simple(Kind::List(Box::new(items)), 2, max))
        }
        "object" => {
            if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
                let values = of(values, embedded(values))?;
                let max = int(schema, "maxProperties")
                    .unwrap_or((MAX_REQUEST_BYTES - 2) / (values.min_size + 6));
                return Some(Decl::simple(Kind::Map(Box::new(values)), 2, max));
            }
            Some(object(schema, resource_root))
        }
        "string" => Some(match schema.get("format").and_then(Value::as_str) {
            Some("byte") => Decl::simple(
                Kind::Bytes,
                MIN_STRING_SIZE,
                int(schema, "maxLength").unwrap_or(string_max(schema)),
            ),
            Some("duration") => Decl::simple(Kind::Duration, MIN_DURATION_SIZE, string_max(schema)),
            Some("date") => Decl::simple(Kind::Timestamp, DATE_SIZE, string_max(schema)),
            Some("date-time") => {
                Decl::simple(Kind::Timestamp, MIN_DATETIME_SIZE, string_max(schema))
            }
            // maxLength counts code points; a code point is up to 4 bytes.
            _ => Decl::simple(
                Kind::String,
                MIN_STRING_SIZE,
                int(schema, "maxLength").map_or(string_max(schema), |n| n * 4),
            ),
        }),
        "boolean" => Some(Decl::simple(Kind::Bool, MIN_BOOL_SIZE, 0)),
        "number" => Some(Decl::simple(Kind::Double, 1, 0)),
        "integer" => Some(Decl::simple(Kind::Int, 1, 0)),
        _ => None,
    }
}

fn embedded(schema: &Value) -> bool {
    schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true))
}

fn object(schema: &Value, resource_root: bool) -> Decl {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = BTreeMap::new();
    // An object serialises to at least `{}` plus its required fields
    // without a default (defaults are filled in by the server).
    let mut min_size = 2;
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for (name, property) in properties {
            let Some(field) = of(property, embedded(property)) else {
                continue;
            };
            if required.contains(&name.as_str()) && property.get("default").is_none() {
                min_size += name.len() as u64 + field.min_size + 4;
            }
            fields.insert(name.clone(), field);
        }
    }
    if resource_root {
        let unbounded = || Decl::simple(Kind::String, MIN_STRING_SIZE, MAX_REQUEST_BYTES - 2);
        fields.insert("apiVersion".into(), unbounded());
        fields.insert("kind".into(), unbounded());
        let metadata = BTreeMap::from([
            ("name".to_string(), unbounded()),
            ("generateName".to_string(), unbounded()),
        ]);
        fields.insert(
            "metadata".into(),
            Decl::simple(Kind::Object(metadata), 2, 0),
        );
    }
    Decl::simple(Kind::Object(fields), min_size, 0)
}

/// The most times data of `min_size` bytes can repeat in one request:
/// what a rule under an unbounded list or map is charged for.
pub fn max_cardinality(min_size: u64) -> u64 {
    MAX_REQUEST_BYTES / (min_size + 1)
}
