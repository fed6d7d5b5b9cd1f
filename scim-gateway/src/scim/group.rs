//! SCIM Group JSON (RFC 7643 §4.2) ⇄ the typed `GroupAttributes` / `Group`.
//!
//! Input accepts what Okta and Entra send: Entra's ADSCIM URN in `schemas`, `meta` and `id`
//! (read-only, ignored), members with `$ref`, `display` and `type` (only `value` counts),
//! `members: null` for none. Output members carry `value`, `$ref` and `type: "User"`.

use directory_proto::json::struct_to_json;
use directory_proto::v1::{Group, GroupAttributes, GroupMember, GroupRef};
use serde_json::{Map, Value};

use super::etag::weak_etag;
use super::json::{
    check_resource_schemas, optional_string, timestamp_to_rfc3339, validate_schemas,
};
use super::{
    ADSCIM_GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ScimError, USER_SCHEMA,
    group_location, user_location,
};

/// Attribute names (lower case) the typed fields or the server own: an `extensions` entry
/// with one of these names is never rendered.
const OWNED_ATTRIBUTES: &[&str] = &[
    "schemas",
    "id",
    "externalid",
    "meta",
    "displayname",
    "members",
];

/// Parses a POST/PUT body into the attributes a create or a full replacement carries
/// (members included: a PUT replaces the member list).
pub fn group_attributes_from_json(body: Value) -> Result<GroupAttributes, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    check_resource_schemas(
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
            .map(|(_, v)| v),
        GROUP_SCHEMA,
        is_group_schema_extension,
    )?;
    let mut builder = GroupBuilder::default();
    for (key, value) in map {
        builder.apply(&key, value)?;
    }
    builder.finish()
}

/// A schema URN a group's `schemas` may list besides the core one: Entra's ADSCIM URN
/// only. A workspace declares extension schemas for its users, never for groups, so any
/// other URN is unknown (400 invalidValue) and nothing is stored under it.
fn is_group_schema_extension(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(ADSCIM_GROUP_SCHEMA)
}

#[derive(Default)]
struct GroupBuilder {
    display_name: Option<String>,
    external_id: Option<String>,
    members: Vec<GroupMember>,
}

impl GroupBuilder {
    fn apply(&mut self, key: &str, value: Value) -> Result<(), ScimError> {
        let lower = key.to_ascii_lowercase();
        let core_prefix = format!("{}:", GROUP_SCHEMA.to_ascii_lowercase());
        match lower.as_str() {
            // Any schema URNs (Entra adds its ADSCIM one); only the shape is checked.
            "schemas" => validate_schemas(&value)?,
            // Read-only: PUT bodies and Entra's create carry them.
            "id" | "meta" => {}
            "displayname" => self.display_name = optional_string("displayName", value)?,
            "externalid" => self.external_id = optional_string("externalId", value)?,
            "members" => self.members = members_from_json(value)?,
            _ if lower == GROUP_SCHEMA.to_ascii_lowercase() => match value {
                // The core schema spelled as a container: apply its members.
                Value::Object(inner) => {
                    for (inner_key, inner_value) in inner {
                        if inner_key.eq_ignore_ascii_case("schemas") {
                            continue;
                        }
                        self.apply(&inner_key, inner_value)?;
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "attribute '{GROUP_SCHEMA}' must be an object"
                    )));
                }
            },
            _ if lower.starts_with(&core_prefix) => {
                let name = &key[core_prefix.len()..];
                if name.contains(':') || name.eq_ignore_ascii_case("schemas") {
                    return Err(ScimError::invalid_value(format!(
                        "'{key}' is not an attribute of the Group schema"
                    )));
                }
                self.apply(name, value)?;
            }
            // User schemas have no place in a group: ignored like other user attributes.
            _ if is_user_schema_key(&lower) => {}
            // No group extension schema exists in a workspace: refused, never stored.
            _ if lower.starts_with("urn:") => {
                return Err(ScimError::invalid_value(format!(
                    "'{key}' is not a schema or attribute of a group in this workspace"
                )));
            }
            // Anything else (e.g. a user attribute sent by mistake) has no place in a group.
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<GroupAttributes, ScimError> {
        let Some(display_name) = self.display_name else {
            return Err(ScimError::invalid_value(
                "attribute 'displayName' is required",
            ));
        };
        if display_name.trim().is_empty() {
            return Err(ScimError::invalid_value(
                "attribute 'displayName' must not be empty",
            ));
        }
        Ok(GroupAttributes {
            display_name,
            external_id: self.external_id,
            members: self.members,
            extensions: None,
        })
    }
}

