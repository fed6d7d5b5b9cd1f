//! Users: the profile the directory keeps, its validation, and which attributes can be
//! searched.

use serde::{Deserialize, Serialize};

use super::filter::AttrPath;
use super::{DomainError, DomainResult};

/// The longest userName we accept; longer values are refused rather than truncated.
pub const MAX_USER_NAME_CHARS: usize = 256;

/// The longest value, in UTF-8 bytes, of every typed string of a profile (names, emails,
/// phone numbers, enterprise attributes). Several are indexed (with their case key), and a
/// Postgres B-tree entry must stay below 2,704 bytes: 1 KiB leaves room for Unicode
/// lowercasing (which can grow a string by half) and the other index columns.
pub const MAX_STRING_BYTES: usize = 1024;

/// The most values one multi-valued attribute may hold (`emails`, `phoneNumbers`, and
/// every list kept verbatim: `addresses`, `roles`, extension lists, ...).
pub const MAX_VALUES_PER_ATTRIBUTE: usize = 1000;

/// The largest stored profile, in bytes of its JSON: bounds a user row and every copy of
/// it (events, audit diffs, responses).
pub const MAX_PROFILE_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    pub formatted: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub honorific_prefix: Option<String>,
    pub honorific_suffix: Option<String>,
}

/// One value of emails or phoneNumbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiValue {
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub primary: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    pub value: String,
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    pub employee_number: Option<String>,
    pub cost_center: Option<String>,
    pub organization: Option<String>,
    pub division: Option<String>,
    pub department: Option<String>,
    pub manager: Option<Manager>,
}

/// Everything the directory keeps about a user except its identity and timestamps.
/// Stored as JSON in `users.profile`; queryable attributes are also projected to columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserProfile {
    pub user_name: String,
    pub external_id: Option<String>,
    pub name: Name,
    pub display_name: Option<String>,
    pub nick_name: Option<String>,
    pub profile_url: Option<String>,
    pub title: Option<String>,
    pub user_type: Option<String>,
    pub preferred_language: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    /// None: unassigned (a PATCH removed it, or the client never sent it). An unassigned
    /// `active` counts as active: only an explicit `false` deactivates.
    pub active: Option<bool>,
    pub emails: Vec<MultiValue>,
    pub phone_numbers: Vec<MultiValue>,
    pub enterprise: EnterpriseUser,
    /// Attributes kept verbatim: untyped core attributes by name (`addresses`, `roles`, ...)
    /// and extension schemas by URN.
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// Written by attribute mappings only (never by SCIM directly); read over gRPC.
    pub public_metadata: serde_json::Map<String, serde_json::Value>,
    /// Written by an attribute mapping to `organization_role`; when set it is the user's
    /// role value for role mappings, instead of `roles[primary eq true].value`.
    pub organization_role: Option<String>,
}

impl UserProfile {
    /// Checks the invariants every stored profile satisfies; returns the profile with blank
    /// optional strings turned into "unassigned".
    pub fn validated(mut self) -> DomainResult<Self> {
        if self.user_name.trim().is_empty() {
            return Err(DomainError::InvalidValue(
                "userName is required and must not be blank".into(),
            ));
        }
        if self.user_name.chars().count() > MAX_USER_NAME_CHARS {
            return Err(DomainError::InvalidValue(format!(
                "userName is longer than {MAX_USER_NAME_CHARS} characters"
            )));
        }
        for (attribute, values) in [
            ("emails", &self.emails),
            ("phoneNumbers", &self.phone_numbers),
        ] {
            if values.iter().any(|v| v.value.trim().is_empty()) {
                return Err(DomainError::InvalidValue(format!(
                    "every value of {attribute} needs a non-empty value"
                )));
            }
            if values.iter().filter(|v| v.primary).count() > 1 {
                return Err(DomainError::InvalidValue(format!(
                    "at most one value of {attribute} may be primary"
                )));
            }
        }
        if let Some(manager) = &self.enterprise.manager
            && manager.value.trim().is_empty()
        {
            self.enterprise.manager = None;
        }
        self.check_sizes()?;
        for field in [
            &mut self.external_id,
            &mut self.display_name,
            &mut self.nick_name,
            &mut self.profile_url,
            &mut self.title,
            &mut self.user_type,
            &mut self.preferred_language,
            &mut self.locale,
            &mut self.timezone,
        ] {
            if field.as_deref().is_some_and(str::is_empty) {
                *field = None;
            }
        }
        Ok(self)
    }

