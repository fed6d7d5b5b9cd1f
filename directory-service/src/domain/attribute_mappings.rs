//! Attribute mappings (seed 003): per-workspace rules that copy a value from the SCIM
//! user into a profile field, into `public_metadata.<key>`, or into the organization role,
//! optionally through a Liquid template (`{{ value | downcase | replace: "admins",
//! "org:admin" | default: "org:member" }}`, as seed 003 writes it). They run on every
//! create and update of a user and on group pushes that touch it; a mapping that fails
//! refuses the write. A template that does not parse is refused when it is set.

use serde_json::{Map, Value, json};

use super::filter::ENTERPRISE_USER_SCHEMA;
use super::users::UserProfile;
use super::{DomainError, DomainResult};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `public_metadata.<key>`.
    PublicMetadata(String),
    /// `organization_role`: the user's role value for role mappings.
    OrganizationRole,
    /// A writable single-valued profile string (`displayName`, `title`, ...).
    Profile(String),
}

const PROFILE_FIELDS: &[&str] = &[
    "displayName",
    "nickName",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "profileUrl",
];

impl Destination {
    pub fn parse(text: &str) -> DomainResult<Self> {
        let text = text.trim();
        if let Some(key) = text.strip_prefix("public_metadata.") {
            if key.is_empty() || key.len() > 100 {
                return Err(DomainError::InvalidValue(
                    "public_metadata needs a key".into(),
                ));
            }
            return Ok(Destination::PublicMetadata(key.to_owned()));
        }
        if text == "organization_role" {
            return Ok(Destination::OrganizationRole);
        }
        match PROFILE_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(text)) {
            Some(field) => Ok(Destination::Profile((*field).to_owned())),
            None => Err(DomainError::InvalidValue(format!(
                "destination {text:?} must be public_metadata.<key>, organization_role, or one of {}",
                PROFILE_FIELDS.join(", ")
            ))),
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Destination::PublicMetadata(key) => format!("public_metadata.{key}"),
            Destination::OrganizationRole => "organization_role".into(),
            Destination::Profile(field) => field.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeMapping {
    /// A SCIM path into the user: `title`, `name.givenName`, `emails[0].value`,
    /// `groups[0].value`, `urn:...:enterprise:2.0:User.department` (or `:department`).
    pub source: String,
    pub destination: Destination,
    /// Rendered with `value` (the source value) and `user` (the whole user) in scope.
    pub template: Option<String>,
}

impl AttributeMapping {
    pub fn validated(self) -> DomainResult<Self> {
        path_segments(&self.source)?;
        if let Some(template) = &self.template {
            parse_template(template)?;
        }
        Ok(self)
    }
}

impl AttributeMapping {
    /// Whether the mapping's value can depend on the user's groups (its source is under
    /// `groups`, or its template reads them): a group push must re-evaluate it.
    pub fn reads_groups(&self) -> bool {
        let source = self.source.trim().to_ascii_lowercase();
        source == "groups"
            || source.starts_with("groups.")
            || source.starts_with("groups[")
            || self
                .template
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().contains("groups"))
    }
}

/// The Liquid parser with the standard filters, built once.
fn liquid_parser() -> &'static liquid::Parser {
    static PARSER: std::sync::OnceLock<liquid::Parser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        liquid::ParserBuilder::with_stdlib()
            .build()
            .expect("the standard Liquid library builds")
    })
}

/// Parses a template, naming the problem when it does not parse (unknown filters
/// included).
fn parse_template(template: &str) -> DomainResult<liquid::Template> {
    liquid_parser().parse(template).map_err(|e| {
        DomainError::InvalidValue(format!(
            "the template does not parse: {}",
            e.to_string().trim()
        ))
    })
}

fn render_template(template: &str, value: &Value, user: &Value) -> Result<String, String> {
    let parsed = parse_template(template).map_err(|e| e.to_string())?;
    let mut globals = liquid::Object::new();
    let to_liquid = |v: &Value| liquid::model::to_value(v).map_err(|e| e.to_string());
    globals.insert("value".into(), to_liquid(value)?);
    globals.insert("user".into(), to_liquid(user)?);
    parsed
        .render(&globals)
        .map_err(|e| e.to_string().trim().to_owned())
}