/// The core or enterprise User schema, or one of their attributes (`lower` is lower case).
fn is_user_schema_key(lower: &str) -> bool {
    [USER_SCHEMA, ENTERPRISE_USER_SCHEMA].iter().any(|schema| {
        let schema = schema.to_ascii_lowercase();
        lower == schema
            || lower
                .strip_prefix(&schema)
                .is_some_and(|rest| rest.starts_with(':'))
    })
}

/// `[{"value": id, "display": .., "$ref": .., "type": ..}]`; `null` means no members.
/// Only `value` is read: the directory knows each member's userName.
fn members_from_json(value: Value) -> Result<Vec<GroupMember>, ScimError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(ScimError::invalid_value(
                "attribute 'members' must be an array of {\"value\": \"<user id>\"} objects",
            ));
        }
    };
    let mut members = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::Null => {}
            other => members.push(GroupMember {
                value: member_value(&other).map_err(|detail| {
                    ScimError::invalid_value(format!("members[{index}]: {detail}"))
                })?,
                display: String::new(),
            }),
        }
    }
    Ok(members)
}

/// The user id of one member object (`value`, matched case-insensitively).
pub(crate) fn member_value(item: &Value) -> Result<String, &'static str> {
    let Value::Object(map) = item else {
        return Err("a member must be an object with a 'value'");
    };
    match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
        Some((_, Value::String(id))) if !id.trim().is_empty() => Ok(id.clone()),
        Some((_, Value::String(_))) => Err("'value' must not be empty"),
        Some(_) => Err("'value' must be a string (the user id)"),
        None => Err("a member needs a 'value' (the user id)"),
    }
}

// ---------------------------------------------------------------- rendering

/// Renders a directory group as SCIM JSON. `members` is present only when the directory
/// loaded them (`members_included`) and there are any; nothing is ever `null`.
pub fn group_to_json(group: &Group, base_url: &str) -> Value {
    let mut out = Map::new();
    let default_attributes = GroupAttributes::default();
    let a = group.attributes.as_ref().unwrap_or(&default_attributes);

    let mut schemas = vec![Value::from(GROUP_SCHEMA)];
    if let Some(extensions) = &a.extensions {
        for (key, value) in struct_to_json(extensions.clone()) {
            let lower = key.to_ascii_lowercase();
            if value.is_null()
                || OWNED_ATTRIBUTES.contains(&lower.as_str())
                || lower == GROUP_SCHEMA.to_ascii_lowercase()
            {
                continue;
            }
            if lower.starts_with("urn:") {
                schemas.push(Value::from(key.clone()));
            }
            out.insert(key, value);
        }
    }

    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::from(group.id.clone()));
    if let Some(external_id) = &a.external_id {
        out.insert("externalId".into(), Value::from(external_id.clone()));
    }
    out.insert("displayName".into(), Value::from(a.display_name.clone()));
    if group.members_included && !a.members.is_empty() {
        let members = a
            .members
            .iter()
            .map(|m| member_to_json(&m.value, base_url))
            .collect();
        out.insert("members".into(), Value::Array(members));
    }

    let mut meta = Map::new();
    meta.insert("resourceType".into(), Value::from("Group"));
    if let Some(created) = group.created.as_ref().and_then(timestamp_to_rfc3339) {
        meta.insert("created".into(), Value::from(created));
    }
    if let Some(modified) = group.last_modified.as_ref().and_then(timestamp_to_rfc3339) {
        meta.insert("lastModified".into(), Value::from(modified));
    }
    meta.insert(
        "location".into(),
        Value::from(group_location(base_url, &group.id)),
    );
    meta.insert("version".into(), Value::from(weak_etag(group.version)));
    out.insert("meta".into(), Value::Object(meta));
    Value::Object(out)
}

/// One entry of a group's `members`.
pub fn member_to_json(user_id: &str, base_url: &str) -> Value {
    let mut member = Map::new();
    // No `display`: RFC 7643 §8.7.1 gives Group members value, $ref and type
    // only, and clients compare what they wrote with what they read back.
    member.insert("value".into(), Value::from(user_id));
    member.insert("$ref".into(), Value::from(user_location(base_url, user_id)));
    member.insert("type".into(), Value::from("User"));
    Value::Object(member)
}

