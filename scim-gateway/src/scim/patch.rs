//! RFC 7644 §3.5.2 PatchOp bodies → typed `PatchOperation`s, including the dialects Okta
//! and Entra really send (capitalised ops, path-less objects with dotted and URN keys,
//! `"False"` strings, `id` inside the value object, unqualified enterprise attributes, the
//! manager as a bare id, member shapes), for users and for groups.
//!
//! This is the only place that knows those dialects: the directory receives typed values
//! (`PatchValue`: scalars, complex values, lists, member ids) and applies the RFC
//! semantics. Group member operations reach it as `members` with a `MemberIds` value
//! (add, replace = the exact new set, remove = only those) or as a remove without a
//! value (every member); the directory applies them O(changed).

use directory_proto::v1::filter::Node;
use directory_proto::v1::{
    AttributePath, CompareOp, ComplexValue, ComplexValues, Filter, MemberIds, PatchOp,
    PatchOperation, PatchValue, ScalarValue, ScalarValues, filter_value, patch_value, scalar_value,
};
use serde_json::{Map, Value};

use super::attributes::{self, Attribute};
use super::filter::{parse_attribute_path, parse_patch_path};
use super::group::member_value;
use super::json::{boolean_from_string, validate_schemas};
use super::{
    ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ScimError, USER_SCHEMA, is_group_extension_urn,
    is_user_extension_urn,
};

/// One operation with its path resolved and its JSON value not yet typed.
struct RawOperation {
    op: PatchOp,
    path: AttributePath,
    value_filter: Option<Filter>,
    value: Option<Value>,
}

/// What differs between the User and the Group PATCH translation.
struct Resource {
    /// The core schema URN: a path equal to it targets the whole resource.
    core_schema: &'static str,
    is_extension_urn: fn(&str) -> bool,
    /// Core attributes a path-less value object may carry that are not the client's to
    /// write (Okta sends `id`) or that the gateway never forwards (`password`).
    ignored_in_value_object: &'static [&'static str],
    /// Users: `password` operations are dropped (never stored, never logged).
    drops_password: bool,
    /// The attribute table of the core schema.
    attributes: &'static [Attribute],
}

impl Resource {
    /// The attribute table of `schema` (empty: the core one), if the gateway knows it.
    fn table(&self, schema: &str) -> Option<&'static [Attribute]> {
        if schema.is_empty() || schema.eq_ignore_ascii_case(self.core_schema) {
            Some(self.attributes)
        } else if self.drops_password && schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
            Some(attributes::ENTERPRISE_USER)
        } else {
            None
        }
    }
}

const USER: Resource = Resource {
    core_schema: USER_SCHEMA,
    is_extension_urn: is_user_extension_urn,
    ignored_in_value_object: &["id", "meta", "schemas", "groups", "password"],
    drops_password: true,
    attributes: attributes::USER,
};

const GROUP: Resource = Resource {
    core_schema: GROUP_SCHEMA,
    is_extension_urn: is_group_extension_urn,
    ignored_in_value_object: &["id", "meta", "schemas"],
    drops_password: false,
    attributes: attributes::GROUP,
};

/// Translates a User PatchOp body. The result may be empty when every operation targeted
/// `password` (which the gateway drops); the directory then only checks the version.
pub fn patch_operations_from_json(body: Value) -> Result<Vec<PatchOperation>, ScimError> {
    translate_body(&USER, body)?
        .into_iter()
        .map(typed_user_operation)
        .collect()
}

/// Translates a Group PatchOp body. Paths qualified with the core Group URN become core
/// paths; `members` values become member id lists (a single object is wrapped; `$ref`,
/// `display` and `type` are dropped; a member without a string `value` is 400
/// invalidValue); `members[value eq "id" or ...]` removes become removes of those ids.
pub fn group_patch_operations_from_json(body: Value) -> Result<Vec<PatchOperation>, ScimError> {
    translate_body(&GROUP, body)?
        .into_iter()
        .map(typed_group_operation)
        .collect()
}

fn typed_user_operation(mut raw: RawOperation) -> Result<PatchOperation, ScimError> {
    // No core attribute has an enterprise attribute's name, so an unqualified path means
    // the extension's (Entra's older `"path": "manager"`).
    if raw.path.schema.is_empty()
        && attributes::find(attributes::USER, &raw.path.attribute).is_none()
        && attributes::find(attributes::ENTERPRISE_USER, &raw.path.attribute).is_some()
    {
        raw.path.schema = ENTERPRISE_USER_SCHEMA.to_owned();
    }
    let targets_manager = raw.path.schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
        && raw.path.attribute.eq_ignore_ascii_case("manager")
        && raw.path.sub_attribute.is_empty();
    if targets_manager && let Some(value) = raw.value.take() {
        raw.value = Some(manager_id(value)?);
    } else {
        check_user_patch_value(&raw)?;
    }
    typed(raw)
}

/// Checks an operation's value against the attribute table (type, array or single
/// value, sub-attributes), as a POST body's value is checked. Attributes the table does
/// not know are left to the directory (unknown extensions are refused there).
fn check_user_patch_value(raw: &RawOperation) -> Result<(), ScimError> {
    let Some(value) = &raw.value else {
        return Ok(());
    };
    let schema = raw.path.schema.as_str();
    let table = if schema.is_empty() || schema.eq_ignore_ascii_case(USER_SCHEMA) {
        attributes::USER
    } else if schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) {
        attributes::ENTERPRISE_USER
    } else {
        return Ok(());
    };
    let Some(attribute) = attributes::find(table, &raw.path.attribute) else {
        return Ok(());
    };
    // Read-only attributes get the directory's `mutability` answer, whatever the value.
    if attribute.mutability == attributes::Mutability::ReadOnly {
        return Ok(());
    }
    if !raw.path.sub_attribute.is_empty() {
        return match attribute.sub_attribute(&raw.path.sub_attribute) {
            Some(sub) => {
                attributes::check_value(sub, &format!("{}.{}", attribute.name, sub.name), value)
            }
            None => Ok(()),
        };
    }
    match value {
        // A multi-valued attribute takes a list, or one value (IdPs send both).
        Value::Array(_) if attribute.multi_valued && raw.value_filter.is_none() => {
            attributes::check_value(attribute, attribute.name, value)
        }
        single => attributes::check_single_value(attribute, attribute.name, single),
    }
}

