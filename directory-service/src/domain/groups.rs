//! Groups: their profile, validation, which attributes can be searched, and how a PATCH
//! turns into a new profile plus membership changes.

use serde_json::Value;

use super::filter::AttrPath;
use super::patch::{PatchOp, PatchOperation, PatchValue, Scalar};
use super::{DomainError, DomainResult};

pub const CORE_GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupProfile {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Extension schemas by URN, kept verbatim.
    pub extensions: serde_json::Map<String, Value>,
}

impl GroupProfile {
    pub fn validated(mut self) -> DomainResult<Self> {
        if self.display_name.trim().is_empty() {
            return Err(DomainError::InvalidValue(
                "displayName is required and must not be blank".into(),
            ));
        }
        if self.display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(DomainError::InvalidValue(format!(
                "displayName is longer than {MAX_DISPLAY_NAME_CHARS} characters"
            )));
        }
        if self.external_id.as_deref().is_some_and(str::is_empty) {
            self.external_id = None;
        }
        if self
            .external_id
            .as_ref()
            .is_some_and(|id| id.len() > super::users::MAX_STRING_BYTES)
        {
            return Err(DomainError::InvalidValue(format!(
                "externalId is longer than {} bytes",
                super::users::MAX_STRING_BYTES
            )));
        }
        Ok(self)
    }

    pub fn display_name_key(&self) -> String {
        display_name_key(&self.display_name)
    }

    /// Refuses an extension schema (a `urn:` key of `extensions`): a workspace declares
    /// extension schemas for its users only, so nothing is stored under a group extension.
    /// One a group already holds (stored before this rule) may be written back unchanged.
    pub fn refuse_extensions(&self, current: Option<&GroupProfile>) -> DomainResult<()> {
        for (key, value) in &self.extensions {
            let is_schema = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
            let unchanged = current.is_some_and(|c| c.extensions.get(key) == Some(value));
            if is_schema && !unchanged {
                return Err(DomainError::InvalidValue(format!(
                    "{key} is not an extension schema of groups in this workspace"
                )));
            }
        }
        Ok(())
    }
}

/// Group displayNames are unique per workspace, case-insensitively: Entra matches groups by
/// displayName and breaks on duplicates.
pub fn display_name_key(display_name: &str) -> String {
    super::case_key(display_name)
}

/// A stored group without its members.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: uuid::Uuid,
    pub workspace_id: uuid::Uuid,
    pub profile: GroupProfile,
    /// Fixed when the group is created (from its first displayName).
    pub role: super::roles::GroupRole,
    /// The subscription whose license group this is, if any (fixed like the role).
    pub license_subscription: Option<String>,
    pub created: chrono::DateTime<chrono::Utc>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub user_id: uuid::Uuid,
    pub user_name: String,
}

/// One change to a group's member set, applied in order inside the write transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    Add(Vec<uuid::Uuid>),
    Remove(Vec<uuid::Uuid>),
    RemoveAll,
    ReplaceAll(Vec<uuid::Uuid>),
}

/// Parses member references. An id that is not a UUID cannot be a user of ours.
pub fn member_ids(values: &[String]) -> DomainResult<Vec<uuid::Uuid>> {
    values
        .iter()
        .map(|v| {
            uuid::Uuid::parse_str(v.trim()).map_err(|_| {
                DomainError::InvalidValue(format!("member {v:?} is not a user of this workspace"))
            })
        })
        .collect()
}

/// The outcome of a group PATCH: the new profile and the membership changes, in order.
#[derive(Debug, PartialEq)]
pub struct GroupPatch {
    pub profile: GroupProfile,
    pub membership: Vec<MembershipChange>,
}

pub fn plan_group_patch(
    profile: &GroupProfile,
    operations: &[PatchOperation],
) -> DomainResult<GroupPatch> {
    let mut patched = profile.clone();
    let mut membership = Vec::new();
    for operation in operations {
        let path = &operation.path;
        if path.attribute.is_empty() {
            return Err(match operation.op {
                PatchOp::Remove => DomainError::NoTarget("remove requires a path".into()),
                _ => DomainError::InvalidPath("operation has no target attribute".into()),
            });
        }
        if !path.schema.is_empty() && !path.schema.eq_ignore_ascii_case(CORE_GROUP_SCHEMA) {
            apply_extension(&mut patched, operation)?;
            continue;
        }
        match path.attribute.to_ascii_lowercase().as_str() {
            "id" | "meta" | "schemas" => {
                return Err(DomainError::Mutability(format!(
                    "{} is read-only",
                    path.attribute
                )));
            }
            "displayname" => {
                single_valued(operation)?;
                patched.display_name = string_value(operation)?.unwrap_or_default();
            }
            "externalid" => {
                single_valued(operation)?;
                patched.external_id = string_value(operation)?;
            }
            "members" => membership.push(membership_change(operation)?),
            _ => {
                return Err(DomainError::InvalidPath(format!(
                    "{} is not an attribute of Group",
                    path.attribute
                )));
            }
        }
    }
    Ok(GroupPatch {
        profile: patched.validated()?,
        membership,
    })
}

