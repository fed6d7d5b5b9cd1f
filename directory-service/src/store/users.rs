//! User rows and the SCIM filter → SQL translation.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set,
};
use uuid::Uuid;

use super::entity::{group, group_member, user, user_email};
use super::filter_sql::{string_compare, timestamp_compare};
use super::{WriteTx, db_error};
use crate::domain::custom_attributes::{AttributeKind, CustomAttribute};
use crate::domain::filter::{CompareOp, Filter, FilterValue, Sort};
use crate::domain::paging::PageRequest;
use crate::domain::users::{
    User, UserFilterAttribute, UserProfile, resolve_email_sub_attribute,
    resolve_user_filter_attribute,
};
use crate::domain::{DomainError, DomainResult, case_key};

pub(super) fn to_domain(row: user::Model) -> DomainResult<User> {
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
        groups: Vec::new(),
    })
}

/// Folded keys of the string values of extension schemas (`extensions[urn][name]`), so a
/// case-insensitive custom attribute compares on a key computed in Rust. Kept for every
/// string value, declared or not: a declaration may come after the values.
pub(crate) fn custom_keys(profile: &UserProfile) -> Option<serde_json::Value> {
    let mut keys = serde_json::Map::new();
    for (schema, value) in &profile.extensions {
        let serde_json::Value::Object(attributes) = value else {
            continue;
        };
        let folded: serde_json::Map<String, serde_json::Value> = attributes
            .iter()
            .filter_map(|(name, v)| Some((name.clone(), case_key(v.as_str()?).into())))
            .collect();
        if !folded.is_empty() {
            keys.insert(schema.clone(), serde_json::Value::Object(folded));
        }
    }
    (!keys.is_empty()).then_some(serde_json::Value::Object(keys))
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
        display_name_key: Set(profile.display_name.as_deref().map(case_key)),
        given_name: Set(profile.name.given_name.clone()),
        given_name_key: Set(profile.name.given_name.as_deref().map(case_key)),
        family_name: Set(profile.name.family_name.clone()),
        family_name_key: Set(profile.name.family_name.as_deref().map(case_key)),
        custom_keys: Set(custom_keys(profile)),
        active: Set(profile.is_active()),
        idp_role: Set(profile.role_value()),
        profile: Set(serde_json::to_value(profile).expect("a profile always serialises")),
        created_at: Set(user.created),
        updated_at: Set(user.last_modified),
        version: Set(user.version),
    }
}

pub async fn insert(tx: &WriteTx, user: &User) -> DomainResult<User> {
    let db = tx.conn();
    let row = to_row(user).insert(db).await.map_err(db_error)?;
    write_email_index(db, user, false).await?;
    to_domain(row)
}

pub async fn update(tx: &WriteTx, user: &User) -> DomainResult<User> {
    let db = tx.conn();
    let row = to_row(user).update(db).await.map_err(db_error)?;
    write_email_index(db, user, true).await?;
    to_domain(row)
}

/// Rows per `INSERT` into `user_emails` (6 bind parameters each).
const EMAIL_ROWS_PER_INSERT: usize = 500;

