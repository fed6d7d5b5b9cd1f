//! SCIM User JSON (RFC 7643 §4.1, §4.3) ⇄ the typed `UserAttributes` / `User`.
//!
//! Input is lenient in the ways real IdPs need (names case-insensitive, `null` means
//! unassigned, Entra's `"True"`/`"False"` strings, Entra's bare-string manager, Okta's
//! `password` and `groups` accepted and ignored) and strict about JSON types.

use directory_proto::json::{struct_from_json, struct_to_json};
use directory_proto::v1::{
    EnterpriseUser, Filter, FilterList, Manager, MultiValue, Name, User, UserAttributes,
};
use serde_json::{Map, Value};

use super::attributes::{self, Storage};
use super::etag::weak_etag;
use super::group::user_groups_to_json;
use super::json::{
    check_resource_schemas, merge_extension, optional_bool, optional_string, timestamp_to_rfc3339,
    type_error, validate_schemas,
};
use super::{ENTERPRISE_USER_SCHEMA, ScimError, USER_SCHEMA, is_user_extension_urn, user_location};

/// Common attributes (RFC 7643 §3.1): the server's or typed fields.
const COMMON_ATTRIBUTES: &[&str] = &["schemas", "id", "externalId", "meta"];

/// `true` for a name that the typed fields or the server own: an `extensions` entry with
/// such a name is never rendered.
fn is_owned(key: &str) -> bool {
    COMMON_ATTRIBUTES
        .iter()
        .any(|c| c.eq_ignore_ascii_case(key))
        || attributes::find(attributes::USER, key).is_some_and(|a| a.storage != Storage::Verbatim)
}

/// The weak entity tag derived from the directory's version counter.
pub fn user_etag(version: i64) -> String {
    weak_etag(version)
}

/// Parses a POST/PUT body into the attributes a create or a full replacement carries.
/// `active` defaults to true; read-only attributes and `password` are dropped.
pub fn user_attributes_from_json(body: Value) -> Result<UserAttributes, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    check_resource_schemas(
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
            .map(|(_, v)| v),
        USER_SCHEMA,
        is_user_schema_extension,
    )?;
    let mut builder = UserBuilder::default();
    for (key, value) in map {
        builder.apply(&key, value)?;
    }
    builder.finish()
}

/// A schema URN a user's `schemas` may list besides the core one: the enterprise
/// extension or another `urn:...:User` extension (the directory refuses the values of
/// extensions the workspace did not declare).
fn is_user_schema_extension(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA) || is_user_extension_urn(urn)
}

#[derive(Default)]
struct UserBuilder {
    user_name: Option<String>,
    attributes: UserAttributes,
    active: Option<bool>,
    extensions: Map<String, Value>,
}

impl UserBuilder {
    fn apply(&mut self, key: &str, value: Value) -> Result<(), ScimError> {
        let lower = key.to_ascii_lowercase();
        let core_prefix = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
        let enterprise_prefix = format!("{}:", ENTERPRISE_USER_SCHEMA.to_ascii_lowercase());
        let a = &mut self.attributes;
        match lower.as_str() {
            "schemas" => validate_schemas(&value)?,
            // Read-only or write-only: accepted and ignored (Okta always sends `password`
            // and `groups: []`, PUT bodies carry `id` and `meta`). Never logged.
            "id" | "meta" | "groups" => {}
            "password" => {
                optional_string("password", value)?;
            }
            "username" => self.user_name = optional_string("userName", value)?,
            "externalid" => a.external_id = optional_string("externalId", value)?,
            "name" => a.name = name_from_json(value)?,
            "displayname" => a.display_name = optional_string("displayName", value)?,
            "nickname" => a.nick_name = optional_string("nickName", value)?,
            "profileurl" => a.profile_url = optional_string("profileUrl", value)?,
            "title" => a.title = optional_string("title", value)?,
            "usertype" => a.user_type = optional_string("userType", value)?,
            "preferredlanguage" => {
                a.preferred_language = optional_string("preferredLanguage", value)?
            }
            "locale" => a.locale = optional_string("locale", value)?,
            "timezone" => a.timezone = optional_string("timezone", value)?,
            "active" => self.active = optional_bool("active", value)?,
            "emails" => a.emails = multi_values_from_json("emails", value)?,
            "phonenumbers" => a.phone_numbers = multi_values_from_json("phoneNumbers", value)?,
            _ if lower == USER_SCHEMA.to_ascii_lowercase() => match value {
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
                _ => return Err(type_error(USER_SCHEMA, "an object")),
            },
            _ if lower.starts_with(&core_prefix) => {
                let name = &key[core_prefix.len()..];
                if name.contains(':') || name.eq_ignore_ascii_case("schemas") {
                    return Err(ScimError::invalid_value(format!(
                        "'{key}' is not an attribute of the User schema"
                    )));
                }
                self.apply(name, value)?;
            }
            _ if lower == ENTERPRISE_USER_SCHEMA.to_ascii_lowercase() => {
                a.enterprise = enterprise_from_json(value)?;
            }
            _ if lower.starts_with(&enterprise_prefix) => {
                let name = &key[enterprise_prefix.len()..];
                let enterprise = a.enterprise.get_or_insert_with(EnterpriseUser::default);
                apply_enterprise_attribute(enterprise, name, value)?;
                if is_empty_enterprise(enterprise) {
                    a.enterprise = None;
                }
            }
            _ => self.keep_verbatim(key, value)?,
        }
        Ok(())
    }