/// A group document cut where its `members` array goes, for writing the members in
/// between as they arrive: `prefix` ends with `"members":[`, `suffix` starts with `]`.
/// `document` is the rendered (and projected) group without `members`; the array lands
/// where serializing the whole object would put it, so the streamed document is the
/// buffered one byte for byte.
pub fn split_at_members(document: &Value) -> (Vec<u8>, Vec<u8>) {
    let mut prefix = b"{".to_vec();
    let mut suffix = b"]".to_vec();
    let mut members_written = false;
    let mut first = true;
    let entries = document.as_object().into_iter().flatten();
    let write_entry = |out: &mut Vec<u8>, first: &mut bool, key: &str, value: &Value| {
        if !*first {
            out.push(b',');
        }
        *first = false;
        // A string key and a `Value` always serialize.
        out.extend(serde_json::to_vec(key).unwrap_or_default());
        out.push(b':');
        out.extend(serde_json::to_vec(value).unwrap_or_default());
    };
    // Where `members` falls among the keys depends on serde_json's map order; find it by
    // building the same map with a placeholder.
    let mut probe = document.as_object().cloned().unwrap_or_default();
    probe.insert("members".into(), Value::Null);
    let members_index = probe.keys().position(|k| k == "members").unwrap_or(0);
    for (index, (key, value)) in entries.enumerate() {
        if index == members_index && !members_written {
            if !first {
                prefix.push(b',');
            }
            prefix.extend(br#""members":["#);
            members_written = true;
            first = false;
        }
        if members_written {
            write_entry(&mut suffix, &mut false, key, value);
        } else {
            write_entry(&mut prefix, &mut first, key, value);
        }
    }
    if !members_written {
        if !first {
            prefix.push(b',');
        }
        prefix.extend(br#""members":["#);
    }
    suffix.push(b'}');
    (prefix, suffix)
}

/// A user's read-only `groups` (RFC 7643 §4.1.2): direct memberships only.
pub fn user_groups_to_json(groups: &[GroupRef], base_url: &str) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| {
                let mut m = Map::new();
                m.insert("value".into(), Value::from(g.value.clone()));
                if !g.display.is_empty() {
                    m.insert("display".into(), Value::from(g.display.clone()));
                }
                m.insert(
                    "$ref".into(),
                    Value::from(group_location(base_url, &g.value)),
                );
                m.insert("type".into(), Value::from("direct"));
                Value::Object(m)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::projection::Projection;
    use crate::scim::{ADSCIM_GROUP_SCHEMA, ScimType};
    use directory_proto::json::struct_from_json;
    use serde_json::json;

    const A: &str = "23a35c27-23d3-4c03-b4c5-6443c09e7173";
    const B: &str = "89bb1940-b905-4575-9e7f-6f887cfb368e";

    /// The streamed `GET /Groups/{id}` writes prefix, members and suffix: byte for byte
    /// the buffered document, whatever the projection keeps around `members`.
    #[test]
    fn a_document_split_at_members_is_the_buffered_document() {
        let base = "https://scim.test/scim/v2";
        let group = Group {
            id: "g1".into(),
            version: 7,
            members_included: true,
            attributes: Some(GroupAttributes {
                display_name: "Engineering".into(),
                external_id: Some("ext-1".into()),
                members: [A, B]
                    .iter()
                    .map(|id| GroupMember {
                        value: (*id).into(),
                        display: String::new(),
                    })
                    .collect(),
                extensions: None,
            }),
            ..Default::default()
        };
        let without_members = Group {
            members_included: false,
            ..group.clone()
        };
        for projection in [
            Projection::from_params(None, None),
            Projection::from_params(Some("members"), None),
            Projection::from_params(Some("displayName,members"), None),
            Projection::from_params(None, Some("externalId,meta")),
        ] {
            let buffered =
                serde_json::to_vec(&projection.apply(group_to_json(&group, base))).unwrap();
            let (prefix, suffix) =
                split_at_members(&projection.apply(group_to_json(&without_members, base)));
            let mut streamed = prefix;
            streamed.extend(serde_json::to_vec(&member_to_json(A, base)).unwrap());
            streamed.push(b',');
            streamed.extend(serde_json::to_vec(&member_to_json(B, base)).unwrap());
            streamed.extend(suffix);
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(buffered).unwrap(),
                "{projection:?}"
            );
        }
    }

    fn parse(mut body: Value) -> Result<GroupAttributes, ScimError> {
        if let Value::Object(map) = &mut body
            && !map.keys().any(|k| k.eq_ignore_ascii_case("schemas"))
        {
            map.insert("schemas".into(), json!([GROUP_SCHEMA]));
        }

        group_attributes_from_json(body)
    }

    fn member_ids(attributes: &GroupAttributes) -> Vec<&str> {
        attributes
            .members
            .iter()
            .map(|m| m.value.as_str())
            .collect()
    }

    fn invalid_value_mentioning(body: Value, fragment: &str) {
        let err = parse(body.clone()).expect_err(&body.to_string());
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{body}");
        assert_eq!(err.status.as_u16(), 400);
        assert!(err.detail.contains(fragment), "{body}: {}", err.detail);
    }

    #[test]
    fn schemas_are_required_and_must_name_the_group_schema() {
        for schemas in [
            None,
            Some(json!([])),
            Some(json!([USER_SCHEMA])),
            Some(json!([GROUP_SCHEMA, USER_SCHEMA])),
            Some(json!([GROUP_SCHEMA, "urn:example:acme:2.0:User"])),
        ] {
            let mut body = json!({"displayName": "g"});
            if let Some(schemas) = &schemas {
                body["schemas"] = schemas.clone();
            }
            let err = group_attributes_from_json(body).expect_err(&format!("{schemas:?}"));
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{schemas:?}");
        }
        group_attributes_from_json(json!({
            "schemas": [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA], "displayName": "g"
        }))
        .unwrap();
    }

    #[test]
    fn parses_okta_push_bodies() {
        let created = parse(json!({
            "schemas": [GROUP_SCHEMA], "displayName": "Test SCIMv2", "members": []
        }))
        .unwrap();
        assert_eq!(
            created,
            GroupAttributes {
                display_name: "Test SCIMv2".into(),
                ..Default::default()
            }
        );

        // AIW full PUT: members with display; id and meta as read back.
        let put = parse(json!({
            "schemas": [GROUP_SCHEMA], "id": "abf4dd94", "displayName": "Test SCIMv2",
            "members": [{"value": A, "display": "test.user@okta.local"}, {"value": B}],
            "meta": {"resourceType": "Group"}
        }))
        .unwrap();
        assert_eq!(put.display_name, "Test SCIMv2");
        assert_eq!(member_ids(&put), vec![A, B]);
        assert!(
            put.members.iter().all(|m| m.display.is_empty()),
            "display is the directory's"
        );
        assert!(put.extensions.is_none());
    }

    #[test]
    fn parses_entra_create_body_with_adscim_urn() {
        let attributes = parse(json!({
            "schemas": [GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        }))
        .unwrap();
        assert_eq!(
            attributes,
            GroupAttributes {
                display_name: "displayName".into(),
                external_id: Some("8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159".into()),
                members: vec![],
                extensions: None,
            }
        );
    }

    #[test]
    fn member_objects_only_count_their_value() {
        let attributes = parse(json!({
            "DISPLAYNAME": "g",
            "Members": [
                {"$ref": null, "value": A},
                {"VALUE": B, "$ref": "https://x/scim/v2/Users/b", "type": "User", "display": "b"},
                null
            ]
        }))
        .unwrap();
        assert_eq!(member_ids(&attributes), vec![A, B]);
        assert!(
            parse(json!({"displayName": "g", "members": null}))
                .unwrap()
                .members
                .is_empty()
        );
    }

    #[test]
    fn requires_display_name() {
        invalid_value_mentioning(json!({}), "displayName");
        invalid_value_mentioning(json!({"displayName": null}), "displayName");
        invalid_value_mentioning(json!({"displayName": " "}), "displayName");
        invalid_value_mentioning(json!({"displayName": 5}), "displayName");
        invalid_value_mentioning(
            json!({"schemas": [GROUP_SCHEMA], "members": [{"value": A}]}),
            "displayName",
        );
    }

    #[test]
    fn rejects_wrong_member_shapes() {
        for members in [
            json!("u1"),
            json!({"value": A}),
            json!(5),
            json!(["u1"]),
            json!([{"display": "x"}]),
            json!([{"value": 7}]),
            json!([{"value": ""}]),
            json!([{"value": null}]),
            json!([[{"value": A}]]),
        ] {
            invalid_value_mentioning(json!({"displayName": "g", "members": members}), "member");
        }
        invalid_value_mentioning(json!({"displayName": "g", "externalId": 1}), "externalId");
    }

    #[test]
    fn rejects_non_objects_and_bad_schemas_as_invalid_syntax() {
        for body in [
            json!([]),
            json!("x"),
            json!({"displayName": "g", "schemas": GROUP_SCHEMA}),
            json!({"displayName": "g", "schemas": [1]}),
        ] {
            let err = parse(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax), "{body}");
        }
    }

    #[test]
    fn qualified_names_and_unknown_extensions() {
        let attributes = parse(json!({
            format!("{GROUP_SCHEMA}:displayName"): "g",
            GROUP_SCHEMA: {"externalId": "e"},
            "nickName": "ignored",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "ignored",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"},
        }))
        .unwrap();
        assert_eq!(attributes.display_name, "g");
        assert_eq!(attributes.external_id.as_deref(), Some("e"));
        assert!(attributes.extensions.is_none());

        // A workspace declares no group extension schema: an extension in the body (whole,
        // one attribute, null, listed in `schemas` or not) is refused, never stored.
        let acme = "urn:example:params:scim:schemas:extension:acme:2.0:Group";
        for body in [
            json!({"displayName": "g", acme: {"cost": 7}}),
            json!({"displayName": "g", format!("{acme}:floor"): 3}),
            json!({"displayName": "g", acme: null}),
            json!({"displayName": "g", acme: "flat"}),
            json!({"schemas": [GROUP_SCHEMA, acme], "displayName": "g", acme: {"cost": 7}}),
            json!({"schemas": [GROUP_SCHEMA, "urn:example:groupext"], "displayName": "g",
                   "urn:example:groupext": {"tier": "gold"}}),
            json!({"displayName": "g", GROUP_SCHEMA: {acme: {"cost": 7}}}),
        ] {
            let err = parse(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{body}");
        }
        // ... and so is an unknown URN listed in `schemas` alone.
        for listed in [acme, "urn:example:groupext", ENTERPRISE_USER_SCHEMA] {
            let err = group_attributes_from_json(json!({
                "schemas": [GROUP_SCHEMA, listed], "displayName": "g"
            }))
            .expect_err(listed);
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{listed}");
        }
    }

    fn sample_group(members_included: bool) -> Group {
        Group {
            id: "g-1".into(),
            workspace_id: "w-1".into(),
            attributes: Some(GroupAttributes {
                display_name: "Engineering".into(),
                external_id: Some("ext-9".into()),
                members: if members_included {
                    vec![
                        GroupMember {
                            value: "u-1".into(),
                            display: "a@example.com".into(),
                        },
                        GroupMember {
                            value: "u 2".into(),
                            display: String::new(),
                        },
                    ]
                } else {
                    vec![]
                },
                extensions: Some(struct_from_json(
                    json!({"urn:example:acme:2.0:Group": {"cost": 7}, "members": "bogus"})
                        .as_object()
                        .unwrap()
                        .clone(),
                )),
            }),
            created: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            last_modified: Some(prost_types::Timestamp {
                seconds: 1_700_000_005,
                nanos: 0,
            }),
            version: 4,
            members_included,
            ..Default::default()
        }
    }

    #[test]
    fn renders_group_with_members() {
        let out = group_to_json(&sample_group(true), "https://scim.example.com");
        assert_eq!(
            out,
            json!({
                "schemas": [GROUP_SCHEMA, "urn:example:acme:2.0:Group"],
                "id": "g-1",
                "externalId": "ext-9",
                "displayName": "Engineering",
                "urn:example:acme:2.0:Group": {"cost": 7},
                "members": [
                    {"value": "u-1",
                     "$ref": "https://scim.example.com/scim/v2/Users/u-1", "type": "User"},
                    {"value": "u 2",
                     "$ref": "https://scim.example.com/scim/v2/Users/u%202", "type": "User"},
                ],
                "meta": {
                    "resourceType": "Group",
                    "created": "2023-11-14T22:13:20Z",
                    "lastModified": "2023-11-14T22:13:25Z",
                    "location": "https://scim.example.com/scim/v2/Groups/g-1",
                    "version": "W/\"4\"",
                },
            })
        );
    }

    #[test]
    fn renders_group_without_members_when_excluded_or_empty() {
        let out = group_to_json(&sample_group(false), "https://h");
        assert!(out.get("members").is_none(), "{out}");
        assert_eq!(out["displayName"], "Engineering");
        assert!(!out.to_string().contains("null"));

        let mut empty = sample_group(true);
        empty.attributes.as_mut().unwrap().members.clear();
        assert!(group_to_json(&empty, "https://h").get("members").is_none());

        // excludedAttributes=members also removes them from a loaded group.
        let projected = Projection::from_params(None, Some("members"))
            .apply(group_to_json(&sample_group(true), "https://h"));
        assert!(projected.get("members").is_none());
        assert_eq!(projected["id"], "g-1");
    }

    #[test]
    fn renders_user_groups() {
        let groups = vec![GroupRef {
            value: "g-1".into(),
            display: "Engineering".into(),
        }];
        assert_eq!(
            user_groups_to_json(&groups, "https://h"),
            json!([{"value": "g-1", "display": "Engineering",
                    "$ref": "https://h/scim/v2/Groups/g-1", "type": "direct"}])
        );
    }
}
