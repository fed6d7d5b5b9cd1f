//! The one table of SCIM attributes (RFC 7643 §4, §8.7.1) this service supports: name,
//! type, multi-valued, mutability, returned, case-exactness, uniqueness, whether filters
//! may name it and where the directory keeps it. It drives the `/Schemas` documents
//! (`discovery.rs`), how PATCH values are typed (`patch.rs`: booleans, the enterprise
//! attributes an unqualified path means) and which User attributes are typed fields or
//! kept verbatim (`user.rs`).
//!
//! To add a plain attribute: add a row here, a field to `UserAttributes` in the proto and
//! its mapping in `user.rs` (see ARCHITECTURE.md, "Add a SCIM attribute").

use serde_json::{Map, Value, json};

use super::ScimError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Complex,
    Reference,
    Binary,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Boolean => "boolean",
            Type::Complex => "complex",
            Type::Reference => "reference",
            Type::Binary => "binary",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    Default,
    Never,
}

/// Where the directory keeps an attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// A typed field of `UserAttributes` / `GroupAttributes` (indexed where filterable).
    Typed,
    /// Kept verbatim in `extensions` under the attribute's canonical name.
    Verbatim,
    /// Computed by the directory (a user's `groups`); never written by clients.
    Derived,
    /// Accepted and discarded by the gateway (`password`).
    Discarded,
}

#[derive(Clone, Copy, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Type,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `uniqueness`: `Some(true)` "server", `Some(false)` "none"; `None` the RFC default
    /// ("none", not shown for booleans and complex attributes).
    pub unique: Option<bool>,
    /// Filters may name it (the directory indexes it).
    pub filterable: bool,
    pub storage: Storage,
    pub reference_types: &'static [&'static str],
    /// `canonicalValues`, when the schema lists them (possibly none).
    pub canonical_values: Option<&'static [&'static str]>,
    pub sub_attributes: &'static [Attribute],
}

impl Attribute {
    const fn new(name: &'static str, kind: Type, description: &'static str) -> Attribute {
        Attribute {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: None,
            filterable: false,
            storage: Storage::Typed,
            reference_types: &[],
            canonical_values: None,
            sub_attributes: &[],
        }
    }

    const fn string(name: &'static str, description: &'static str) -> Attribute {
        Attribute::new(name, Type::String, description)
    }

    const fn boolean(name: &'static str, description: &'static str) -> Attribute {
        Attribute::new(name, Type::Boolean, description)
    }

    const fn complex(
        name: &'static str,
        description: &'static str,
        sub_attributes: &'static [Attribute],
    ) -> Attribute {
        Attribute {
            sub_attributes,
            ..Attribute::new(name, Type::Complex, description)
        }
    }

