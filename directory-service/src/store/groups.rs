//! Group rows, memberships, and the group filter → SQL translation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    AccessMode, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, IsolationLevel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use super::entity::{group, group_member, user};
use super::filter_sql::{string_compare, timestamp_compare};
use super::{WriteTx, db_error};
use crate::domain::filter::{CompareOp, Filter, FilterValue, Sort};
use crate::domain::groups::{
    Group, GroupFilterAttribute, GroupProfile, Member, resolve_group_filter_attribute,
};
use crate::domain::paging::PageRequest;
use crate::domain::roles::GroupRole;
use crate::domain::{DomainError, DomainResult};

/// Bound on ids per `IN (...)` list: SQLite and Postgres both cap bind parameters.
const ID_CHUNK: usize = 1000;

fn to_domain(row: group::Model) -> Group {
    Group {
        id: row.id,
        workspace_id: row.workspace_id,
        role: GroupRole::parse(&row.role),
        license_subscription: row.license_subscription,
        profile: GroupProfile {
            display_name: row.display_name,
            external_id: row.external_id,
            extensions: match row.extensions {
                serde_json::Value::Object(map) => map,
                _ => Default::default(),
            },
        },
        created: row.created_at,
        last_modified: row.updated_at,
        version: row.version,
    }
}

fn to_row(group: &Group) -> group::ActiveModel {
    group::ActiveModel {
        id: Set(group.id),
        workspace_id: Set(group.workspace_id),
        display_name: Set(group.profile.display_name.clone()),
        display_name_key: Set(group.profile.display_name_key()),
        external_id: Set(group.profile.external_id.clone()),
        role: Set(group.role.as_str().to_owned()),
        license_subscription: Set(group.license_subscription.clone()),
        extensions: Set(serde_json::Value::Object(group.profile.extensions.clone())),
        created_at: Set(group.created),
        updated_at: Set(group.last_modified),
        version: Set(group.version),
    }
}

pub async fn insert(tx: &WriteTx, group: &Group) -> DomainResult<Group> {
    let db = tx.conn();
    Ok(to_domain(to_row(group).insert(db).await.map_err(db_error)?))
}

