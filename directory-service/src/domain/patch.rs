//! RFC 7644 §3.5.2 PATCH applied to a user profile. Operations apply in order to a copy;
//! the caller stores the result only when every operation succeeded (all or nothing).
//!
//! Operations arrive typed (`PatchValue`): the gateway has already resolved the SCIM JSON
//! dialects of every IdP. What stays here is the RFC semantics on typed values: add,
//! replace and remove on single- and multi-valued attributes, value filters selecting
//! entries, one primary value.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::filter::{AttrPath, CompareOp, Filter, FilterValue, matches_item};
use super::users::{Manager, MultiValue, Name, UserProfile};
use super::{DomainError, DomainResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: AttrPath,
    /// `emails[type eq "work"]`: which values of a multi-valued attribute are targeted.
    pub value_filter: Option<Filter>,
    pub value: Option<PatchValue>,
}

/// A single value: what a simple attribute or a sub-attribute holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    String(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl Scalar {
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::String(s) => Value::String(s.clone()),
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(n.clone()),
        }
    }
}

/// The typed value of a PATCH operation (`directory.v1.PatchValue`).
#[derive(Clone, Debug, PartialEq)]
pub enum PatchValue {
    Scalar(Scalar),
    /// One complex value: sub-attribute name → simple value.
    Complex(Map<String, Value>),
    ComplexList(Vec<Map<String, Value>>),
    ScalarList(Vec<Scalar>),
    /// Group members by user id.
    Members(Vec<String>),
}

impl PatchValue {
    pub fn is_null(&self) -> bool {
        matches!(self, PatchValue::Scalar(Scalar::Null))
    }

    /// The value as the directory keeps it for attributes stored verbatim (extensions,
    /// addresses, roles, ...).
    pub fn to_json(&self) -> Value {
        match self {
            PatchValue::Scalar(scalar) => scalar.to_json(),
            PatchValue::Complex(object) => Value::Object(object.clone()),
            PatchValue::ComplexList(items) => {
                Value::Array(items.iter().cloned().map(Value::Object).collect())
            }
            PatchValue::ScalarList(items) => {
                Value::Array(items.iter().map(Scalar::to_json).collect())
            }
            PatchValue::Members(ids) => Value::Array(
                ids.iter()
                    .map(|id| serde_json::json!({ "value": id }))
                    .collect(),
            ),
        }
    }
}

/// Applies `operations` to `profile` and returns the validated result.
pub fn apply_patch(
    profile: &UserProfile,
    operations: &[PatchOperation],
) -> DomainResult<UserProfile> {
    let mut patched = profile.clone();
    for operation in operations {
        apply_operation(&mut patched, operation)?;
    }
    patched.validated()
}

const READ_ONLY: &[&str] = &["id", "meta", "groups", "schemas"];
const KEPT_VERBATIM: &[&str] = &[
    "addresses",
    "ims",
    "photos",
    "roles",
    "entitlements",
    "x509Certificates",
];

