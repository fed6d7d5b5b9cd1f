//! Workspace roles driven by group pushes (seeds 000/001).
//!
//! A group whose displayName, when it is **created**, contains `admin` (any case) is an
//! admin role group; one containing `member` is a member role group; a name containing
//! both, or neither, makes a plain group. The role belongs to the group id: renaming the
//! group later keeps it.
//!
//! Rules, checked inside the write transaction after the change is applied:
//! - nobody is in an admin role group and a member role group at once (409: remove from
//!   one, then add to the other);
//! - a workspace that had an active admin keeps at least one (409 "Cannot remove the last
//!   workspace admin"). An admin is an active user who holds the admin role from any
//!   source: an admin role group, a direct grant, or an IdP role value mapped to admin.
//!
//! When sources disagree, the most privileged role wins: admin over member over a custom
//! role. Demoting someone therefore means taking away the higher source (remove them from
//! the admin group, withdraw the grant), not sending a lower role value.

use super::{DomainError, DomainResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupRole {
    Admin,
    Member,
    /// A plain group: no role.
    None,
}

impl GroupRole {
    pub fn from_display_name(display_name: &str) -> Self {
        let lower = super::fold_case(display_name);
        match (lower.contains("admin"), lower.contains("member")) {
            (true, false) => GroupRole::Admin,
            (false, true) => GroupRole::Member,
            _ => GroupRole::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Admin => "admin",
            GroupRole::Member => "member",
            GroupRole::None => "none",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "admin" => GroupRole::Admin,
            "member" => GroupRole::Member,
            _ => GroupRole::None,
        }
    }

    /// The role a member of this group may not hold at the same time.
    pub fn conflicting(self) -> Option<GroupRole> {
        match self {
            GroupRole::Admin => Some(GroupRole::Member),
            GroupRole::Member => Some(GroupRole::Admin),
            GroupRole::None => None,
        }
    }
}

/// The effective role: admin over member over none, and none while inactive. The sources
/// (role groups, direct grants, IdP role values mapped to a role) are gathered by the
/// caller; this is the one place that decides between them.
pub fn resolve_role(active: bool, holds_admin: bool, holds_member: bool) -> GroupRole {
    match (active, holds_admin, holds_member) {
        (false, _, _) => GroupRole::None,
        (true, true, _) => GroupRole::Admin,
        (true, false, true) => GroupRole::Member,
        (true, false, false) => GroupRole::None,
    }
}

/// Where a role comes from; [`resolve_role`] weighs them all alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// Membership of a pushed role group (admin / member by its first displayName).
    RoleGroup,
    /// A grant over gRPC / `scimctl member set-role`.
    DirectGrant,
    /// The IdP role value (`roles[primary eq true].value`) mapped to the role.
    IdpRoleMapping,
}

impl RoleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleSource::RoleGroup => "role_group",
            RoleSource::DirectGrant => "direct_grant",
            RoleSource::IdpRoleMapping => "idp_role_mapping",
        }
    }
}

pub const LAST_ADMIN: &str = "Cannot remove the last workspace admin";

/// Refuses a change that leaves a workspace without an active admin when it had one.
pub fn check_admins_remain(admins_before: u64, admins_after: u64) -> DomainResult<()> {
    if admins_before > 0 && admins_after == 0 {
        return Err(DomainError::Conflict(format!(
            "{LAST_ADMIN}: assign another admin first, then retry"
        )));
    }
    Ok(())
}

/// The 409 for a user who would hold both roles.
pub fn dual_role_conflict(
    user_name: &str,
    target_group: &str,
    other_group: &str,
    target: GroupRole,
) -> DomainError {
    let (role, other) = match target {
        GroupRole::Admin => ("admin", "member"),
        _ => ("member", "admin"),
    };
    DomainError::Conflict(format!(
        "{user_name} is in the {other} role group '{other_group}' and cannot also join the {role} role group '{target_group}': remove them from '{other_group}' first, then add them to '{target_group}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_display_name() {
        for (name, role) in [
            ("LocalStack-Admin", GroupRole::Admin),
            ("LocalStack-Admins-Prod", GroupRole::Admin),
            ("engineering-admins", GroupRole::Admin),
            ("XD5-XD5-LA1000_AuthLocalstackAdmin", GroupRole::Admin),
            ("LocalStack-Member", GroupRole::Member),
            ("all MEMBERS", GroupRole::Member),
            ("Admins and Members", GroupRole::None),
            (
                "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL",
                GroupRole::None,
            ),
        ] {
            assert_eq!(GroupRole::from_display_name(name), role, "{name}");
        }
    }

    #[test]
    fn last_admin_rule() {
        assert!(check_admins_remain(2, 1).is_ok());
        assert!(
            check_admins_remain(0, 0).is_ok(),
            "a workspace without admins may stay so"
        );
        let err = check_admins_remain(1, 0).unwrap_err();
        assert!(err.to_string().starts_with(LAST_ADMIN));
    }
}

/// Where a role mapping applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MappingSource {
    /// The IdP's role value, `roles[primary eq true].value`, matched exactly.
    IdpRole,
    /// A group's displayName, matched exactly when the group is created.
    GroupName,
}

impl MappingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MappingSource::IdpRole => "idp_role",
            MappingSource::GroupName => "group",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "idp_role" => Some(MappingSource::IdpRole),
            "group" => Some(MappingSource::GroupName),
            _ => None,
        }
    }
}

/// Maps an IdP role value or a group name to a workspace role: `admin`, `member`, or (for
/// role values) a custom role name the product defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleMapping {
    pub source: MappingSource,
    pub value: String,
    pub role: String,
}

impl RoleMapping {
    pub fn validated(mut self) -> DomainResult<Self> {
        if self.value.is_empty() || self.value.chars().count() > 256 {
            return Err(DomainError::InvalidValue(
                "the mapped value must be 1-256 characters".into(),
            ));
        }
        self.role = self.role.trim().to_owned();
        let builtin = matches!(self.role.as_str(), "admin" | "member");
        let custom_ok = !self.role.is_empty()
            && self.role.len() <= 64
            && self
                .role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'));
        match self.source {
            MappingSource::GroupName if !builtin => Err(DomainError::InvalidValue(
                "a group name maps to the admin or member role".into(),
            )),
            MappingSource::IdpRole if !custom_ok => Err(DomainError::InvalidValue(
                "a role is admin, member, or a custom name of letters, digits, ':', '_', '-', '.'"
                    .into(),
            )),
            _ => Ok(self),
        }
    }
}