/// Rewrites the user's rows in `user_emails` (a handful per user).
async fn write_email_index(
    db: &impl ConnectionTrait,
    user: &User,
    replace: bool,
) -> DomainResult<()> {
    if replace {
        user_email::Entity::delete_many()
            .filter(user_email::Column::UserId.eq(user.id))
            .exec(db)
            .await
            .map_err(db_error)?;
    }
    let rows: Vec<_> = user
        .profile
        .emails
        .iter()
        .enumerate()
        .map(|(position, email)| user_email::ActiveModel {
            user_id: Set(user.id),
            position: Set(position as i32),
            workspace_id: Set(user.workspace_id),
            value_key: Set(case_key(&email.value)),
            type_key: Set(email.kind.as_deref().map(case_key)),
            primary: Set(email.primary),
        })
        .collect();
    // In chunks: one statement's bind parameters are limited (SQLite 32,766, Postgres
    // 65,535); the domain caps a user's emails well below that anyway.
    for chunk in rows.chunks(EMAIL_ROWS_PER_INSERT) {
        user_email::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .map_err(db_error)?;
    }
    Ok(())
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

/// A user with its `groups` (id, displayName, ordered by group id) in one round trip: the
/// user row left-joined to its memberships and their groups, one row per group (the user's
/// columns repeat; a user is in few groups). `GET /Users/{id}` is the hot read, and a
/// second query for the groups was a third of its database time.
pub async fn find_with_groups(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<User> {
    let query = user::Entity::find_by_id(id)
        .filter(user::Column::WorkspaceId.eq(workspace_id))
        .join(
            JoinType::LeftJoin,
            user::Entity::belongs_to(group_member::Entity)
                .from(user::Column::Id)
                .to(group_member::Column::UserId)
                .into(),
        )
        .join(
            JoinType::LeftJoin,
            group_member::Entity::belongs_to(group::Entity)
                .from(group_member::Column::GroupId)
                .to(group::Column::Id)
                .into(),
        )
        .column_as(
            Expr::col((group::Entity, group::Column::Id)),
            "member_of_id",
        )
        .column_as(
            Expr::col((group::Entity, group::Column::DisplayName)),
            "member_of_display_name",
        )
        .order_by_asc(Expr::col((
            group_member::Entity,
            group_member::Column::GroupId,
        )))
        .into_query();
    let rows = db.query_all(&query).await.map_err(db_error)?;
    let first = rows
        .first()
        .ok_or_else(|| DomainError::NotFound(format!("user {id} not found")))?;
    let mut found = to_domain(user::Model::from_query_result(first, "").map_err(db_error)?)?;
    for row in &rows {
        let group_id: Option<Uuid> = row.try_get("", "member_of_id").map_err(db_error)?;
        let display_name: Option<String> = row
            .try_get("", "member_of_display_name")
            .map_err(db_error)?;
        if let (Some(group_id), Some(display_name)) = (group_id, display_name) {
            found.groups.push((group_id, display_name));
        }
    }
    Ok(found)
}

pub async fn find_by_user_name(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_name: &str,
) -> DomainResult<Option<User>> {
    user::Entity::find()
        .filter(user::Column::WorkspaceId.eq(workspace_id))
        .filter(user::Column::UserNameKey.eq(crate::domain::users::user_name_key(user_name)))
        .one(db)
        .await
        .map_err(db_error)?
        .map(to_domain)
        .transpose()
}

pub async fn delete(tx: &WriteTx, workspace_id: Uuid, id: Uuid) -> DomainResult<()> {
    let db = tx.conn();
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
    /// Set when a cursor page has more after it.
    pub next_cursor: Option<Uuid>,
}

/// One page of the workspace's users matching `filter`. Without `sort`, in id order
/// (UUIDv7: creation order), so paging is stable.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: Option<&Filter>,
    custom: &[CustomAttribute],
    sort: Option<&Sort>,
    page: PageRequest,
) -> DomainResult<Page> {
    let mut condition = Condition::all().add(user::Column::WorkspaceId.eq(workspace_id));
    if let Some(filter) = filter {
        let context = FilterContext {
            backend: db.get_database_backend(),
            custom,
        };
        condition = condition.add(filter_condition(filter, &context)?);
    }
    let query = user::Entity::find().filter(condition);
    let sort = match sort {
        Some(sort) => Some((sort_column(sort)?, sort.descending)),
        None => None,
    };
    let fetched = super::paging::fetch_page(
        db,
        query.clone(),
        user::Column::Id,
        |row| row.id,
        sort,
        page,
    )
    .await?;
    // A short first page is the total; unfiltered, the stored count (counting the whole
    // workspace took most of a page's time at 1M users); a filter counts its matches.
    let stored = match (fetched.total, filter) {
        (None, None) => super::workspace_counts::find(db, workspace_id).await?,
        _ => None,
    };
    let total_results = match (fetched.total, stored) {
        (Some(total), _) => total,
        (None, Some(counts)) => counts.users,
        (None, None) => query.count(db).await.map_err(db_error)?,
    };
    let (rows, next_cursor) = (fetched.rows, fetched.next);
    Ok(Page {
        users: rows
            .into_iter()
            .map(to_domain)
            .collect::<DomainResult<_>>()?,
        total_results,
        next_cursor,
    })
}

/// What a filter translation needs besides the filter: the SQL dialect (JSON access
/// differs) and the workspace's declared custom attributes.
pub struct FilterContext<'a> {
    pub backend: DbBackend,
    pub custom: &'a [CustomAttribute],
}

