//! proto ⇄ domain conversions. Wire types stop here.

use chrono::{DateTime, Utc};
use directory_proto::json::{number_to_json, struct_from_json, struct_to_json};
use directory_proto::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::status::invalid;
use crate::domain::attribute_mappings::{AttributeMapping, Destination};
use crate::domain::custom_attributes::{AttributeKind, CustomAttribute};
use crate::domain::filter::{AttrPath, CompareOp, Filter, FilterValue, Sort};
use crate::domain::groups::GroupProfile;
use crate::domain::patch::{PatchOp, PatchOperation, PatchValue, Scalar};
use crate::domain::roles::{GroupRole, MappingSource, RoleMapping};
use crate::domain::users::{EnterpriseUser, Manager, MultiValue, Name, User, UserProfile};
use crate::ops::groups::GroupView;
use crate::store::{tokens::Token, workspaces::Workspace};

pub fn parse_id(what: &str, raw: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        invalid(format!(
            "{what} {:?} is not a valid id",
            shortened_for_message(raw)
        ))
    })
}

/// An id that names a resource: a malformed one is simply not found.
pub fn parse_resource_id(what: &str, raw: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        super::status::to_status(crate::domain::DomainError::NotFound(format!(
            "{what} {} not found",
            shortened_for_message(raw)
        )))
    })
}