    /// Attributes without typed fields (and other extension schemas) are kept as sent.
    fn keep_verbatim(&mut self, key: &str, value: Value) -> Result<(), ScimError> {
        if value.is_null() {
            return Ok(());
        }
        let is_urn = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        if is_urn && is_user_extension_urn(key) {
            if !value.is_object() {
                return Err(type_error(key, "an object (an extension schema)"));
            }
            merge_extension(&mut self.extensions, key, value);
            return Ok(());
        }
        if is_urn {
            // `urn:...:2.0:User:attr` of an extension without typed fields.
            let Some((schema, attribute)) = key.rsplit_once(':') else {
                return Err(ScimError::invalid_value(format!(
                    "'{key}' is not an attribute"
                )));
            };
            let mut inner = Map::new();
            inner.insert(attribute.to_owned(), value);
            merge_extension(&mut self.extensions, schema, Value::Object(inner));
            return Ok(());
        }
        let canonical = match attributes::find(attributes::USER, key)
            .filter(|a| a.storage == Storage::Verbatim)
        {
            Some(attribute) => {
                attributes::check_value(attribute, attribute.name, &value)?;
                attribute.name.to_owned()
            }
            None => key.to_owned(),
        };
        self.extensions.insert(canonical, value);
        Ok(())
    }

    fn finish(self) -> Result<UserAttributes, ScimError> {
        let Some(user_name) = self.user_name else {
            return Err(ScimError::invalid_value("attribute 'userName' is required"));
        };
        if user_name.trim().is_empty() {
            return Err(ScimError::invalid_value(
                "attribute 'userName' must not be empty",
            ));
        }
        let mut attributes = self.attributes;
        attributes.user_name = user_name;
        // A user is created active unless told otherwise (every IdP sends it anyway).
        attributes.active = Some(self.active.unwrap_or(true));
        if !self.extensions.is_empty() {
            attributes.extensions = Some(struct_from_json(self.extensions));
        }
        Ok(attributes)
    }
}

fn name_from_json(value: Value) -> Result<Option<Name>, ScimError> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(type_error("name", "an object")),
    };
    let mut name = Name::default();
    for (key, value) in map {
        match key.to_ascii_lowercase().as_str() {
            "formatted" => name.formatted = optional_string("name.formatted", value)?,
            "familyname" => name.family_name = optional_string("name.familyName", value)?,
            "givenname" => name.given_name = optional_string("name.givenName", value)?,
            "middlename" => name.middle_name = optional_string("name.middleName", value)?,
            "honorificprefix" => {
                name.honorific_prefix = optional_string("name.honorificPrefix", value)?
            }
            "honorificsuffix" => {
                name.honorific_suffix = optional_string("name.honorificSuffix", value)?
            }
            _ => {}
        }
    }
    Ok((name != Name::default()).then_some(name))
}