    /// The size limits: [`MAX_STRING_BYTES`] per typed string, [`MAX_VALUES_PER_ATTRIBUTE`]
    /// per multi-valued attribute, [`MAX_PROFILE_BYTES`] for the whole profile. Each error
    /// names the attribute.
    fn check_sizes(&self) -> DomainResult<()> {
        let too_long = |attribute: &str| {
            DomainError::InvalidValue(format!(
                "{attribute} is longer than {MAX_STRING_BYTES} bytes"
            ))
        };
        let name = &self.name;
        let enterprise = &self.enterprise;
        let singles = [
            ("externalId", &self.external_id),
            ("name.formatted", &name.formatted),
            ("name.familyName", &name.family_name),
            ("name.givenName", &name.given_name),
            ("name.middleName", &name.middle_name),
            ("name.honorificPrefix", &name.honorific_prefix),
            ("name.honorificSuffix", &name.honorific_suffix),
            ("displayName", &self.display_name),
            ("nickName", &self.nick_name),
            ("profileUrl", &self.profile_url),
            ("title", &self.title),
            ("userType", &self.user_type),
            ("preferredLanguage", &self.preferred_language),
            ("locale", &self.locale),
            ("timezone", &self.timezone),
            ("employeeNumber", &enterprise.employee_number),
            ("costCenter", &enterprise.cost_center),
            ("organization", &enterprise.organization),
            ("division", &enterprise.division),
            ("department", &enterprise.department),
        ];
        for (attribute, value) in singles {
            if value.as_ref().is_some_and(|v| v.len() > MAX_STRING_BYTES) {
                return Err(too_long(attribute));
            }
        }
        if let Some(manager) = &enterprise.manager
            && (manager.value.len() > MAX_STRING_BYTES
                || manager
                    .display_name
                    .as_ref()
                    .is_some_and(|d| d.len() > MAX_STRING_BYTES))
        {
            return Err(too_long("manager"));
        }
        for (attribute, values) in [
            ("emails", &self.emails),
            ("phoneNumbers", &self.phone_numbers),
        ] {
            if values.len() > MAX_VALUES_PER_ATTRIBUTE {
                return Err(too_many_values(attribute));
            }
            for value in values {
                let strings = [
                    Some(&value.value),
                    value.kind.as_ref(),
                    value.display.as_ref(),
                ];
                if strings
                    .into_iter()
                    .flatten()
                    .any(|s| s.len() > MAX_STRING_BYTES)
                {
                    return Err(too_long(attribute));
                }
            }
        }
        for (key, value) in &self.extensions {
            let lists = match value {
                serde_json::Value::Object(members) => members.iter().collect::<Vec<_>>(),
                _ => vec![(key, value)],
            };
            for (attribute, list) in lists {
                if list
                    .as_array()
                    .is_some_and(|items| items.len() > MAX_VALUES_PER_ATTRIBUTE)
                {
                    return Err(too_many_values(attribute));
                }
            }
        }
        let size = serde_json::to_vec(self).map_or(usize::MAX, |json| json.len());
        if size > MAX_PROFILE_BYTES {
            return Err(DomainError::InvalidValue(format!(
                "the user is larger than {MAX_PROFILE_BYTES} bytes"
            )));
        }
        Ok(())
    }

    pub fn user_name_key(&self) -> String {
        user_name_key(&self.user_name)
    }

    pub fn is_active(&self) -> bool {
        self.active != Some(false)
    }

    /// The value role mappings look up: the mapped organization role if an attribute
    /// mapping set one, else the IdP's primary role value.
    pub fn role_value(&self) -> Option<String> {
        self.organization_role
            .clone()
            .or_else(|| self.primary_role_value())
    }

    /// The IdP's role value: `roles[primary eq true].value` (Okta's role attribute,
    /// seed 002), or the only role when just one is sent.
    pub fn primary_role_value(&self) -> Option<String> {
        let roles = self.extensions.get("roles")?.as_array()?;
        let value_of = |role: &serde_json::Value| role.get("value")?.as_str().map(str::to_owned);
        roles
            .iter()
            .find(|r| r.get("primary").and_then(serde_json::Value::as_bool) == Some(true))
            .or_else(|| (roles.len() == 1).then(|| &roles[0]))
            .and_then(value_of)
            .filter(|v| !v.is_empty())
    }
}

fn too_many_values(attribute: &str) -> DomainError {
    DomainError::InvalidValue(format!(
        "{attribute} holds more than {MAX_VALUES_PER_ATTRIBUTE} values"
    ))
}

/// The uniqueness key of a userName: userName is `caseExact: false` (RFC 7643 §4.1.1), so
/// `Alice@Example.com` and `alice@example.com` are the same user. Computed here rather than
/// with SQL lower(), which is ASCII-only on SQLite. Unicode lowercase, not full case folding.
pub fn user_name_key(user_name: &str) -> String {
    super::case_key(user_name)
}

/// The user attributes a filter may name, each backed by an indexed or narrow column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFilterAttribute {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    GivenName,
    FamilyName,
    Active,
    Created,
    LastModified,
    /// `emails`, `emails.value`, or `value` inside `emails[...]`.
    EmailValue,
    EmailType,
    EmailPrimary,
}

pub fn resolve_user_filter_attribute(path: &AttrPath) -> DomainResult<UserFilterAttribute> {
    use UserFilterAttribute::*;
    let unsupported = || {
        DomainError::InvalidFilter(format!(
            "attribute {path} is unknown or cannot be filtered on"
        ))
    };
    if !path.is_core_user() {
        return Err(unsupported());
    }
    let attribute = path.attribute.to_ascii_lowercase();
    let sub = path.sub_attribute.to_ascii_lowercase();
    Ok(match (attribute.as_str(), sub.as_str()) {
        ("id", "") => Id,
        ("username", "") => UserName,
        ("externalid", "") => ExternalId,
        ("displayname", "") => DisplayName,
        ("name", "givenname") => GivenName,
        ("name", "familyname") => FamilyName,
        ("active", "") => Active,
        ("meta", "created") => Created,
        ("meta", "lastmodified") => LastModified,
        ("emails", "" | "value") => EmailValue,
        ("emails", "type") => EmailType,
        ("emails", "primary") => EmailPrimary,
        _ => return Err(unsupported()),
    })
}

