//! `/Users` handlers: SCIM JSON in, typed RPC to the directory, SCIM JSON out. No business
//! rules here (uniqueness, references, ... are the directory's).

use directory_proto::v1::{
    CreateUserRequest, DeleteUserRequest, Filter, GetUserRequest, ListUsersRequest,
    PatchUserRequest, ReplaceUserRequest, User,
};
use http::StatusCode;
use serde_json::Value;

use super::response::{self, HttpResponse};
use super::{AppState, Query, RequestContext, directory_error};
use crate::scim::filter::parse_filter;
use crate::scim::list::{Page, list_response};
use crate::scim::patch::patch_operations_from_json;
use crate::scim::projection::Projection;
use crate::scim::user::{user_attributes_from_json, user_etag, user_location, user_to_json};
use crate::scim::{ScimError, user::validate_schemas};

fn user_response(ctx: &RequestContext, status: StatusCode, user: &User) -> HttpResponse {
    let body = ctx.projection.apply(user_to_json(user, &ctx.base_url));
    let location = (status == StatusCode::CREATED).then(|| user_location(&ctx.base_url, &user.id));
    response::resource(status, &body, &user_etag(user.version), location.as_deref())
}

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    let attributes = user_attributes_from_json(body)?;
    let user = state
        .directory
        .clone()
        .create_user(CreateUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            attributes: Some(attributes),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(user_response(ctx, StatusCode::CREATED, &user))
}

pub async fn get(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let user = fetch(state, ctx, id).await?;
    Ok(user_response(ctx, StatusCode::OK, &user))
}

async fn fetch(state: &AppState, ctx: &RequestContext, id: &str) -> Result<User, ScimError> {
    Ok(state
        .directory
        .clone()
        .get_user(GetUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner())
}

pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    query: &Query,
) -> Result<HttpResponse, ScimError> {
    let filter = parse_filter_param(query.get("filter"))?;
    let page = Page::from_query(query.get("startIndex"), query.get("count"))?;
    run_list(state, ctx, &ctx.projection, filter, page).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters as a JSON body.
pub async fn search(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut filter = None;
    let mut start_index = None;
    let mut count = None;
    let mut attributes = Vec::new();
    let mut excluded = Vec::new();
    for (key, value) in map {
        match key.to_ascii_lowercase().as_str() {
            "schemas" => validate_schemas(&value)?,
            "filter" => match value {
                Value::String(f) => filter = Some(f),
                Value::Null => {}
                _ => return Err(ScimError::invalid_value("'filter' must be a string")),
            },
            "startindex" => start_index = integer("startIndex", &value)?,
            "count" => count = integer("count", &value)?,
            "attributes" => attributes = string_list("attributes", value)?,
            "excludedattributes" => excluded = string_list("excludedAttributes", value)?,
            _ => {}
        }
    }
    let filter = parse_filter_param(filter.as_deref())?;
    let projection = Projection::from_lists(&attributes, &excluded);
    run_list(
        state,
        ctx,
        &projection,
        filter,
        Page::new(start_index, count),
    )
    .await
}

fn integer(name: &str, value: &Value) -> Result<Option<i64>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must be an integer"))),
        _ => Err(ScimError::invalid_value(format!(
            "'{name}' must be an integer"
        ))),
    }
}

/// An array of attribute names, or a comma-separated string of them.
fn string_list(name: &str, value: Value) -> Result<Vec<String>, ScimError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s.split(',').map(|p| p.trim().to_owned()).collect()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(ScimError::invalid_value(format!(
                    "'{name}' must be an array of attribute names"
                ))),
            })
            .collect(),
        _ => Err(ScimError::invalid_value(format!(
            "'{name}' must be an array of attribute names"
        ))),
    }
}

fn parse_filter_param(filter: Option<&str>) -> Result<Option<Filter>, ScimError> {
    match filter {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => parse_filter(text)
            .map(Some)
            .map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}"))),
    }
}

async fn run_list(
    state: &AppState,
    ctx: &RequestContext,
    projection: &Projection,
    filter: Option<Filter>,
    page: Page,
) -> Result<HttpResponse, ScimError> {
    let answer = state
        .directory
        .clone()
        .list_users(ListUsersRequest {
            workspace_id: ctx.workspace_id.clone(),
            filter,
            start_index: page.start_index,
            count: Some(page.count),
            sort: None,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    let resources = answer
        .users
        .iter()
        .map(|user| projection.apply(user_to_json(user, &ctx.base_url)))
        .collect();
    let start_index = if answer.start_index >= 1 {
        answer.start_index
    } else {
        page.start_index
    };
    Ok(response::json(
        StatusCode::OK,
        &list_response(resources, answer.total_results, start_index),
    ))
}

pub async fn replace(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
    expected_version: Option<i64>,
) -> Result<HttpResponse, ScimError> {
    let attributes = user_attributes_from_json(body)?;
    let user = state
        .directory
        .clone()
        .replace_user(ReplaceUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            attributes: Some(attributes),
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(user_response(ctx, StatusCode::OK, &user))
}

pub async fn patch(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    body: Value,
    expected_version: Option<i64>,
) -> Result<HttpResponse, ScimError> {
    let operations = patch_operations_from_json(body)?;
    if operations.is_empty() {
        // Only dropped operations (password): nothing to change, answer with the user.
        return get(state, ctx, id).await;
    }
    let user = state
        .directory
        .clone()
        .patch_user(PatchUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            operations,
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner();
    Ok(user_response(ctx, StatusCode::OK, &user))
}

pub async fn delete(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    expected_version: Option<i64>,
) -> Result<HttpResponse, ScimError> {
    state
        .directory
        .clone()
        .delete_user(DeleteUserRequest {
            workspace_id: ctx.workspace_id.clone(),
            id: id.to_owned(),
            expected_version,
        })
        .await
        .map_err(|s| directory_error(&s))?;
    Ok(response::no_content())
}
