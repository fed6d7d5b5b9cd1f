//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) as a projection of the
//! rendered JSON. Names are matched case-insensitively; `id` and `schemas` are always
//! returned.

use serde_json::{Map, Value};

use super::filter::parse_attribute_path;
use super::{GROUP_SCHEMA, is_group_extension_urn, is_user_extension_urn};

/// Attributes returned whatever the client asks for.
const ALWAYS_RETURNED: &[&str] = &["id", "schemas"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    include: Vec<Vec<String>>,
    exclude: Vec<Vec<String>>,
}

impl Projection {
    /// Both parameters are comma-separated attribute paths (`userName`, `name.givenName`,
    /// `emails.value`, `urn:...:enterprise:2.0:User:department`, a bare extension URN).
    /// Names that do not parse select nothing.
    pub fn from_params(attributes: Option<&str>, excluded_attributes: Option<&str>) -> Self {
        Projection {
            include: attributes.map(parse_list).unwrap_or_default(),
            exclude: excluded_attributes.map(parse_list).unwrap_or_default(),
        }
    }

    pub fn from_lists(attributes: &[String], excluded_attributes: &[String]) -> Self {
        Projection {
            include: attributes.iter().filter_map(|a| key_path(a)).collect(),
            exclude: excluded_attributes
                .iter()
                .filter_map(|a| key_path(a))
                .collect(),
        }
    }

    /// `true` when the projection keeps the top-level `attribute` (or part of it), so that
    /// the gateway knows whether to have the directory load it at all (group `members`).
    pub fn returns(&self, attribute: &str) -> bool {
        let excluded = self
            .exclude
            .iter()
            .any(|path| path.len() == 1 && path[0].eq_ignore_ascii_case(attribute));
        let included = self.include.is_empty()
            || self
                .include
                .iter()
                .any(|path| path[0].eq_ignore_ascii_case(attribute));
        included && !excluded
    }

    pub fn apply(&self, resource: Value) -> Value {
        let resource = if self.include.is_empty() {
            resource
        } else {
            let mut out = Value::Object(Map::new());
            if let Value::Object(source) = &resource {
                for (key, value) in source {
                    if ALWAYS_RETURNED.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                        merge(&mut out, object_with(key.clone(), value.clone()));
                    }
                }
            }
            for path in &self.include {
                if let Some(selected) = select(&resource, path) {
                    merge(&mut out, selected);
                }
            }
            out
        };
        let mut resource = resource;
        for path in &self.exclude {
            let top_level_always = path.len() == 1
                && ALWAYS_RETURNED
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&path[0]));
            if !top_level_always {
                remove(&mut resource, path);
            }
        }
        resource
    }
}

fn parse_list(list: &str) -> Vec<Vec<String>> {
    list.split(',')
        .filter_map(|item| key_path(item.trim()))
        .collect()
}

/// `urn:ent:2.0:User:manager.value` → `["urn:ent:2.0:User", "manager", "value"]`;
/// the core schema prefix disappears.
fn key_path(item: &str) -> Option<Vec<String>> {
    if item.is_empty() {
        return None;
    }
    if is_user_extension_urn(item) || is_group_extension_urn(item) {
        return Some(vec![item.to_owned()]);
    }
    let path = parse_attribute_path(item).ok()?;
    let mut keys = Vec::with_capacity(3);
    // Core attributes are top-level keys whichever core schema qualifies them.
    if !path.schema.is_empty() && !path.schema.eq_ignore_ascii_case(GROUP_SCHEMA) {
        keys.push(path.schema);
    }
    keys.push(path.attribute);
    if !path.sub_attribute.is_empty() {
        keys.push(path.sub_attribute);
    }
    Some(keys)
}

fn object_with(key: String, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key, value);
    Value::Object(map)
}

fn find_key<'a>(map: &'a Map<String, Value>, wanted: &str) -> Option<&'a String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(wanted))
}

/// The part of `value` that `path` names, in the shape of `value`; arrays apply the path
/// to each element.
fn select(value: &Value, path: &[String]) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value.clone());
    };
    match value {
        Value::Object(map) => {
            let key = find_key(map, first)?;
            let selected = select(&map[key], rest)?;
            Some(object_with(key.clone(), selected))
        }
        Value::Array(items) => {
            let selected: Vec<Value> = items
                .iter()
                .map(|item| select(item, path).unwrap_or_else(|| Value::Object(Map::new())))
                .collect();
            if selected
                .iter()
                .all(|v| v.as_object().is_some_and(Map::is_empty))
            {
                None
            } else {
                Some(Value::Array(selected))
            }
        }
        _ => None,
    }
}

