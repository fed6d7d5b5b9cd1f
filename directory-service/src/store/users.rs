//! User rows and the SCIM filter → SQL translation.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::db_error;
use super::entity::user;
use crate::domain::filter::{CompareOp, Filter, FilterValue};
use crate::domain::users::{User, UserFilterAttribute, UserProfile, resolve_user_filter_attribute};
use crate::domain::{DomainError, DomainResult};

fn to_domain(row: user::Model) -> DomainResult<User> {
    let profile: UserProfile = serde_json::from_value(row.profile).map_err(|e| {
        DomainError::Storage(format!("user {} has an unreadable profile: {e}", row.id))
    })?;
    Ok(User {
        id: row.id,
        workspace_id: row.workspace_id,
        profile,
        created: row.created_at,
        last_modified: row.updated_at,
        version: row.version,
    })
}

fn to_row(user: &User) -> user::ActiveModel {
    let profile = &user.profile;
    user::ActiveModel {
        id: Set(user.id),
        workspace_id: Set(user.workspace_id),
        user_name: Set(profile.user_name.clone()),
        user_name_key: Set(profile.user_name_key()),
        external_id: Set(profile.external_id.clone()),
        display_name: Set(profile.display_name.clone()),
        given_name: Set(profile.name.given_name.clone()),
        family_name: Set(profile.name.family_name.clone()),
        active: Set(profile.active),
        profile: Set(serde_json::to_value(profile).expect("a profile always serialises")),
        created_at: Set(user.created),
        updated_at: Set(user.last_modified),
        version: Set(user.version),
    }
}

pub async fn insert(db: &impl ConnectionTrait, user: &User) -> DomainResult<User> {
    let row = to_row(user).insert(db).await.map_err(db_error)?;
    to_domain(row)
}

pub async fn update(db: &impl ConnectionTrait, user: &User) -> DomainResult<User> {
    let row = to_row(user).update(db).await.map_err(db_error)?;
    to_domain(row)
}

/// Finds a user of the workspace; `for_update` locks the row until the transaction ends
/// (Postgres; SQLite's IMMEDIATE transaction already holds the database's write lock).
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
    for_update: bool,
) -> DomainResult<User> {
    let mut query = user::Entity::find_by_id(id).filter(user::Column::WorkspaceId.eq(workspace_id));
    if for_update {
        query = query.lock_exclusive();
    }
    let row = query
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("user {id} not found")))?;
    to_domain(row)
}

pub async fn delete(db: &impl ConnectionTrait, workspace_id: Uuid, id: Uuid) -> DomainResult<()> {
    let result = user::Entity::delete_many()
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::WorkspaceId.eq(workspace_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    if result.rows_affected == 0 {
        return Err(DomainError::NotFound(format!("user {id} not found")));
    }
    Ok(())
}

pub struct Page {
    pub users: Vec<User>,
    pub total_results: u64,
}

/// One page of the workspace's users matching `filter`, in id order (UUIDv7: creation
/// order), so that paging with startIndex/count is stable.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: Option<&Filter>,
    offset: u64,
    limit: u64,
) -> DomainResult<Page> {
    let mut condition = Condition::all().add(user::Column::WorkspaceId.eq(workspace_id));
    if let Some(filter) = filter {
        condition = condition.add(filter_condition(filter)?);
    }
    let query = user::Entity::find().filter(condition);
    let total_results = query.clone().count(db).await.map_err(db_error)?;
    let users = if limit == 0 || offset >= total_results {
        Vec::new()
    } else {
        query
            .order_by_asc(user::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(db)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(to_domain)
            .collect::<DomainResult<_>>()?
    };
    Ok(Page {
        users,
        total_results,
    })
}

/// Translates a filter tree into a SQL condition over indexed user columns. Unknown
/// attributes and operator/type mismatches are `InvalidFilter`, never a silent empty list.
pub fn filter_condition(filter: &Filter) -> DomainResult<Condition> {
    Ok(match filter {
        Filter::And(parts) => parts.iter().try_fold(Condition::all(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p)?))
        })?,
        Filter::Or(parts) => parts.iter().try_fold(Condition::any(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p)?))
        })?,
        Filter::Not(inner) => filter_condition(inner)?.not(),
        Filter::ValuePath { path, .. } => {
            return Err(DomainError::InvalidFilter(format!(
                "filtering inside {path} is not supported"
            )));
        }
        Filter::Compare { path, op, value } => {
            let attribute = resolve_user_filter_attribute(path)?;
            Condition::all().add(compare(attribute, *op, value)?)
        }
    })
}

fn always(matches: bool) -> SimpleExpr {
    // The primary key is never NULL: this is a portable TRUE/FALSE.
    if matches {
        user::Column::Id.is_not_null()
    } else {
        user::Column::Id.is_null()
    }
}

