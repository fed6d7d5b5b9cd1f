//! `/Groups` handlers: SCIM JSON in, typed RPC to the directory, SCIM JSON out. Member
//! lists can be huge, so the directory is asked not to load them whenever the response
//! will not show them (`excludedAttributes=members`, an `attributes` list without members,
//! a PATCH answered with 204).

use bytes::Bytes;
use directory_proto::v1::{
    CreateGroupRequest, DeleteGroupRequest, GetGroupRequest, Group, ListGroupsRequest,
    PatchGroupRequest, ReplaceGroupRequest, StreamGroupMembersRequest,
};
use http::StatusCode;
use serde_json::Value;

use super::response::{self, HttpResponse, Written};
use super::{AppState, Query, RequestContext, directory_error, expected_version};
use crate::scim::ScimError;
use crate::scim::etag::weak_etag;
use crate::scim::group::{
    group_attributes_from_json, group_to_json, member_to_json, split_at_members,
};
use crate::scim::group_location;
use crate::scim::list::{ListPage, ListQuery, page_response};
use crate::scim::patch::group_patch_operations_from_json;

fn group_response(ctx: &RequestContext, status: StatusCode, group: &Group) -> HttpResponse {
    let body = ctx.projection.apply(group_to_json(group, &ctx.base_url));
    let location =
        (status == StatusCode::CREATED).then(|| group_location(&ctx.base_url, &group.id));
    response::resource(
        status,
        &body,
        &weak_etag(group.version),
        location.as_deref(),
    )
}

fn written(ctx: &RequestContext, status: StatusCode, group: Group) -> Written<Group> {
    Written {
        status,
        id: group.id.clone(),
        version: group.version,
        location: group_location(&ctx.base_url, &group.id),
        resource: group,
    }
}

fn render(
    ctx: &RequestContext,
    written: Result<Written<Group>, ScimError>,
) -> Result<HttpResponse, ScimError> {
    let written = written?;
    if written.status == StatusCode::NO_CONTENT {
        return Ok(response::no_content_with_etag(&written.etag()));
    }
    Ok(group_response(ctx, written.status, &written.resource))
}

/// `true` when the URL's projection leaves the members out: do not load them.
fn exclude_members(ctx: &RequestContext) -> bool {
    !ctx.projection.returns("members")
}

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    render(ctx, create_group(state, ctx, body).await)
}