pub async fn update(tx: &WriteTx, group: &Group) -> DomainResult<Group> {
    let db = tx.conn();
    Ok(to_domain(to_row(group).update(db).await.map_err(db_error)?))
}

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
    for_update: bool,
) -> DomainResult<Group> {
    let mut query =
        group::Entity::find_by_id(id).filter(group::Column::WorkspaceId.eq(workspace_id));
    if for_update {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await
        .map_err(db_error)?
        .map(to_domain)
        .ok_or_else(|| DomainError::NotFound(format!("group {id} not found")))
}

pub async fn delete(tx: &WriteTx, workspace_id: Uuid, id: Uuid) -> DomainResult<()> {
    let db = tx.conn();
    let result = group::Entity::delete_many()
        .filter(group::Column::Id.eq(id))
        .filter(group::Column::WorkspaceId.eq(workspace_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    if result.rows_affected == 0 {
        return Err(DomainError::NotFound(format!("group {id} not found")));
    }
    Ok(())
}

pub struct Page {
    pub groups: Vec<Group>,
    pub total_results: u64,
    pub next_cursor: Option<Uuid>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: PageRequest,
) -> DomainResult<Page> {
    let mut condition = Condition::all().add(group::Column::WorkspaceId.eq(workspace_id));
    if let Some(filter) = filter {
        condition = condition.add(filter_condition(filter)?);
    }
    let query = group::Entity::find().filter(condition);
    let sort = match sort {
        Some(sort) => Some((sort_column(sort)?, sort.descending)),
        None => None,
    };
    let fetched = super::paging::fetch_page(
        db,
        query.clone(),
        group::Column::Id,
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
        (None, Some(counts)) => counts.groups,
        (None, None) => query.count(db).await.map_err(db_error)?,
    };
    let (rows, next_cursor) = (fetched.rows, fetched.next);
    Ok(Page {
        groups: rows.into_iter().map(to_domain).collect(),
        total_results,
        next_cursor,
    })
}

/// Members of each of `group_ids`, with their userNames, in membership order.
pub async fn members_of(
    db: &impl ConnectionTrait,
    group_ids: &[Uuid],
) -> DomainResult<HashMap<Uuid, Vec<Member>>> {
    let mut members: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for chunk in group_ids.chunks(ID_CHUNK) {
        let rows: Vec<(Uuid, Uuid, String)> = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::GroupId)
            .column(group_member::Column::UserId)
            .column_as(
                Expr::col((user::Entity, user::Column::UserName)),
                "user_name",
            )
            .join_rev(
                sea_orm::JoinType::InnerJoin,
                user::Entity::belongs_to(group_member::Entity)
                    .from(user::Column::Id)
                    .to(group_member::Column::UserId)
                    .into(),
            )
            .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .order_by_asc(group_member::Column::CreatedAt)
            .order_by_asc(group_member::Column::UserId)
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        for (group_id, user_id, user_name) in rows {
            members
                .entry(group_id)
                .or_default()
                .push(Member { user_id, user_name });
        }
    }
    Ok(members)
}

/// One message of a streamed group read: the group comes with the first page only.
pub struct MemberPage {
    pub group: Option<Group>,
    pub members: Vec<Member>,
}

/// Group `id` and its members, in `members_of`'s order, sent to `pages` in pages of
/// `page_size`, all read from one snapshot: a read-only REPEATABLE READ transaction on
/// PostgreSQL (its first statement fixes the snapshot for both reads), a read transaction
/// on SQLite (WAL: readers see the database as of their first read). The members are
/// one query whose rows are decoded as they arrive, so at most a page and the socket
/// buffers are in memory, whatever the group's size. The first message is always sent
/// (an error, or the group with its first page, possibly empty). Stops when the receiver
/// is gone.
pub async fn stream_with_members(
    db: &DatabaseConnection,
    workspace_id: Uuid,
    id: Uuid,
    page_size: usize,
    pages: tokio::sync::mpsc::Sender<DomainResult<MemberPage>>,
) {
    if let Err(err) = send_pages(db, workspace_id, id, page_size.max(1), &pages).await {
        let _ = pages.send(Err(err)).await;
    }
}

async fn send_pages(
    db: &DatabaseConnection,
    workspace_id: Uuid,
    id: Uuid,
    page_size: usize,
    pages: &tokio::sync::mpsc::Sender<DomainResult<MemberPage>>,
) -> DomainResult<()> {
    use tokio_stream::StreamExt as _;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let txn = db
        .begin_with_options(TransactionOptions {
            isolation_level: postgres.then_some(IsolationLevel::RepeatableRead),
            access_mode: postgres.then_some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        })
        .await
        .map_err(db_error)?;
    let mut group = Some(find(&txn, workspace_id, id, false).await?);
    let mut rows = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::UserId)
        .column_as(
            Expr::col((user::Entity, user::Column::UserName)),
            "user_name",
        )
        .join_rev(
            sea_orm::JoinType::InnerJoin,
            user::Entity::belongs_to(group_member::Entity)
                .from(user::Column::Id)
                .to(group_member::Column::UserId)
                .into(),
        )
        .filter(group_member::Column::GroupId.eq(id))
        .order_by_asc(group_member::Column::CreatedAt)
        .order_by_asc(group_member::Column::UserId)
        .into_tuple::<(Uuid, String)>()
        .stream(&txn)
        .await
        .map_err(db_error)?;
    let mut page = Vec::with_capacity(page_size);
    while let Some(row) = rows.next().await {
        let (user_id, user_name) = row.map_err(db_error)?;
        page.push(Member { user_id, user_name });
        if page.len() == page_size {
            let members = std::mem::replace(&mut page, Vec::with_capacity(page_size));
            let sent = pages.send(Ok(MemberPage {
                group: group.take(),
                members,
            }));
            if sent.await.is_err() {
                return Ok(());
            }
        }
    }
    drop(rows);
    if group.is_some() || !page.is_empty() {
        let _ = pages
            .send(Ok(MemberPage {
                group: group.take(),
                members: page,
            }))
            .await;
    }
    // Read-only: nothing to keep; ending it either way releases the snapshot.
    txn.rollback().await.map_err(db_error)
}

/// How many members each of `group_ids` has (groups without members are absent).
pub async fn member_counts(
    db: &impl ConnectionTrait,
    group_ids: &[Uuid],
) -> DomainResult<HashMap<Uuid, u64>> {
    let mut counts = HashMap::new();
    for chunk in group_ids.chunks(ID_CHUNK) {
        let rows: Vec<(Uuid, i64)> = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::GroupId)
            .column_as(group_member::Column::UserId.count(), "members")
            .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
            .group_by(group_member::Column::GroupId)
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        counts.extend(
            rows.into_iter()
                .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))),
        );
    }
    Ok(counts)
}