/// Entra sends the manager as a bare id string (or `[{"value": id}]`); RFC 7643 §4.3 as
/// `{"value": id}`. All become the id (or null).
fn manager_id(value: Value) -> Result<Value, ScimError> {
    match value {
        Value::Null | Value::String(_) => Ok(value),
        Value::Array(items) if items.len() <= 1 => {
            manager_id(items.into_iter().next().unwrap_or(Value::Null))
        }
        Value::Object(object) => {
            match object
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            {
                None | Some((_, Value::Null)) => Ok(Value::Null),
                Some((_, id @ Value::String(_))) => Ok(id),
                Some(_) => Err(ScimError::invalid_value("manager.value must be a string")),
            }
        }
        _ => Err(ScimError::invalid_value(
            "manager must be a user id or {\"value\": \"<user id>\"}",
        )),
    }
}

fn typed_group_operation(mut raw: RawOperation) -> Result<PatchOperation, ScimError> {
    if raw.path.schema.eq_ignore_ascii_case(GROUP_SCHEMA) {
        raw.path.schema.clear();
    }
    // A workspace declares extension schemas for users only: a group path under any other
    // schema names nothing of this workspace (the same answer as an undeclared user
    // extension), and nothing is stored under it.
    if !raw.path.schema.is_empty() {
        return Err(ScimError::invalid_value(format!(
            "'{}' is not a schema of a group in this workspace",
            raw.path.schema
        )));
    }
    let targets_members = raw.path.schema.is_empty()
        && raw.path.attribute.eq_ignore_ascii_case("members")
        && raw.path.sub_attribute.is_empty();
    if !targets_members {
        return typed(raw);
    }
    if let Some(filter) = raw.value_filter.take() {
        // `members[value eq "id" or value eq "id2"]` (Okta, Entra with the flag).
        if raw.op != PatchOp::Remove {
            return Err(ScimError::invalid_path(
                "a members[...] filter path is only valid with remove",
            ));
        }
        let mut ids = Vec::new();
        member_ids_from_filter(&filter, &mut ids)?;
        return Ok(operation(raw.op, raw.path, None, Some(members(ids))));
    }
    let value = match raw.value {
        None => None,
        Some(Value::Null) => Some(scalar(scalar_value::Kind::NullValue(true))),
        Some(value) => {
            Some(members(normalise_members(value).map_err(|detail| {
                ScimError::invalid_value(format!("members: {detail}"))
            })?))
        }
    };
    Ok(operation(raw.op, raw.path, None, value))
}

fn members(ids: Vec<String>) -> PatchValue {
    PatchValue {
        kind: Some(patch_value::Kind::Members(MemberIds { ids })),
    }
}

/// The ids of `value eq "id"` terms joined with `or`.
fn member_ids_from_filter(filter: &Filter, into: &mut Vec<String>) -> Result<(), ScimError> {
    let unsupported =
        || ScimError::invalid_filter("members can be selected by value eq \"id\" (joined with or)");
    match &filter.node {
        Some(Node::Compare(comparison))
            if comparison.op == CompareOp::Eq as i32
                && comparison.path.as_ref().is_some_and(|p| {
                    p.attribute.eq_ignore_ascii_case("value") && p.sub_attribute.is_empty()
                }) =>
        {
            match comparison.value.as_ref().and_then(|v| v.kind.as_ref()) {
                Some(filter_value::Kind::StringValue(id)) => {
                    into.push(id.clone());
                    Ok(())
                }
                _ => Err(unsupported()),
            }
        }
        Some(Node::Or(list)) => list
            .filters
            .iter()
            .try_for_each(|f| member_ids_from_filter(f, into)),
        _ => Err(unsupported()),
    }
}

/// `[{"value": id, ...}, ..]` or one such object → the ids (null items are skipped).
fn normalise_members(value: Value) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err("the value must be an array of {\"value\": \"<user id>\"} objects".into()),
    };
    let mut ids = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if item.is_null() {
            continue;
        }
        ids.push(member_value(item).map_err(|detail| format!("member {index}: {detail}"))?);
    }
    Ok(ids)
}

/// Types the JSON value by its shape: a simple value, one complex value (an object of
/// simple sub-attributes), or a list of either.
fn typed(raw: RawOperation) -> Result<PatchOperation, ScimError> {
    let value = raw
        .value
        .map(|value| typed_value(&raw.path, value))
        .transpose()?;
    Ok(operation(raw.op, raw.path, raw.value_filter, value))
}

fn typed_value(path: &AttributePath, value: Value) -> Result<PatchValue, ScimError> {
    let kind = match value {
        Value::Array(items) if items.iter().all(Value::is_object) => {
            patch_value::Kind::ComplexList(ComplexValues {
                values: items
                    .into_iter()
                    .map(|item| complex_value(path, item))
                    .collect::<Result<_, _>>()?,
            })
        }
        Value::Array(items) => patch_value::Kind::ScalarList(ScalarValues {
            values: items
                .into_iter()
                .map(|item| {
                    scalar_of(item).ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "{}: a list holds either simple values or objects",
                            display_path(path)
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        }),
        object @ Value::Object(_) => patch_value::Kind::Complex(complex_value(path, object)?),
        simple => patch_value::Kind::Scalar(scalar_of(simple).expect("a simple JSON value")),
    };
    Ok(PatchValue { kind: Some(kind) })
}

fn complex_value(path: &AttributePath, object: Value) -> Result<ComplexValue, ScimError> {
    let Value::Object(object) = object else {
        unreachable!("only called with objects");
    };
    let mut sub_attributes = std::collections::HashMap::with_capacity(object.len());
    for (key, value) in object {
        let scalar = scalar_of(value).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "{}.{key} must be a simple value (string, number, boolean or null)",
                display_path(path)
            ))
        })?;
        sub_attributes.insert(key, scalar);
    }
    Ok(ComplexValue { sub_attributes })
}