fn apply_operation(profile: &mut UserProfile, operation: &PatchOperation) -> DomainResult<()> {
    let path = &operation.path;
    // `remove` of a whole extension schema (`path: "urn:...:enterprise:2.0:User"`) clears
    // it: the extension becomes unassigned (RFC 7644 §3.5.2.2).
    if path.attribute.is_empty() && !path.schema.is_empty() && operation.op == PatchOp::Remove {
        if path.is_enterprise_user() {
            profile.enterprise = Default::default();
        } else if !path.is_core_user() {
            profile
                .extensions
                .retain(|k, _| !k.eq_ignore_ascii_case(&path.schema));
        }
        return Ok(());
    }
    if path.attribute.is_empty() {
        return Err(match operation.op {
            PatchOp::Remove => DomainError::NoTarget("remove requires a path".into()),
            _ => DomainError::InvalidPath("operation has no target attribute".into()),
        });
    }
    if operation.op != PatchOp::Remove && operation.value.is_none() {
        return Err(DomainError::InvalidValue(format!(
            "{} of {path} requires a value",
            op_name(operation.op)
        )));
    }
    if path.is_enterprise_user() {
        return apply_enterprise(profile, operation);
    }
    if !path.is_core_user() {
        return apply_extension(profile, operation);
    }
    let attribute = path.attribute.to_ascii_lowercase();
    if READ_ONLY.contains(&attribute.as_str()) {
        return Err(DomainError::Mutability(format!(
            "{} is read-only",
            path.attribute
        )));
    }
    if let Some(field) = simple_string_field(profile, &attribute) {
        no_sub_attribute_or_filter(operation)?;
        *field = string_value(operation)?;
        return Ok(());
    }
    match attribute.as_str() {
        "username" => {
            no_sub_attribute_or_filter(operation)?;
            profile.user_name = string_value(operation)?.unwrap_or_default();
            Ok(())
        }
        "active" => {
            no_sub_attribute_or_filter(operation)?;
            profile.active = match (&operation.op, &operation.value) {
                (PatchOp::Remove, _) | (_, Some(PatchValue::Scalar(Scalar::Null))) => None,
                (_, Some(PatchValue::Scalar(Scalar::Bool(b)))) => Some(*b),
                _ => return Err(invalid_type(path, "a boolean")),
            };
            Ok(())
        }
        "name" => apply_name(&mut profile.name, operation),
        "emails" => apply_multi_valued(&mut profile.emails, operation),
        "phonenumbers" => apply_multi_valued(&mut profile.phone_numbers, operation),
        _ => match KEPT_VERBATIM
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&attribute))
        {
            Some(canonical) => {
                let slot = profile
                    .extensions
                    .entry(canonical.to_string())
                    .or_insert(Value::Null);
                apply_json(slot, operation, true)
            }
            None => Err(DomainError::InvalidPath(format!(
                "{} is not an attribute of User",
                path.attribute
            ))),
        },
    }
}

fn op_name(op: PatchOp) -> &'static str {
    match op {
        PatchOp::Add => "add",
        PatchOp::Replace => "replace",
        PatchOp::Remove => "remove",
    }
}

fn simple_string_field<'a>(
    profile: &'a mut UserProfile,
    attribute: &str,
) -> Option<&'a mut Option<String>> {
    Some(match attribute {
        "externalid" => &mut profile.external_id,
        "displayname" => &mut profile.display_name,
        "nickname" => &mut profile.nick_name,
        "profileurl" => &mut profile.profile_url,
        "title" => &mut profile.title,
        "usertype" => &mut profile.user_type,
        "preferredlanguage" => &mut profile.preferred_language,
        "locale" => &mut profile.locale,
        "timezone" => &mut profile.timezone,
        _ => return None,
    })
}

fn no_sub_attribute_or_filter(operation: &PatchOperation) -> DomainResult<()> {
    if operation.path.has_sub_attribute() || operation.value_filter.is_some() {
        return Err(DomainError::InvalidPath(format!(
            "{} has no sub-attributes",
            operation.path.attribute
        )));
    }
    Ok(())
}

fn invalid_type(path: &AttrPath, expected: &str) -> DomainError {
    DomainError::InvalidValue(format!("{path} must be {expected}"))
}

/// The new value of a single-valued string attribute: None for remove and for null.
fn string_value(operation: &PatchOperation) -> DomainResult<Option<String>> {
    if operation.op == PatchOp::Remove {
        return Ok(None);
    }
    match &operation.value {
        None | Some(PatchValue::Scalar(Scalar::Null)) => Ok(None),
        Some(PatchValue::Scalar(Scalar::String(s))) => Ok(Some(s.clone())),
        Some(_) => Err(invalid_type(&operation.path, "a string")),
    }
}

fn apply_name(name: &mut Name, operation: &PatchOperation) -> DomainResult<()> {
    if operation.value_filter.is_some() {
        return Err(DomainError::InvalidPath("name is not multi-valued".into()));
    }
    if operation.path.has_sub_attribute() {
        let field = name_part(name, &operation.path.sub_attribute)?;
        *field = string_value(operation)?;
        return Ok(());
    }
    match (&operation.op, &operation.value) {
        (PatchOp::Remove, _) | (_, Some(PatchValue::Scalar(Scalar::Null))) => {
            *name = Name::default()
        }
        // add and replace of a complex attribute set the given sub-attributes and leave the
        // others as they are (RFC 7644 §3.5.2.1, §3.5.2.3).
        (_, Some(PatchValue::Complex(object))) => {
            for (key, value) in object {
                *name_part(name, key)? = match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => {
                        return Err(DomainError::InvalidValue(format!(
                            "{}.{key} must be a string",
                            operation.path
                        )));
                    }
                };
            }
        }
        _ => return Err(invalid_type(&operation.path, "an object")),
    }
    Ok(())
}