fn multi_values_from_json(attribute: &str, value: Value) -> Result<Vec<MultiValue>, ScimError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(type_error(attribute, "an array")),
    };
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let map = match item {
            Value::Null => continue,
            Value::Object(map) => map,
            _ => return Err(type_error(attribute, "an array of objects")),
        };
        let mut entry = MultiValue::default();
        let mut has_value = false;
        for (key, value) in map {
            match key.to_ascii_lowercase().as_str() {
                "value" => {
                    if let Some(v) = optional_string(&format!("{attribute}.value"), value)? {
                        entry.value = v;
                        has_value = true;
                    }
                }
                "type" => entry.r#type = optional_string(&format!("{attribute}.type"), value)?,
                "primary" => {
                    entry.primary =
                        optional_bool(&format!("{attribute}.primary"), value)?.unwrap_or(false)
                }
                "display" => {
                    entry.display = optional_string(&format!("{attribute}.display"), value)?
                }
                _ => {}
            }
        }
        // An entry without a value carries nothing to store.
        if has_value {
            values.push(entry);
        }
    }
    Ok(values)
}

fn enterprise_from_json(value: Value) -> Result<Option<EnterpriseUser>, ScimError> {
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(type_error(ENTERPRISE_USER_SCHEMA, "an object")),
    };
    let mut enterprise = EnterpriseUser::default();
    for (key, value) in map {
        apply_enterprise_attribute(&mut enterprise, &key, value)?;
    }
    Ok((!is_empty_enterprise(&enterprise)).then_some(enterprise))
}

fn apply_enterprise_attribute(
    enterprise: &mut EnterpriseUser,
    key: &str,
    value: Value,
) -> Result<(), ScimError> {
    match key.to_ascii_lowercase().as_str() {
        "employeenumber" => enterprise.employee_number = optional_string("employeeNumber", value)?,
        "costcenter" => enterprise.cost_center = optional_string("costCenter", value)?,
        "organization" => enterprise.organization = optional_string("organization", value)?,
        "division" => enterprise.division = optional_string("division", value)?,
        "department" => enterprise.department = optional_string("department", value)?,
        "manager" => enterprise.manager = manager_from_json(value)?,
        _ => {}
    }
    Ok(())
}

fn is_empty_enterprise(enterprise: &EnterpriseUser) -> bool {
    *enterprise == EnterpriseUser::default()
}

/// `{"value": "id", "displayName": .., "$ref": ..}` or Entra's bare `"id"`.
fn manager_from_json(value: Value) -> Result<Option<Manager>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(id) if id.is_empty() => Ok(None),
        Value::String(id) => Ok(Some(Manager {
            value: id,
            display_name: None,
        })),
        Value::Object(map) => {
            let mut manager = Manager::default();
            for (key, value) in map {
                match key.to_ascii_lowercase().as_str() {
                    "value" => {
                        manager.value = optional_string("manager.value", value)?.unwrap_or_default()
                    }
                    "displayname" => {
                        manager.display_name = optional_string("manager.displayName", value)?
                    }
                    _ => {}
                }
            }
            Ok((!manager.value.is_empty()).then_some(manager))
        }
        _ => Err(type_error("manager", "an object or a string")),
    }
}

// ---------------------------------------------------------------- rendering

