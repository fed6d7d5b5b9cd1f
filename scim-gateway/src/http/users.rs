//! `/Users` handlers: SCIM JSON in, typed RPC to the directory, SCIM JSON out. No business
//! rules here (uniqueness, references, ... are the directory's).

use directory_proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, PatchUserRequest,
    ReplaceUserRequest, User,
};
use http::StatusCode;
use serde_json::Value;

use super::response::{self, HttpResponse, Written};
use super::{AppState, Query, RequestContext, directory_error, expected_version};
use crate::scim::ScimError;
use crate::scim::list::{ListPage, ListQuery, page_response};
use crate::scim::patch::patch_operations_from_json;
use crate::scim::user::{
    resolve_user_filter_aliases, user_attributes_from_json, user_etag, user_to_json,
};
use crate::scim::user_location;

fn user_response(ctx: &RequestContext, status: StatusCode, user: &User) -> HttpResponse {
    let body = ctx.projection.apply(user_to_json(user, &ctx.base_url));
    let location = (status == StatusCode::CREATED).then(|| user_location(&ctx.base_url, &user.id));
    response::resource(status, &body, &user_etag(user.version), location.as_deref())
}

fn written(ctx: &RequestContext, status: StatusCode, user: User) -> Written<User> {
    Written {
        status,
        id: user.id.clone(),
        version: user.version,
        location: user_location(&ctx.base_url, &user.id),
        resource: user,
    }
}

fn render(
    ctx: &RequestContext,
    written: Result<Written<User>, ScimError>,
) -> Result<HttpResponse, ScimError> {
    let written = written?;
    Ok(user_response(ctx, written.status, &written.resource))
}

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    render(ctx, create_user(state, ctx, body).await)
}

/// `POST /Users`, typed: 201 with the new user.
pub(super) async fn create_user(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<Written<User>, ScimError> {
    let attributes = user_attributes_from_json(body)?;
    let user = state
        .directory
        .clone()
        .users()
        .create_user(CreateUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            attributes: Some(attributes),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(written(ctx, StatusCode::CREATED, user))
}

/// `GET /Users/{id}`; 304 when `If-None-Match` names the current version.
pub async fn get(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let user = fetch(state, ctx, id).await?;
    if ctx
        .if_none_match
        .as_ref()
        .is_some_and(|tags| tags.matches(user.version))
    {
        return Ok(response::not_modified(&user_etag(user.version)));
    }
    Ok(user_response(ctx, StatusCode::OK, &user))
}

async fn fetch(state: &AppState, ctx: &RequestContext, id: &str) -> Result<User, ScimError> {
    Ok(state
        .directory
        .clone()
        .users()
        .get_user(GetUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner())
}

/// The `expected_version` for a write on user `id` (reads the user only for a list of
/// several `If-Match` tags).
async fn expected(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<Option<i64>, ScimError> {
    expected_version(&ctx.if_match, async {
        Ok(fetch(state, ctx, id).await?.version)
    })
    .await
}

pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    query: &Query,
) -> Result<HttpResponse, ScimError> {
    let list_query = ListQuery::from_params(|name| query.get(name), ctx.projection.clone())?;
    run_list(state, ctx, list_query).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters as a JSON body.
pub async fn search(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    run_list(state, ctx, ListQuery::from_search_body(body)?).await
}

async fn run_list(
    state: &AppState,
    ctx: &RequestContext,
    query: ListQuery,
) -> Result<HttpResponse, ScimError> {
    let page = list_page(state, ctx, &query).await?;
    Ok(response::json(
        StatusCode::OK,
        &page_response(
            &query,
            page.resources,
            page.total_results,
            page.start_index,
            &page.next_cursor,
        ),
    ))
}

/// One page of users as SCIM JSON (projected), for lists and for the root `/.search`.
pub(super) async fn list_page(
    state: &AppState,
    ctx: &RequestContext,
    query: &ListQuery,
) -> Result<ListPage, ScimError> {
    let answer = state
        .directory
        .clone()
        .users()
        .list_users(ListUsersRequest {
            workspace_id: ctx.workspace_id.clone(),
            filter: query.filter.clone().map(resolve_user_filter_aliases),
            start_index: query.page.start_index,
            count: Some(query.page.count),
            cursor: query.cursor.clone(),
            sort: query.sort.clone(),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    let resources = answer
        .users
        .iter()
        .map(|user| query.projection.apply(user_to_json(user, &ctx.base_url)))
        .collect();
    Ok(ListPage {
        resources,
        total_results: answer.total_results,
        start_index: answer.start_index,
        next_cursor: answer.next_cursor,
    })
}

pub async fn replace(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    render(ctx, replace_user(state, ctx, id, body).await)
}

/// `PUT /Users/{id}`, typed: 200 with the replaced user.
pub(super) async fn replace_user(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<Written<User>, ScimError> {
    let attributes = user_attributes_from_json(body)?;
    let expected_version = expected(state, ctx, id).await?;
    let user = state
        .directory
        .clone()
        .users()
        .replace_user(ReplaceUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            attributes: Some(attributes),
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(written(ctx, StatusCode::OK, user))
}

pub async fn patch(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    render(ctx, patch_user(state, ctx, id, body).await)
}

/// `PATCH /Users/{id}`, typed: 200 with the patched user.
pub(super) async fn patch_user(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<Written<User>, ScimError> {
    // May be empty (a PATCH of only `password`, which the gateway drops): the directory
    // then changes nothing, checks the version and answers the user.
    let operations = patch_operations_from_json(body)?;
    let expected_version = expected(state, ctx, id).await?;
    let user = state
        .directory
        .clone()
        .users()
        .patch_user(PatchUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            operations,
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(written(ctx, StatusCode::OK, user))
}

pub async fn delete(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let expected_version = expected(state, ctx, id).await?;
    state
        .directory
        .clone()
        .users()
        .delete_user(DeleteUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?;
    Ok(response::no_content())
}