fn name_part<'a>(name: &'a mut Name, sub_attribute: &str) -> DomainResult<&'a mut Option<String>> {
    Ok(match sub_attribute.to_ascii_lowercase().as_str() {
        "formatted" => &mut name.formatted,
        "familyname" => &mut name.family_name,
        "givenname" => &mut name.given_name,
        "middlename" => &mut name.middle_name,
        "honorificprefix" => &mut name.honorific_prefix,
        "honorificsuffix" => &mut name.honorific_suffix,
        _ => {
            return Err(DomainError::InvalidPath(format!(
                "{sub_attribute} is not a sub-attribute of name"
            )));
        }
    })
}

fn apply_enterprise(profile: &mut UserProfile, operation: &PatchOperation) -> DomainResult<()> {
    let enterprise = &mut profile.enterprise;
    let path = &operation.path;
    if operation.value_filter.is_some() {
        return Err(DomainError::InvalidPath(format!(
            "{path} is not multi-valued"
        )));
    }
    let field = match path.attribute.to_ascii_lowercase().as_str() {
        "employeenumber" => &mut enterprise.employee_number,
        "costcenter" => &mut enterprise.cost_center,
        "organization" => &mut enterprise.organization,
        "division" => &mut enterprise.division,
        "department" => &mut enterprise.department,
        "manager" => {
            // The manager's id (`manager` or `manager.value`); the gateway resolves the
            // shapes IdPs send it in.
            let value = match path.sub_attribute.to_ascii_lowercase().as_str() {
                "" | "value" => string_value(operation)?,
                _ => {
                    return Err(DomainError::InvalidPath(format!(
                        "{} is not a writable sub-attribute of manager",
                        path.sub_attribute
                    )));
                }
            };
            enterprise.manager = value.map(|value| Manager {
                value,
                display_name: None,
            });
            return Ok(());
        }
        _ => {
            return Err(DomainError::InvalidPath(format!(
                "{} is not an attribute of the enterprise extension",
                path.attribute
            )));
        }
    };
    if path.has_sub_attribute() {
        return Err(DomainError::InvalidPath(format!(
            "{} has no sub-attributes",
            path.attribute
        )));
    }
    *field = string_value(operation)?;
    Ok(())
}

