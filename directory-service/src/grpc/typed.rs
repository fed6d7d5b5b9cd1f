//! The typed calls for internal services (`DeactivateUser`, `UpdateUserProfile`,
//! `AddGroupMembers`, ...). Each one is expressed as the typed PATCH operations of the SCIM
//! write it stands for and runs through the same `ops` function, so every rule (last
//! admin, seats, role mappings, attribute mappings) applies unchanged.

use directory_proto::v1 as pb;
use serde_json::{Map, Value};
use tonic::{Response, Status};
use uuid::Uuid;

use super::RpcResult;
use super::convert::{self, parse_id, parse_resource_id};
use super::status::{invalid, to_status};
use crate::domain::DomainError;
use crate::domain::filter::{AttrPath, CompareOp, ENTERPRISE_USER_SCHEMA, Filter, FilterValue};
use crate::domain::paging::PageRequest;
use crate::domain::patch::{PatchOp, PatchOperation, PatchValue, Scalar};
use crate::ops;
use crate::store::Db;

fn path(schema: &str, attribute: &str, sub_attribute: &str) -> AttrPath {
    AttrPath {
        schema: schema.to_owned(),
        attribute: attribute.to_owned(),
        sub_attribute: sub_attribute.to_owned(),
    }
}

fn replace(path: AttrPath, value: PatchValue) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Replace,
        path,
        value_filter: None,
        value: Some(value),
    }
}

fn remove(path: AttrPath) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Remove,
        path,
        value_filter: None,
        value: None,
    }
}

fn string(value: Option<String>) -> PatchValue {
    PatchValue::Scalar(value.map_or(Scalar::Null, Scalar::String))
}

/// Sets `active` on a user: `DeactivateUser` / `ReactivateUser`.
pub async fn set_active(db: &Db, req: pb::UserRef, active: bool) -> RpcResult<pb::User> {
    let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
    let id = parse_resource_id("user", &req.id)?;
    let operation = replace(
        path("", "active", ""),
        PatchValue::Scalar(Scalar::Bool(active)),
    );
    let operations = [operation];
    let user = crate::ops::retry::retrying(|| {
        ops::users::patch_user(db, workspace_id, id, &operations, req.expected_version)
    })
    .await
    .map_err(to_status)?;
    Ok(Response::new(convert::user(user)))
}

pub async fn update_user_profile(
    db: &Db,
    req: pb::UpdateUserProfileRequest,
) -> RpcResult<pb::User> {
    let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
    let id = parse_resource_id("user", &req.id)?;
    let mask = req.update_mask.unwrap_or_default();
    if mask.paths.is_empty() {
        return Err(invalid("update_mask needs at least one field"));
    }
    let attributes = req.attributes.unwrap_or_default();
    let mut operations = Vec::new();
    for field in &mask.paths {
        operations.extend(masked_operations(field.trim(), &attributes)?);
    }
    let user = crate::ops::retry::retrying(|| {
        ops::users::patch_user(db, workspace_id, id, &operations, req.expected_version)
    })
    .await
    .map_err(to_status)?;
    Ok(Response::new(convert::user(user)))
}

/// The SCIM names of the simple `UserAttributes` fields.
const SIMPLE_FIELDS: &[(&str, &str)] = &[
    ("external_id", "externalId"),
    ("display_name", "displayName"),
    ("nick_name", "nickName"),
    ("profile_url", "profileUrl"),
    ("title", "title"),
    ("user_type", "userType"),
    ("preferred_language", "preferredLanguage"),
    ("locale", "locale"),
    ("timezone", "timezone"),
];

const NAME_FIELDS: &[(&str, &str)] = &[
    ("formatted", "formatted"),
    ("family_name", "familyName"),
    ("given_name", "givenName"),
    ("middle_name", "middleName"),
    ("honorific_prefix", "honorificPrefix"),
    ("honorific_suffix", "honorificSuffix"),
];

const ENTERPRISE_FIELDS: &[(&str, &str)] = &[
    ("employee_number", "employeeNumber"),
    ("cost_center", "costCenter"),
    ("organization", "organization"),
    ("division", "division"),
    ("department", "department"),
    ("manager", "manager"),
];

fn simple_field(a: &pb::UserAttributes, field: &str) -> Option<String> {
    match field {
        "external_id" => a.external_id.clone(),
        "display_name" => a.display_name.clone(),
        "nick_name" => a.nick_name.clone(),
        "profile_url" => a.profile_url.clone(),
        "title" => a.title.clone(),
        "user_type" => a.user_type.clone(),
        "preferred_language" => a.preferred_language.clone(),
        "locale" => a.locale.clone(),
        "timezone" => a.timezone.clone(),
        _ => None,
    }
}

fn name_field(name: &pb::Name, field: &str) -> Option<String> {
    match field {
        "formatted" => name.formatted.clone(),
        "family_name" => name.family_name.clone(),
        "given_name" => name.given_name.clone(),
        "middle_name" => name.middle_name.clone(),
        "honorific_prefix" => name.honorific_prefix.clone(),
        "honorific_suffix" => name.honorific_suffix.clone(),
        _ => None,
    }
}

fn enterprise_field(enterprise: &pb::EnterpriseUser, field: &str) -> Option<String> {
    match field {
        "employee_number" => enterprise.employee_number.clone(),
        "cost_center" => enterprise.cost_center.clone(),
        "organization" => enterprise.organization.clone(),
        "division" => enterprise.division.clone(),
        "department" => enterprise.department.clone(),
        "manager" => enterprise.manager.as_ref().map(|m| m.value.clone()),
        _ => None,
    }
}