/// Renders a directory user as SCIM JSON. Unset attributes are omitted, never `null`.
pub fn user_to_json(user: &User, base_url: &str) -> Value {
    let mut out = Map::new();
    let default_attributes = UserAttributes::default();
    let a = user.attributes.as_ref().unwrap_or(&default_attributes);

    let mut schemas = vec![Value::from(USER_SCHEMA)];
    let enterprise = a.enterprise.as_ref().filter(|e| !is_empty_enterprise(e));
    if enterprise.is_some() {
        schemas.push(Value::from(ENTERPRISE_USER_SCHEMA));
    }

    if let Some(extensions) = &a.extensions {
        for (key, value) in struct_to_json(extensions.clone()) {
            let lower = key.to_ascii_lowercase();
            if value.is_null()
                || is_owned(&key)
                || lower == ENTERPRISE_USER_SCHEMA.to_ascii_lowercase()
                || lower == USER_SCHEMA.to_ascii_lowercase()
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
    out.insert("id".into(), Value::from(user.id.clone()));
    insert_opt(&mut out, "externalId", &a.external_id);
    out.insert("userName".into(), Value::from(a.user_name.clone()));
    if let Some(name) = &a.name {
        let mut n = Map::new();
        insert_opt(&mut n, "formatted", &name.formatted);
        insert_opt(&mut n, "familyName", &name.family_name);
        insert_opt(&mut n, "givenName", &name.given_name);
        insert_opt(&mut n, "middleName", &name.middle_name);
        insert_opt(&mut n, "honorificPrefix", &name.honorific_prefix);
        insert_opt(&mut n, "honorificSuffix", &name.honorific_suffix);
        if !n.is_empty() {
            out.insert("name".into(), Value::Object(n));
        }
    }
    insert_opt(&mut out, "displayName", &a.display_name);
    insert_opt(&mut out, "nickName", &a.nick_name);
    insert_opt(&mut out, "profileUrl", &a.profile_url);
    insert_opt(&mut out, "title", &a.title);
    insert_opt(&mut out, "userType", &a.user_type);
    insert_opt(&mut out, "preferredLanguage", &a.preferred_language);
    insert_opt(&mut out, "locale", &a.locale);
    insert_opt(&mut out, "timezone", &a.timezone);
    if let Some(active) = a.active {
        out.insert("active".into(), Value::Bool(active));
    }
    if !a.emails.is_empty() {
        out.insert("emails".into(), multi_values_to_json(&a.emails));
    }
    if !a.phone_numbers.is_empty() {
        out.insert(
            "phoneNumbers".into(),
            multi_values_to_json(&a.phone_numbers),
        );
    }
    if !user.groups.is_empty() {
        out.insert("groups".into(), user_groups_to_json(&user.groups, base_url));
    }
    if let Some(e) = enterprise {
        let mut m = Map::new();
        insert_opt(&mut m, "employeeNumber", &e.employee_number);
        insert_opt(&mut m, "costCenter", &e.cost_center);
        insert_opt(&mut m, "organization", &e.organization);
        insert_opt(&mut m, "division", &e.division);
        insert_opt(&mut m, "department", &e.department);
        if let Some(manager) = e.manager.as_ref().filter(|m| !m.value.is_empty()) {
            let mut mm = Map::new();
            mm.insert("value".into(), Value::from(manager.value.clone()));
            // RFC 7643 §4.3: the manager's URI, computed from its id.
            mm.insert(
                "$ref".into(),
                Value::from(user_location(base_url, &manager.value)),
            );
            insert_opt(&mut mm, "displayName", &manager.display_name);
            m.insert("manager".into(), Value::Object(mm));
        }
        out.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(m));
    }

    let mut meta = Map::new();
    meta.insert("resourceType".into(), Value::from("User"));
    if let Some(created) = user.created.as_ref().and_then(timestamp_to_rfc3339) {
        meta.insert("created".into(), Value::from(created));
    }
    if let Some(modified) = user.last_modified.as_ref().and_then(timestamp_to_rfc3339) {
        meta.insert("lastModified".into(), Value::from(modified));
    }
    meta.insert(
        "location".into(),
        Value::from(user_location(base_url, &user.id)),
    );
    meta.insert("version".into(), Value::from(user_etag(user.version)));
    out.insert("meta".into(), Value::Object(meta));
    Value::Object(out)
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.into(), Value::from(v.clone()));
    }
}