fn scalar_of(value: Value) -> Option<ScalarValue> {
    let kind = match value {
        Value::Null => scalar_value::Kind::NullValue(true),
        Value::Bool(b) => scalar_value::Kind::BoolValue(b),
        Value::Number(n) => scalar_value::Kind::NumberValue(n.as_f64()?),
        Value::String(s) => scalar_value::Kind::StringValue(s),
        Value::Array(_) | Value::Object(_) => return None,
    };
    Some(ScalarValue { kind: Some(kind) })
}

fn scalar(kind: scalar_value::Kind) -> PatchValue {
    PatchValue {
        kind: Some(patch_value::Kind::Scalar(ScalarValue { kind: Some(kind) })),
    }
}

fn display_path(path: &AttributePath) -> String {
    let mut out = String::new();
    if !path.schema.is_empty() {
        out.push_str(&path.schema);
        out.push(':');
    }
    out.push_str(&path.attribute);
    if !path.sub_attribute.is_empty() {
        out.push('.');
        out.push_str(&path.sub_attribute);
    }
    out
}

fn translate_body(resource: &Resource, body: Value) -> Result<Vec<RawOperation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut operations_json = None;
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            validate_schemas(&value)?;
        } else if key.eq_ignore_ascii_case("Operations") {
            operations_json = Some(value);
        }
    }
    let operations_json = match operations_json {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(ScimError::invalid_syntax(
                "'Operations' must contain at least one operation",
            ));
        }
        Some(_) => return Err(ScimError::invalid_syntax("'Operations' must be an array")),
        None => {
            return Err(ScimError::invalid_syntax(
                "a PatchOp body needs an 'Operations' array",
            ));
        }
    };
    let mut operations = Vec::new();
    for (index, operation) in operations_json.into_iter().enumerate() {
        translate_operation(resource, index, operation, &mut operations)?;
    }
    Ok(operations)
}

fn translate_operation(
    resource: &Resource,
    index: usize,
    operation: Value,
    out: &mut Vec<RawOperation>,
) -> Result<(), ScimError> {
    let Value::Object(fields) = operation else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let mut op = None;
    let mut path = None;
    let mut value = None;
    for (key, field) in fields {
        match key.to_ascii_lowercase().as_str() {
            "op" => op = Some(field),
            "path" => path = Some(field),
            "value" => value = Some(field),
            _ => {}
        }
    }
    let op = match op {
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "add" => PatchOp::Add,
            "replace" => PatchOp::Replace,
            "remove" => PatchOp::Remove,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "Operations[{index}]: unknown op '{s}' (expected add, replace or remove)"
                )));
            }
        },
        Some(_) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{index}]: 'op' must be a string"
            )));
        }
        None => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}] has no 'op'"
            )));
        }
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{index}]: 'path' must be a string"
            )));
        }
    };

    match path {
        Some(path) => translate_with_path(resource, index, op, &path, value, out),
        None => {
            if op == PatchOp::Remove {
                return Err(ScimError::no_target(format!(
                    "Operations[{index}]: remove requires a path"
                )));
            }
            match value {
                Some(Value::Object(map)) => expand_value_object(resource, op, map, None, out),
                _ => Err(ScimError::invalid_value(format!(
                    "Operations[{index}]: an operation without a path needs an object value"
                ))),
            }
        }
    }
}

fn translate_with_path(
    resource: &Resource,
    index: usize,
    op: PatchOp,
    path_text: &str,
    value: Option<Value>,
    out: &mut Vec<RawOperation>,
) -> Result<(), ScimError> {
    let path_text = path_text.trim();
    if op != PatchOp::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "Operations[{index}]: {} requires a value",
            op_name(op)
        )));
    }
    if path_text.eq_ignore_ascii_case(resource.core_schema) {
        return match value {
            Some(Value::Object(map)) if op != PatchOp::Remove => {
                expand_value_object(resource, op, map, None, out)
            }
            _ => Err(ScimError::invalid_path(format!(
                "Operations[{index}]: '{path_text}' can only be the target of add or replace with an object value"
            ))),
        };
    }
    // A whole extension schema: `{"op":"add","path":"urn:...:2.0:User","value":{...}}`.
    if (resource.is_extension_urn)(path_text) {
        return match value {
            Some(Value::Object(map)) if op != PatchOp::Remove => {
                expand_value_object(resource, op, map, Some(path_text), out)
            }
            // Remove of a whole extension clears it.
            _ if op == PatchOp::Remove => {
                out.push(raw(
                    op,
                    AttributePath {
                        schema: path_text.to_owned(),
                        ..Default::default()
                    },
                    None,
                    None,
                ));
                Ok(())
            }
            _ => Err(ScimError::invalid_path(format!(
                "Operations[{index}]: '{path_text}' can only be the target of add or replace with an object value"
            ))),
        };
    }
    let parsed = parse_patch_path(path_text).map_err(|e| {
        ScimError::invalid_path(format!(
            "Operations[{index}]: invalid path '{path_text}': {e}"
        ))
    })?;
    if resource.drops_password && is_password(&parsed.path) {
        return Ok(());
    }
    let value = value.map(|v| normalise_booleans(resource, &parsed.path, v));
    out.push(raw(op, parsed.path, parsed.value_filter, value));
    Ok(())
}