/// The groups each of `user_ids` is a direct member of: (group id, displayName).
pub async fn groups_of_users(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
) -> DomainResult<HashMap<Uuid, Vec<(Uuid, String)>>> {
    let mut groups: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for chunk in user_ids.chunks(ID_CHUNK) {
        let rows: Vec<(Uuid, Uuid, String)> = group_member::Entity::find()
            .select_only()
            .column(group_member::Column::UserId)
            .column(group_member::Column::GroupId)
            .column_as(
                Expr::col((group::Entity, group::Column::DisplayName)),
                "display_name",
            )
            .join_rev(
                sea_orm::JoinType::InnerJoin,
                group::Entity::belongs_to(group_member::Entity)
                    .from(group::Column::Id)
                    .to(group_member::Column::GroupId)
                    .into(),
            )
            .filter(group_member::Column::UserId.is_in(chunk.iter().copied()))
            .order_by_asc(group_member::Column::GroupId)
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        for (user_id, group_id, display_name) in rows {
            groups
                .entry(user_id)
                .or_default()
                .push((group_id, display_name));
        }
    }
    Ok(groups)
}

/// Refuses ids that are not users of the workspace (other workspaces' users included).
pub async fn check_users_exist(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> DomainResult<()> {
    for chunk in ids.chunks(ID_CHUNK) {
        let found: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::WorkspaceId.eq(workspace_id))
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await
            .map_err(db_error)?;
        if let Some(missing) = chunk.iter().find(|id| !found.contains(id)) {
            return Err(DomainError::InvalidValue(format!(
                "member {missing} is not a user of this workspace"
            )));
        }
    }
    Ok(())
}

pub async fn add_members(
    tx: &WriteTx,
    workspace_id: Uuid,
    group_id: Uuid,
    user_ids: &[Uuid],
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let db = tx.conn();
    let mut added = 0;
    for chunk in user_ids.chunks(ID_CHUNK) {
        let rows = chunk.iter().map(|user_id| group_member::ActiveModel {
            group_id: Set(group_id),
            user_id: Set(*user_id),
            workspace_id: Set(workspace_id),
            created_at: Set(now),
        });
        let result = group_member::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([
                group_member::Column::GroupId,
                group_member::Column::UserId,
            ])
            .exec_without_returning(db)
            .await
            .map_err(db_error)?;
        if let sea_orm::TryInsertResult::Inserted(n) = result {
            added += n;
        }
    }
    Ok(added)
}