fn multi_values(values: &[pb::MultiValue]) -> PatchValue {
    PatchValue::ComplexList(
        values
            .iter()
            .map(|v| {
                let mut entry = Map::new();
                entry.insert("value".into(), Value::String(v.value.clone()));
                if let Some(kind) = &v.r#type {
                    entry.insert("type".into(), Value::String(kind.clone()));
                }
                entry.insert("primary".into(), Value::Bool(v.primary));
                if let Some(display) = &v.display {
                    entry.insert("display".into(), Value::String(display.clone()));
                }
                entry
            })
            .collect(),
    )
}

/// The operations that write `field` (a `UserAttributes` field path) from `a`.
fn masked_operations(field: &str, a: &pb::UserAttributes) -> Result<Vec<PatchOperation>, Status> {
    let unknown = || invalid(format!("update_mask: {field:?} is not a writable field"));
    let name = a.name.clone().unwrap_or_default();
    let enterprise = a.enterprise.clone().unwrap_or_default();
    if let Some((_, scim)) = SIMPLE_FIELDS.iter().find(|(f, _)| *f == field) {
        return Ok(vec![replace(
            path("", scim, ""),
            string(simple_field(a, field)),
        )]);
    }
    Ok(match field.split_once('.') {
        None => match field {
            "user_name" => vec![replace(
                path("", "userName", ""),
                string(Some(a.user_name.clone())),
            )],
            "active" => vec![replace(
                path("", "active", ""),
                PatchValue::Scalar(a.active.map_or(Scalar::Null, Scalar::Bool)),
            )],
            "emails" => vec![replace(path("", "emails", ""), multi_values(&a.emails))],
            "phone_numbers" => vec![replace(
                path("", "phoneNumbers", ""),
                multi_values(&a.phone_numbers),
            )],
            "name" => {
                let mut operations = vec![remove(path("", "name", ""))];
                for (proto, scim) in NAME_FIELDS {
                    if let Some(value) = name_field(&name, proto) {
                        operations.push(replace(path("", "name", scim), string(Some(value))));
                    }
                }
                operations
            }
            "enterprise" => {
                let mut operations = vec![remove(path(ENTERPRISE_USER_SCHEMA, "", ""))];
                for (proto, scim) in ENTERPRISE_FIELDS {
                    if let Some(value) = enterprise_field(&enterprise, proto) {
                        operations.push(replace(
                            path(ENTERPRISE_USER_SCHEMA, scim, ""),
                            string(Some(value)),
                        ));
                    }
                }
                operations
            }
            _ => return Err(unknown()),
        },
        Some(("name", part)) => {
            let (_, scim) = NAME_FIELDS
                .iter()
                .find(|(f, _)| *f == part)
                .ok_or_else(unknown)?;
            vec![replace(
                path("", "name", scim),
                string(name_field(&name, part)),
            )]
        }
        Some(("enterprise", part)) => {
            let (_, scim) = ENTERPRISE_FIELDS
                .iter()
                .find(|(f, _)| *f == part)
                .ok_or_else(unknown)?;
            vec![replace(
                path(ENTERPRISE_USER_SCHEMA, scim, ""),
                string(enterprise_field(&enterprise, part)),
            )]
        }
        Some(_) => return Err(unknown()),
    })
}

pub async fn lookup_user(db: &Db, req: pb::LookupUserRequest) -> RpcResult<pb::User> {
    use pb::lookup_user_request::Key;
    let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
    let (by, attribute, sub) = match req.key {
        Some(Key::UserName(v)) => (v, "userName", ""),
        Some(Key::ExternalId(v)) => (v, "externalId", ""),
        Some(Key::Email(v)) => (v, "emails", "value"),
        None => {
            return Err(invalid(
                "one of user_name, external_id or email is required",
            ));
        }
    };
    let filter = Filter::Compare {
        path: path("", attribute, sub),
        op: CompareOp::Eq,
        value: FilterValue::String(by),
    };
    let page = ops::users::list_users(
        db,
        workspace_id,
        Some(&filter),
        None,
        PageRequest::index(1, Some(1)),
    )
    .await
    .map_err(to_status)?;
    let user = page.users.into_iter().next().ok_or_else(|| {
        to_status(DomainError::NotFound(format!(
            "no user with that {attribute}"
        )))
    })?;
    Ok(Response::new(convert::user(user)))
}

pub async fn describe_user(db: &Db, req: pb::UserRef) -> RpcResult<pb::UserDescription> {
    let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
    let id = parse_resource_id("user", &req.id)?;
    let user = ops::users::get_user(db, workspace_id, id)
        .await
        .map_err(to_status)?;
    let access = ops::roles::get_user_access(db, workspace_id, id)
        .await
        .map_err(to_status)?;
    Ok(Response::new(pb::UserDescription {
        user: Some(convert::user(user)),
        access: Some(convert::user_access(access)),
    }))
}

/// `AddGroupMembers` / `RemoveGroupMembers` / `ReplaceGroupMembers`.
pub async fn change_members(
    db: &Db,
    req: pb::GroupMembersRequest,
    op: PatchOp,
) -> RpcResult<pb::Group> {
    let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
    let id: Uuid = parse_resource_id("group", &req.group_id)?;
    let operation = PatchOperation {
        op,
        path: path("", "members", ""),
        value_filter: None,
        value: Some(PatchValue::Members(req.user_ids)),
    };
    let operations = [operation];
    let group = crate::ops::retry::retrying(|| {
        ops::groups::patch_group(
            db,
            workspace_id,
            id,
            &operations,
            req.expected_version,
            false,
        )
    })
    .await
    .map_err(to_status)?;
    Ok(Response::new(convert::group(group)))
}