fn single_valued(operation: &PatchOperation) -> DomainResult<()> {
    if operation.path.has_sub_attribute() || operation.value_filter.is_some() {
        return Err(DomainError::InvalidPath(format!(
            "{} has no sub-attributes",
            operation.path.attribute
        )));
    }
    if operation.op != PatchOp::Remove && operation.value.is_none() {
        return Err(DomainError::InvalidValue(format!(
            "{} requires a value",
            operation.path.attribute
        )));
    }
    Ok(())
}

fn string_value(operation: &PatchOperation) -> DomainResult<Option<String>> {
    if operation.op == PatchOp::Remove {
        return Ok(None);
    }
    match &operation.value {
        None | Some(PatchValue::Scalar(Scalar::Null)) => Ok(None),
        Some(PatchValue::Scalar(Scalar::String(s))) => Ok(Some(s.clone())),
        Some(_) => Err(DomainError::InvalidValue(format!(
            "{} must be a string",
            operation.path.attribute
        ))),
    }
}

/// A `members` operation: add these users, replace the member set with exactly these
/// users, remove these users, or (a remove without a member list) remove every member.
fn membership_change(operation: &PatchOperation) -> DomainResult<MembershipChange> {
    if operation.path.has_sub_attribute() || operation.value_filter.is_some() {
        return Err(DomainError::InvalidPath(
            "members are addressed as members, with the member ids as the value".into(),
        ));
    }
    let ids = match &operation.value {
        None | Some(PatchValue::Scalar(Scalar::Null)) => None,
        Some(PatchValue::Members(ids)) => Some(ids.as_slice()),
        Some(_) => {
            return Err(DomainError::InvalidValue(
                "members must be a list of user ids".into(),
            ));
        }
    };
    Ok(match (operation.op, ids) {
        (PatchOp::Add, ids) => MembershipChange::Add(member_ids(ids.unwrap_or_default())?),
        (PatchOp::Replace, ids) => {
            MembershipChange::ReplaceAll(member_ids(ids.unwrap_or_default())?)
        }
        (PatchOp::Remove, None) => MembershipChange::RemoveAll,
        // An id that is not a UUID cannot be a member: removing it removes nothing.
        (PatchOp::Remove, Some(ids)) => MembershipChange::Remove(
            ids.iter()
                .filter_map(|v| uuid::Uuid::parse_str(v.trim()).ok())
                .collect(),
        ),
    })
}

/// A path under an extension schema. A workspace declares no group extension schema, so
/// only a remove is allowed: it clears what a group stored before extensions were refused.
fn apply_extension(profile: &mut GroupProfile, operation: &PatchOperation) -> DomainResult<()> {
    let schema = &operation.path.schema;
    if operation.op != PatchOp::Remove {
        return Err(DomainError::InvalidValue(format!(
            "{schema} is not an extension schema of groups in this workspace"
        )));
    }
    let Some(key) = profile
        .extensions
        .keys()
        .find(|k| k.eq_ignore_ascii_case(schema))
        .cloned()
    else {
        return Ok(());
    };
    if let Some(Value::Object(object)) = profile.extensions.get_mut(&key) {
        object.remove(&operation.path.attribute);
        if !object.is_empty() {
            return Ok(());
        }
    }
    profile.extensions.remove(&key);
    Ok(())
}

/// The group attributes a filter may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupFilterAttribute {
    Id,
    DisplayName,
    ExternalId,
    /// `members` or `members.value`: the group has this user as a member.
    MemberValue,
    Created,
    LastModified,
}