fn compare(
    attribute: UserFilterAttribute,
    op: CompareOp,
    value: &FilterValue,
) -> DomainResult<SimpleExpr> {
    use UserFilterAttribute::*;
    if op == CompareOp::Pr {
        return Ok(match attribute {
            ExternalId => user::Column::ExternalId.is_not_null(),
            DisplayName => user::Column::DisplayName.is_not_null(),
            GivenName => user::Column::GivenName.is_not_null(),
            FamilyName => user::Column::FamilyName.is_not_null(),
            Id | UserName | Active | Created | LastModified => always(true),
        });
    }
    match attribute {
        Id => {
            let text = expect_string(attribute, value)?;
            let id = Uuid::parse_str(text).ok();
            match (op, id) {
                (CompareOp::Eq, Some(id)) => Ok(user::Column::Id.eq(id)),
                (CompareOp::Eq, None) => Ok(always(false)),
                (CompareOp::Ne, Some(id)) => Ok(user::Column::Id.ne(id)),
                (CompareOp::Ne, None) => Ok(always(true)),
                _ => Err(DomainError::InvalidFilter(
                    "id supports eq, ne and pr".into(),
                )),
            }
        }
        UserName => {
            let key = crate::domain::users::user_name_key(expect_string(attribute, value)?);
            string_compare(Expr::col(user::Column::UserNameKey), op, key, false)
        }
        ExternalId => nullable_string(user::Column::ExternalId, op, value, true, attribute),
        DisplayName => nullable_string(user::Column::DisplayName, op, value, false, attribute),
        GivenName => nullable_string(user::Column::GivenName, op, value, false, attribute),
        FamilyName => nullable_string(user::Column::FamilyName, op, value, false, attribute),
        Active => match (op, value) {
            (CompareOp::Eq, FilterValue::Bool(b)) => Ok(user::Column::Active.eq(*b)),
            (CompareOp::Ne, FilterValue::Bool(b)) => Ok(user::Column::Active.ne(*b)),
            _ => Err(DomainError::InvalidFilter(
                "active compares with eq or ne to true or false".into(),
            )),
        },
        Created => timestamp_compare(user::Column::CreatedAt, op, value),
        LastModified => timestamp_compare(user::Column::UpdatedAt, op, value),
    }
}

fn expect_string(attribute: UserFilterAttribute, value: &FilterValue) -> DomainResult<&str> {
    match value {
        FilterValue::String(s) => Ok(s),
        _ => Err(DomainError::InvalidFilter(format!(
            "{attribute:?} compares with a string value"
        ))),
    }
}

/// Comparison on a nullable text column. NULL never matches (except `eq null`), and the
/// condition stays correct under `not (...)`: `col IS NOT NULL AND col = v`.
fn nullable_string(
    column: user::Column,
    op: CompareOp,
    value: &FilterValue,
    case_exact: bool,
    attribute: UserFilterAttribute,
) -> DomainResult<SimpleExpr> {
    if *value == FilterValue::Null {
        return match op {
            CompareOp::Eq => Ok(column.is_null()),
            CompareOp::Ne => Ok(column.is_not_null()),
            _ => Err(DomainError::InvalidFilter(
                "null compares with eq or ne only".into(),
            )),
        };
    }
    let text = expect_string(attribute, value)?;
    let (lhs, text) = if case_exact {
        (Expr::col(column), text.to_owned())
    } else {
        // Unicode-aware on Postgres; ASCII-only on SQLite, the local default.
        (
            Expr::expr(Func::lower(Expr::col(column))),
            text.to_lowercase(),
        )
    };
    let comparison = string_compare(lhs, op, text, case_exact)?;
    Ok(match op {
        CompareOp::Ne => column.is_null().or(comparison),
        _ => column.is_not_null().and(comparison),
    })
}

fn string_compare(
    lhs: Expr,
    op: CompareOp,
    text: String,
    _case_exact: bool,
) -> DomainResult<SimpleExpr> {
    let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
    Ok(match op {
        CompareOp::Eq => lhs.eq(text),
        CompareOp::Ne => lhs.ne(text),
        CompareOp::Co => lhs.like(like(format!("%{}%", escape_like(&text)))),
        CompareOp::Sw => lhs.like(like(format!("{}%", escape_like(&text)))),
        CompareOp::Ew => lhs.like(like(format!("%{}", escape_like(&text)))),
        CompareOp::Gt => lhs.gt(text),
        CompareOp::Ge => lhs.gte(text),
        CompareOp::Lt => lhs.lt(text),
        CompareOp::Le => lhs.lte(text),
        CompareOp::Pr => unreachable!("pr is handled before"),
    })
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn timestamp_compare(
    column: user::Column,
    op: CompareOp,
    value: &FilterValue,
) -> DomainResult<SimpleExpr> {
    let FilterValue::String(text) = value else {
        return Err(DomainError::InvalidFilter(
            "timestamps compare with a date-time string".into(),
        ));
    };
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(text)
        .map_err(|_| DomainError::InvalidFilter(format!("{text:?} is not an RFC 3339 date-time")))?
        .with_timezone(&Utc);
    Ok(match op {
        CompareOp::Eq => column.eq(at),
        CompareOp::Ne => column.ne(at),
        CompareOp::Gt => column.gt(at),
        CompareOp::Ge => column.gte(at),
        CompareOp::Lt => column.lt(at),
        CompareOp::Le => column.lte(at),
        _ => {
            return Err(DomainError::InvalidFilter(
                "timestamps support eq, ne, gt, ge, lt, le and pr".into(),
            ));
        }
    })
}