/// At most 64 characters of a caller's text, for an error message: a status message
/// travels in an HTTP/2 header, and a 10 KB id there broke the connection.
fn shortened_for_message(raw: &str) -> String {
    const MAX_CHARS: usize = 64;
    if raw.chars().count() <= MAX_CHARS {
        raw.to_owned()
    } else {
        format!("{}…", raw.chars().take(MAX_CHARS).collect::<String>())
    }
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(ts: &prost_types::Timestamp) -> Result<DateTime<Utc>, Status> {
    DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
        .ok_or_else(|| invalid("timestamp out of range"))
}

pub fn workspace(w: Workspace) -> pb::Workspace {
    pb::Workspace {
        id: w.id.to_string(),
        slug: w.slug,
        display_name: w.display_name,
        created: Some(timestamp(w.created_at)),
    }
}

pub fn token(t: Token) -> pb::Token {
    pb::Token {
        id: t.id.to_string(),
        workspace_id: t.workspace_id.to_string(),
        name: t.name,
        prefix: t.prefix,
        created: Some(timestamp(t.created_at)),
        expires: t.expires_at.map(timestamp),
        last_used: t.last_used_at.map(timestamp),
        revoked: t.revoked_at.map(timestamp),
        scope: token_scope_to_pb(&t.scope) as i32,
        replaces: t.replaces.map(|id| id.to_string()).unwrap_or_default(),
        replaced_by: t.replaced_by.map(|id| id.to_string()).unwrap_or_default(),
        allowed_cidrs: t
            .allowed_cidrs
            .as_deref()
            .map(|stored| stored.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

pub fn token_scope_to_pb(scope: &str) -> pb::TokenScope {
    use crate::domain::tokens::TokenScope;
    match TokenScope::parse(scope) {
        Ok(TokenScope::Full) => pb::TokenScope::Full,
        Ok(TokenScope::ReadOnly) => pb::TokenScope::ReadOnly,
        Ok(TokenScope::UsersOnly) => pb::TokenScope::UsersOnly,
        Ok(TokenScope::GroupsOnly) => pb::TokenScope::GroupsOnly,
        Err(_) => pb::TokenScope::Unspecified,
    }
}

pub fn token_scope_from_pb(scope: i32) -> Result<crate::domain::tokens::TokenScope, Status> {
    use crate::domain::tokens::TokenScope;
    match pb::TokenScope::try_from(scope) {
        Ok(pb::TokenScope::Unspecified | pb::TokenScope::Full) => Ok(TokenScope::Full),
        Ok(pb::TokenScope::ReadOnly) => Ok(TokenScope::ReadOnly),
        Ok(pb::TokenScope::UsersOnly) => Ok(TokenScope::UsersOnly),
        Ok(pb::TokenScope::GroupsOnly) => Ok(TokenScope::GroupsOnly),
        Err(_) => Err(super::status::invalid("unknown token scope")),
    }
}

fn multi_value_from_pb(v: pb::MultiValue) -> MultiValue {
    MultiValue {
        value: v.value,
        kind: v.r#type,
        primary: v.primary,
        display: v.display,
    }
}

fn multi_value_to_pb(v: MultiValue) -> pb::MultiValue {
    pb::MultiValue {
        value: v.value,
        r#type: v.kind,
        primary: v.primary,
        display: v.display,
    }
}

pub fn profile_from_pb(attributes: Option<pb::UserAttributes>) -> Result<UserProfile, Status> {
    let a = attributes.ok_or_else(|| invalid("user attributes are required"))?;
    let name = a.name.unwrap_or_default();
    let enterprise = a.enterprise.unwrap_or_default();
    Ok(UserProfile {
        user_name: a.user_name,
        external_id: a.external_id,
        name: Name {
            formatted: name.formatted,
            family_name: name.family_name,
            given_name: name.given_name,
            middle_name: name.middle_name,
            honorific_prefix: name.honorific_prefix,
            honorific_suffix: name.honorific_suffix,
        },
        display_name: a.display_name,
        nick_name: a.nick_name,
        profile_url: a.profile_url,
        title: a.title,
        user_type: a.user_type,
        preferred_language: a.preferred_language,
        locale: a.locale,
        timezone: a.timezone,
        active: a.active,
        emails: a.emails.into_iter().map(multi_value_from_pb).collect(),
        phone_numbers: a
            .phone_numbers
            .into_iter()
            .map(multi_value_from_pb)
            .collect(),
        enterprise: EnterpriseUser {
            employee_number: enterprise.employee_number,
            cost_center: enterprise.cost_center,
            organization: enterprise.organization,
            division: enterprise.division,
            department: enterprise.department,
            manager: enterprise.manager.map(|m| Manager {
                value: m.value,
                display_name: m.display_name,
            }),
        },
        extensions: a.extensions.map(struct_to_json).unwrap_or_default(),
        // Computed by attribute mappings on write, never taken from the client.
        public_metadata: Default::default(),
        organization_role: None,
    })
}

pub fn user(u: User) -> pb::User {
    let p = u.profile;
    let e = p.enterprise;
    pb::User {
        id: u.id.to_string(),
        workspace_id: u.workspace_id.to_string(),
        attributes: Some(pb::UserAttributes {
            user_name: p.user_name,
            external_id: p.external_id,
            name: Some(pb::Name {
                formatted: p.name.formatted,
                family_name: p.name.family_name,
                given_name: p.name.given_name,
                middle_name: p.name.middle_name,
                honorific_prefix: p.name.honorific_prefix,
                honorific_suffix: p.name.honorific_suffix,
            }),
            display_name: p.display_name,
            nick_name: p.nick_name,
            profile_url: p.profile_url,
            title: p.title,
            user_type: p.user_type,
            preferred_language: p.preferred_language,
            locale: p.locale,
            timezone: p.timezone,
            active: p.active,
            emails: p.emails.into_iter().map(multi_value_to_pb).collect(),
            phone_numbers: p.phone_numbers.into_iter().map(multi_value_to_pb).collect(),
            enterprise: Some(pb::EnterpriseUser {
                employee_number: e.employee_number,
                cost_center: e.cost_center,
                organization: e.organization,
                division: e.division,
                department: e.department,
                manager: e.manager.map(|m| pb::Manager {
                    value: m.value,
                    display_name: m.display_name,
                }),
            }),
            extensions: Some(struct_from_json(p.extensions)),
        }),
        created: Some(timestamp(u.created)),
        last_modified: Some(timestamp(u.last_modified)),
        version: u.version,
        public_metadata: Some(struct_from_json(p.public_metadata)),
        organization_role: p.organization_role.unwrap_or_default(),
        groups: u
            .groups
            .into_iter()
            .map(|(id, display)| pb::GroupRef {
                value: id.to_string(),
                display,
            })
            .collect(),
    }
}

/// The profile and the member ids (as sent) of a group create or replacement.
pub fn group_from_pb(
    attributes: Option<pb::GroupAttributes>,
) -> Result<(GroupProfile, Vec<String>), Status> {
    let a = attributes.ok_or_else(|| invalid("group attributes are required"))?;
    let profile = GroupProfile {
        display_name: a.display_name,
        external_id: a.external_id,
        extensions: a.extensions.map(struct_to_json).unwrap_or_default(),
    };
    Ok((profile, a.members.into_iter().map(|m| m.value).collect()))
}

pub fn group(view: GroupView) -> pb::Group {
    let g = view.group;
    let members_included = view.members.is_some();
    pb::Group {
        id: g.id.to_string(),
        workspace_id: g.workspace_id.to_string(),
        attributes: Some(pb::GroupAttributes {
            display_name: g.profile.display_name,
            external_id: g.profile.external_id,
            members: view
                .members
                .unwrap_or_default()
                .into_iter()
                .map(|m| pb::GroupMember {
                    value: m.user_id.to_string(),
                    display: m.user_name,
                })
                .collect(),
            extensions: Some(struct_from_json(g.profile.extensions)),
        }),
        created: Some(timestamp(g.created)),
        last_modified: Some(timestamp(g.last_modified)),
        version: g.version,
        members_included,
        role: role_to_pb(g.role) as i32,
        license_subscription_id: g.license_subscription.unwrap_or_default(),
        member_count: None,
    }
}

pub fn sort_from_pb(sort: Option<pb::Sort>) -> Option<Sort> {
    let sort = sort?;
    let by = path_from_pb(sort.by);
    (!by.attribute.is_empty()).then_some(Sort {
        by,
        descending: sort.descending,
    })
}

fn path_from_pb(path: Option<pb::AttributePath>) -> AttrPath {
    let path = path.unwrap_or_default();
    AttrPath {
        schema: path.schema,
        attribute: path.attribute,
        sub_attribute: path.sub_attribute,
    }
}

/// Filters nest; a hostile client could send a tree deep enough to overflow the stack.
const MAX_FILTER_DEPTH: usize = 64;

pub fn filter_from_pb(filter: pb::Filter) -> Result<Filter, Status> {
    filter_at_depth(filter, 0)
}

fn filter_at_depth(filter: pb::Filter, depth: usize) -> Result<Filter, Status> {
    use pb::filter::Node;
    let bad =
        |m: &str| super::status::to_status(crate::domain::DomainError::InvalidFilter(m.into()));
    if depth > MAX_FILTER_DEPTH {
        return Err(bad("filter is nested too deeply"));
    }
    let list = |l: pb::FilterList| -> Result<Vec<Filter>, Status> {
        if l.filters.is_empty() {
            return Err(bad("and/or needs operands"));
        }
        l.filters
            .into_iter()
            .map(|f| filter_at_depth(f, depth + 1))
            .collect()
    };
    match filter.node.ok_or_else(|| bad("empty filter node"))? {
        Node::Compare(c) => {
            let op = match pb::CompareOp::try_from(c.op).unwrap_or(pb::CompareOp::Unspecified) {
                pb::CompareOp::Eq => CompareOp::Eq,
                pb::CompareOp::Ne => CompareOp::Ne,
                pb::CompareOp::Co => CompareOp::Co,
                pb::CompareOp::Sw => CompareOp::Sw,
                pb::CompareOp::Ew => CompareOp::Ew,
                pb::CompareOp::Gt => CompareOp::Gt,
                pb::CompareOp::Ge => CompareOp::Ge,
                pb::CompareOp::Lt => CompareOp::Lt,
                pb::CompareOp::Le => CompareOp::Le,
                pb::CompareOp::Pr => CompareOp::Pr,
                pb::CompareOp::Unspecified => return Err(bad("comparison without operator")),
            };
            use pb::filter_value::Kind;
            let value = match c.value.and_then(|v| v.kind) {
                Some(Kind::StringValue(s)) => FilterValue::String(s),
                Some(Kind::BoolValue(b)) => FilterValue::Bool(b),
                Some(Kind::NumberValue(n)) => FilterValue::Number(n),
                Some(Kind::NullValue(_)) => FilterValue::Null,
                None if op == CompareOp::Pr => FilterValue::Null,
                None => return Err(bad("comparison without value")),
            };
            Ok(Filter::Compare {
                path: path_from_pb(c.path),
                op,
                value,
            })
        }
        Node::And(l) => Ok(Filter::And(list(l)?)),
        Node::Or(l) => Ok(Filter::Or(list(l)?)),
        Node::Not(inner) => Ok(Filter::Not(Box::new(filter_at_depth(*inner, depth + 1)?))),
        Node::ValuePath(vp) => Ok(Filter::ValuePath {
            path: path_from_pb(vp.path),
            filter: Box::new(filter_at_depth(
                vp.filter
                    .map(|f| *f)
                    .ok_or_else(|| bad("value path without filter"))?,
                depth + 1,
            )?),
        }),
    }
}

pub fn patch_from_pb(op: pb::PatchOperation) -> Result<PatchOperation, Status> {
    let kind = match pb::PatchOp::try_from(op.op).unwrap_or(pb::PatchOp::Unspecified) {
        pb::PatchOp::Add => PatchOp::Add,
        pb::PatchOp::Replace => PatchOp::Replace,
        pb::PatchOp::Remove => PatchOp::Remove,
        pb::PatchOp::Unspecified => return Err(invalid("patch operation without op")),
    };
    Ok(PatchOperation {
        op: kind,
        path: path_from_pb(op.path),
        value_filter: op.value_filter.map(filter_from_pb).transpose()?,
        value: op.value.map(patch_value_from_pb).transpose()?,
    })
}

fn patch_value_from_pb(value: pb::PatchValue) -> Result<PatchValue, Status> {
    use pb::patch_value::Kind;
    Ok(
        match value
            .kind
            .ok_or_else(|| invalid("patch value without kind"))?
        {
            Kind::Scalar(scalar) => PatchValue::Scalar(scalar_from_pb(scalar)),
            Kind::Complex(complex) => PatchValue::Complex(complex_from_pb(complex)),
            Kind::ComplexList(list) => {
                PatchValue::ComplexList(list.values.into_iter().map(complex_from_pb).collect())
            }
            Kind::ScalarList(list) => {
                PatchValue::ScalarList(list.values.into_iter().map(scalar_from_pb).collect())
            }
            Kind::Members(members) => PatchValue::Members(members.ids),
        },
    )
}

fn scalar_from_pb(scalar: pb::ScalarValue) -> Scalar {
    use pb::scalar_value::Kind;
    match scalar.kind {
        None | Some(Kind::NullValue(_)) => Scalar::Null,
        Some(Kind::StringValue(s)) => Scalar::String(s),
        Some(Kind::BoolValue(b)) => Scalar::Bool(b),
        Some(Kind::NumberValue(n)) => match number_to_json(n) {
            serde_json::Value::Number(n) => Scalar::Number(n),
            _ => Scalar::Null,
        },
    }
}

fn complex_from_pb(complex: pb::ComplexValue) -> serde_json::Map<String, serde_json::Value> {
    complex
        .sub_attributes
        .into_iter()
        .map(|(name, value)| (name, scalar_from_pb(value).to_json()))
        .collect()
}

pub fn custom_attribute_from_pb(
    req: pb::DeclareCustomAttributeRequest,
) -> Result<CustomAttribute, Status> {
    let kind = match pb::AttributeType::try_from(req.r#type)
        .unwrap_or(pb::AttributeType::Unspecified)
    {
        pb::AttributeType::String => AttributeKind::String,
        pb::AttributeType::Boolean => AttributeKind::Boolean,
        pb::AttributeType::Integer => AttributeKind::Integer,
        pb::AttributeType::Decimal => AttributeKind::Decimal,
        pb::AttributeType::DateTime => AttributeKind::DateTime,
        pb::AttributeType::Unspecified => return Err(invalid("the attribute type is required")),
    };
    Ok(CustomAttribute {
        schema: req.schema.trim().to_owned(),
        name: req.name.trim().to_owned(),
        kind,
        multi_valued: req.multi_valued,
        case_exact: req.case_exact,
        description: req.description,
    })
}

pub fn custom_attribute(
    workspace_id: Uuid,
    (a, created): (CustomAttribute, DateTime<Utc>),
) -> pb::CustomAttribute {
    let kind = match a.kind {
        AttributeKind::String => pb::AttributeType::String,
        AttributeKind::Boolean => pb::AttributeType::Boolean,
        AttributeKind::Integer => pb::AttributeType::Integer,
        AttributeKind::Decimal => pb::AttributeType::Decimal,
        AttributeKind::DateTime => pb::AttributeType::DateTime,
    };
    pb::CustomAttribute {
        workspace_id: workspace_id.to_string(),
        schema: a.schema,
        name: a.name,
        r#type: kind as i32,
        multi_valued: a.multi_valued,
        case_exact: a.case_exact,
        description: a.description,
        created: Some(timestamp(created)),
    }
}

pub fn subscription(
    workspace_id: Uuid,
    view: crate::ops::licenses::SubscriptionView,
) -> pb::Subscription {
    let group_name = view.subscription.group_name();
    let s = view.subscription;
    pb::Subscription {
        workspace_id: workspace_id.to_string(),
        subscription_id: s.subscription_id,
        plan: s.plan,
        product: s.product,
        seats: s.seats,
        seats_used: view.seats_used as i64,
        seats_waiting: view.seats_waiting as i64,
        group_name,
        group_id: view.group_id.map(|id| id.to_string()).unwrap_or_default(),
        created: Some(timestamp(view.created)),
    }
}

pub fn role_to_pb(role: GroupRole) -> pb::WorkspaceRole {
    match role {
        GroupRole::Admin => pb::WorkspaceRole::Admin,
        GroupRole::Member => pb::WorkspaceRole::Member,
        GroupRole::None => pb::WorkspaceRole::None,
    }
}

pub fn role_from_pb(role: i32) -> Result<GroupRole, Status> {
    match pb::WorkspaceRole::try_from(role).unwrap_or(pb::WorkspaceRole::Unspecified) {
        pb::WorkspaceRole::Admin => Ok(GroupRole::Admin),
        pb::WorkspaceRole::Member => Ok(GroupRole::Member),
        pb::WorkspaceRole::None => Ok(GroupRole::None),
        pb::WorkspaceRole::Unspecified => {
            Err(invalid("a role (none, member or admin) is required"))
        }
    }
}

pub fn user_access(access: crate::ops::roles::UserAccess) -> pb::UserAccess {
    pb::UserAccess {
        user_id: access.user_id.to_string(),
        active: access.active,
        role: role_to_pb(access.role) as i32,
        granted_role: role_to_pb(access.granted_role) as i32,
        licenses: access.licenses,
        waiting_licenses: access.waiting_licenses,
        custom_role: access.custom_role.unwrap_or_default(),
        role_sources: access
            .role_sources
            .into_iter()
            .map(|source| source.as_str().to_owned())
            .collect(),
    }
}

pub fn mapping_source_from_pb(source: i32) -> Result<MappingSource, Status> {
    match pb::RoleMappingSource::try_from(source).unwrap_or(pb::RoleMappingSource::Unspecified) {
        pb::RoleMappingSource::IdpRole => Ok(MappingSource::IdpRole),
        pb::RoleMappingSource::GroupName => Ok(MappingSource::GroupName),
        pb::RoleMappingSource::Unspecified => Err(invalid(
            "the mapping source (idp role or group name) is required",
        )),
    }
}

pub fn role_mapping_from_pb(mapping: Option<pb::RoleMapping>) -> Result<RoleMapping, Status> {
    let mapping = mapping.ok_or_else(|| invalid("a mapping is required"))?;
    Ok(RoleMapping {
        source: mapping_source_from_pb(mapping.source)?,
        value: mapping.value,
        role: mapping.role,
    })
}

pub fn role_mappings(mappings: Vec<RoleMapping>) -> pb::ListRoleMappingsResponse {
    pb::ListRoleMappingsResponse {
        mappings: mappings
            .into_iter()
            .map(|m| pb::RoleMapping {
                source: match m.source {
                    MappingSource::IdpRole => pb::RoleMappingSource::IdpRole,
                    MappingSource::GroupName => pb::RoleMappingSource::GroupName,
                } as i32,
                value: m.value,
                role: m.role,
            })
            .collect(),
    }
}

pub fn attribute_mapping_from_pb(
    mapping: Option<pb::AttributeMapping>,
) -> Result<AttributeMapping, Status> {
    let mapping = mapping.ok_or_else(|| invalid("a mapping is required"))?;
    Ok(AttributeMapping {
        source: mapping.source,
        destination: Destination::parse(&mapping.destination).map_err(super::status::to_status)?,
        template: Some(mapping.template).filter(|t| !t.trim().is_empty()),
    })
}

pub fn attribute_mappings(mappings: Vec<AttributeMapping>) -> pb::ListAttributeMappingsResponse {
    pb::ListAttributeMappingsResponse {
        mappings: mappings
            .into_iter()
            .map(|m| pb::AttributeMapping {
                source: m.source,
                destination: m.destination.as_string(),
                template: m.template.unwrap_or_default(),
            })
            .collect(),
    }
}