/// Expands `{"displayName": .., "name.givenName": .., "urn:..:User:employeeNumber": ..,
/// "urn:..:User": {..}}` into one operation per attribute. `schema` is set when expanding
/// the members of an extension schema object.
fn expand_value_object(
    resource: &Resource,
    op: PatchOp,
    map: Map<String, Value>,
    schema: Option<&str>,
    out: &mut Vec<RawOperation>,
) -> Result<(), ScimError> {
    for (key, value) in map {
        if schema.is_none() {
            if key.eq_ignore_ascii_case(resource.core_schema) {
                match value {
                    Value::Object(inner) => expand_value_object(resource, op, inner, None, out)?,
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "'{key}' must be an object"
                        )));
                    }
                }
                continue;
            }
            if (resource.is_extension_urn)(&key) {
                match value {
                    Value::Object(inner) => {
                        expand_value_object(resource, op, inner, Some(&key), out)?
                    }
                    _ => {
                        return Err(ScimError::invalid_path(format!(
                            "'{key}' must be an object of the extension's attributes"
                        )));
                    }
                }
                continue;
            }
        }
        let mut path = parse_attribute_path(&key)
            .map_err(|e| ScimError::invalid_path(format!("invalid attribute '{key}': {e}")))?;
        if let Some(schema) = schema {
            // An extension object may repeat `schemas` (scim2-tester does); it is not an
            // attribute of the extension.
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            if !path.schema.is_empty() {
                return Err(ScimError::invalid_path(format!(
                    "'{key}' inside '{schema}' must not carry a schema"
                )));
            }
            path.schema = schema.to_owned();
        } else if path.schema.is_empty()
            && path.sub_attribute.is_empty()
            && resource
                .ignored_in_value_object
                .iter()
                .any(|ignored| ignored.eq_ignore_ascii_case(&path.attribute))
        {
            continue;
        }
        if resource.drops_password && is_password(&path) {
            continue;
        }
        let value = normalise_booleans(resource, &path, value);
        out.push(raw(op, path, None, Some(value)));
    }
    Ok(())
}

fn is_password(path: &AttributePath) -> bool {
    path.schema.is_empty() && path.attribute.eq_ignore_ascii_case("password")
}

fn op_name(op: PatchOp) -> &'static str {
    match op {
        PatchOp::Add => "add",
        PatchOp::Replace => "replace",
        PatchOp::Remove => "remove",
        PatchOp::Unspecified => "unspecified",
    }
}

fn raw(
    op: PatchOp,
    path: AttributePath,
    value_filter: Option<Filter>,
    value: Option<Value>,
) -> RawOperation {
    RawOperation {
        op,
        path,
        value_filter,
        value,
    }
}

fn operation(
    op: PatchOp,
    path: AttributePath,
    value_filter: Option<Filter>,
    value: Option<PatchValue>,
) -> PatchOperation {
    PatchOperation {
        op: op as i32,
        path: Some(path),
        value_filter,
        value,
    }
}

/// Entra sends `"True"`/`"False"` strings for booleans: convert them where the attribute
/// table says the target is a boolean (`active`, every `primary`), also inside complex
/// values.
fn normalise_booleans(resource: &Resource, path: &AttributePath, value: Value) -> Value {
    let table = resource.table(&path.schema);
    // RFC 7643 §2.4: `primary` is a boolean in every multi-valued attribute.
    let is_boolean = |attribute: &str, sub: &str| {
        sub.eq_ignore_ascii_case("primary")
            || table.is_some_and(|t| attributes::is_boolean(t, attribute, sub))
    };
    if is_boolean(&path.attribute, &path.sub_attribute) {
        return string_to_bool(value);
    }
    if !path.sub_attribute.is_empty() {
        return value;
    }
    let normalise_object = |value: Value| match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    if is_boolean(&path.attribute, &k) {
                        (k, string_to_bool(v))
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        other => other,
    };
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(normalise_object).collect()),
        other => normalise_object(other),
    }
}