/// `POST /Groups`, typed: 201 with the new group.
pub(super) async fn create_group(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<Written<Group>, ScimError> {
    let attributes = group_attributes_from_json(body)?;
    let group = state
        .directory
        .clone()
        .groups()
        .create_group(CreateGroupRequest {
            workspace_id: ctx.workspace_id.clone(),
            attributes: Some(attributes),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(written(ctx, StatusCode::CREATED, group))
}

/// `GET /Groups/{id}`; 304 when `If-None-Match` names the current version.
pub async fn get(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    if !exclude_members(ctx) && streams_members_unchanged(ctx) {
        return get_streamed(state, ctx, id).await;
    }
    let group = fetch(state, ctx, id, exclude_members(ctx)).await?;
    if ctx
        .if_none_match
        .as_ref()
        .is_some_and(|tags| tags.matches(group.version))
    {
        return Ok(response::not_modified(&weak_etag(group.version)));
    }
    Ok(group_response(ctx, StatusCode::OK, &group))
}

/// Whether the projection leaves every member object as rendered (no `members.value`
/// style sub-attribute selection): then members can be written as they arrive. Otherwise
/// the group is read whole, as before.
fn streams_members_unchanged(ctx: &RequestContext) -> bool {
    let probe = serde_json::json!({"members": [member_to_json("probe", &ctx.base_url)]});
    let projected = ctx.projection.apply(probe.clone());
    projected.get("members") == probe.get("members")
}

/// Members per message of the directory's stream (and per chunk of the HTTP body).
const MEMBER_PAGE: u32 = 1_000;

/// `GET /Groups/{id}` with members, streamed through both hops: the directory sends the
/// group and then pages of members from one snapshot (so the ETag is the version of
/// exactly the members written), and the body is written page by page. A group without
/// members is answered buffered, as before. Memory stays at a page or two whatever the
/// group's size.
async fn get_streamed(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let mut pages = state
        .group_members
        .clone()
        .stream_group_members(StreamGroupMembersRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            page_size: MEMBER_PAGE,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    let first = pages
        .message()
        .await
        .map_err(|s| directory_error(&s))?
        .ok_or_else(ScimError::internal)?;
    let group = first.group.ok_or_else(ScimError::internal)?;
    let etag = weak_etag(group.version);
    if ctx
        .if_none_match
        .as_ref()
        .is_some_and(|tags| tags.matches(group.version))
    {
        return Ok(response::not_modified(&etag));
    }
    if first.members.is_empty() {
        // The first page is sent early only when full: no members at all.
        return Ok(group_response(ctx, StatusCode::OK, &group));
    }
    let document = ctx.projection.apply(group_to_json(&group, &ctx.base_url));
    let (prefix, suffix) = split_at_members(&document);
    let base_url = ctx.base_url.clone();
    let (chunks, body) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let mut chunk = prefix;
        let mut first_member = true;
        let mut page = first.members;
        loop {
            for member in &page {
                if !first_member {
                    chunk.push(b',');
                }
                first_member = false;
                // A `Value` always serializes.
                chunk.extend(
                    serde_json::to_vec(&member_to_json(&member.value, &base_url))
                        .unwrap_or_default(),
                );
            }
            if chunks.send(Ok(Bytes::from(chunk))).await.is_err() {
                return; // the client went away; dropping `pages` cancels the RPC
            }
            chunk = Vec::new();
            page = match pages.message().await {
                Ok(Some(next)) => next.members,
                Ok(None) => break,
                Err(status) => {
                    tracing::warn!(code = ?status.code(), "group member stream failed mid-way");
                    let _ = chunks
                        .send(Err(std::io::Error::other(
                            "the directory's member stream failed",
                        )))
                        .await;
                    return;
                }
            };
        }
        let _ = chunks.send(Ok(Bytes::from(suffix))).await;
    });
    Ok(response::streamed(StatusCode::OK, &etag, body))
}

async fn fetch(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    exclude_members: bool,
) -> Result<Group, ScimError> {
    Ok(state
        .directory
        .clone()
        .groups()
        .get_group(GetGroupRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            exclude_members,
            include_member_count: false,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner())
}

/// The `expected_version` for a write on group `id` (reads the group, without members,
/// only for a list of several `If-Match` tags).
async fn expected(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<Option<i64>, ScimError> {
    expected_version(&ctx.if_match, async {
        Ok(fetch(state, ctx, id, true).await?.version)
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

/// `POST /Groups/.search` (RFC 7644 §3.4.3).
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

/// One page of groups as SCIM JSON (projected), for lists and for the root `/.search`.
pub(super) async fn list_page(
    state: &AppState,
    ctx: &RequestContext,
    query: &ListQuery,
) -> Result<ListPage, ScimError> {
    let answer = state
        .directory
        .clone()
        .groups()
        .list_groups(ListGroupsRequest {
            workspace_id: ctx.workspace_id.clone(),
            filter: query.filter.clone(),
            start_index: query.page.start_index,
            count: Some(query.page.count),
            cursor: query.cursor.clone(),
            exclude_members: !query.projection.returns("members"),
            sort: query.sort.clone(),
            include_member_count: false,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    let resources = answer
        .groups
        .iter()
        .map(|group| query.projection.apply(group_to_json(group, &ctx.base_url)))
        .collect();
    Ok(ListPage {
        resources,
        total_results: answer.total_results,
        start_index: answer.start_index,
        next_cursor: answer.next_cursor,
    })
}

/// `PUT /Groups/{id}`: full replacement, members included (Okta AIW apps send the whole
/// group). 200 with the group.
pub async fn replace(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    render(ctx, replace_group(state, ctx, id, body).await)
}

/// `PUT /Groups/{id}`, typed: 200 with the replaced group.
pub(super) async fn replace_group(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
) -> Result<Written<Group>, ScimError> {
    let attributes = group_attributes_from_json(body)?;
    let expected_version = expected(state, ctx, id).await?;
    let group = state
        .directory
        .clone()
        .groups()
        .replace_group(ReplaceGroupRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            attributes: Some(attributes),
            expected_version,
            exclude_members: exclude_members(ctx),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(written(ctx, StatusCode::OK, group))
}

/// `PATCH /Groups/{id}`: 204 No Content (with the new ETag) and members never loaded —
/// unless the URL has `attributes`, then 200 with the projected group (members loaded only
/// when the projection shows them).
pub async fn patch(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
    wants_body: bool,
) -> Result<HttpResponse, ScimError> {
    render(ctx, patch_group(state, ctx, id, body, wants_body).await)
}

/// `PATCH /Groups/{id}`, typed: 200 with the group when `wants_body`, else 204 (the group
/// then comes without members).
pub(super) async fn patch_group(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
    wants_body: bool,
) -> Result<Written<Group>, ScimError> {
    let operations = group_patch_operations_from_json(body)?;
    let expected_version = expected(state, ctx, id).await?;
    let group = state
        .directory
        .clone()
        .groups()
        .patch_group(PatchGroupRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            operations,
            expected_version,
            exclude_members: !wants_body || exclude_members(ctx),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    let status = if wants_body {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    Ok(written(ctx, status, group))
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
        .groups()
        .delete_group(DeleteGroupRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?;
    Ok(response::no_content())
}
