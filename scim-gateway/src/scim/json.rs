//! Small SCIM JSON helpers every resource shares: typed reads of one JSON value, the
//! `schemas` check, extension merging, timestamps. One home, so each reader reports the
//! same error the same way.

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value};

use super::ScimError;

/// `null` → `None`, a string → `Some`, anything else → 400 invalidValue naming `attribute`.
pub fn optional_string(attribute: &str, value: Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(type_error(attribute, "a string")),
    }
}

/// JSON booleans, plus the strings `"True"`/`"False"` (any case) that Entra sends.
pub fn optional_bool(attribute: &str, value: Value) -> Result<Option<bool>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) => match boolean_from_string(&s) {
            Some(b) => Ok(Some(b)),
            None => Err(type_error(attribute, "a boolean")),
        },
        _ => Err(type_error(attribute, "a boolean")),
    }
}

/// `"True"`/`"False"` in any case (Entra) → the boolean.
pub fn boolean_from_string(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// 400 invalidValue: "'{attribute}' must be {expected}".
pub fn type_error(attribute: &str, expected: &str) -> ScimError {
    ScimError::invalid_value(format!("'{attribute}' must be {expected}"))
}

/// `schemas` content is not enforced, but it must be an array of strings.
pub fn validate_schemas(value: &Value) -> Result<(), ScimError> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
        _ => Err(ScimError::invalid_syntax(
            "'schemas' must be an array of schema URNs",
        )),
    }
}

/// The `schemas` of a POST/PUT body (RFC 7643 §3: REQUIRED): an array of strings that
/// contains the resource's core schema URN and otherwise only schemas a resource of this
/// type may carry (`may_also_carry`: its extensions, Entra's ADSCIM group URN). Missing,
/// empty, another resource's core URN or a string that is no schema URN → 400
/// invalidValue (the wrong shape stays invalidSyntax). Whether the workspace declared an
/// extension is the directory's rule, on the extension's values.
pub fn check_resource_schemas(
    schemas: Option<&Value>,
    core: &str,
    may_also_carry: impl Fn(&str) -> bool,
) -> Result<(), ScimError> {
    let Some(value) = schemas else {
        return Err(ScimError::invalid_value(format!(
            "'schemas' is required and must contain {core}"
        )));
    };
    validate_schemas(value)?;
    let listed: Vec<&str> = value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !listed.iter().any(|s| s.eq_ignore_ascii_case(core)) {
        return Err(ScimError::invalid_value(format!(
            "'schemas' must contain {core}"
        )));
    }
    if let Some(foreign) = listed
        .iter()
        .find(|s| !s.eq_ignore_ascii_case(core) && !may_also_carry(s))
    {
        return Err(ScimError::invalid_value(format!(
            "'schemas' lists {foreign:?}, which is not a schema of this resource type"
        )));
    }
    Ok(())
}

/// Adds the members of `value` to the extension object stored under `schema` (matched
/// case-insensitively), creating it when absent.
pub fn merge_extension(extensions: &mut Map<String, Value>, schema: &str, value: Value) {
    let existing_key = extensions
        .keys()
        .find(|k| k.eq_ignore_ascii_case(schema))
        .cloned()
        .unwrap_or_else(|| schema.to_owned());
    let entry = extensions
        .entry(existing_key)
        .or_insert_with(|| Value::Object(Map::new()));
    match (entry, value) {
        (Value::Object(existing), Value::Object(new)) => existing.extend(new),
        (entry, value) => *entry = value,
    }
}

/// A protobuf timestamp as RFC 3339 (`meta.created`, `meta.lastModified`).
pub fn timestamp_to_rfc3339(ts: &prost_types::Timestamp) -> Option<String> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    DateTime::from_timestamp(ts.seconds, nanos)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use serde_json::json;

    #[test]
    fn typed_reads_accept_null_and_name_the_attribute_on_a_wrong_type() {
        assert_eq!(optional_string("title", json!(null)).unwrap(), None);
        assert_eq!(
            optional_string("title", json!("T")).unwrap().as_deref(),
            Some("T")
        );
        let err = optional_string("title", json!(5)).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        assert!(err.detail.contains("'title'"), "{}", err.detail);
        assert_eq!(
            optional_bool("active", json!("FALSE")).unwrap(),
            Some(false)
        );
        assert_eq!(optional_bool("active", json!(true)).unwrap(), Some(true));
        assert!(optional_bool("active", json!("yes")).is_err());
    }

    #[test]
    fn extensions_merge_case_insensitively() {
        let mut extensions = Map::new();
        merge_extension(&mut extensions, "urn:x:User", json!({"a": 1}));
        merge_extension(&mut extensions, "URN:X:USER", json!({"b": 2}));
        assert_eq!(
            Value::Object(extensions),
            json!({"urn:x:User": {"a": 1, "b": 2}})
        );
    }
}