pub fn resolve_group_filter_attribute(path: &AttrPath) -> DomainResult<GroupFilterAttribute> {
    use GroupFilterAttribute::*;
    let unsupported = || {
        DomainError::InvalidFilter(format!(
            "attribute {path} is unknown or cannot be filtered on"
        ))
    };
    if !path.schema.is_empty() && !path.schema.eq_ignore_ascii_case(CORE_GROUP_SCHEMA) {
        return Err(unsupported());
    }
    let attribute = path.attribute.to_ascii_lowercase();
    let sub = path.sub_attribute.to_ascii_lowercase();
    Ok(match (attribute.as_str(), sub.as_str()) {
        ("id", "") => Id,
        ("displayname", "") => DisplayName,
        ("externalid", "") => ExternalId,
        ("members", "" | "value") => MemberValue,
        ("meta", "created") => Created,
        ("meta", "lastmodified") => LastModified,
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::filter::{CompareOp, Filter, FilterValue};
    use crate::domain::patch::tests::typed;
    use serde_json::json;

    fn op(op: PatchOp, attribute: &str, value: Option<Value>) -> PatchOperation {
        PatchOperation {
            op,
            path: AttrPath {
                attribute: attribute.into(),
                ..Default::default()
            },
            value_filter: None,
            value: value.map(typed),
        }
    }

    fn members(op: PatchOp, ids: &[&str]) -> PatchOperation {
        PatchOperation {
            value: Some(PatchValue::Members(
                ids.iter().map(|id| id.to_string()).collect(),
            )),
            ..self::op(op, "members", None)
        }
    }

    fn profile() -> GroupProfile {
        GroupProfile {
            display_name: "Engineering".into(),
            ..Default::default()
        }
    }

    const A: &str = "0192a1b2-0000-7000-8000-000000000001";
    const B: &str = "0192a1b2-0000-7000-8000-000000000002";

    fn id(s: &str) -> uuid::Uuid {
        uuid::Uuid::parse_str(s).unwrap()
    }

    #[test]
    fn member_operations_become_the_right_changes() {
        let add = members(PatchOp::Add, &[A, B]);
        let replace = members(PatchOp::Replace, &[A]);
        let remove_b = PatchOperation {
            path: AttrPath {
                attribute: "MEMBERS".into(),
                ..Default::default()
            },
            ..members(PatchOp::Remove, &[B, "not-a-user"])
        };
        let remove_none = members(PatchOp::Remove, &[]);
        let remove_all = op(PatchOp::Remove, "members", None);
        let plan = plan_group_patch(
            &profile(),
            &[add, replace, remove_b, remove_none, remove_all],
        )
        .unwrap();
        assert_eq!(
            plan.membership,
            vec![
                MembershipChange::Add(vec![id(A), id(B)]),
                MembershipChange::ReplaceAll(vec![id(A)]),
                MembershipChange::Remove(vec![id(B)]),
                MembershipChange::Remove(vec![]),
                MembershipChange::RemoveAll,
            ]
        );
        // Members are never SCIM objects or filters here: the gateway resolves those.
        let objects = op(PatchOp::Add, "members", Some(json!([{"value": A}])));
        assert!(matches!(
            plan_group_patch(&profile(), &[objects]),
            Err(DomainError::InvalidValue(_))
        ));
        let mut filtered = members(PatchOp::Remove, &[]);
        filtered.value_filter = Some(Filter::Compare {
            path: AttrPath {
                attribute: "value".into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: FilterValue::String(A.into()),
        });
        assert!(matches!(
            plan_group_patch(&profile(), &[filtered]),
            Err(DomainError::InvalidPath(_))
        ));
    }

    #[test]
    fn renames_and_errors() {
        let plan = plan_group_patch(
            &profile(),
            &[op(PatchOp::Replace, "displayName", Some(json!("Eng")))],
        )
        .unwrap();
        assert_eq!(plan.profile.display_name, "Eng");
        assert!(plan.membership.is_empty());
        let bad_member = members(PatchOp::Add, &["not-a-user"]);
        assert!(matches!(
            plan_group_patch(&profile(), &[bad_member]),
            Err(DomainError::InvalidValue(_))
        ));
        let blank = op(PatchOp::Replace, "displayName", Some(json!(" ")));
        assert!(matches!(
            plan_group_patch(&profile(), &[blank]),
            Err(DomainError::InvalidValue(_))
        ));
        let no_path = PatchOperation {
            path: AttrPath::default(),
            ..op(PatchOp::Remove, "", None)
        };
        assert!(matches!(
            plan_group_patch(&profile(), &[no_path]),
            Err(DomainError::NoTarget(_))
        ));
        let read_only = op(PatchOp::Replace, "id", Some(json!("x")));
        assert!(matches!(
            plan_group_patch(&profile(), &[read_only]),
            Err(DomainError::Mutability(_))
        ));
        let unknown = op(PatchOp::Add, "owners", Some(json!("x")));
        assert!(matches!(
            plan_group_patch(&profile(), &[unknown]),
            Err(DomainError::InvalidPath(_))
        ));
    }

    #[test]
    fn group_extensions_are_refused_and_never_stored() {
        let urn = "urn:example:acme:2.0:Group";
        let mut with_extension = profile();
        with_extension
            .extensions
            .insert(urn.into(), json!({"cost": 7}));
        assert!(matches!(
            with_extension.refuse_extensions(None),
            Err(DomainError::InvalidValue(_))
        ));
        // written back unchanged (a group stored before the rule): accepted
        assert!(
            with_extension
                .refuse_extensions(Some(&with_extension))
                .is_ok()
        );
        assert!(profile().refuse_extensions(None).is_ok());

        let under = |op: PatchOp, attribute: &str, value: Option<Value>| PatchOperation {
            op,
            path: AttrPath {
                schema: urn.into(),
                attribute: attribute.into(),
                ..Default::default()
            },
            value_filter: None,
            value: value.map(typed),
        };
        for operation in [
            under(PatchOp::Add, "cost", Some(json!(7))),
            under(PatchOp::Replace, "cost", Some(json!(8))),
        ] {
            assert!(matches!(
                plan_group_patch(&profile(), std::slice::from_ref(&operation)),
                Err(DomainError::InvalidValue(_))
            ));
        }
        // a remove clears what a group held from before
        let cleared =
            plan_group_patch(&with_extension, &[under(PatchOp::Remove, "cost", None)]).unwrap();
        assert!(cleared.profile.extensions.is_empty());
        assert!(
            plan_group_patch(&profile(), &[under(PatchOp::Remove, "cost", None)])
                .unwrap()
                .profile
                .extensions
                .is_empty()
        );
    }
}