/// Translates a filter tree into a SQL condition over indexed user columns. Unknown
/// attributes and operator/type mismatches are `InvalidFilter`, never a silent empty list.
pub fn filter_condition(filter: &Filter, context: &FilterContext) -> DomainResult<Condition> {
    Ok(match filter {
        Filter::And(parts) => parts.iter().try_fold(Condition::all(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p, context)?))
        })?,
        Filter::Or(parts) => parts.iter().try_fold(Condition::any(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p, context)?))
        })?,
        Filter::Not(inner) => filter_condition(inner, context)?.not(),
        Filter::ValuePath { path, filter } => {
            if !path.is_core_user() || !path.attribute_is("emails") || path.has_sub_attribute() {
                return Err(DomainError::InvalidFilter(format!(
                    "filtering inside {path} is not supported"
                )));
            }
            Condition::all().add(email_exists(email_condition(filter)?))
        }
        Filter::Compare { path, op, value } => {
            let declared = context
                .custom
                .iter()
                .find(|d| !path.has_sub_attribute() && d.is(&path.schema, &path.attribute));
            match declared {
                Some(declared) => {
                    Condition::all().add(custom_compare(declared, *op, value, context.backend)?)
                }
                None => {
                    Condition::all().add(compare(resolve_user_filter_attribute(path)?, *op, value)?)
                }
            }
        }
    })
}