fn multi_values_to_json(values: &[MultiValue]) -> Value {
    Value::Array(
        values
            .iter()
            .map(|v| {
                let mut m = Map::new();
                m.insert("value".into(), Value::from(v.value.clone()));
                insert_opt(&mut m, "type", &v.r#type);
                m.insert("primary".into(), Value::Bool(v.primary));
                insert_opt(&mut m, "display", &v.display);
                Value::Object(m)
            })
            .collect(),
    )
}

/// RFC 3339 in UTC (`2026-01-02T03:04:05.123Z`).
/// Okta with *Unique identifier field for users* = `email` (seed 004) looks users up with
/// `email eq "<address>"`. `email` is no SCIM attribute: it names the user's email addresses,
/// so it is read as `emails.value` (any address, case-insensitive, as `emails.value eq`).
pub fn resolve_user_filter_aliases(filter: Filter) -> Filter {
    use directory_proto::v1::filter::Node;
    let node = filter.node.map(|node| match node {
        Node::Compare(mut compare) => {
            if let Some(path) = compare.path.as_mut()
                && path.attribute.eq_ignore_ascii_case("email")
                && path.sub_attribute.is_empty()
                && (path.schema.is_empty() || path.schema.eq_ignore_ascii_case(USER_SCHEMA))
            {
                path.attribute = "emails".to_owned();
                path.sub_attribute = "value".to_owned();
            }
            Node::Compare(compare)
        }
        Node::And(list) => Node::And(resolve_list(list)),
        Node::Or(list) => Node::Or(resolve_list(list)),
        Node::Not(inner) => Node::Not(Box::new(resolve_user_filter_aliases(*inner))),
        other @ Node::ValuePath(_) => other,
    });
    Filter { node }
}

fn resolve_list(list: FilterList) -> FilterList {
    FilterList {
        filters: list
            .filters
            .into_iter()
            .map(resolve_user_filter_aliases)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use directory_proto::v1::GroupRef;
    use serde_json::json;

    fn sample_user() -> User {
        let attributes = user_attributes_from_json(json!({
            "schemas": [USER_SCHEMA],
            "userName": "bjensen@example.com",
            "externalId": "ext-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "addresses": [{"type": "work", "locality": "Hollywood"}],
            "urn:example:params:scim:schemas:extension:acme:2.0:User": {"badge": 7},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": "m-1"},
        }))
        .unwrap();
        User {
            id: "u-1".into(),
            workspace_id: "w-1".into(),
            attributes: Some(attributes),
            created: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            last_modified: Some(prost_types::Timestamp {
                seconds: 1_700_000_001,
                nanos: 500_000_000,
            }),
            version: 3,
            public_metadata: None,
            organization_role: String::new(),
            groups: vec![GroupRef {
                value: "g-1".into(),
                display: "Sales".into(),
            }],
        }
    }

    /// Parses `body`, adding the core `schemas` when the body has none.
    fn parse(mut body: Value) -> Result<UserAttributes, ScimError> {
        if let Value::Object(map) = &mut body
            && !map.contains_key("schemas")
        {
            map.insert("schemas".into(), json!([USER_SCHEMA]));
        }
        user_attributes_from_json(body)
    }

    #[test]
    fn schemas_are_required_and_must_name_the_user_schema() {
        for schemas in [
            None,
            Some(json!([])),
            Some(json!(["urn:example:unknown"])),
            Some(json!([crate::scim::GROUP_SCHEMA])),
            Some(json!([USER_SCHEMA, crate::scim::GROUP_SCHEMA])),
            Some(json!([USER_SCHEMA, "not-a-urn"])),
        ] {
            let mut body = json!({"userName": "a"});
            if let Some(schemas) = &schemas {
                body["schemas"] = schemas.clone();
            }
            let err = user_attributes_from_json(body).expect_err(&format!("{schemas:?}"));
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{schemas:?}");
            assert!(err.detail.contains("schemas"), "{}", err.detail);
        }
        user_attributes_from_json(json!({
            "schemas": [USER_SCHEMA.to_uppercase(), ENTERPRISE_USER_SCHEMA,
                        "urn:example:params:scim:schemas:extension:acme:2.0:User"],
            "userName": "a"
        }))
        .unwrap();
    }

    #[test]
    fn verbatim_core_attributes_and_password_are_type_checked() {
        for (body, named) in [
            (
                json!({"userName": "a", "addresses": "Main St"}),
                "addresses",
            ),
            (
                json!({"userName": "a", "addresses": [{"postalCode": [1]}]}),
                "addresses.postalCode",
            ),
            (json!({"userName": "a", "ims": 5}), "ims"),
            (json!({"userName": "a", "Photos": {"value": "x"}}), "photos"),
            (
                json!({"userName": "a", "roles": [{"value": "r", "primary": "yes"}]}),
                "roles.primary",
            ),
            (json!({"userName": "a", "password": 5}), "password"),
            (
                json!({"userName": "a", "emails": [{"value": "e", "primary": "yes"}]}),
                "emails.primary",
            ),
        ] {
            invalid_value_mentioning(body, named);
        }
    }

    fn invalid_value_mentioning(body: Value, fragment: &str) {
        let err = parse(body.clone()).expect_err(&body.to_string());
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{body}");
        assert!(err.detail.contains(fragment), "{body}: {}", err.detail);
    }

    #[test]
    fn parses_okta_create_body_and_drops_password_and_groups() {
        let attributes = parse(json!({
            "schemas": [USER_SCHEMA],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": true
        }))
        .unwrap();
        assert_eq!(attributes.user_name, "test.user@okta.local");
        assert_eq!(
            attributes.external_id.as_deref(),
            Some("00ujl29u0le5T6Aj10h7")
        );
        assert_eq!(
            attributes.name.as_ref().unwrap().given_name.as_deref(),
            Some("Test")
        );
        assert_eq!(attributes.emails.len(), 1);
        assert!(attributes.emails[0].primary);
        assert_eq!(attributes.emails[0].r#type.as_deref(), Some("work"));
        assert_eq!(attributes.active, Some(true));
        assert!(
            attributes.extensions.is_none(),
            "password/groups must not be kept"
        );
        let rendered = user_to_json(
            &User {
                id: "x".into(),
                attributes: Some(attributes),
                ..Default::default()
            },
            "http://h",
        );
        assert!(!rendered.to_string().contains("1mz050nq"));
        assert!(rendered.get("password").is_none());
        assert!(rendered.get("groups").is_none());
    }

    #[test]
    fn active_defaults_to_true_and_accepts_entra_strings() {
        assert_eq!(parse(json!({"userName": "a"})).unwrap().active, Some(true));
        assert!(
            parse(json!({"userName": "a", "active": null}))
                .unwrap()
                .active
                .unwrap()
        );
        assert!(
            parse(json!({"userName": "a", "active": "True"}))
                .unwrap()
                .active
                .unwrap()
        );
        assert!(
            !parse(json!({"userName": "a", "active": "FALSE"}))
                .unwrap()
                .active
                .unwrap()
        );
        assert!(
            !parse(json!({"userName": "a", "active": false}))
                .unwrap()
                .active
                .unwrap()
        );
    }

    #[test]
    fn attribute_names_are_case_insensitive() {
        let attributes = parse(json!({
            "USERNAME": "a",
            "DisplayName": "A",
            "NAME": {"GIVENNAME": "g"},
            "Emails": [{"VALUE": "a@x", "Primary": "true"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "d"},
        }))
        .unwrap();
        assert_eq!(attributes.user_name, "a");
        assert_eq!(attributes.display_name.as_deref(), Some("A"));
        assert_eq!(attributes.name.unwrap().given_name.as_deref(), Some("g"));
        assert!(attributes.emails[0].primary);
        assert_eq!(
            attributes.enterprise.unwrap().department.as_deref(),
            Some("d")
        );
    }

    #[test]
    fn nulls_are_unassigned() {
        let attributes = parse(json!({
            "userName": "a", "title": null, "addresses": null, "phoneNumbers": null,
            "name": null, "emails": [null], ENTERPRISE_USER_SCHEMA: null, "externalId": null
        }))
        .unwrap();
        assert_eq!(attributes.title, None);
        assert!(attributes.phone_numbers.is_empty());
        assert!(attributes.emails.is_empty());
        assert!(attributes.name.is_none());
        assert!(attributes.enterprise.is_none());
        assert!(attributes.extensions.is_none());
    }

    #[test]
    fn rejects_wrong_types_naming_the_attribute() {
        invalid_value_mentioning(json!({"userName": "a", "active": 5}), "active");
        invalid_value_mentioning(json!({"userName": "a", "active": "yes"}), "active");
        invalid_value_mentioning(json!({"userName": "a", "emails": "x"}), "emails");
        invalid_value_mentioning(json!({"userName": "a", "emails": ["x"]}), "emails");
        invalid_value_mentioning(
            json!({"userName": "a", "emails": [{"value": 1}]}),
            "emails.value",
        );
        invalid_value_mentioning(json!({"userName": "a", "title": 1}), "title");
        invalid_value_mentioning(json!({"userName": "a", "name": "x"}), "name");
        invalid_value_mentioning(
            json!({"userName": "a", "name": {"givenName": []}}),
            "name.givenName",
        );
        invalid_value_mentioning(json!({"userName": 7}), "userName");
        invalid_value_mentioning(
            json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": 5}}),
            "manager",
        );
        invalid_value_mentioning(
            json!({"userName": "a", "urn:x:y:2.0:User": "flat"}),
            "urn:x:y:2.0:User",
        );
    }

    #[test]
    fn requires_a_non_empty_user_name() {
        invalid_value_mentioning(json!({}), "userName");
        invalid_value_mentioning(json!({"userName": null}), "userName");
        invalid_value_mentioning(json!({"userName": "  "}), "userName");
    }

    #[test]
    fn rejects_non_objects_and_bad_schemas_as_invalid_syntax() {
        for body in [
            json!([]),
            json!("x"),
            json!({"userName": "a", "schemas": "urn"}),
            json!({"userName": "a", "schemas": [1]}),
        ] {
            let err = parse(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax), "{body}");
        }
    }

    #[test]
    fn manager_as_string_or_object_is_returned_as_object() {
        for manager in [
            json!("m-1"),
            json!({"value": "m-1", "$ref": "../Users/m-1"}),
        ] {
            let attributes =
                parse(json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": manager}}))
                    .unwrap();
            let user = User {
                id: "u".into(),
                attributes: Some(attributes),
                ..Default::default()
            };
            let out = user_to_json(&user, "http://h");
            assert_eq!(
                out[ENTERPRISE_USER_SCHEMA]["manager"],
                json!({"value": "m-1", "$ref": "http://h/scim/v2/Users/m-1"})
            );
            assert!(
                out["schemas"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(ENTERPRISE_USER_SCHEMA))
            );
        }
    }

    #[test]
    fn qualified_names_reach_typed_fields() {
        let attributes = parse(json!({
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
        }))
        .unwrap();
        assert_eq!(attributes.user_name, "a");
        assert_eq!(
            attributes.enterprise.unwrap().employee_number.as_deref(),
            Some("42")
        );
    }

    #[test]
    fn other_extensions_are_kept_verbatim_under_their_urn() {
        let acme = "urn:example:params:scim:schemas:extension:acme:2.0:User";
        let attributes = parse(json!({
            "userName": "a",
            acme: {"badge": 7},
            format!("{acme}:floor"): 3,
            "ROLES": [{"value": "Admin", "primary": true}],
        }))
        .unwrap();
        let extensions = struct_to_json(attributes.extensions.unwrap());
        assert_eq!(extensions[acme], json!({"badge": 7, "floor": 3}));
        assert_eq!(
            extensions["roles"],
            json!([{"value": "Admin", "primary": true}])
        );
    }

    #[test]
    fn renders_full_shape_without_nulls() {
        let out = user_to_json(&sample_user(), "https://scim.example.com");
        assert_eq!(out["id"], "u-1");
        assert_eq!(out["userName"], "bjensen@example.com");
        assert_eq!(out["externalId"], "ext-1");
        assert_eq!(out["active"], true);
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Jensen"})
        );
        assert_eq!(
            out["emails"],
            json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
        );
        assert_eq!(
            out["addresses"],
            json!([{"type": "work", "locality": "Hollywood"}])
        );
        assert_eq!(
            out["urn:example:params:scim:schemas:extension:acme:2.0:User"],
            json!({"badge": 7})
        );
        assert_eq!(
            out["schemas"],
            json!([
                USER_SCHEMA,
                ENTERPRISE_USER_SCHEMA,
                "urn:example:params:scim:schemas:extension:acme:2.0:User"
            ])
        );
        assert_eq!(
            out["meta"],
            json!({
                "resourceType": "User",
                "created": "2023-11-14T22:13:20Z",
                "lastModified": "2023-11-14T22:13:21.500Z",
                "location": "https://scim.example.com/scim/v2/Users/u-1",
                "version": "W/\"3\"",
            })
        );
        assert_eq!(
            out["groups"],
            json!([{"value": "g-1", "display": "Sales",
                    "$ref": "https://scim.example.com/scim/v2/Groups/g-1", "type": "direct"}])
        );
        assert!(!out.to_string().contains("null"));
        assert!(out.get("title").is_none());
    }

    #[test]
    fn okta_email_identifier_reads_as_emails_value() {
        use crate::scim::filter::parse_filter;
        let resolved = |text: &str| resolve_user_filter_aliases(parse_filter(text).unwrap());
        assert_eq!(
            resolved(r#"email eq "a@x.test""#),
            parse_filter(r#"emails.value eq "a@x.test""#).unwrap()
        );
        assert_eq!(
            resolved(r#"urn:ietf:params:scim:schemas:core:2.0:User:email eq "a@x.test""#),
            parse_filter(
                r#"urn:ietf:params:scim:schemas:core:2.0:User:emails.value eq "a@x.test""#
            )
            .unwrap()
        );
        assert_eq!(
            resolved(r#"not (email eq "a") or userName eq "b""#),
            parse_filter(r#"not (emails.value eq "a") or userName eq "b""#).unwrap()
        );
        // Only the bare alias: sub-attributes and other schemas stay as they are.
        for untouched in [
            r#"emails eq "a""#,
            r#"email.value eq "a""#,
            r#"urn:acme:User:email eq "a""#,
        ] {
            assert_eq!(
                resolved(untouched),
                parse_filter(untouched).unwrap(),
                "{untouched}"
            );
        }
    }
}
