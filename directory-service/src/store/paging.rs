//! One page of a query, by index or by cursor (see `domain::paging`); shared by users and
//! groups.

use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::db_error;
use crate::domain::paging::PageRequest;
use crate::domain::{DomainError, DomainResult};

/// One page of rows. `total` is set when the page shows that it holds every match (a
/// first page shorter than its limit), so the caller need not count them.
pub struct Fetched<M> {
    pub rows: Vec<M>,
    /// For a cursor page with more after it, the id to continue after.
    pub next: Option<Uuid>,
    pub total: Option<u64>,
}

/// Orders `query` by `sort` (if any) then by id, and fetches the page.
pub async fn fetch_page<E: EntityTrait>(
    db: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    id_of: impl Fn(&E::Model) -> Uuid,
    sort: Option<(SimpleExpr, bool)>,
    page: PageRequest,
) -> DomainResult<Fetched<E::Model>> {
    let mut query = query;
    if let Some((column, descending)) = sort {
        if matches!(page, PageRequest::Cursor { .. }) {
            return Err(DomainError::InvalidValue(
                "sortBy cannot be combined with cursor paging; page in the default order".into(),
            ));
        }
        query = query.order_by(column, if descending { Order::Desc } else { Order::Asc });
    }
    let query = query.order_by_asc(id);
    // A first page with room to spare holds every match: its length is the total.
    let whole = |rows: &Vec<E::Model>, first: bool, limit: u64| {
        (first && (rows.len() as u64) < limit).then_some(rows.len() as u64)
    };
    match page {
        PageRequest::Index { limit: 0, .. } | PageRequest::Cursor { limit: 0, .. } => Ok(Fetched {
            rows: Vec::new(),
            next: None,
            total: None,
        }),
        PageRequest::Index { offset, limit } => {
            let rows = query
                .offset(offset)
                .limit(limit)
                .all(db)
                .await
                .map_err(db_error)?;
            let total = whole(&rows, offset == 0, limit);
            Ok(Fetched {
                rows,
                next: None,
                total,
            })
        }
        PageRequest::Cursor { after, limit } => {
            let query = match after {
                Some(after) => query.filter(id.gt(after)),
                None => query,
            };
            // One more than asked tells whether another page follows.
            let mut rows = query.limit(limit + 1).all(db).await.map_err(db_error)?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let next = if more { rows.last().map(&id_of) } else { None };
            let total = if more {
                None
            } else {
                whole(&rows, after.is_none(), limit + 1)
            };
            Ok(Fetched { rows, next, total })
        }
    }
}