fn string_to_bool(value: Value) -> Value {
    match &value {
        Value::String(s) => boolean_from_string(s).map_or(value, Value::Bool),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::tests::{eq_str, path};
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// (op, schema, attribute, sub, has value filter, value)
    type Flat = (PatchOp, String, String, String, bool, Option<Value>);

    fn flatten(ops: Vec<PatchOperation>) -> Vec<Flat> {
        ops.into_iter()
            .map(|o| {
                let p = o.path.unwrap_or_default();
                (
                    PatchOp::try_from(o.op).unwrap(),
                    p.schema,
                    p.attribute,
                    p.sub_attribute,
                    o.value_filter.is_some(),
                    o.value.map(value_json),
                )
            })
            .collect()
    }

    /// A typed value back as JSON (members as `[{"value": id}]`), to compare briefly.
    fn value_json(value: PatchValue) -> Value {
        fn scalar_json(s: ScalarValue) -> Value {
            match s.kind {
                None | Some(scalar_value::Kind::NullValue(_)) => Value::Null,
                Some(scalar_value::Kind::StringValue(s)) => json!(s),
                Some(scalar_value::Kind::BoolValue(b)) => json!(b),
                Some(scalar_value::Kind::NumberValue(n)) => json!(n),
            }
        }
        fn complex_json(c: ComplexValue) -> Value {
            Value::Object(
                c.sub_attributes
                    .into_iter()
                    .map(|(k, v)| (k, scalar_json(v)))
                    .collect(),
            )
        }
        match value.kind.expect("a typed value") {
            patch_value::Kind::Scalar(s) => scalar_json(s),
            patch_value::Kind::Complex(c) => complex_json(c),
            patch_value::Kind::ComplexList(l) => {
                Value::Array(l.values.into_iter().map(complex_json).collect())
            }
            patch_value::Kind::ScalarList(l) => {
                Value::Array(l.values.into_iter().map(scalar_json).collect())
            }
            patch_value::Kind::Members(m) => {
                Value::Array(m.ids.into_iter().map(|id| json!({ "value": id })).collect())
            }
        }
    }

    fn flat(op: PatchOp, schema: &str, attr: &str, sub: &str, value: Option<Value>) -> Flat {
        (op, schema.into(), attr.into(), sub.into(), false, value)
    }

    fn translate(body: Value) -> Vec<Flat> {
        flatten(
            patch_operations_from_json(body.clone()).unwrap_or_else(|e| panic!("{body}: {e:?}")),
        )
    }

    fn body(ops: Value) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    }

    #[test]
    fn okta_deactivate_without_path() {
        assert_eq!(
            translate(body(json!([{"op": "replace", "value": {"active": false}}]))),
            vec![flat(PatchOp::Replace, "", "active", "", Some(json!(false)))]
        );
    }

    #[test]
    fn entra_capitalised_replace_with_string_boolean() {
        assert_eq!(
            translate(body(
                json!([{"op": "Replace", "path": "active", "value": "False"}])
            )),
            vec![flat(PatchOp::Replace, "", "active", "", Some(json!(false)))]
        );
        assert_eq!(
            translate(body(
                json!([{"op": "REPLACE", "value": {"Active": "true"}}])
            )),
            vec![flat(PatchOp::Replace, "", "Active", "", Some(json!(true)))]
        );
        // not a boolean target: strings stay strings
        assert_eq!(
            translate(body(
                json!([{"op": "Add", "path": "title", "value": "True"}])
            )),
            vec![flat(PatchOp::Add, "", "title", "", Some(json!("True")))]
        );
    }

    #[test]
    fn entra_no_path_dotted_and_urn_keys_expand() {
        let ops = translate(body(json!([{"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
            "id": "ignored", "schemas": ["x"], "meta": {}, "groups": [], "password": "secret",
        }}])));
        assert_eq!(
            ops,
            vec![
                flat(PatchOp::Replace, "", "displayName", "", Some(json!("Bjfe"))),
                flat(
                    PatchOp::Replace,
                    "",
                    "name",
                    "givenName",
                    Some(json!("Kkom"))
                ),
                flat(
                    PatchOp::Replace,
                    ENT,
                    "employeeNumber",
                    "",
                    Some(json!("Aklq"))
                ),
            ]
        );
    }

    #[test]
    fn extension_schema_object_expands_per_member() {
        let mut ops = translate(body(json!([{"op": "add", "value": {
            ENT: {"department": "x", "manager": "m-1"}
        }}])));
        ops.sort_by(|a, b| a.2.cmp(&b.2));
        assert_eq!(
            ops,
            vec![
                flat(PatchOp::Add, ENT, "department", "", Some(json!("x"))),
                flat(PatchOp::Add, ENT, "manager", "", Some(json!("m-1"))),
            ]
        );
        // the same with the URN as the path
        let mut ops = translate(body(json!([{"op": "add", "path": ENT, "value": {
            "department": "x", "manager": {"value": "m-1"}
        }}])));
        ops.sort_by(|a, b| a.2.cmp(&b.2));
        assert_eq!(
            ops,
            vec![
                flat(PatchOp::Add, ENT, "department", "", Some(json!("x"))),
                flat(PatchOp::Add, ENT, "manager", "", Some(json!("m-1"))),
            ]
        );
    }

    #[test]
    fn entra_manager_dialects_and_unqualified_enterprise_paths_resolve() {
        for value in [
            json!("m-1"),
            json!({"value": "m-1"}),
            json!([{"value": "m-1"}]),
        ] {
            assert_eq!(
                translate(body(
                    json!([{"op": "Replace", "path": "manager", "value": value}])
                )),
                vec![flat(
                    PatchOp::Replace,
                    ENT,
                    "manager",
                    "",
                    Some(json!("m-1"))
                )],
                "{value}"
            );
        }
        for value in [json!(null), json!([]), json!({"display": "x"})] {
            assert_eq!(
                translate(body(
                    json!([{"op": "replace", "path": "manager", "value": value}])
                )),
                vec![flat(
                    PatchOp::Replace,
                    ENT,
                    "manager",
                    "",
                    Some(Value::Null)
                )],
                "{value}"
            );
        }
        assert_eq!(
            translate(body(
                json!([{"op": "replace", "path": "department", "value": "R&D"}])
            )),
            vec![flat(
                PatchOp::Replace,
                ENT,
                "department",
                "",
                Some(json!("R&D"))
            )]
        );
        for value in [
            json!(5),
            json!([{"value": "a"}, {"value": "b"}]),
            json!({"value": 5}),
        ] {
            let err = patch_operations_from_json(body(
                json!([{"op": "replace", "path": "manager", "value": value}]),
            ))
            .unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{value}");
        }
    }

    #[test]
    fn values_are_typed_by_shape_and_nested_objects_are_refused() {
        let ops = patch_operations_from_json(body(json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}]},
            {"op": "add", "path": "name", "value": {"givenName": "G"}},
            {"op": "add", "path": "urn:example:x:2.0:User:tags", "value": ["a", "b"]},
            {"op": "add", "path": "title", "value": "T"},
        ])))
        .unwrap();
        let kinds: Vec<_> = ops
            .into_iter()
            .map(|o| match o.value.unwrap().kind.unwrap() {
                patch_value::Kind::ComplexList(_) => "complex_list",
                patch_value::Kind::Complex(_) => "complex",
                patch_value::Kind::ScalarList(_) => "scalar_list",
                patch_value::Kind::Scalar(_) => "scalar",
                patch_value::Kind::Members(_) => "members",
            })
            .collect();
        assert_eq!(kinds, ["complex_list", "complex", "scalar_list", "scalar"]);
        for value in [
            json!([{"value": {"nested": 1}}]),
            json!(["a", {"value": "b"}]),
            json!({"givenName": ["x"]}),
        ] {
            let err = patch_operations_from_json(body(
                json!([{"op": "add", "path": "emails", "value": value}]),
            ))
            .unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{value}");
        }
    }

    #[test]
    fn urn_paths_and_core_urn_prefix() {
        assert_eq!(
            translate(body(
                json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "m-1"}])
            )),
            vec![flat(PatchOp::Add, ENT, "manager", "", Some(json!("m-1")))]
        );
        assert_eq!(
            translate(body(json!([{"op": "replace",
                "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
                "value": "F"}]))),
            vec![flat(
                PatchOp::Replace,
                "",
                "name",
                "familyName",
                Some(json!("F"))
            )]
        );
    }

    #[test]
    fn value_filter_path() {
        let ops = patch_operations_from_json(body(json!([{"op": "Replace",
            "path": "emails[type eq \"work\"].value", "value": "a@x.com"}])))
        .unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].path, Some(path("", "emails", "value")));
        assert_eq!(ops[0].value_filter, Some(eq_str("type", "work")));
        assert_eq!(ops[0].value.clone().map(value_json), Some(json!("a@x.com")));

        let ops = patch_operations_from_json(body(json!([{"op": "remove",
            "path": "emails[type eq \"work\"]"}])))
        .unwrap();
        assert_eq!(ops[0].op, PatchOp::Remove as i32);
        assert_eq!(ops[0].path, Some(path("", "emails", "")));
        assert_eq!(ops[0].value_filter, Some(eq_str("type", "work")));
        assert_eq!(ops[0].value, None);
    }

    #[test]
    fn primary_strings_become_booleans() {
        assert_eq!(
            translate(body(json!([{"op": "add", "path": "emails",
                "value": [{"value": "a@x", "primary": "True"}]}]))),
            vec![flat(
                PatchOp::Add,
                "",
                "emails",
                "",
                Some(json!([{"value": "a@x", "primary": true}]))
            )]
        );
        let ops = translate(body(json!([{"op": "replace",
            "path": "emails[type eq \"work\"].primary", "value": "false"}])));
        assert_eq!(ops[0].5, Some(json!(false)));
    }

    #[test]
    fn remove_keeps_entra_member_value() {
        assert_eq!(
            translate(body(
                json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}])
            )),
            vec![flat(
                PatchOp::Remove,
                "",
                "members",
                "",
                Some(json!([{"value": "u1"}]))
            )]
        );
    }

    #[test]
    fn values_are_checked_against_the_attribute_table() {
        for (ops, named) in [
            (
                json!([{"op": "add", "path": "addresses", "value": "Main St"}]),
                "addresses",
            ),
            (json!([{"op": "replace", "path": "ims", "value": 5}]), "ims"),
            (
                json!([{"op": "add", "path": "roles", "value": [{"value": ["a"]}]}]),
                "roles.value",
            ),
            (
                json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "primary": "yes"}]}]),
                "phoneNumbers.primary",
            ),
            (
                json!([{"op": "replace", "path": "addresses[type eq \"work\"].postalCode", "value": [1]}]),
                "addresses.postalCode",
            ),
            (
                json!([{"op": "replace", "value": {"x509Certificates": "MIIC"}}]),
                "x509Certificates",
            ),
            (
                json!([{"op": "replace", "path": "title", "value": 5}]),
                "title",
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "yes"}]),
                "active",
            ),
        ] {
            let err = patch_operations_from_json(body(ops.clone())).expect_err(&ops.to_string());
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{ops}");
            assert!(
                err.detail.contains(&format!("'{named}'")),
                "{ops}: {}",
                err.detail
            );
        }
        // What Entra and Okta send stays accepted.
        for ops in [
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "a@x"}]),
            json!([{"op": "add", "path": "roles", "value": {"value": "admin", "primary": "True"}}]),
            json!([{"op": "replace", "value": {"active": false, "displayName": "D"}}]),
        ] {
            patch_operations_from_json(body(ops.clone()))
                .unwrap_or_else(|e| panic!("{ops}: {e:?}"));
        }
    }

    #[test]
    fn password_operations_are_dropped() {
        assert!(
            translate(body(
                json!([{"op": "replace", "path": "password", "value": "x"}])
            ))
            .is_empty()
        );
        assert!(translate(body(json!([{"op": "replace", "value": {"password": "x"}}]))).is_empty());
    }

    #[test]
    fn body_without_schemas_is_accepted() {
        assert_eq!(
            translate(json!({"Operations": [{"op": "add", "path": "nickName", "value": "Babs"}]})),
            vec![flat(PatchOp::Add, "", "nickName", "", Some(json!("Babs")))]
        );
        assert_eq!(
            translate(json!({"operations": [{"OP": "add", "PATH": "nickName", "VALUE": null}]})),
            vec![flat(PatchOp::Add, "", "nickName", "", Some(Value::Null))]
        );
    }

    // ---- groups: every dialect of idp-traffic.md §2.9, §2.10, §3.9, §3.10, as the exact
    // typed operations the directory receives.

    const U1: &str = "89bb1940-b905-4575-9e7f-6f887cfb368e";
    const U2: &str = "23a35c27-23d3-4c03-b4c5-6443c09e7173";

    /// The operation the directory receives; a `members` JSON array of `{"value": id}`
    /// stands for the member id list.
    fn typed(
        op: PatchOp,
        attribute: &str,
        value_filter: Option<Filter>,
        value: Option<Value>,
    ) -> PatchOperation {
        let path = path("", attribute, "");
        let value = value.map(|value| match value {
            Value::Array(items) if attribute == "members" => members(
                items
                    .iter()
                    .map(|item| item["value"].as_str().unwrap().to_owned())
                    .collect(),
            ),
            other => typed_value(&path, other).unwrap(),
        });
        PatchOperation {
            op: op as i32,
            path: Some(path),
            value_filter,
            value,
        }
    }

    fn group_ops(body: Value) -> Vec<PatchOperation> {
        group_patch_operations_from_json(body.clone()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
    }

    #[test]
    fn okta_group_remove_and_add_in_one_patch() {
        let ops = group_ops(body(json!([
            {"op": "remove", "path": format!("members[value eq \"{U1}\"]")},
            {"op": "add", "path": "members",
             "value": [{"value": U2, "display": "test.user@okta.local"}]}
        ])));
        assert_eq!(
            ops,
            vec![
                typed(
                    PatchOp::Remove,
                    "members",
                    None,
                    Some(json!([{"value": U1}]))
                ),
                typed(PatchOp::Add, "members", None, Some(json!([{"value": U2}]))),
            ]
        );
    }

    #[test]
    fn okta_group_full_push_replaces_members() {
        let ops = group_ops(body(json!([{"op": "replace", "path": "members",
            "value": [{"value": U1, "display": "a"}, {"value": U2, "display": "b"}]}])));
        assert_eq!(
            ops,
            vec![typed(
                PatchOp::Replace,
                "members",
                None,
                Some(json!([{"value": U1}, {"value": U2}]))
            )]
        );
        // replace with an empty list (or null) empties the group: kept as sent
        assert_eq!(
            group_ops(body(
                json!([{"op": "replace", "path": "members", "value": []}])
            )),
            vec![typed(PatchOp::Replace, "members", None, Some(json!([])))]
        );
        assert_eq!(
            group_ops(body(
                json!([{"op": "replace", "path": "members", "value": null}])
            )),
            vec![typed(PatchOp::Replace, "members", None, Some(Value::Null))]
        );
    }

    #[test]
    fn okta_group_rename_drops_the_read_only_id() {
        let ops = group_ops(body(json!([{"op": "replace",
            "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"}}])));
        assert_eq!(
            ops,
            vec![typed(
                PatchOp::Replace,
                "displayName",
                None,
                Some(json!("Test SCIMv2"))
            )]
        );
    }

    #[test]
    fn no_path_members_object_becomes_a_members_operation() {
        let ops = group_ops(body(json!([{"op": "add", "value": {
            "members": [{"value": U1, "$ref": "https://x/Users/1", "type": "User"}],
            "externalId": "e-1",
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "meta": {"resourceType": "Group"},
        }}])));
        assert_eq!(
            ops,
            // (serde_json orders object keys)
            vec![
                typed(PatchOp::Add, "externalId", None, Some(json!("e-1"))),
                typed(PatchOp::Add, "members", None, Some(json!([{"value": U1}]))),
            ]
        );
    }

    #[test]
    fn entra_group_add_members() {
        let ops = group_ops(body(json!([{"op": "Add", "path": "members",
            "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}])));
        assert_eq!(
            ops,
            vec![typed(
                PatchOp::Add,
                "members",
                None,
                Some(json!([{"value": "f648f8d5ea4e4cd38e9c"}]))
            )]
        );
        let ops = group_ops(body(json!([
            {"op": "Add", "path": "members", "value": [{"value": U1}, {"value": U2}]},
            {"op": "Add", "path": "members", "value": [{"value": "c"}]}
        ])));
        assert_eq!(
            ops,
            vec![
                typed(
                    PatchOp::Add,
                    "members",
                    None,
                    Some(json!([{"value": U1}, {"value": U2}]))
                ),
                typed(PatchOp::Add, "members", None, Some(json!([{"value": "c"}]))),
            ]
        );
    }

    #[test]
    fn entra_group_remove_in_both_dialects() {
        // default dialect: the member is in the value, only it is removed
        assert_eq!(
            group_ops(body(json!([{"op": "Remove", "path": "members",
                "value": [{"value": "u1091"}]}]))),
            vec![typed(
                PatchOp::Remove,
                "members",
                None,
                Some(json!([{"value": "u1091"}]))
            )]
        );
        // ?aadOptscim062020: a filter path
        let id = "7f4bc1a3-285e-48ae-8202-5accb43efb0e";
        assert_eq!(
            group_ops(body(
                json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}])
            )),
            vec![typed(
                PatchOp::Remove,
                "members",
                None,
                Some(json!([{ "value": id }]))
            )]
        );
        // remove without value: every member
        assert_eq!(
            group_ops(body(json!([{"op": "remove", "path": "members"}]))),
            vec![typed(PatchOp::Remove, "members", None, None)]
        );
    }

    #[test]
    fn entra_group_rename() {
        let name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName";
        assert_eq!(
            group_ops(body(
                json!([{"op": "Replace", "path": "displayName", "value": name}])
            )),
            vec![typed(
                PatchOp::Replace,
                "displayName",
                None,
                Some(json!(name))
            )]
        );
    }

    #[test]
    fn group_member_values_are_normalised() {
        // a single object is wrapped into an array
        assert_eq!(
            group_ops(body(
                json!([{"op": "add", "path": "members", "value": {"value": U1}}])
            )),
            vec![typed(
                PatchOp::Add,
                "members",
                None,
                Some(json!([{"value": U1}]))
            )]
        );
        // core Group URN-qualified paths are core paths
        assert_eq!(
            group_ops(body(json!([
                {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members",
                 "value": [{"VALUE": U1, "display": "x"}]},
                {"op": "replace", "value": {
                    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName": "G"}},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group",
                 "value": {"externalId": "x"}}
            ]))),
            vec![
                typed(PatchOp::Add, "members", None, Some(json!([{"value": U1}]))),
                typed(PatchOp::Replace, "displayName", None, Some(json!("G"))),
                typed(PatchOp::Replace, "externalId", None, Some(json!("x"))),
            ]
        );
        // removing "no members" is an empty id list (the directory removes nothing), not
        // a remove without a value (every member)
        assert_eq!(
            group_ops(body(
                json!([{"op": "Remove", "path": "members", "value": []}])
            )),
            vec![typed(PatchOp::Remove, "members", None, Some(json!([])))]
        );
        // an `or` of members in a filter path becomes the list of their ids
        let ops = group_ops(body(json!([{"op": "remove",
            "path": format!("members[value eq \"{U1}\" or value eq \"{U2}\"]")}])));
        assert_eq!(
            ops,
            vec![typed(
                PatchOp::Remove,
                "members",
                None,
                Some(json!([{"value": U1}, {"value": U2}]))
            )]
        );
        // other member filters and filter paths on add are refused
        for (op, filter, scim_type) in [
            (
                "remove",
                "members[display eq \"x\"]",
                ScimType::InvalidFilter,
            ),
            ("remove", "members[value co \"x\"]", ScimType::InvalidFilter),
            ("add", "members[value eq \"x\"]", ScimType::InvalidPath),
        ] {
            let err = group_patch_operations_from_json(body(
                json!([{"op": op, "path": filter, "value": [{"value": U1}]}]),
            ))
            .unwrap_err();
            assert_eq!(err.scim_type, Some(scim_type), "{op} {filter}");
        }
        // a workspace declares no group extension: any path or value under one is refused
        let acme = "urn:example:acme:2.0:Group";
        for operations in [
            json!([{"op": "add", "value": {acme: {"cost": 7}}}]),
            json!([{"op": "add", "value": {format!("{acme}:cost"): 7}}]),
            json!([{"op": "add", "path": acme, "value": {"cost": 7}}]),
            json!([{"op": "replace", "path": format!("{acme}:cost"), "value": 7}]),
            json!([{"op": "remove", "path": acme}]),
            json!([{"op": "replace", "path": "urn:example:groupext:tier", "value": "gold"}]),
            json!([{"op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:department"), "value": "x"}]),
        ] {
            let err = group_patch_operations_from_json(body(operations.clone()))
                .expect_err(&operations.to_string());
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{operations}");
            assert_eq!(err.status.as_u16(), 400, "{operations}");
        }
        // the core Group URN still qualifies core attributes
        assert_eq!(
            group_ops(body(
                json!([{"op": "replace", "path": format!("{GROUP_SCHEMA}:displayName"), "value": "g"}])
            )),
            vec![PatchOperation {
                op: PatchOp::Replace as i32,
                path: Some(path("", "displayName", "")),
                value_filter: None,
                value: Some(scalar(scalar_value::Kind::StringValue("g".into()))),
            }]
        );
    }

    #[test]
    fn group_member_shape_errors_are_invalid_values() {
        for value in [
            json!("u1"),
            json!(5),
            json!(["u1"]),
            json!([{"display": "x"}]),
            json!([{"value": 5}]),
            json!([{"value": ""}]),
            json!({"display": "x"}),
        ] {
            for op in ["add", "replace", "remove"] {
                let input = body(json!([{"op": op, "path": "members", "value": value}]));
                let err =
                    group_patch_operations_from_json(input.clone()).expect_err(&input.to_string());
                assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{input}");
            }
        }
        let err = group_patch_operations_from_json(body(
            json!([{"op": "replace", "value": {"members": [{"value": 1}]}}]),
        ))
        .unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
        // the shared envelope checks apply too
        let err = group_patch_operations_from_json(body(json!([{"op": "remove"}]))).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn errors_table() {
        let table: Vec<(Value, ScimType)> = vec![
            (body(json!([{"op": "remove"}])), ScimType::NoTarget),
            (
                body(json!([{"op": "Remove", "value": {"active": true}}])),
                ScimType::NoTarget,
            ),
            (
                body(json!([{"op": "frobnicate", "path": "x", "value": 1}])),
                ScimType::InvalidValue,
            ),
            (
                body(json!([{"op": 1, "path": "x", "value": 1}])),
                ScimType::InvalidValue,
            ),
            (
                body(json!([{"path": "x", "value": 1}])),
                ScimType::InvalidSyntax,
            ),
            (
                body(json!([{"op": "add", "path": "emails[type eq", "value": 1}])),
                ScimType::InvalidPath,
            ),
            (
                body(json!([{"op": "add", "path": "9x", "value": 1}])),
                ScimType::InvalidPath,
            ),
            (
                body(json!([{"op": "add", "path": 5, "value": 1}])),
                ScimType::InvalidPath,
            ),
            (
                body(json!([{"op": "add", "value": {"bad key!": 1}}])),
                ScimType::InvalidPath,
            ),
            (
                body(json!([{"op": "add", "path": "title"}])),
                ScimType::InvalidValue,
            ),
            (
                body(json!([{"op": "add", "value": "not an object"}])),
                ScimType::InvalidValue,
            ),
            (body(json!([])), ScimType::InvalidSyntax),
            (body(json!({})), ScimType::InvalidSyntax),
            (body(json!(["x"])), ScimType::InvalidSyntax),
            (
                json!({"schemas": "x", "Operations": [{"op": "add", "path": "a", "value": 1}]}),
                ScimType::InvalidSyntax,
            ),
            (json!({}), ScimType::InvalidSyntax),
            (json!([]), ScimType::InvalidSyntax),
        ];
        for (input, want) in table {
            let err = patch_operations_from_json(input.clone()).expect_err(&input.to_string());
            assert_eq!(err.scim_type, Some(want), "{input}: {}", err.detail);
            assert_eq!(err.status.as_u16(), 400);
        }
    }
}