/// Attributes of extension schemas the directory does not know: kept verbatim under the
/// schema URN.
fn apply_extension(profile: &mut UserProfile, operation: &PatchOperation) -> DomainResult<()> {
    let schema = operation.path.schema.clone();
    let holder = profile
        .extensions
        .entry(schema.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(object) = holder else {
        return Err(DomainError::InvalidPath(format!(
            "{schema} is not an object"
        )));
    };
    let slot = object
        .entry(operation.path.attribute.clone())
        .or_insert(Value::Null);
    apply_json(slot, operation, false)?;
    if object.is_empty() {
        profile.extensions.remove(&schema);
    }
    Ok(())
}

/// Patches a JSON slot that the directory keeps verbatim. Arrays get multi-valued
/// semantics (add appends); everything else is replaced or removed.
fn apply_json(
    slot: &mut Value,
    operation: &PatchOperation,
    multi_valued: bool,
) -> DomainResult<()> {
    if multi_valued || slot.is_array() {
        let mut items = match std::mem::take(slot) {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        patch_items(&mut items, operation)?;
        *slot = if items.is_empty() {
            Value::Null
        } else {
            Value::Array(items)
        };
        return Ok(());
    }
    if operation.value_filter.is_some() || operation.path.has_sub_attribute() {
        return Err(DomainError::InvalidPath(format!(
            "{} cannot be addressed that way",
            operation.path
        )));
    }
    *slot = match (&operation.op, &operation.value) {
        (PatchOp::Remove, _) | (_, None) => Value::Null,
        (_, Some(value)) => value.to_json(),
    };
    Ok(())
}

fn apply_multi_valued(
    values: &mut Vec<MultiValue>,
    operation: &PatchOperation,
) -> DomainResult<()> {
    let mut items: Vec<Value> = values
        .iter()
        .map(|v| serde_json::to_value(v).expect("MultiValue serialises"))
        .collect();
    patch_items(&mut items, operation)?;
    *values = items
        .into_iter()
        .map(|item| {
            serde_json::from_value::<MultiValue>(lowercase_known_keys(item)).map_err(|e| {
                DomainError::InvalidValue(format!(
                    "invalid value for {}: {e}",
                    operation.path.attribute
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(())
}

/// Sub-attribute names are case-insensitive; MultiValue's are all lowercase.
fn lowercase_known_keys(item: Value) -> Value {
    match item {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if ["value", "type", "primary", "display"].contains(&lower.as_str()) {
                        (lower, v)
                    } else {
                        (k, v)
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

/// Multi-valued PATCH semantics over JSON objects (RFC 7644 §3.5.2.1-3).
fn patch_items(items: &mut Vec<Value>, operation: &PatchOperation) -> DomainResult<()> {
    let sub = operation.path.sub_attribute.as_str();
    let selected: Vec<usize> = match &operation.value_filter {
        Some(filter) => {
            let mut selected = Vec::new();
            for (index, item) in items.iter().enumerate() {
                if matches_item(filter, item)? {
                    selected.push(index);
                }
            }
            selected
        }
        None => (0..items.len()).collect(),
    };
    let mut touched = Vec::new();
    match (
        operation.op,
        operation.value_filter.is_some(),
        sub.is_empty(),
    ) {
        (PatchOp::Remove, false, true) => match &operation.value {
            // A remove that lists values removes only those (an empty list: none).
            Some(
                value @ (PatchValue::Complex(_)
                | PatchValue::ComplexList(_)
                | PatchValue::ScalarList(_)),
            ) => {
                let victims = values_of(operation.op, &operation.path, Some(value))?;
                let victims = Victims::new(&victims);
                items.retain(|item| !victims.hit(item));
            }
            _ => items.clear(),
        },
        (PatchOp::Remove, true, true) => {
            let mut doomed = vec![false; items.len()];
            for &index in &selected {
                doomed[index] = true;
            }
            let mut index = 0;
            items.retain(|_| {
                let keep = !doomed[index];
                index += 1;
                keep
            });
        }
        (PatchOp::Remove, _, false) => {
            for &index in &selected {
                if let Some(object) = items[index].as_object_mut() {
                    object.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
        }
        (PatchOp::Add, false, true) => {
            // An equal value already present is not added twice (RFC 7644 §3.5.2.1: "no
            // changes SHOULD be made"). Looked up by a canonical text (see `same_value_key`):
            // linear in the values, not quadratic.
            let mut positions: HashMap<String, usize> = HashMap::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                positions.entry(same_value_key(item)).or_insert(index);
            }
            for value in values_of(operation.op, &operation.path, operation.value.as_ref())? {
                let key = same_value_key(&value);
                match positions.get(&key) {
                    Some(&existing) => touched.push(existing),
                    None => {
                        positions.insert(key, items.len());
                        items.push(value);
                        touched.push(items.len() - 1);
                    }
                }
            }
        }
        (PatchOp::Replace, false, true) => {
            *items = values_of(operation.op, &operation.path, operation.value.as_ref())?;
            touched = (0..items.len()).collect();
        }
        (_, true, true) => {
            // Replace (or add to) the selected values with the given object's sub-attributes.
            let Some(PatchValue::Complex(patch)) = &operation.value else {
                return Err(invalid_type(&operation.path, "an object"));
            };
            if selected.is_empty() {
                items.push(new_item_from_filter(operation)?);
                touched.push(items.len() - 1);
            }
            for &index in &selected {
                if let Some(object) = items[index].as_object_mut() {
                    for (k, v) in patch {
                        object.insert(k.clone(), v.clone());
                    }
                }
                touched.push(index);
            }
            if selected.is_empty() {
                let last = items.len() - 1;
                if let Some(object) = items[last].as_object_mut() {
                    for (k, v) in patch {
                        object.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (_, _, false) => {
            // `emails[type eq "work"].value` or `emails.value`: set one sub-attribute.
            let value = match &operation.value {
                None => Value::Null,
                Some(PatchValue::Scalar(scalar)) => scalar.to_json(),
                Some(_) => {
                    return Err(DomainError::InvalidValue(format!(
                        "{}.{sub} must be a single value",
                        operation.path.attribute
                    )));
                }
            };
            let targets = if selected.is_empty() {
                items.push(new_item_from_filter(operation)?);
                vec![items.len() - 1]
            } else {
                selected.clone()
            };
            for index in targets {
                if let Some(object) = items[index].as_object_mut() {
                    object.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    object.insert(sub.to_owned(), value.clone());
                }
                touched.push(index);
            }
        }
    }
    keep_one_primary(items, &touched);
    Ok(())
}

/// What makes two values of a multi-valued attribute the same value: their JSON text with
/// object keys sorted, the sub-attribute names `value`, `type`, `primary` and `display` in
/// lower case (they are case-insensitive), and without `primary: false` or null members,
/// which the server adds or drops when it stores a value. `{"value": "x", "type": "work"}`
/// is therefore the value stored as `{"value": "x", "type": "work", "primary": false}`.
fn same_value_key(item: &Value) -> String {
    match item {
        Value::Object(object) => {
            let canonical: Map<String, Value> = object
                .iter()
                .filter_map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    let known = ["value", "type", "primary", "display"].contains(&lower.as_str());
                    let key = if known { lower } else { k.clone() };
                    let dropped = v.is_null() || (key == "primary" && v == &Value::Bool(false));
                    (!dropped).then(|| (key, v.clone()))
                })
                .collect();
            Value::Object(canonical).to_string()
        }
        other => other.to_string(),
    }
}

/// The values an add, a replace or a remove lists for a multi-valued attribute.
fn values_of(op: PatchOp, path: &AttrPath, value: Option<&PatchValue>) -> DomainResult<Vec<Value>> {
    match value {
        Some(PatchValue::ComplexList(items)) => {
            Ok(items.iter().cloned().map(Value::Object).collect())
        }
        Some(PatchValue::ScalarList(items)) => Ok(items.iter().map(Scalar::to_json).collect()),
        Some(PatchValue::Complex(item)) => Ok(vec![Value::Object(item.clone())]),
        Some(PatchValue::Scalar(Scalar::Null)) | None => Ok(Vec::new()),
        Some(_) => Err(DomainError::InvalidValue(format!(
            "{} of {path} needs a list of values",
            op_name(op)
        ))),
    }
}

/// The values a remove lists, looked up in constant time: an entry with a `value` goes
/// when a listed value has that `value`; an entry without one when it equals a listed
/// value (by canonical JSON text, object keys being sorted).
struct Victims {
    values: HashSet<String>,
    whole: HashSet<String>,
}

impl Victims {
    fn new(victims: &[Value]) -> Victims {
        let mut values = HashSet::new();
        let mut whole = HashSet::new();
        for victim in victims {
            match victim.get("value") {
                Some(value) => values.insert(value.to_string()),
                None => whole.insert(victim.to_string()),
            };
        }
        Victims { values, whole }
    }

    fn hit(&self, item: &Value) -> bool {
        match item.get("value") {
            Some(value) => self.values.contains(&value.to_string()),
            None => self.whole.contains(&item.to_string()),
        }
    }
}

/// A value filter that matched nothing still names the value an IdP means:
/// `emails[type eq "work"].value` on a user without a work email adds one (Entra sends this
/// for every user, with or without a work email on file). Only `eq` terms joined by `and`
/// describe a value we can create; anything else has no target.
fn new_item_from_filter(operation: &PatchOperation) -> DomainResult<Value> {
    fn collect(filter: &Filter, into: &mut Map<String, Value>) -> bool {
        match filter {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } => {
                let key = if path.has_sub_attribute() {
                    &path.sub_attribute
                } else {
                    &path.attribute
                };
                let value = match value {
                    FilterValue::String(s) => Value::String(s.clone()),
                    FilterValue::Bool(b) => Value::Bool(*b),
                    FilterValue::Number(n) => serde_json::json!(n),
                    FilterValue::Null => return false,
                };
                into.insert(key.clone(), value);
                true
            }
            Filter::And(parts) => parts.iter().all(|p| collect(p, into)),
            _ => false,
        }
    }
    let mut object = Map::new();
    let creatable = operation.op != PatchOp::Remove
        && operation
            .value_filter
            .as_ref()
            .is_some_and(|f| collect(f, &mut object));
    if !creatable {
        return Err(DomainError::NoTarget(format!(
            "no value of {} matches the filter",
            operation.path.attribute
        )));
    }
    Ok(Value::Object(object))
}

/// A new `primary: true` takes primary away from the other values (RFC 7643 §2.4).
fn keep_one_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |item: &Value| item.get("primary").and_then(Value::as_bool) == Some(true);
    let Some(&winner) = touched.iter().rev().find(|&&i| is_primary(&items[i])) else {
        return;
    };
    for (index, item) in items.iter_mut().enumerate() {
        if index != winner
            && is_primary(item)
            && let Some(object) = item.as_object_mut()
        {
            object.insert("primary".into(), Value::Bool(false));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::filter::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn base() -> UserProfile {
        UserProfile {
            user_name: "alice@example.com".into(),
            active: Some(true),
            emails: vec![MultiValue {
                value: "alice@example.com".into(),
                kind: Some("work".into()),
                primary: true,
                display: None,
            }],
            ..Default::default()
        }
    }

    /// A value typed the way the gateway types a JSON value of the same shape.
    pub(crate) fn typed(value: Value) -> PatchValue {
        fn scalar(value: Value) -> Scalar {
            match value {
                Value::Null => Scalar::Null,
                Value::Bool(b) => Scalar::Bool(b),
                Value::Number(n) => Scalar::Number(n),
                Value::String(s) => Scalar::String(s),
                other => panic!("not a simple value: {other}"),
            }
        }
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) => PatchValue::ComplexList(
                items
                    .into_iter()
                    .map(|item| item.as_object().cloned().unwrap())
                    .collect(),
            ),
            Value::Array(items) => PatchValue::ScalarList(items.into_iter().map(scalar).collect()),
            Value::Object(object) => PatchValue::Complex(object),
            other => PatchValue::Scalar(scalar(other)),
        }
    }

    fn op(op: PatchOp, attribute: &str, sub: &str, value: Option<Value>) -> PatchOperation {
        PatchOperation {
            op,
            path: AttrPath {
                schema: String::new(),
                attribute: attribute.into(),
                sub_attribute: sub.into(),
            },
            value_filter: None,
            value: value.map(typed),
        }
    }

    fn type_eq(kind: &str) -> Filter {
        Filter::Compare {
            path: AttrPath {
                attribute: "type".into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: FilterValue::String(kind.into()),
        }
    }

    #[test]
    fn replaces_simple_attributes_and_deactivates() {
        let patched = apply_patch(
            &base(),
            &[
                op(PatchOp::Replace, "active", "", Some(json!(false))),
                op(PatchOp::Replace, "DISPLAYNAME", "", Some(json!("Alice A."))),
                op(PatchOp::Add, "name", "givenName", Some(json!("Alice"))),
            ],
        )
        .unwrap();
        assert_eq!(patched.active, Some(false));
        assert_eq!(patched.display_name.as_deref(), Some("Alice A."));
        assert_eq!(patched.name.given_name.as_deref(), Some("Alice"));
    }

    #[test]
    fn a_failing_operation_fails_the_whole_patch() {
        let result = apply_patch(
            &base(),
            &[
                op(PatchOp::Replace, "displayName", "", Some(json!("changed"))),
                op(PatchOp::Replace, "active", "", Some(json!("yes"))),
            ],
        );
        assert!(matches!(result, Err(DomainError::InvalidValue(_))));
    }

    #[test]
    fn errors_have_the_rfc_types() {
        let no_path = PatchOperation {
            path: AttrPath::default(),
            ..op(PatchOp::Remove, "", "", None)
        };
        assert!(matches!(
            apply_patch(&base(), &[no_path]),
            Err(DomainError::NoTarget(_))
        ));
        let read_only = op(PatchOp::Replace, "id", "", Some(json!("x")));
        assert!(matches!(
            apply_patch(&base(), &[read_only]),
            Err(DomainError::Mutability(_))
        ));
        let unknown = op(PatchOp::Replace, "favouriteColour", "", Some(json!("x")));
        assert!(matches!(
            apply_patch(&base(), &[unknown]),
            Err(DomainError::InvalidPath(_))
        ));
        let remove_user_name = op(PatchOp::Remove, "userName", "", None);
        assert!(matches!(
            apply_patch(&base(), &[remove_user_name]),
            Err(DomainError::InvalidValue(_))
        ));
    }

    #[test]
    fn value_filter_paths_update_or_create_the_targeted_value() {
        let mut work = op(
            PatchOp::Replace,
            "emails",
            "value",
            Some(json!("new@example.com")),
        );
        work.value_filter = Some(type_eq("work"));
        let patched = apply_patch(&base(), &[work]).unwrap();
        assert_eq!(patched.emails.len(), 1);
        assert_eq!(patched.emails[0].value, "new@example.com");
        assert!(patched.emails[0].primary);

        let mut home = op(
            PatchOp::Replace,
            "emails",
            "value",
            Some(json!("home@example.com")),
        );
        home.value_filter = Some(type_eq("home"));
        let patched = apply_patch(&base(), &[home]).unwrap();
        assert_eq!(patched.emails.len(), 2);
        assert_eq!(patched.emails[1].kind.as_deref(), Some("home"));

        let mut remove_work = op(PatchOp::Remove, "emails", "", None);
        remove_work.value_filter = Some(type_eq("work"));
        assert!(
            apply_patch(&base(), &[remove_work])
                .unwrap()
                .emails
                .is_empty()
        );
    }

    #[test]
    fn adding_a_value_already_present_changes_nothing() {
        let phone = json!({"value": "+1 555 0100", "type": "work"});
        let once = apply_patch(
            &base(),
            &[op(
                PatchOp::Add,
                "phoneNumbers",
                "",
                Some(json!([phone.clone()])),
            )],
        )
        .unwrap();
        assert_eq!(once.phone_numbers.len(), 1);
        assert!(!once.phone_numbers[0].primary);
        // the stored value carries the `primary: false` the server added; the same value
        // sent again (twice, in other key case, with a null display) is not added
        let again = apply_patch(
            &once,
            &[
                op(
                    PatchOp::Add,
                    "phoneNumbers",
                    "",
                    Some(json!([phone.clone(), phone.clone()])),
                ),
                op(
                    PatchOp::Add,
                    "phoneNumbers",
                    "",
                    Some(json!([{"Value": "+1 555 0100", "TYPE": "work", "display": null}])),
                ),
                op(
                    PatchOp::Add,
                    "emails",
                    "",
                    Some(json!([{"value": "alice@example.com", "type": "work", "primary": true}])),
                ),
            ],
        )
        .unwrap();
        assert_eq!(again.phone_numbers, once.phone_numbers);
        assert_eq!(again.emails, base().emails);
        // a different value (another type, or primary) is still added
        let other = apply_patch(
            &once,
            &[op(
                PatchOp::Add,
                "phoneNumbers",
                "",
                Some(json!([{"value": "+1 555 0100", "type": "home"}])),
            )],
        )
        .unwrap();
        assert_eq!(other.phone_numbers.len(), 2);
    }

    #[test]
    fn a_new_primary_takes_primary_from_the_others() {
        let add = op(
            PatchOp::Add,
            "emails",
            "",
            Some(json!([{"value": "second@example.com", "type": "home", "primary": true}])),
        );
        let patched = apply_patch(&base(), &[add]).unwrap();
        let primaries: Vec<_> = patched
            .emails
            .iter()
            .filter(|e| e.primary)
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(primaries, ["second@example.com"]);
    }

    #[test]
    fn removing_a_whole_extension_clears_it() {
        let mut profile = base();
        profile.enterprise.department = Some("R&D".into());
        profile
            .extensions
            .insert("urn:example:x".into(), json!({"a": 1}));
        let mut enterprise = op(PatchOp::Remove, "", "", None);
        enterprise.path.schema = ENTERPRISE_USER_SCHEMA.into();
        let mut custom = op(PatchOp::Remove, "", "", None);
        custom.path.schema = "urn:example:x".into();
        let patched = apply_patch(&profile, &[enterprise, custom]).unwrap();
        assert_eq!(patched.enterprise, Default::default());
        assert!(patched.extensions.is_empty());
    }

    #[test]
    fn enterprise_manager_takes_the_id_and_nothing_else() {
        let mut bare = op(PatchOp::Add, "manager", "", Some(json!("mgr-1")));
        bare.path.schema = ENTERPRISE_USER_SCHEMA.into();
        let patched = apply_patch(&base(), &[bare]).unwrap();
        assert_eq!(patched.enterprise.manager.unwrap().value, "mgr-1");
        let mut by_value = op(PatchOp::Replace, "manager", "value", Some(json!("mgr-2")));
        by_value.path.schema = ENTERPRISE_USER_SCHEMA.into();
        let mut department = op(PatchOp::Replace, "department", "", Some(json!("R&D")));
        department.path.schema = ENTERPRISE_USER_SCHEMA.into();
        let patched = apply_patch(&base(), &[by_value, department]).unwrap();
        assert_eq!(patched.enterprise.manager.unwrap().value, "mgr-2");
        assert_eq!(patched.enterprise.department.as_deref(), Some("R&D"));
        // The SCIM shapes of a manager ({"value": id}, Entra's list) are the gateway's to
        // resolve; here they are a type error.
        let mut object = op(PatchOp::Replace, "manager", "", Some(json!({"value": "m"})));
        object.path.schema = ENTERPRISE_USER_SCHEMA.into();
        assert!(matches!(
            apply_patch(&base(), &[object]),
            Err(DomainError::InvalidValue(_))
        ));
        // Unqualified, `manager` is no attribute of the core schema.
        let unqualified = op(PatchOp::Replace, "manager", "", Some(json!("m")));
        assert!(matches!(
            apply_patch(&base(), &[unqualified]),
            Err(DomainError::InvalidPath(_))
        ));
    }

    #[test]
    fn a_remove_listing_values_removes_only_those() {
        let mut profile = base();
        profile.emails.push(MultiValue {
            value: "home@example.com".into(),
            kind: Some("home".into()),
            primary: false,
            display: None,
        });
        let listed = op(
            PatchOp::Remove,
            "emails",
            "",
            Some(json!([{"value": "home@example.com"}])),
        );
        let patched = apply_patch(&profile, &[listed]).unwrap();
        assert_eq!(patched.emails.len(), 1);
        assert_eq!(patched.emails[0].value, "alice@example.com");
        let none_listed = PatchOperation {
            value: Some(PatchValue::ComplexList(Vec::new())),
            ..op(PatchOp::Remove, "emails", "", None)
        };
        assert_eq!(
            apply_patch(&profile, &[none_listed]).unwrap().emails.len(),
            2
        );
        let all = op(PatchOp::Remove, "emails", "", None);
        assert!(apply_patch(&profile, &[all]).unwrap().emails.is_empty());
    }

    #[test]
    fn unknown_extensions_and_verbatim_attributes_are_kept() {
        let mut custom = op(PatchOp::Add, "costCode", "", Some(json!("CC-1")));
        custom.path.schema = "urn:example:custom:1.0:User".into();
        let roles = op(
            PatchOp::Add,
            "roles",
            "",
            Some(json!([{"value": "admin", "primary": true}])),
        );
        let patched = apply_patch(&base(), &[custom, roles]).unwrap();
        assert_eq!(
            patched.extensions["urn:example:custom:1.0:User"],
            json!({"costCode": "CC-1"})
        );
        assert_eq!(
            patched.extensions["roles"],
            json!([{"value": "admin", "primary": true}])
        );
    }
}
