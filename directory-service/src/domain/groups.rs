//! Groups: their profile, validation, which attributes can be searched, and how a PATCH
//! turns into a new profile plus membership changes.

use serde_json::Value;

use super::filter::{AttrPath, CompareOp, Filter, FilterValue};
use super::patch::{PatchOp, PatchOperation};
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
        Ok(self)
    }

    pub fn display_name_key(&self) -> String {
        display_name_key(&self.display_name)
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
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DomainError::InvalidValue(format!(
            "{} must be a string",
            operation.path.attribute
        ))),
    }
}

/// `members` operations in every dialect IdPs send:
/// - add `{"path":"members","value":[{"value":id}]}` (Okta, Entra);
/// - replace `{"path":"members","value":[...]}` (Okta full push) → the exact new set;
/// - remove `{"path":"members[value eq \"id\"]"}` (Okta, Entra with the flag);
/// - remove `{"path":"members","value":[{"value":id}]}` (Entra's default dialect): only
///   the listed members, never all of them;
/// - remove `{"path":"members"}` without a value: every member.
fn membership_change(operation: &PatchOperation) -> DomainResult<MembershipChange> {
    if operation.path.has_sub_attribute() {
        return Err(DomainError::InvalidPath(
            "members can only be addressed as members or members[value eq \"id\"]".into(),
        ));
    }
    if let Some(filter) = &operation.value_filter {
        if operation.op != PatchOp::Remove {
            return Err(DomainError::InvalidPath(
                "a members[...] filter path is only valid with remove".into(),
            ));
        }
        let mut ids = Vec::new();
        collect_member_ids_from_filter(filter, &mut ids)?;
        // An id that is not a UUID cannot be a member: removing it removes nothing.
        return Ok(MembershipChange::Remove(
            ids.iter()
                .filter_map(|v| uuid::Uuid::parse_str(v.trim()).ok())
                .collect(),
        ));
    }
    let values = member_values(operation.value.as_ref())?;
    Ok(match operation.op {
        PatchOp::Add => MembershipChange::Add(member_ids(&values)?),
        PatchOp::Replace => MembershipChange::ReplaceAll(member_ids(&values)?),
        PatchOp::Remove if values.is_empty() => MembershipChange::RemoveAll,
        PatchOp::Remove => MembershipChange::Remove(
            values
                .iter()
                .filter_map(|v| uuid::Uuid::parse_str(v.trim()).ok())
                .collect(),
        ),
    })
}

/// `[{"value": id, "display": ..}]`, a single object, or null.
pub fn member_values(value: Option<&Value>) -> DomainResult<Vec<String>> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(object @ Value::Object(_)) => vec![object],
        Some(_) => {
            return Err(DomainError::InvalidValue(
                "members must be an array of {\"value\": id} objects".into(),
            ));
        }
    };
    items
        .into_iter()
        .map(|item| {
            let value = item
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
                .map(|(_, v)| v);
            match value {
                Some(Value::String(id)) => Ok(id.clone()),
                _ => Err(DomainError::InvalidValue(
                    "every member needs a string \"value\" (the user id)".into(),
                )),
            }
        })
        .collect()
}

fn collect_member_ids_from_filter(filter: &Filter, into: &mut Vec<String>) -> DomainResult<()> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: FilterValue::String(id),
        } if path.attribute_is("value") && !path.has_sub_attribute() => {
            into.push(id.clone());
            Ok(())
        }
        Filter::Or(parts) => parts
            .iter()
            .try_for_each(|p| collect_member_ids_from_filter(p, into)),
        _ => Err(DomainError::InvalidFilter(
            "members can be selected by value eq \"id\" (joined with or)".into(),
        )),
    }
}

fn apply_extension(profile: &mut GroupProfile, operation: &PatchOperation) -> DomainResult<()> {
    let schema = operation.path.schema.clone();
    let holder = profile
        .extensions
        .entry(schema.clone())
        .or_insert_with(|| Value::Object(Default::default()));
    let Value::Object(object) = holder else {
        return Err(DomainError::InvalidPath(format!(
            "{schema} is not an object"
        )));
    };
    match operation.op {
        PatchOp::Remove => {
            object.remove(&operation.path.attribute);
        }
        _ => {
            object.insert(
                operation.path.attribute.clone(),
                operation.value.clone().unwrap_or(Value::Null),
            );
        }
    }
    if object.is_empty() {
        profile.extensions.remove(&schema);
    }
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
    use serde_json::json;

    fn op(op: PatchOp, attribute: &str, value: Option<Value>) -> PatchOperation {
        PatchOperation {
            op,
            path: AttrPath {
                attribute: attribute.into(),
                ..Default::default()
            },
            value_filter: None,
            value,
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
    fn member_dialects_become_the_right_changes() {
        let add = op(
            PatchOp::Add,
            "members",
            Some(json!([{"value": A, "display": "a"}, {"value": B}])),
        );
        let replace = op(PatchOp::Replace, "members", Some(json!([{"value": A}])));
        let entra_remove = op(PatchOp::Remove, "MEMBERS", Some(json!([{"value": B}])));
        let mut okta_remove = op(PatchOp::Remove, "members", None);
        okta_remove.value_filter = Some(Filter::Compare {
            path: AttrPath {
                attribute: "value".into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: FilterValue::String(A.into()),
        });
        let remove_all = op(PatchOp::Remove, "members", None);
        let plan = plan_group_patch(
            &profile(),
            &[add, replace, entra_remove, okta_remove, remove_all],
        )
        .unwrap();
        assert_eq!(
            plan.membership,
            vec![
                MembershipChange::Add(vec![id(A), id(B)]),
                MembershipChange::ReplaceAll(vec![id(A)]),
                MembershipChange::Remove(vec![id(B)]),
                MembershipChange::Remove(vec![id(A)]),
                MembershipChange::RemoveAll,
            ]
        );
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
        let bad_member = op(
            PatchOp::Add,
            "members",
            Some(json!([{"value": "not-a-user"}])),
        );
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
}