/// Resolves an attribute inside `emails[...]` (a sub-attribute of one email value).
pub fn resolve_email_sub_attribute(path: &AttrPath) -> DomainResult<UserFilterAttribute> {
    if path.has_sub_attribute() || !path.schema.is_empty() {
        return Err(DomainError::InvalidFilter(format!(
            "{path} is not a sub-attribute of emails"
        )));
    }
    match path.attribute.to_ascii_lowercase().as_str() {
        "value" => Ok(UserFilterAttribute::EmailValue),
        "type" => Ok(UserFilterAttribute::EmailType),
        "primary" => Ok(UserFilterAttribute::EmailPrimary),
        _ => Err(DomainError::InvalidFilter(format!(
            "{} cannot be filtered inside emails",
            path.attribute
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(user_name: &str) -> UserProfile {
        UserProfile {
            user_name: user_name.into(),
            active: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn sizes_are_limited_naming_the_attribute() {
        let refused = |p: UserProfile, named: &str| match p.validated() {
            Err(DomainError::InvalidValue(message)) => {
                assert!(message.contains(named), "{message}")
            }
            other => panic!("{named}: {other:?}"),
        };
        let mut long = profile("a");
        long.display_name = Some("é".repeat(MAX_STRING_BYTES / 2 + 1));
        refused(long, "displayName");
        let mut many = profile("a");
        many.emails = (0..=MAX_VALUES_PER_ATTRIBUTE)
            .map(|i| MultiValue {
                value: format!("{i}@x"),
                ..Default::default()
            })
            .collect();
        refused(many, "emails");
        let mut roles = profile("a");
        roles.extensions.insert(
            "roles".into(),
            serde_json::Value::Array(vec![
                serde_json::json!({"value": "r"});
                MAX_VALUES_PER_ATTRIBUTE + 1
            ]),
        );
        refused(roles, "roles");
        let mut big = profile("a");
        big.extensions.insert(
            "addresses".into(),
            serde_json::json!([{"formatted": "x".repeat(MAX_PROFILE_BYTES)}]),
        );
        refused(big, "larger than");
        let mut at_limit = profile("a");
        at_limit.display_name = Some("x".repeat(MAX_STRING_BYTES));
        at_limit.phone_numbers = vec![
            MultiValue {
                value: "1".into(),
                ..Default::default()
            };
            MAX_VALUES_PER_ATTRIBUTE
        ];
        assert!(at_limit.validated().is_ok());
    }

    #[test]
    fn user_name_key_is_unicode_lowercase_and_trimmed() {
        assert_eq!(user_name_key(" ÉMILE@Example.COM "), "émile@example.com");
    }

    #[test]
    fn validation_rejects_blank_names_and_two_primaries() {
        assert!(profile("  ").validated().is_err());
        assert!(profile(&"x".repeat(257)).validated().is_err());
        let mut two_primaries = profile("a");
        two_primaries.emails = vec![
            MultiValue {
                value: "a@x".into(),
                primary: true,
                ..Default::default()
            },
            MultiValue {
                value: "b@x".into(),
                primary: true,
                ..Default::default()
            },
        ];
        assert!(matches!(
            two_primaries.validated(),
            Err(DomainError::InvalidValue(_))
        ));
        let mut blank_title = profile("a");
        blank_title.title = Some(String::new());
        assert_eq!(blank_title.validated().unwrap().title, None);
    }

    #[test]
    fn filter_attributes_resolve_case_insensitively() {
        let path = |schema: &str, a: &str, s: &str| AttrPath {
            schema: schema.into(),
            attribute: a.into(),
            sub_attribute: s.into(),
        };
        assert_eq!(
            resolve_user_filter_attribute(&path("", "USERNAME", "")).unwrap(),
            UserFilterAttribute::UserName
        );
        assert_eq!(
            resolve_user_filter_attribute(&path(
                super::super::filter::CORE_USER_SCHEMA,
                "name",
                "GivenName"
            ))
            .unwrap(),
            UserFilterAttribute::GivenName
        );
        assert!(resolve_user_filter_attribute(&path("", "nosuch", "")).is_err());
        assert!(resolve_user_filter_attribute(&path("urn:x", "userName", "")).is_err());
    }
}

/// A stored user: identity, profile and the metadata SCIM's `meta` is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: uuid::Uuid,
    pub workspace_id: uuid::Uuid,
    pub profile: UserProfile,
    pub created: chrono::DateTime<chrono::Utc>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
    pub version: i64,
    /// The groups the user is a direct member of (id, displayName); read-only, filled on
    /// reads.
    pub groups: Vec<(uuid::Uuid, String)>,
}
