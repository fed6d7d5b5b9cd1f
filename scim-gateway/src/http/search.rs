//! `POST /.search` at the SCIM root (RFC 7644 §3.4.3): Users, then Groups, under one index
//! paging. A filter only one resource type understands (e.g. `userName eq ..`) searches
//! that type alone.

use http::StatusCode;
use serde_json::Value;

use super::response::{self, HttpResponse};
use super::{AppState, RequestContext, groups, users};
use crate::scim::list::{ListPage, ListQuery, Page, list_response};
use crate::scim::{ScimError, ScimType};

pub async fn root_search(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    let query = ListQuery::from_search_body(body)?;
    if query.cursor.is_some() {
        return Err(ScimError::invalid_value(
            "cursor paging is available on /Users/.search and /Groups/.search, not on the root",
        ));
    }
    let user_page = users::list_page(state, ctx, &query).await;
    let (users, user_filter_error) = split_filter_error(user_page)?;
    let users_total = users.as_ref().map_or(0, |p| p.total_results);
    let users_returned = users.as_ref().map_or(0, |p| p.resources.len() as i64);
    // Groups continue the numbering where users end.
    let group_query = ListQuery {
        page: Page {
            start_index: (query.page.start_index - users_total).max(1),
            count: query.page.count - users_returned,
        },
        ..query.clone()
    };
    let (groups, group_filter_error) =
        split_filter_error(groups::list_page(state, ctx, &group_query).await)?;
    if let (Some(error), Some(_)) = (user_filter_error, group_filter_error) {
        return Err(error);
    }
    let mut resources = Vec::new();
    let mut total = 0;
    for page in [users, groups].into_iter().flatten() {
        total += page.total_results;
        resources.extend(page.resources);
    }
    Ok(response::json(
        StatusCode::OK,
        &list_response(resources, total, query.page.start_index),
    ))
}

/// An invalidFilter answer means "this type has no such attribute": no results from it.
fn split_filter_error(
    page: Result<ListPage, ScimError>,
) -> Result<(Option<ListPage>, Option<ScimError>), ScimError> {
    match page {
        Ok(page) => Ok((Some(page), None)),
        Err(error) if error.scim_type == Some(ScimType::InvalidFilter) => Ok((None, Some(error))),
        Err(error) => Err(error),
    }
}
