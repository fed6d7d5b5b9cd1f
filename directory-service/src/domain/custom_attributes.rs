//! Custom attributes: extension schemas a workspace declares for its users (seed 003:
//! custom attributes end up in the user's metadata). Values live in the profile's
//! `extensions` under the schema URN; declared attributes are type-checked on every write
//! and can be filtered on.

use serde_json::{Map, Value};

use super::filter::{CORE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA};
use super::users::UserProfile;
use super::{DomainError, DomainResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    String,
    Boolean,
    Integer,
    Decimal,
    DateTime,
}

impl AttributeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::String => "string",
            AttributeKind::Boolean => "boolean",
            AttributeKind::Integer => "integer",
            AttributeKind::Decimal => "decimal",
            AttributeKind::DateTime => "dateTime",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => AttributeKind::String,
            "boolean" => AttributeKind::Boolean,
            "integer" => AttributeKind::Integer,
            "decimal" => AttributeKind::Decimal,
            "dateTime" => AttributeKind::DateTime,
            _ => return None,
        })
    }

    fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (AttributeKind::String, Value::String(_)) => true,
            (AttributeKind::Boolean, Value::Bool(_)) => true,
            (AttributeKind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (AttributeKind::Decimal, Value::Number(_)) => true,
            (AttributeKind::DateTime, Value::String(s)) => {
                chrono::DateTime::parse_from_rfc3339(s).is_ok()
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CustomAttribute {
    pub schema: String,
    pub name: String,
    pub kind: AttributeKind,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub description: String,
}

impl CustomAttribute {
    /// Checks a declaration: the schema is an extension URN (not a core one) and the name
    /// is an RFC 7643 ATTRNAME. Both end up inside SQL JSON paths, so the character sets
    /// matter.
    pub fn validated(self) -> DomainResult<Self> {
        let schema_ok = self.schema.len() <= 200
            && self.schema.to_ascii_lowercase().starts_with("urn:")
            && self
                .schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_'));
        if !schema_ok
            || self.schema.eq_ignore_ascii_case(CORE_USER_SCHEMA)
            || self.schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
        {
            return Err(DomainError::InvalidValue(format!(
                "schema {:?} must be an extension URN (urn:..., letters, digits, ':', '.', '-', '_')",
                self.schema
            )));
        }
        let mut chars = self.name.chars();
        let name_ok = self.name.len() <= 100
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !name_ok {
            return Err(DomainError::InvalidValue(format!(
                "attribute name {:?} must start with a letter and use letters, digits, '-' or '_'",
                self.name
            )));
        }
        Ok(self)
    }

    pub fn is(&self, schema: &str, name: &str) -> bool {
        self.schema.eq_ignore_ascii_case(schema) && self.name.eq_ignore_ascii_case(name)
    }
}

/// Checks the values of every declared schema in `profile` against the declarations and
/// spells keys as declared. Schemas nobody declared are kept verbatim, unchecked.
pub fn check_custom_attributes(
    mut profile: UserProfile,
    declared: &[CustomAttribute],
) -> DomainResult<UserProfile> {
    let schemas: Vec<String> = profile.extensions.keys().cloned().collect();
    for key in schemas {
        let in_schema: Vec<&CustomAttribute> = declared
            .iter()
            .filter(|d| d.schema.eq_ignore_ascii_case(&key))
            .collect();
        let Some(first) = in_schema.first() else {
            continue;
        };
        let value = profile.extensions.remove(&key).unwrap_or(Value::Null);
        let object = match value {
            Value::Object(object) => object,
            Value::Null => continue,
            _ => {
                return Err(DomainError::InvalidValue(format!(
                    "{key} must be an object"
                )));
            }
        };
        let mut checked = Map::new();
        for (name, value) in object {
            if value.is_null() {
                continue;
            }
            let Some(declaration) = in_schema
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(&name))
            else {
                return Err(DomainError::InvalidValue(format!(
                    "{name} is not an attribute of {key}"
                )));
            };
            let fits = match (&value, declaration.multi_valued) {
                (Value::Array(items), true) => items.iter().all(|v| declaration.kind.accepts(v)),
                (single, false) => declaration.kind.accepts(single),
                _ => false,
            };
            if !fits {
                return Err(DomainError::InvalidValue(format!(
                    "{key}:{} must be {}{}",
                    declaration.name,
                    if declaration.multi_valued {
                        "an array of "
                    } else {
                        "a "
                    },
                    declaration.kind.as_str()
                )));
            }
            checked.insert(declaration.name.clone(), value);
        }
        if !checked.is_empty() {
            profile
                .extensions
                .insert(first.schema.clone(), Value::Object(checked));
        }
    }
    Ok(profile)
}

/// Refuses an extension schema (a `urn:` key of `extensions`) the workspace did not
/// declare: nothing new is stored under a schema nobody declared. A value the user
/// already had, unchanged (stored before this rule), is left alone so that old users stay
/// writable; other keys are the core attributes kept verbatim (`addresses`, `roles`, ...).
pub fn refuse_undeclared_extensions(
    profile: &UserProfile,
    current: Option<&UserProfile>,
    declared: &[CustomAttribute],
) -> DomainResult<()> {
    for (key, value) in &profile.extensions {
        let is_schema = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let is_declared = declared.iter().any(|d| d.schema.eq_ignore_ascii_case(key));
        let unchanged = current.is_some_and(|c| c.extensions.get(key) == Some(value));
        if is_schema && !is_declared && !unchanged {
            return Err(DomainError::InvalidValue(format!(
                "{key} is not an extension schema of this workspace"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const URN: &str = "urn:acme:params:scim:schemas:extension:acme:2.0:User";

    fn declared() -> Vec<CustomAttribute> {
        vec![
            CustomAttribute {
                schema: URN.into(),
                name: "costCode".into(),
                kind: AttributeKind::String,
                multi_valued: false,
                case_exact: false,
                description: String::new(),
            },
            CustomAttribute {
                schema: URN.into(),
                name: "level".into(),
                kind: AttributeKind::Integer,
                multi_valued: false,
                case_exact: false,
                description: String::new(),
            },
            CustomAttribute {
                schema: URN.into(),
                name: "badges".into(),
                kind: AttributeKind::String,
                multi_valued: true,
                case_exact: true,
                description: String::new(),
            },
        ]
    }

    fn profile(extension: Value) -> UserProfile {
        let mut p = UserProfile {
            user_name: "a".into(),
            ..Default::default()
        };
        p.extensions
            .insert(URN.to_ascii_uppercase().replace("URN:", "urn:"), extension);
        p
    }

    #[test]
    fn declared_values_are_checked_and_spelled_as_declared() {
        let checked = check_custom_attributes(
            profile(json!({"COSTCODE": "CC-1", "level": 3, "badges": ["a"]})),
            &declared(),
        )
        .unwrap();
        assert_eq!(
            checked.extensions[URN],
            json!({"costCode": "CC-1", "level": 3, "badges": ["a"]})
        );
        for bad in [
            json!({"level": "three"}),
            json!({"badges": "a"}),
            json!({"unknown": 1}),
            json!("x"),
        ] {
            assert!(
                check_custom_attributes(profile(bad.clone()), &declared()).is_err(),
                "{bad}"
            );
        }
        let mut other = UserProfile::default();
        other
            .extensions
            .insert("urn:other".into(), json!({"anything": true}));
        assert_eq!(
            check_custom_attributes(other.clone(), &declared()).unwrap(),
            other
        );
    }

    #[test]
    fn undeclared_extension_schemas_are_refused_unless_unchanged() {
        let mut other = UserProfile::default();
        other
            .extensions
            .insert("urn:other:2.0:User".into(), json!({"anything": true}));
        other.extensions.insert("addresses".into(), json!([]));
        assert!(matches!(
            refuse_undeclared_extensions(&other, None, &declared()),
            Err(DomainError::InvalidValue(_))
        ));
        refuse_undeclared_extensions(&other, Some(&other), &declared()).unwrap();
        refuse_undeclared_extensions(&profile(json!({"level": 1})), None, &declared()).unwrap();
    }

    #[test]
    fn declarations_are_validated() {
        let ok = declared().remove(0).validated();
        assert!(ok.is_ok());
        for (schema, name) in [
            ("not-a-urn", "a"),
            (CORE_USER_SCHEMA, "a"),
            ("urn:x\"y", "a"),
            (URN, "1abc"),
            (URN, "a b"),
        ] {
            let d = CustomAttribute {
                schema: schema.into(),
                name: name.into(),
                ..declared().remove(0)
            };
            assert!(d.validated().is_err(), "{schema} {name}");
        }
    }
}