    const fn reference(
        name: &'static str,
        description: &'static str,
        reference_types: &'static [&'static str],
    ) -> Attribute {
        Attribute {
            reference_types,
            case_exact: true,
            ..Attribute::new(name, Type::Reference, description)
        }
    }

    const fn multi_valued(self) -> Attribute {
        Attribute {
            multi_valued: true,
            ..self
        }
    }

    const fn required(self) -> Attribute {
        Attribute {
            required: true,
            ..self
        }
    }

    const fn case_exact(self) -> Attribute {
        Attribute {
            case_exact: true,
            ..self
        }
    }

    const fn unique(self) -> Attribute {
        Attribute {
            unique: Some(true),
            ..self
        }
    }

    const fn not_unique(self) -> Attribute {
        Attribute {
            unique: Some(false),
            ..self
        }
    }

    const fn filterable(self) -> Attribute {
        Attribute {
            filterable: true,
            ..self
        }
    }

    const fn mutability(self, mutability: Mutability) -> Attribute {
        Attribute { mutability, ..self }
    }

    const fn returned(self, returned: Returned) -> Attribute {
        Attribute { returned, ..self }
    }

    const fn stored(self, storage: Storage) -> Attribute {
        Attribute { storage, ..self }
    }

    const fn canonical(self, values: &'static [&'static str]) -> Attribute {
        Attribute {
            canonical_values: Some(values),
            ..self
        }
    }

    /// The sub-attribute named `name` (case-insensitively).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes, name)
    }

    /// The RFC 7643 §7 attribute definition, as `/Schemas` shows it.
    pub fn to_json(&self) -> Value {
        let mut out = definition(
            self.name,
            self.kind.as_str(),
            self.multi_valued,
            self.required,
            self.case_exact,
            self.description,
        );
        // `definition` fills in the defaults; set what differs.
        out.insert(
            "mutability".into(),
            json!(match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
                Mutability::WriteOnly => "writeOnly",
            }),
        );
        out.insert(
            "returned".into(),
            json!(match self.returned {
                Returned::Default => "default",
                Returned::Never => "never",
            }),
        );
        if let Some(unique) = self.unique {
            out.insert(
                "uniqueness".into(),
                json!(if unique { "server" } else { "none" }),
            );
        }
        if self.kind == Type::Reference {
            out.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if let Some(values) = self.canonical_values {
            out.insert("canonicalValues".into(), json!(values));
        }
        if self.kind == Type::Complex {
            out.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(Attribute::to_json).collect()),
            );
        }
        Value::Object(out)
    }
}

/// An attribute definition with the RFC 7643 §2.2 defaults (readWrite, returned by
/// default, not unique); `caseExact` and `uniqueness` only for types they apply to.
fn definition(
    name: &str,
    kind: &str,
    multi_valued: bool,
    required: bool,
    case_exact: bool,
    description: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!(kind));
    out.insert("multiValued".into(), json!(multi_valued));
    out.insert("description".into(), json!(description));
    out.insert("required".into(), json!(required));
    let has_case = !matches!(kind, "boolean" | "complex");
    if has_case {
        out.insert("caseExact".into(), json!(case_exact));
    }
    out.insert("mutability".into(), json!("readWrite"));
    out.insert("returned".into(), json!("default"));
    if has_case {
        out.insert("uniqueness".into(), json!("none"));
    }
    out
}

/// The definition of a custom attribute a workspace declared (`kind`: string, boolean,
/// integer, decimal or dateTime).
pub fn custom_definition(
    name: &str,
    kind: &str,
    multi_valued: bool,
    case_exact: bool,
    description: &str,
) -> Value {
    let mut out = definition(name, kind, multi_valued, false, case_exact, description);
    if case_exact {
        out.insert("caseExact".into(), json!(true));
    }
    Value::Object(out)
}