/// Ids of the group's members (for a full replacement's diff).
pub async fn member_ids(db: &impl ConnectionTrait, group_id: Uuid) -> DomainResult<Vec<Uuid>> {
    group_member::Entity::find()
        .select_only()
        .column(group_member::Column::UserId)
        .filter(group_member::Column::GroupId.eq(group_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn remove_members(tx: &WriteTx, group_id: Uuid, user_ids: &[Uuid]) -> DomainResult<u64> {
    let db = tx.conn();
    let mut removed = 0;
    for chunk in user_ids.chunks(ID_CHUNK) {
        removed += group_member::Entity::delete_many()
            .filter(group_member::Column::GroupId.eq(group_id))
            .filter(group_member::Column::UserId.is_in(chunk.iter().copied()))
            .exec(db)
            .await
            .map_err(db_error)?
            .rows_affected;
    }
    Ok(removed)
}

pub async fn remove_all_members(tx: &WriteTx, group_id: Uuid) -> DomainResult<u64> {
    let db = tx.conn();
    Ok(group_member::Entity::delete_many()
        .filter(group_member::Column::GroupId.eq(group_id))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}

pub fn filter_condition(filter: &Filter) -> DomainResult<Condition> {
    Ok(match filter {
        Filter::And(parts) => parts.iter().try_fold(Condition::all(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p)?))
        })?,
        Filter::Or(parts) => parts.iter().try_fold(Condition::any(), |c, p| {
            Ok::<_, DomainError>(c.add(filter_condition(p)?))
        })?,
        Filter::Not(inner) => filter_condition(inner)?.not(),
        Filter::ValuePath { path, filter } => {
            if resolve_group_filter_attribute(path)? != GroupFilterAttribute::MemberValue
                || path.has_sub_attribute()
            {
                return Err(DomainError::InvalidFilter(format!(
                    "filtering inside {path} is not supported"
                )));
            }
            Condition::all().add(member_value_path(filter)?)
        }
        Filter::Compare { path, op, value } => {
            Condition::all().add(compare(resolve_group_filter_attribute(path)?, *op, value)?)
        }
    })
}

/// `members[value eq "id"]`: only comparisons of `value` are meaningful inside.
fn member_value_path(filter: &Filter) -> DomainResult<SimpleExpr> {
    match filter {
        Filter::Compare { path, op, value }
            if path.attribute_is("value") && !path.has_sub_attribute() =>
        {
            compare(GroupFilterAttribute::MemberValue, *op, value)
        }
        Filter::Or(parts) => {
            let mut any = Condition::any();
            for part in parts {
                any = any.add(member_value_path(part)?);
            }
            Ok(SimpleExpr::from(any))
        }
        _ => Err(DomainError::InvalidFilter(
            "inside members[...] only value comparisons are supported".into(),
        )),
    }
}

fn member_exists(user_id: Option<Uuid>) -> SimpleExpr {
    let mut select = Query::select()
        .expr(Expr::val(1))
        .from(group_member::Entity)
        .and_where(
            Expr::col((group_member::Entity, group_member::Column::GroupId))
                .equals((group::Entity, group::Column::Id)),
        )
        .to_owned();
    if let Some(user_id) = user_id {
        select
            .and_where(Expr::col((group_member::Entity, group_member::Column::UserId)).eq(user_id));
    }
    Expr::exists(select)
}

fn always(matches: bool) -> SimpleExpr {
    if matches {
        group::Column::Id.is_not_null()
    } else {
        group::Column::Id.is_null()
    }
}

fn compare(
    attribute: GroupFilterAttribute,
    op: CompareOp,
    value: &FilterValue,
) -> DomainResult<SimpleExpr> {
    use GroupFilterAttribute::*;
    let text = || match value {
        FilterValue::String(s) => Ok(s.as_str()),
        _ => Err(DomainError::InvalidFilter(format!(
            "{attribute:?} compares with a string value"
        ))),
    };
    if op == CompareOp::Pr {
        return Ok(match attribute {
            ExternalId => group::Column::ExternalId.is_not_null(),
            MemberValue => member_exists(None),
            Id | DisplayName | Created | LastModified => always(true),
        });
    }
    match attribute {
        Id | MemberValue => {
            let id = Uuid::parse_str(text()?.trim()).ok();
            let matches = |id: Uuid| match attribute {
                Id => group::Column::Id.eq(id),
                _ => member_exists(Some(id)),
            };
            match (op, id) {
                (CompareOp::Eq, Some(id)) => Ok(matches(id)),
                (CompareOp::Eq, None) => Ok(always(false)),
                (CompareOp::Ne, Some(id)) => Ok(matches(id).not()),
                (CompareOp::Ne, None) => Ok(always(true)),
                _ => Err(DomainError::InvalidFilter(format!(
                    "{attribute:?} supports eq, ne and pr"
                ))),
            }
        }
        DisplayName => {
            let key = crate::domain::groups::display_name_key(text()?);
            string_compare(
                Expr::col((group::Entity, group::Column::DisplayNameKey)),
                op,
                key,
            )
        }
        ExternalId => {
            if *value == FilterValue::Null {
                return match op {
                    CompareOp::Eq => Ok(group::Column::ExternalId.is_null()),
                    CompareOp::Ne => Ok(group::Column::ExternalId.is_not_null()),
                    _ => Err(DomainError::InvalidFilter(
                        "null compares with eq or ne only".into(),
                    )),
                };
            }
            let comparison = string_compare(
                Expr::col((group::Entity, group::Column::ExternalId)),
                op,
                text()?.to_owned(),
            )?;
            Ok(match op {
                CompareOp::Ne => group::Column::ExternalId.is_null().or(comparison),
                _ => group::Column::ExternalId.is_not_null().and(comparison),
            })
        }
        Created => timestamp_compare(
            Expr::col((group::Entity, group::Column::CreatedAt)),
            op,
            value,
        ),
        LastModified => timestamp_compare(
            Expr::col((group::Entity, group::Column::UpdatedAt)),
            op,
            value,
        ),
    }
}

fn sort_column(sort: &Sort) -> DomainResult<SimpleExpr> {
    use GroupFilterAttribute::*;
    let column = match resolve_group_filter_attribute(&sort.by) {
        Ok(Id) => group::Column::Id,
        Ok(DisplayName) => group::Column::DisplayNameKey,
        Ok(ExternalId) => group::Column::ExternalId,
        Ok(Created) => group::Column::CreatedAt,
        Ok(LastModified) => group::Column::UpdatedAt,
        _ => {
            return Err(DomainError::InvalidValue(format!(
                "cannot sort by {}",
                sort.by
            )));
        }
    };
    Ok(Expr::col((group::Entity, column)))
}