/// Deep merge: objects key by key, arrays of equal length element by element.
fn merge(target: &mut Value, addition: Value) {
    match (target, addition) {
        (Value::Object(existing), Value::Object(new)) => {
            for (key, value) in new {
                match existing.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        existing.insert(key, value);
                    }
                }
            }
        }
        (Value::Array(existing), Value::Array(new)) if existing.len() == new.len() => {
            for (slot, value) in existing.iter_mut().zip(new) {
                merge(slot, value);
            }
        }
        (target, addition) => *target = addition,
    }
}

fn remove(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) => {
            let Some(key) = find_key(map, first).cloned() else {
                return;
            };
            if rest.is_empty() {
                map.remove(&key);
            } else if let Some(child) = map.get_mut(&key) {
                remove(child, rest);
            }
        }
        Value::Array(items) => {
            for item in items {
                remove(item, path);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "userName": "a",
            "name": {"givenName": "G", "familyName": "F"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENT: {"department": "D", "manager": {"value": "m"}},
            "meta": {"resourceType": "User"},
        })
    }

    #[test]
    fn attributes_keeps_id_and_schemas_and_the_named_parts() {
        let table: Vec<(&str, Value)> = vec![
            ("id", json!({"schemas": user()["schemas"], "id": "u1"})),
            (
                "USERNAME",
                json!({"schemas": user()["schemas"], "id": "u1", "userName": "a"}),
            ),
            (
                "name.givenName, emails.value",
                json!({"schemas": user()["schemas"], "id": "u1", "name": {"givenName": "G"},
                       "emails": [{"value": "a@x"}, {"value": "b@x"}]}),
            ),
            (
                "emails.value,emails.type",
                json!({"schemas": user()["schemas"], "id": "u1", "emails": user()["emails"]}),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                json!({"schemas": user()["schemas"], "id": "u1", "userName": "a"}),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                json!({"schemas": user()["schemas"], "id": "u1", ENT: {"department": "D"}}),
            ),
            (
                ENT,
                json!({"schemas": user()["schemas"], "id": "u1", ENT: user()[ENT]}),
            ),
            ("nosuch", json!({"schemas": user()["schemas"], "id": "u1"})),
        ];
        for (attributes, want) in table {
            let got = Projection::from_params(Some(attributes), None).apply(user());
            assert_eq!(got, want, "{attributes}");
        }
    }

    #[test]
    fn knows_whether_members_are_returned() {
        let table: &[(Option<&str>, Option<&str>, bool)] = &[
            (None, None, true),
            (None, Some("members"), false),
            (None, Some("MEMBERS"), false),
            (None, Some("displayName, members"), false),
            (
                None,
                Some("urn:ietf:params:scim:schemas:core:2.0:Group:members"),
                false,
            ),
            // only the display of each member: they are still needed
            (None, Some("members.display"), true),
            (None, Some("externalId"), true),
            (Some("displayName"), None, false),
            (Some("id,displayName"), None, false),
            (Some("displayName,members"), None, true),
            (Some("members.value"), None, true),
            (Some("members"), Some("members"), false),
            (Some(""), None, true),
        ];
        for (attributes, excluded, want) in table {
            assert_eq!(
                Projection::from_params(*attributes, *excluded).returns("members"),
                *want,
                "{attributes:?} {excluded:?}"
            );
        }
        let group = json!({"schemas": ["s"], "id": "g", "displayName": "G",
                           "members": [{"value": "u", "display": "d"}]});
        assert_eq!(
            Projection::from_params(
                Some("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
                None
            )
            .apply(group),
            json!({"schemas": ["s"], "id": "g", "displayName": "G"})
        );
    }

    #[test]
    fn excluded_attributes_never_removes_id() {
        let got =
            Projection::from_params(None, Some("id,emails,name.familyName,Meta")).apply(user());
        assert_eq!(got["id"], "u1");
        assert!(got.get("emails").is_none());
        assert!(got.get("meta").is_none());
        assert_eq!(got["name"], json!({"givenName": "G"}));
        assert_eq!(
            Projection::from_params(None, None).apply(user()),
            user(),
            "no parameters: unchanged"
        );
    }
}