/// The attribute named `name` in `table` (case-insensitively).
pub fn find(table: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    table.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// `value`, `display`, `type`, `primary` of a multi-valued attribute (RFC 7643 §2.4).
macro_rules! multi_valued_complex {
    ($name:expr, $description:expr, $value:expr, $types:expr) => {
        Attribute::complex(
            $name,
            $description,
            &[
                $value,
                Attribute::string(
                    "display",
                    "A human-readable name, primarily used for display purposes.",
                ),
                Attribute::string("type", "A label indicating the attribute's function.")
                    .canonical($types),
                Attribute::boolean(
                    "primary",
                    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.",
                ),
            ],
        )
        .multi_valued()
    };
}

/// Core User (RFC 7643 §4.1), in `/Schemas` order.
pub static USER: &[Attribute] = &[
    Attribute::string(
        "userName",
        "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.",
    )
    .required()
    .unique()
    .filterable(),
    Attribute::complex(
        "name",
        "The components of the user's real name.",
        &[
            Attribute::string("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
            Attribute::string("familyName", "The family name of the User, or last name in most Western languages.").filterable(),
            Attribute::string("givenName", "The given name of the User, or first name in most Western languages.").filterable(),
            Attribute::string("middleName", "The middle name(s) of the User."),
            Attribute::string("honorificPrefix", "The honorific prefix(es) of the User, or title in most Western languages."),
            Attribute::string("honorificSuffix", "The honorific suffix(es) of the User, or suffix in most Western languages."),
        ],
    ),
    Attribute::string("displayName", "The name of the User, suitable for display to end-users.").filterable(),
    Attribute::string("nickName", "The casual way to address the user in real life."),
    Attribute::reference("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.", &["external"]),
    Attribute::string("title", "The user's title, such as \"Vice President\"."),
    Attribute::string("userType", "Used to identify the relationship between the organization and the user."),
    Attribute::string("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    Attribute::string("locale", "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
    Attribute::string("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
    Attribute::boolean("active", "A Boolean value indicating the User's administrative status.").filterable(),
    Attribute::string("password", "The User's cleartext password. Accepted and discarded by this service; never returned.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never)
        .stored(Storage::Discarded),
    Attribute::complex(
        "emails",
        "Email addresses for the user.",
        &[
            Attribute::string("value", "Email addresses for the user.").filterable(),
            Attribute::string("display", "A human-readable name, primarily used for display purposes."),
            Attribute::string("type", "A label indicating the attribute's function.")
                .canonical(&["work", "home", "other"])
                .filterable(),
            Attribute::boolean(
                "primary",
                "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.",
            )
            .filterable(),
        ],
    )
    .multi_valued()
    .filterable(),
    multi_valued_complex!(
        "phoneNumbers",
        "Phone numbers for the User.",
        Attribute::string("value", "Phone number of the User."),
        &["work", "home", "mobile", "fax", "pager", "other"]
    ),
    multi_valued_complex!(
        "ims",
        "Instant messaging addresses for the User.",
        Attribute::string("value", "Instant messaging address for the User."),
        &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
    )
    .stored(Storage::Verbatim),
    multi_valued_complex!(
        "photos",
        "URLs of photos of the User.",
        Attribute::reference("value", "URL of a photo of the User.", &["external"]),
        &["photo", "thumbnail"]
    )
    .stored(Storage::Verbatim),
    Attribute::complex(
        "addresses",
        "A physical mailing address for this User.",
        &[
            Attribute::string("formatted", "The full mailing address, formatted for display or use with a mailing label."),
            Attribute::string("streetAddress", "The full street address component."),
            Attribute::string("locality", "The city or locality component."),
            Attribute::string("region", "The state or region component."),
            Attribute::string("postalCode", "The zip code or postal code component."),
            Attribute::string("country", "The country name component."),
            Attribute::string("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
            Attribute::boolean("primary", "A Boolean value indicating the 'primary' or preferred address."),
        ],
    )
    .multi_valued()
    .stored(Storage::Verbatim),
    Attribute::complex(
        "groups",
        "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.",
        &[
            Attribute::string("value", "The identifier of the User's group.").mutability(Mutability::ReadOnly),
            Attribute::reference("$ref", "The URI of the corresponding 'Group' resource to which the user belongs.", &["User", "Group"])
                .mutability(Mutability::ReadOnly),
            Attribute::string("display", "A human-readable name, primarily used for display purposes.").mutability(Mutability::ReadOnly),
            Attribute::string("type", "A label indicating the attribute's function.")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly),
        ],
    )
    .multi_valued()
    .mutability(Mutability::ReadOnly)
    .stored(Storage::Derived),
    multi_valued_complex!(
        "entitlements",
        "A list of entitlements for the User that represent a thing the User has.",
        Attribute::string("value", "The value of an entitlement."),
        &[]
    )
    .stored(Storage::Verbatim),
    multi_valued_complex!(
        "roles",
        "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
        Attribute::string("value", "The value of a role."),
        &[]
    )
    .stored(Storage::Verbatim),
    multi_valued_complex!(
        "x509Certificates",
        "A list of certificates issued to the User.",
        Attribute::new("value", Type::Binary, "The value of an X.509 certificate.").case_exact(),
        &[]
    )
    .stored(Storage::Verbatim),
];

/// Enterprise User extension (RFC 7643 §4.3).
pub static ENTERPRISE_USER: &[Attribute] = &[
    Attribute::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
    ),
    Attribute::string("costCenter", "Identifies the name of a cost center."),
    Attribute::string("organization", "Identifies the name of an organization."),
    Attribute::string("division", "Identifies the name of a division."),
    Attribute::string("department", "Identifies the name of a department."),
    Attribute::complex(
        "manager",
        "The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
        &[
            Attribute::string(
                "value",
                "The id of the SCIM resource representing the User's manager.",
            ),
            Attribute::reference(
                "$ref",
                "The URI of the SCIM resource representing the User's manager.",
                &["User"],
            ),
            Attribute::string("displayName", "The displayName of the User's manager.")
                .mutability(Mutability::ReadOnly),
        ],
    ),
];

/// Core Group (RFC 7643 §4.2). displayName is required here (the RFC text says REQUIRED,
/// its JSON says false) and unique per workspace (the directory enforces it; Entra matches
/// on it). Members are users only.
pub static GROUP: &[Attribute] = &[
    Attribute::string(
        "displayName",
        "A human-readable name for the Group. REQUIRED.",
    )
    .required()
    .unique()
    .filterable(),
    Attribute::complex(
        "members",
        "A list of members of the Group.",
        &[
            Attribute::string("value", "Identifier of the member of this Group.")
                .mutability(Mutability::Immutable)
                .filterable(),
            Attribute::reference(
                "$ref",
                "The URI corresponding to a SCIM resource that is a member of this Group.",
                &["User"],
            )
            .mutability(Mutability::Immutable),
            Attribute::string(
                "display",
                "A human-readable name for the member (its userName).",
            )
            .mutability(Mutability::ReadOnly),
            Attribute::string(
                "type",
                "A label indicating the type of resource, e.g., 'User' or 'Group'.",
            )
            .canonical(&["User"])
            .mutability(Mutability::Immutable),
        ],
    )
    .multi_valued()
    .not_unique()
    .filterable(),
];

/// Checks a JSON value against an attribute's definition (RFC 7643 §2.3, §2.4): its type,
/// an array for a multi-valued attribute (each entry checked as one value), an object for
/// a complex one with each known sub-attribute checked in turn. `null` is "unassigned" and
/// always fits. Booleans also accept Entra's `"True"`/`"False"`. Sub-attributes the table
/// does not list are tolerated when they hold a simple value (IdPs add their own); the
/// `type` labels' canonical values are advisory in RFC 7643 (§2.4 "MAY") and not
/// enforced. `name` is the attribute as the error names it (`addresses`,
/// `roles.value`).
pub fn check_value(attribute: &Attribute, name: &str, value: &Value) -> Result<(), ScimError> {
    if value.is_null() {
        return Ok(());
    }
    if attribute.multi_valued {
        let Value::Array(items) = value else {
            return Err(type_error(name, "an array"));
        };
        return items
            .iter()
            .try_for_each(|item| check_single_value(attribute, name, item));
    }
    check_single_value(attribute, name, value)
}

/// One value of `attribute` (an entry of a multi-valued attribute, or its only value).
pub fn check_single_value(
    attribute: &Attribute,
    name: &str,
    value: &Value,
) -> Result<(), ScimError> {
    let fits = match (attribute.kind, value) {
        (_, Value::Null) => true,
        (Type::String | Type::Reference | Type::Binary, Value::String(_)) => true,
        (Type::Boolean, Value::Bool(_)) => true,
        (Type::Boolean, Value::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        (Type::Complex, Value::Object(members)) => {
            for (key, member) in members {
                let inner = format!("{name}.{key}");
                match attribute.sub_attribute(key) {
                    Some(sub) => check_value(sub, &inner, member)?,
                    None if member.is_array() || member.is_object() => {
                        return Err(type_error(&inner, "a simple value"));
                    }
                    None => {}
                }
            }
            true
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(type_error(
            name,
            match attribute.kind {
                Type::String | Type::Reference | Type::Binary => "a string",
                Type::Boolean => "a boolean",
                Type::Complex => "an object",
            },
        ))
    }
}

fn type_error(name: &str, expected: &str) -> ScimError {
    ScimError::invalid_value(format!("'{name}' must be {expected}"))
}

/// `true` when the attribute (or sub-attribute) at `attribute[.sub]` of `table` is a
/// boolean: PATCH turns Entra's `"True"`/`"False"` strings into booleans there.
pub fn is_boolean(table: &'static [Attribute], attribute: &str, sub: &str) -> bool {
    let Some(attribute) = find(table, attribute) else {
        return false;
    };
    let target = if sub.is_empty() {
        Some(attribute)
    } else {
        attribute.sub_attribute(sub)
    };
    target.is_some_and(|a| a.kind == Type::Boolean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_know_sub_attributes() {
        assert_eq!(find(USER, "USERNAME").unwrap().name, "userName");
        assert!(
            find(USER, "emails")
                .unwrap()
                .sub_attribute("Primary")
                .is_some()
        );
        assert!(is_boolean(USER, "active", ""));
        assert!(is_boolean(USER, "emails", "primary"));
        assert!(!is_boolean(USER, "title", ""));
        assert!(find(ENTERPRISE_USER, "Manager").is_some());
        assert!(find(USER, "manager").is_none());
    }

    #[test]
    fn values_are_checked_against_the_table() {
        let attribute = |name: &str| find(USER, name).unwrap();
        let refused = |name: &str, value: Value, named: &str| {
            let err = check_value(attribute(name), name, &value).expect_err(&value.to_string());
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidValue));
            assert!(err.detail.contains(&format!("'{named}'")), "{}", err.detail);
        };
        refused("addresses", json!("Main St"), "addresses");
        refused("addresses", json!({"locality": "x"}), "addresses");
        refused(
            "addresses",
            json!([{"postalCode": ["1"]}]),
            "addresses.postalCode",
        );
        refused("ims", json!(5), "ims");
        refused("photos", json!({"value": "https://x"}), "photos");
        refused("photos", json!([{"value": 5}]), "photos.value");
        refused("entitlements", json!("admin"), "entitlements");
        refused("roles", json!("admin"), "roles");
        refused("roles", json!([{"value": ["a"]}]), "roles.value");
        refused(
            "roles",
            json!([{"value": "a", "primary": "yes"}]),
            "roles.primary",
        );
        refused("x509Certificates", json!("MIIC"), "x509Certificates");
        refused("password", json!(5), "password");
        refused(
            "roles",
            json!([{"value": "a", "extra": {"x": 1}}]),
            "roles.extra",
        );
        for (name, value) in [
            (
                "addresses",
                json!([{"locality": "x", "primary": true, "type": "work"}]),
            ),
            (
                "roles",
                json!([{"value": "a", "primary": "True", "custom": 1}]),
            ),
            ("photos", json!(null)),
            ("ims", json!([null])),
            ("x509Certificates", json!([{"value": "MIIC"}])),
            ("active", json!("False")),
        ] {
            check_value(attribute(name), name, &value).unwrap();
        }
    }

    #[test]
    fn storage_says_what_the_directory_keeps_verbatim() {
        let verbatim: Vec<_> = USER
            .iter()
            .filter(|a| a.storage == Storage::Verbatim)
            .map(|a| a.name)
            .collect();
        assert_eq!(
            verbatim,
            [
                "ims",
                "photos",
                "addresses",
                "entitlements",
                "roles",
                "x509Certificates"
            ]
        );
    }
}