/// The user as mapping sources see it: SCIM attribute names, with `groups` as
/// `[{"value": displayName, "id": id}]` (what the IdP pushed as group names).
fn user_view(profile: &UserProfile, groups: &[(uuid::Uuid, String)]) -> Value {
    let mut view = match serde_json::to_value(profile) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let extensions = match view.remove("extensions") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(enterprise) = view.remove("enterprise") {
        view.insert(ENTERPRISE_USER_SCHEMA.into(), enterprise);
    }
    view.extend(extensions);
    view.insert(
        "groups".into(),
        Value::Array(
            groups
                .iter()
                .map(|(id, name)| json!({"value": name, "id": id.to_string()}))
                .collect(),
        ),
    );
    Value::Object(view)
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn path_segments(path: &str) -> DomainResult<Vec<Segment>> {
    let bad = || {
        DomainError::InvalidValue(format!(
            "source {path:?} is not a path like name.givenName or groups[0].value"
        ))
    };
    let path = path.trim();
    let mut segments = Vec::new();
    // A leading schema URN: `urn:...:User.department` or `urn:...:User:department`.
    let rest = if path.to_ascii_lowercase().starts_with("urn:") {
        let (urn, attribute) = path
            .rsplit_once('.')
            .filter(|(urn, _)| urn.ends_with("User"))
            .or_else(|| path.rsplit_once(':'))
            .ok_or_else(bad)?;
        segments.push(Segment::Key(urn.to_owned()));
        attribute.to_owned()
    } else {
        path.to_owned()
    };
    for part in rest.split('.') {
        let (name, mut tail) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
        {
            return Err(bad());
        }
        segments.push(Segment::Key(name.to_owned()));
        while let Some(inner) = tail.strip_prefix('[') {
            let end = inner.find(']').ok_or_else(bad)?;
            segments.push(Segment::Index(inner[..end].parse().map_err(|_| bad())?));
            tail = &inner[end + 1..];
        }
        if !tail.is_empty() {
            return Err(bad());
        }
    }
    Ok(segments)
}

fn lookup<'a>(view: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let mut current = view;
    for segment in segments {
        current = match (segment, current) {
            (Segment::Key(key), Value::Object(map)) => map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)?,
            (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Applies every mapping to `profile`, in order. A missing source gives an empty value
/// (templates can supply a default); a template error refuses the write.
pub fn apply_attribute_mappings(
    mut profile: UserProfile,
    groups: &[(uuid::Uuid, String)],
    mappings: &[AttributeMapping],
) -> DomainResult<UserProfile> {
    if mappings.is_empty() {
        return Ok(profile);
    }
    let view = user_view(&profile, groups);
    for mapping in mappings {
        let value = lookup(&view, &path_segments(&mapping.source)?)
            .cloned()
            .unwrap_or(Value::Null);
        let result = match &mapping.template {
            Some(template) => {
                let rendered = render_template(template, &value, &view).map_err(|e| {
                    DomainError::InvalidValue(format!(
                        "attribute mapping to {} failed: {e}",
                        mapping.destination.as_string()
                    ))
                })?;
                Some(rendered.trim().to_owned()).filter(|s| !s.is_empty())
            }
            None => match value {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            },
        };
        match &mapping.destination {
            Destination::PublicMetadata(key) => match result {
                Some(text) => {
                    profile
                        .public_metadata
                        .insert(key.clone(), Value::String(text));
                }
                None => {
                    profile.public_metadata.remove(key);
                }
            },
            Destination::OrganizationRole => profile.organization_role = result,
            Destination::Profile(field) => {
                let slot = match field.as_str() {
                    "displayName" => &mut profile.display_name,
                    "nickName" => &mut profile.nick_name,
                    "title" => &mut profile.title,
                    "userType" => &mut profile.user_type,
                    "preferredLanguage" => &mut profile.preferred_language,
                    "locale" => &mut profile.locale,
                    "timezone" => &mut profile.timezone,
                    _ => &mut profile.profile_url,
                };
                *slot = result;
            }
        }
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(source: &str, destination: &str, template: Option<&str>) -> AttributeMapping {
        AttributeMapping {
            source: source.into(),
            destination: Destination::parse(destination).unwrap(),
            template: template.map(str::to_owned),
        }
        .validated()
        .unwrap()
    }

    /// Seed 003's template, verbatim.
    const SEED_ROLE_TEMPLATE: &str =
        r#"{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}"#;

    #[test]
    fn the_seed_examples_work_verbatim() {
        let mut profile = UserProfile {
            user_name: "a".into(),
            ..Default::default()
        };
        profile.enterprise.department = Some("R&D".into());
        profile.enterprise.employee_number = Some("42".into());
        let role = mapping(
            "groups[0].value",
            "organization_role",
            Some(SEED_ROLE_TEMPLATE),
        );
        let mappings = [
            role,
            mapping(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
                "public_metadata.department",
                None,
            ),
            mapping(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "public_metadata.employee_number",
                None,
            ),
        ];
        let admins = [(uuid::Uuid::nil(), "Admins".to_owned())];
        let mapped = apply_attribute_mappings(profile.clone(), &admins, &mappings).unwrap();
        assert_eq!(mapped.organization_role.as_deref(), Some("org:admin"));
        assert_eq!(mapped.public_metadata["department"], "R&D");
        assert_eq!(mapped.public_metadata["employee_number"], "42");
        let mapped = apply_attribute_mappings(profile.clone(), &[], &mappings).unwrap();
        assert_eq!(
            mapped.organization_role.as_deref(),
            Some("org:member"),
            "no group: the default"
        );
        // Liquid's `default` applies to an empty value only: another group's name stays.
        let other = [(uuid::Uuid::nil(), "Engineering".to_owned())];
        let mapped = apply_attribute_mappings(profile, &other, &mappings).unwrap();
        assert_eq!(mapped.organization_role.as_deref(), Some("engineering"));
    }

    #[test]
    fn bad_mappings_are_refused() {
        assert!(Destination::parse("password").is_err());
        assert!(
            AttributeMapping {
                source: "a[".into(),
                destination: Destination::OrganizationRole,
                template: None
            }
            .validated()
            .is_err()
        );
        for (template, named) in [
            ("{% if %}", "if"),
            ("{{ value | no_such_filter }}", "no_such_filter"),
            ("{{ value ", "{{"),
            // MiniJinja's syntax is not Liquid: one template language.
            ("{% if value | lower == 'x' %}a{% endif %}", "lower"),
        ] {
            let refused = AttributeMapping {
                source: "a".into(),
                destination: Destination::OrganizationRole,
                template: Some(template.into()),
            }
            .validated();
            match refused {
                Err(DomainError::InvalidValue(message)) => assert!(
                    message.starts_with("the template does not parse") && message.contains(named),
                    "{template}: {message}"
                ),
                other => panic!("{template}: {other:?}"),
            }
        }
        let failing = mapping("title", "title", Some("{{ no_such_variable }}"));
        let profile = UserProfile {
            user_name: "a".into(),
            title: Some("x".into()),
            ..Default::default()
        };
        assert!(matches!(
            apply_attribute_mappings(profile, &[], &[failing]),
            Err(DomainError::InvalidValue(_))
        ));
    }
}