/// A comparison on a declared custom attribute, read out of the `profile` JSON. Not
/// indexed, but always inside one workspace's rows.
fn custom_compare(
    declared: &CustomAttribute,
    op: CompareOp,
    value: &FilterValue,
    backend: DbBackend,
) -> DomainResult<SimpleExpr> {
    if declared.multi_valued {
        return Err(DomainError::InvalidFilter(format!(
            "{}:{} is multi-valued and cannot be filtered on yet",
            declared.schema, declared.name
        )));
    }
    // The schema and name passed validation (URN and ATTRNAME characters only).
    let folded = !declared.case_exact && declared.kind == AttributeKind::String;
    let (text, json) = match backend {
        DbBackend::Postgres if folded => (
            Expr::cust_with_values(
                r#"("users"."custom_keys" -> $1 ->> $2)"#,
                [declared.schema.clone(), declared.name.clone()],
            ),
            Expr::cust_with_values(
                r#"("users"."custom_keys" -> $1 -> $2)"#,
                [declared.schema.clone(), declared.name.clone()],
            ),
        ),
        DbBackend::Postgres => (
            Expr::cust_with_values(
                r#"("users"."profile" -> 'extensions' -> $1 ->> $2)"#,
                [declared.schema.clone(), declared.name.clone()],
            ),
            Expr::cust_with_values(
                r#"("users"."profile" -> 'extensions' -> $1 -> $2)"#,
                [declared.schema.clone(), declared.name.clone()],
            ),
        ),
        _ if folded => {
            let path = format!("$.\"{}\".\"{}\"", declared.schema, declared.name);
            (
                Expr::cust_with_values(r#"json_extract("users"."custom_keys", ?)"#, [path.clone()]),
                Expr::cust_with_values(r#"json_extract("users"."custom_keys", ?)"#, [path]),
            )
        }
        _ => {
            let path = format!("$.extensions.\"{}\".\"{}\"", declared.schema, declared.name);
            (
                Expr::cust_with_values(r#"json_extract("users"."profile", ?)"#, [path.clone()]),
                Expr::cust_with_values(r#"json_extract("users"."profile", ?)"#, [path]),
            )
        }
    };
    if op == CompareOp::Pr {
        return Ok(text.is_not_null());
    }
    let comparison = match (declared.kind, value) {
        (AttributeKind::String | AttributeKind::DateTime, FilterValue::String(s)) => {
            if folded {
                string_compare(text.clone(), op, case_key(s))?
            } else {
                string_compare(text.clone(), op, s.clone())?
            }
        }
        (AttributeKind::Boolean, FilterValue::Bool(b)) => {
            let literal = match backend {
                DbBackend::Postgres => Expr::val(if *b { "true" } else { "false" }),
                _ => Expr::val(i32::from(*b)),
            };
            let lhs = if backend == DbBackend::Postgres {
                text.clone()
            } else {
                json
            };
            match op {
                CompareOp::Eq => lhs.eq(literal),
                CompareOp::Ne => lhs.ne(literal),
                _ => {
                    return Err(DomainError::InvalidFilter(
                        "booleans compare with eq or ne".into(),
                    ));
                }
            }
        }
        (AttributeKind::Integer | AttributeKind::Decimal, FilterValue::Number(n)) => {
            let lhs = match backend {
                DbBackend::Postgres => Expr::cust_with_expr("CAST($1 AS NUMERIC)", text.clone()),
                _ => json,
            };
            match op {
                CompareOp::Eq => lhs.eq(*n),
                CompareOp::Ne => lhs.ne(*n),
                CompareOp::Gt => lhs.gt(*n),
                CompareOp::Ge => lhs.gte(*n),
                CompareOp::Lt => lhs.lt(*n),
                CompareOp::Le => lhs.lte(*n),
                _ => {
                    return Err(DomainError::InvalidFilter(
                        "numbers support eq ne gt ge lt le pr".into(),
                    ));
                }
            }
        }
        _ => {
            return Err(DomainError::InvalidFilter(format!(
                "{}:{} is a {} and cannot be compared with that value",
                declared.schema,
                declared.name,
                declared.kind.as_str()
            )));
        }
    };
    Ok(match op {
        CompareOp::Ne => text.clone().is_null().or(comparison),
        _ => text.is_not_null().and(comparison),
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
            DisplayName => user::Column::DisplayNameKey.is_not_null(),
            GivenName => user::Column::GivenNameKey.is_not_null(),
            FamilyName => user::Column::FamilyNameKey.is_not_null(),
            Id | UserName | Active | Created | LastModified => always(true),
            EmailValue | EmailType | EmailPrimary => email_exists(Condition::all()),
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
            string_compare(Expr::col(user::Column::UserNameKey), op, key)
        }
        ExternalId => nullable_string(user::Column::ExternalId, op, value, Case::Exact, attribute),
        DisplayName => nullable_string(
            user::Column::DisplayNameKey,
            op,
            value,
            Case::Folded,
            attribute,
        ),
        GivenName => nullable_string(
            user::Column::GivenNameKey,
            op,
            value,
            Case::Folded,
            attribute,
        ),
        FamilyName => nullable_string(
            user::Column::FamilyNameKey,
            op,
            value,
            Case::Folded,
            attribute,
        ),
        Active => match (op, value) {
            (CompareOp::Eq, FilterValue::Bool(b)) => Ok(user::Column::Active.eq(*b)),
            (CompareOp::Ne, FilterValue::Bool(b)) => Ok(user::Column::Active.ne(*b)),
            _ => Err(DomainError::InvalidFilter(
                "active compares with eq or ne to true or false".into(),
            )),
        },
        Created => timestamp_compare(
            Expr::col((user::Entity, user::Column::CreatedAt)),
            op,
            value,
        ),
        LastModified => timestamp_compare(
            Expr::col((user::Entity, user::Column::UpdatedAt)),
            op,
            value,
        ),
        EmailValue | EmailType | EmailPrimary => Ok(email_exists(
            Condition::all().add(email_compare(attribute, op, value)?),
        )),
    }
}

/// `EXISTS (SELECT 1 FROM user_emails WHERE user_id = users.id AND <condition>)`.
fn email_exists(condition: Condition) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(user_email::Entity)
            .and_where(
                Expr::col((user_email::Entity, user_email::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .cond_where(condition)
            .to_owned(),
    )
}

/// The filter inside `emails[...]`, over one email row.
fn email_condition(filter: &Filter) -> DomainResult<Condition> {
    Ok(match filter {
        Filter::And(parts) => parts.iter().try_fold(Condition::all(), |c, p| {
            Ok::<_, DomainError>(c.add(email_condition(p)?))
        })?,
        Filter::Or(parts) => parts.iter().try_fold(Condition::any(), |c, p| {
            Ok::<_, DomainError>(c.add(email_condition(p)?))
        })?,
        Filter::Not(inner) => email_condition(inner)?.not(),
        Filter::ValuePath { .. } => {
            return Err(DomainError::InvalidFilter(
                "value paths cannot be nested".into(),
            ));
        }
        Filter::Compare { path, op, value } => {
            let attribute = resolve_email_sub_attribute(path)?;
            if *op == CompareOp::Pr {
                return Ok(Condition::all().add(match attribute {
                    UserFilterAttribute::EmailType => user_email::Column::TypeKey.is_not_null(),
                    _ => user_email::Column::UserId.is_not_null(),
                }));
            }
            Condition::all().add(email_compare(attribute, *op, value)?)
        }
    })
}

fn email_compare(
    attribute: UserFilterAttribute,
    op: CompareOp,
    value: &FilterValue,
) -> DomainResult<SimpleExpr> {
    match attribute {
        UserFilterAttribute::EmailPrimary => match (op, value) {
            (CompareOp::Eq, FilterValue::Bool(b)) => Ok(user_email::Column::Primary.eq(*b)),
            (CompareOp::Ne, FilterValue::Bool(b)) => Ok(user_email::Column::Primary.ne(*b)),
            _ => Err(DomainError::InvalidFilter(
                "primary compares with eq or ne to a boolean".into(),
            )),
        },
        UserFilterAttribute::EmailType => {
            let FilterValue::String(text) = value else {
                return Err(DomainError::InvalidFilter(
                    "emails.type compares with a string".into(),
                ));
            };
            let comparison = string_compare(
                Expr::col((user_email::Entity, user_email::Column::TypeKey)),
                op,
                case_key(text),
            )?;
            Ok(user_email::Column::TypeKey.is_not_null().and(comparison))
        }
        _ => {
            let FilterValue::String(text) = value else {
                return Err(DomainError::InvalidFilter(
                    "emails.value compares with a string".into(),
                ));
            };
            string_compare(
                Expr::col((user_email::Entity, user_email::Column::ValueKey)),
                op,
                case_key(text),
            )
        }
    }
}

fn sort_column(sort: &Sort) -> DomainResult<SimpleExpr> {
    use UserFilterAttribute::*;
    let column = match resolve_user_filter_attribute(&sort.by) {
        Ok(Id) => user::Column::Id,
        Ok(UserName) => user::Column::UserNameKey,
        Ok(ExternalId) => user::Column::ExternalId,
        Ok(DisplayName) => user::Column::DisplayNameKey,
        Ok(GivenName) => user::Column::GivenNameKey,
        Ok(FamilyName) => user::Column::FamilyNameKey,
        Ok(Active) => user::Column::Active,
        Ok(Created) => user::Column::CreatedAt,
        Ok(LastModified) => user::Column::UpdatedAt,
        _ => {
            return Err(DomainError::InvalidValue(format!(
                "cannot sort by {}",
                sort.by
            )));
        }
    };
    Ok(Expr::col((user::Entity, column)))
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
/// How a text column compares to a filter value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// `caseExact: true`: as stored.
    Exact,
    /// The column holds `domain::case_key` of the value (indexed; the same on every backend).
    Folded,
}

fn nullable_string(
    column: user::Column,
    op: CompareOp,
    value: &FilterValue,
    case: Case,
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
    let (lhs, text) = match case {
        Case::Exact => (Expr::col(column), text.to_owned()),
        Case::Folded => (Expr::col(column), case_key(text)),
    };
    let comparison = string_compare(lhs, op, text)?;
    Ok(match op {
        CompareOp::Ne => column.is_null().or(comparison),
        _ => column.is_not_null().and(comparison),
    })
}
