//! Each workspace's number of users and groups (table `workspace_counts`, migration
//! m0015), kept by the write step so an unfiltered list does not count the workspace.
//!
//! `ops::write::Write::commit` adds the deltas of the users and groups a write created or
//! deleted, in the write's transaction; the row goes with its workspace (cascade). A
//! workspace gets its row when it is created (existing ones from the migration); should
//! it be missing, the upsert creates it and a list counts the rows instead.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::{WriteTx, db_error};
use crate::domain::DomainResult;

/// A workspace's stored counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceCounts {
    pub users: u64,
    pub groups: u64,
}

/// The row of a workspace being created: no users, no groups.
pub(super) async fn insert_empty(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<()> {
    let insert = Query::insert()
        .into_table(Alias::new("workspace_counts"))
        .columns([Alias::new("workspace_id")])
        .values_panic([workspace_id.into()])
        .to_owned();
    db.execute(&insert).await.map_err(db_error)?;
    Ok(())
}

/// Adds `users` and `groups` (either may be negative) to the workspace's counts with one
/// upsert. The row stays locked until the transaction ends: call it late in the write,
/// as `store::events::take_sequences` is called, so concurrent writers of the workspace
/// wait for it only briefly.
pub async fn add(tx: &WriteTx, workspace_id: Uuid, users: i64, groups: i64) -> DomainResult<()> {
    let db = tx.conn();
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            r#"INSERT INTO workspace_counts (workspace_id, "users", "groups") VALUES ($1, $2, $3)
               ON CONFLICT (workspace_id) DO UPDATE
               SET "users" = workspace_counts."users" + excluded."users",
                   "groups" = workspace_counts."groups" + excluded."groups""#
        }
        _ => {
            r#"INSERT INTO workspace_counts (workspace_id, "users", "groups") VALUES (?, ?, ?)
               ON CONFLICT (workspace_id) DO UPDATE
               SET "users" = workspace_counts."users" + excluded."users",
                   "groups" = workspace_counts."groups" + excluded."groups""#
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [workspace_id.into(), users.into(), groups.into()],
    ))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The workspace's stored counts (a primary-key read); `None` when it has no row yet.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Option<WorkspaceCounts>> {
    let query = Query::select()
        .columns([Alias::new("users"), Alias::new("groups")])
        .from(Alias::new("workspace_counts"))
        .and_where(Expr::col(Alias::new("workspace_id")).eq(workspace_id))
        .to_owned();
    let Some(row) = db.query_one(&query).await.map_err(db_error)? else {
        return Ok(None);
    };
    let users: i64 = row.try_get("", "users").map_err(db_error)?;
    let groups: i64 = row.try_get("", "groups").map_err(db_error)?;
    Ok(Some(WorkspaceCounts {
        users: u64::try_from(users).unwrap_or(0),
        groups: u64::try_from(groups).unwrap_or(0),
    }))
}
