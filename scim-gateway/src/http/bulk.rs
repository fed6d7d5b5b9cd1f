//! `POST /Bulk` (RFC 7644 §3.7): the operations of a BulkRequest run one after another
//! through the same handlers as single requests (all translation and validation is
//! shared), and their outcomes make up the BulkResponse.
//!
//! * Limits (§3.7.4): more than `maxOperations` operations, or a body larger than
//!   `maxPayloadSize` bytes, is answered with 413 and runs nothing.
//! * Operations run in request order. A failed operation undoes nothing before it; it is
//!   reported with its `status` and the SCIM error as `response`, and the next one runs.
//!   `failOnErrors: N` stops after the N-th failure (the response lists what ran).
//! * `bulkId` (§3.7.2): a POST needs one, unique among the POSTs of the request. Later
//!   operations name the created resource `bulkId:<bulkId>`: as the id segment of their
//!   `path`, or as a whole string anywhere in their `data` (e.g. a member's `value`). A
//!   reference to a bulkId that no earlier operation created (unknown, failed, or created
//!   only further down: a forward or circular reference, §3.7.1) fails that operation with
//!   409 `invalidValue`.
//! * `version` is the operation's `If-Match`.
//!
//! Bodies are never logged.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use super::response::{self, HttpResponse, Written};
use super::routes::Route;
use super::{AppState, RequestContext, body, groups, users};
use crate::scim::etag::{IfMatch, TagList};
use crate::scim::json::{self, validate_schemas};
use crate::scim::projection::Projection;
use crate::scim::{BASE_PATH, BULK_RESPONSE_SCHEMA, ScimError, ScimType, resource_location};

/// How an operation names the resource an earlier POST of the request created.
const BULK_ID_PREFIX: &str = "bulkId:";

/// Reads the body with the bulk limit (`maxPayloadSize`) instead of the general one.
pub async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Bytes, ScimError> {
    let max_bytes = state.bulk.max_payload_bytes;
    body::read_limited(headers, body, max_bytes)
        .await
        .map_err(|err| {
            if err.status == StatusCode::PAYLOAD_TOO_LARGE {
                payload_too_large(format!(
                    "the size of the bulk request exceeds maxPayloadSize ({max_bytes} bytes)"
                ))
            } else {
                err
            }
        })
}

/// `POST /Bulk`: 200 with a BulkResponse whenever the request itself is valid, whatever
/// its operations do.
pub async fn bulk(
    state: &AppState,
    ctx: &RequestContext,
    body: Value,
) -> Result<HttpResponse, ScimError> {
    let request = BulkRequest::from_json(body, state.bulk.max_operations)?;
    let mut ids = BulkIds::default();
    let mut results = Vec::with_capacity(request.operations.len());
    let mut errors = 0usize;
    for operation in request.operations {
        let (result, created_id) = run(state, ctx, operation, &ids).await;
        if result.method.as_deref() == Some(Method::Post.as_str())
            && let Some(bulk_id) = result.bulk_id.as_deref()
        {
            ids.record(bulk_id, created_id);
        }
        let failed = result.error.is_some();
        results.push(result.to_json());
        if failed {
            errors += 1;
            if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
        }
    }
    tracing::debug!(operations = results.len(), errors, "bulk request processed");
    Ok(response::json(
        StatusCode::OK,
        &json!({
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": results,
        }),
    ))
}

fn payload_too_large(detail: String) -> ScimError {
    ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, detail)
}

/// A BulkRequest body (member names are case-insensitive). `schemas`, when present, must be
/// an array of strings (its content is not enforced, as for every other body).
#[derive(Debug)]
struct BulkRequest {
    /// Stop after this many failed operations; `None`: run them all.
    fail_on_errors: Option<usize>,
    operations: Vec<Value>,
}

impl BulkRequest {
    fn from_json(body: Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "the request body must be a JSON object",
            ));
        };
        let mut operations = None;
        let mut fail_on_errors = None;
        for (key, value) in map {
            match key.to_ascii_lowercase().as_str() {
                "schemas" => validate_schemas(&value)?,
                "operations" => operations = Some(value),
                "failonerrors" => fail_on_errors = fail_on_errors_from_json(&value)?,
                _ => {}
            }
        }
        let operations = match operations {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ScimError::invalid_syntax("'Operations' must be an array")),
            None => {
                return Err(ScimError::invalid_syntax(
                    "a BulkRequest body needs an 'Operations' array",
                ));
            }
        };
        if operations.len() > max_operations {
            return Err(payload_too_large(format!(
                "the bulk request has {} operations, more than maxOperations ({max_operations})",
                operations.len()
            )));
        }
        Ok(BulkRequest {
            fail_on_errors,
            operations,
        })
    }
}

fn fail_on_errors_from_json(value: &Value) -> Result<Option<usize>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(n) if n >= 1 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            _ => Err(ScimError::invalid_value(
                "'failOnErrors' must be a positive integer",
            )),
        },
        _ => Err(ScimError::invalid_value(
            "'failOnErrors' must be a positive integer",
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Case-insensitive; only the methods RFC 7644 §3.7 allows in a bulk operation.
    fn parse(method: &str) -> Option<Method> {
        match method.to_ascii_uppercase().as_str() {
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Users,
    Groups,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Users => "Users",
            Endpoint::Groups => "Groups",
        }
    }
}

/// The outcome of every POST with a bulkId so far: the id it created, or `None` when it
/// failed. The first POST with a bulkId owns it.
#[derive(Debug, Default)]
struct BulkIds(HashMap<String, Option<String>>);

impl BulkIds {
    fn record(&mut self, bulk_id: &str, created_id: Option<String>) {
        if !bulk_id.is_empty() {
            self.0.entry(bulk_id.to_owned()).or_insert(created_id);
        }
    }

    fn is_used(&self, bulk_id: &str) -> bool {
        self.0.contains_key(bulk_id)
    }

    /// The id created for `bulk_id`, else 409 `invalidValue` (RFC 7644 §3.7.2-3).
    fn resolve(&self, bulk_id: &str) -> Result<String, ScimError> {
        match self.0.get(bulk_id) {
            Some(Some(id)) => Ok(id.clone()),
            Some(None) => Err(unresolved(format!(
                "'{BULK_ID_PREFIX}{bulk_id}' cannot be resolved: the operation with that bulkId failed"
            ))),
            None => Err(unresolved(format!(
                "'{BULK_ID_PREFIX}{bulk_id}' cannot be resolved: no earlier operation of this \
                 request created a resource with that bulkId"
            ))),
        }
    }
}

fn unresolved(detail: String) -> ScimError {
    ScimError::new(StatusCode::CONFLICT, Some(ScimType::InvalidValue), detail)
}

/// Replaces every string of `value` (at any depth) that is a whole `bulkId:<bulkId>` with
/// the id that bulkId created.
fn resolve_references(value: &mut Value, ids: &BulkIds) -> Result<(), ScimError> {
    match value {
        Value::String(text) => {
            if let Some(bulk_id) = text.strip_prefix(BULK_ID_PREFIX) {
                *text = ids.resolve(bulk_id)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                resolve_references(item, ids)?;
            }
        }
        Value::Object(map) => {
            for item in map.values_mut() {
                resolve_references(item, ids)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `/Users`, `/Users/{id}`, `/Groups` or `/Groups/{id}` (relative to the SCIM root, with the
/// leniency of the routes: endpoint case, extra slashes, percent-encoded id). An id of
/// `bulkId:<bulkId>` is resolved.
fn resolve_path(path: &str, ids: &BulkIds) -> Result<(Endpoint, Option<String>), ScimError> {
    let invalid = || {
        ScimError::invalid_path(format!(
            "'{path}' is not a bulk operation path: use /Users, /Users/{{id}}, /Groups or \
             /Groups/{{id}}"
        ))
    };
    if path.contains(['?', '#']) {
        return Err(invalid());
    }
    let (endpoint, id) = match Route::resolve(&format!("{BASE_PATH}/{path}")) {
        Route::Users => (Endpoint::Users, None),
        Route::User(id) => (Endpoint::Users, Some(id)),
        Route::Groups => (Endpoint::Groups, None),
        Route::Group(id) => (Endpoint::Groups, Some(id)),
        _ => return Err(invalid()),
    };
    let id = match id {
        Some(id) => Some(match id.strip_prefix(BULK_ID_PREFIX) {
            Some(bulk_id) => ids.resolve(bulk_id)?,
            None => id,
        }),
        None => None,
    };
    Ok((endpoint, id))
}

/// A valid operation with its references resolved, ready to run.
#[derive(Debug)]
struct Prepared {
    method: Method,
    endpoint: Endpoint,
    /// `None` for a POST, the target otherwise.
    id: Option<String>,
    if_match: IfMatch,
    /// `Null` for a DELETE.
    data: Value,
}

/// Validates one operation and resolves its `bulkId:` references.
fn prepare(operation: Value, ids: &BulkIds) -> Result<Prepared, ScimError> {
    let Value::Object(map) = operation else {
        return Err(ScimError::invalid_syntax(
            "each operation must be a JSON object",
        ));
    };
    let (mut method, mut path, mut bulk_id, mut version, mut data) = (None, None, None, None, None);
    for (key, value) in map {
        match key.to_ascii_lowercase().as_str() {
            "method" => method = Some(value),
            "path" => path = Some(value),
            "bulkid" => bulk_id = Some(value),
            "version" => version = Some(value),
            "data" => data = Some(value),
            _ => {}
        }
    }
    let method_name = required_string("method", method)?;
    let method = Method::parse(&method_name).ok_or_else(|| {
        ScimError::invalid_value(format!(
            "method '{method_name}' is not one of POST, PUT, PATCH, DELETE"
        ))
    })?;
    let path = required_string("path", path)?;
    let bulk_id = optional_string("bulkId", bulk_id)?;
    let version = optional_string("version", version)?;
    if method == Method::Post {
        match bulk_id.as_deref() {
            None | Some("") => {
                return Err(ScimError::invalid_value(
                    "a POST operation needs a 'bulkId'",
                ));
            }
            Some(bulk_id) if ids.is_used(bulk_id) => {
                return Err(ScimError::invalid_value(format!(
                    "bulkId '{bulk_id}' is already used by an earlier operation of this request"
                )));
            }
            Some(_) => {}
        }
    }
    let (endpoint, id) = resolve_path(&path, ids)?;
    match (method, &id) {
        (Method::Post, Some(_)) => {
            return Err(ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "POST creates at /Users or /Groups, not at a resource",
            ));
        }
        (Method::Put | Method::Patch | Method::Delete, None) => {
            return Err(ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                format!("{} needs the path of a resource", method.as_str()),
            ));
        }
        _ => {}
    }
    let data = match (method, data) {
        (Method::Delete, _) => Value::Null,
        (_, None | Some(Value::Null)) => {
            return Err(ScimError::invalid_syntax(format!(
                "a {} operation needs 'data'",
                method.as_str()
            )));
        }
        (_, Some(mut data)) => {
            resolve_references(&mut data, ids)?;
            data
        }
    };
    let if_match = match (method, version) {
        (Method::Post, _) | (_, None) => IfMatch::Unconditional,
        (_, Some(version)) => IfMatch::from_tags(TagList::parse(std::iter::once(version.as_str()))),
    };
    Ok(Prepared {
        method,
        endpoint,
        id,
        if_match,
        data,
    })
}

fn required_string(member: &str, value: Option<Value>) -> Result<String, ScimError> {
    optional_string(member, value)?
        .ok_or_else(|| ScimError::invalid_syntax(format!("each operation needs a '{member}'")))
}

/// A member of the Bulk envelope: a wrong type is a malformed request (invalidSyntax).
fn optional_string(member: &str, value: Option<Value>) -> Result<Option<String>, ScimError> {
    json::optional_string(member, value.unwrap_or(Value::Null))
        .map_err(|e| ScimError::invalid_syntax(e.detail))
}

/// One entry of the BulkResponse.
#[derive(Debug)]
struct OperationResult {
    /// Upper-cased, as sent (even when it is not a valid method).
    method: Option<String>,
    bulk_id: Option<String>,
    location: Option<String>,
    version: Option<String>,
    status: StatusCode,
    error: Option<ScimError>,
}

impl OperationResult {
    /// What the operation says about itself, echoed even when it is invalid.
    fn echo(operation: &Value) -> OperationResult {
        let member = |name: &str| {
            operation
                .as_object()?
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))?
                .1
                .as_str()
        };
        OperationResult {
            method: member("method").map(str::to_ascii_uppercase),
            bulk_id: member("bulkId").map(str::to_owned),
            location: None,
            version: None,
            status: StatusCode::OK,
            error: None,
        }
    }

    fn fail(&mut self, error: ScimError) {
        self.status = error.status;
        self.error = Some(error);
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        let mut put = |key: &str, value: Option<&String>| {
            if let Some(value) = value {
                out.insert(key.to_owned(), Value::String(value.clone()));
            }
        };
        put("method", self.method.as_ref());
        put("bulkId", self.bulk_id.as_ref());
        put("location", self.location.as_ref());
        put("version", self.version.as_ref());
        out.insert(
            "status".to_owned(),
            Value::String(self.status.as_u16().to_string()),
        );
        if let Some(error) = &self.error {
            out.insert("response".to_owned(), error.to_json());
        }
        Value::Object(out)
    }
}

/// Runs one operation; also returns the id a successful POST created.
async fn run(
    state: &AppState,
    ctx: &RequestContext,
    operation: Value,
    ids: &BulkIds,
) -> (OperationResult, Option<String>) {
    let mut result = OperationResult::echo(&operation);
    let prepared = match prepare(operation, ids) {
        Ok(prepared) => prepared,
        Err(err) => {
            result.fail(err);
            return (result, None);
        }
    };
    let location = prepared
        .id
        .as_deref()
        .map(|id| resource_location(&ctx.base_url, prepared.endpoint.name(), id));
    match dispatch(state, ctx, prepared).await {
        Ok(outcome) => {
            result.status = outcome.status;
            result.version = outcome.version;
            result.location = outcome.location.or(location);
            (result, outcome.created_id)
        }
        Err(err) => {
            result.location = location;
            result.fail(err);
            (result, None)
        }
    }
}

/// What one operation's handler wrote, read from its typed result.
struct Outcome {
    status: StatusCode,
    /// The new ETag (none after a delete).
    version: Option<String>,
    location: Option<String>,
    /// The id a POST created.
    created_id: Option<String>,
}

impl<R> From<Written<R>> for Outcome {
    fn from(written: Written<R>) -> Outcome {
        Outcome {
            status: written.status,
            version: Some(written.etag()),
            created_id: (written.status == StatusCode::CREATED).then(|| written.id.clone()),
            location: Some(written.location),
        }
    }
}

impl Outcome {
    fn deleted() -> Outcome {
        Outcome {
            status: StatusCode::NO_CONTENT,
            version: None,
            location: None,
            created_id: None,
        }
    }
}

/// Sends the operation to the handler a single request would reach. Bulk responses carry
/// no resources, so group members are never loaded for the answer.
async fn dispatch(
    state: &AppState,
    ctx: &RequestContext,
    operation: Prepared,
) -> Result<Outcome, ScimError> {
    let Prepared {
        method,
        endpoint,
        id,
        if_match,
        data,
    } = operation;
    let ctx = RequestContext {
        workspace_id: ctx.workspace_id.clone(),
        base_url: ctx.base_url.clone(),
        projection: Projection::from_params(None, Some("members")),
        if_match,
        if_none_match: None,
    };
    let ctx = &ctx;
    if let Some(id) = &id {
        let resource = match endpoint {
            Endpoint::Users => "user",
            Endpoint::Groups => "group",
        };
        crate::scim::check_issued_id(id, resource)?;
    }
    match (endpoint, method, id.as_deref()) {
        (Endpoint::Users, Method::Post, None) => users::create_user(state, ctx, data)
            .await
            .map(Outcome::from),
        (Endpoint::Users, Method::Put, Some(id)) => users::replace_user(state, ctx, id, data)
            .await
            .map(Outcome::from),
        (Endpoint::Users, Method::Patch, Some(id)) => users::patch_user(state, ctx, id, data)
            .await
            .map(Outcome::from),
        (Endpoint::Users, Method::Delete, Some(id)) => users::delete(state, ctx, id)
            .await
            .map(|_| Outcome::deleted()),
        (Endpoint::Groups, Method::Post, None) => groups::create_group(state, ctx, data)
            .await
            .map(Outcome::from),
        (Endpoint::Groups, Method::Put, Some(id)) => groups::replace_group(state, ctx, id, data)
            .await
            .map(Outcome::from),
        (Endpoint::Groups, Method::Patch, Some(id)) => {
            groups::patch_group(state, ctx, id, data, false)
                .await
                .map(Outcome::from)
        }
        (Endpoint::Groups, Method::Delete, Some(id)) => groups::delete(state, ctx, id)
            .await
            .map(|_| Outcome::deleted()),
        // `prepare` pairs POST with a collection and the others with a resource.
        _ => Err(ScimError::method_not_allowed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::BULK_REQUEST_SCHEMA;

    fn ids(pairs: &[(&str, Option<&str>)]) -> BulkIds {
        let mut ids = BulkIds::default();
        for (bulk_id, id) in pairs {
            ids.record(bulk_id, id.map(str::to_owned));
        }
        ids
    }

    #[track_caller]
    fn assert_error(err: &ScimError, status: u16, scim_type: Option<ScimType>) {
        assert_eq!(err.status.as_u16(), status, "{err:?}");
        assert_eq!(err.scim_type, scim_type, "{err:?}");
    }

    #[test]
    fn references_are_resolved_at_any_depth() {
        let ids = ids(&[("u1", Some("id-1")), ("u2", Some("id-2"))]);
        let mut data = json!({
            "displayName": "see bulkId:u1",
            "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2", "display": "x"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": "bulkId:u1"}
            },
            "Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:u2"}]}],
            "nested": [["bulkId:u1", 3, null, true]],
            "plain": "id-9",
        });
        resolve_references(&mut data, &ids).unwrap();
        assert_eq!(
            data["members"],
            json!([{"value": "id-1"}, {"value": "id-2", "display": "x"}])
        );
        assert_eq!(
            data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
            "id-1"
        );
        assert_eq!(data["Operations"][0]["value"][0]["value"], "id-2");
        assert_eq!(data["nested"], json!([["id-1", 3, null, true]]));
        assert_eq!(data["plain"], "id-9");
        assert_eq!(data["displayName"], "see bulkId:u1");
    }

    #[test]
    fn unknown_and_failed_references_are_409_invalid_value() {
        let ids = ids(&[("ok", Some("id-1")), ("failed", None)]);
        for reference in ["bulkId:nope", "bulkId:failed", "bulkId:", "bulkId:OK"] {
            let mut data = json!({"members": [{"value": "bulkId:ok"}, {"value": reference}]});
            let err = resolve_references(&mut data, &ids).unwrap_err();
            assert_error(&err, 409, Some(ScimType::InvalidValue));
            assert!(err.detail.contains(reference), "{}", err.detail);
        }
        let err = ids.resolve("failed").unwrap_err();
        assert!(err.detail.contains("failed"), "{}", err.detail);
    }

    #[test]
    fn the_first_post_owns_a_bulk_id() {
        let mut ids = ids(&[("a", Some("id-1"))]);
        ids.record("a", Some("id-2".into()));
        ids.record("b", None);
        ids.record("b", Some("id-3".into()));
        ids.record("", Some("id-4".into()));
        assert_eq!(ids.resolve("a").unwrap(), "id-1");
        assert!(ids.resolve("b").is_err());
        assert!(!ids.is_used(""));
    }

    #[test]
    fn paths() {
        let ids = ids(&[("u1", Some("id-1")), ("g1", Some("gid-1"))]);
        let table: &[(&str, Endpoint, Option<&str>)] = &[
            ("/Users", Endpoint::Users, None),
            ("Users", Endpoint::Users, None),
            ("/users/", Endpoint::Users, None),
            ("/Users/abc", Endpoint::Users, Some("abc")),
            ("/Users/a%20b", Endpoint::Users, Some("a b")),
            ("/Users/bulkId:u1", Endpoint::Users, Some("id-1")),
            ("/Users/bulkId%3Au1", Endpoint::Users, Some("id-1")),
            ("/Groups", Endpoint::Groups, None),
            ("/Groups/bulkId:g1", Endpoint::Groups, Some("gid-1")),
            ("//GROUPS//g", Endpoint::Groups, Some("g")),
        ];
        for (path, endpoint, id) in table {
            let (got_endpoint, got_id) = resolve_path(path, &ids).unwrap();
            assert_eq!(got_endpoint, *endpoint, "{path}");
            assert_eq!(got_id.as_deref(), *id, "{path}");
        }
        for path in [
            "",
            "/",
            "/Bulk",
            "/Devices",
            "/Users/.search",
            "/.search",
            "/Schemas",
            "/ServiceProviderConfig",
            "/Users/a/b",
            "/Users?attributes=id",
            "/Users/a#x",
            "/scim/v2/Users",
            "/Users/%FF",
        ] {
            let err = resolve_path(path, &ids).unwrap_err();
            assert_error(&err, 400, Some(ScimType::InvalidPath));
        }
        let err = resolve_path("/Users/bulkId:nope", &ids).unwrap_err();
        assert_error(&err, 409, Some(ScimType::InvalidValue));
    }

    #[test]
    fn bulk_request_validation() {
        let ops = |n: usize| {
            Value::Array(
                (0..n)
                    .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
                    .collect(),
            )
        };
        let request = BulkRequest::from_json(
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops(3), "failOnErrors": 2}),
            3,
        )
        .unwrap();
        assert_eq!(request.operations.len(), 3);
        assert_eq!(request.fail_on_errors, Some(2));
        // Member names are case-insensitive; schemas and failOnErrors are optional.
        let request = BulkRequest::from_json(json!({"operations": ops(0)}), 3).unwrap();
        assert!(request.operations.is_empty());
        assert_eq!(request.fail_on_errors, None);
        let request =
            BulkRequest::from_json(json!({"Operations": [], "FAILONERRORS": null}), 3).unwrap();
        assert_eq!(request.fail_on_errors, None);

        let bad: &[(Value, ScimType)] = &[
            (json!([]), ScimType::InvalidSyntax),
            (json!("x"), ScimType::InvalidSyntax),
            (json!({}), ScimType::InvalidSyntax),
            (
                json!({"schemas": [BULK_REQUEST_SCHEMA]}),
                ScimType::InvalidSyntax,
            ),
            (json!({"Operations": {}}), ScimType::InvalidSyntax),
            (json!({"Operations": null}), ScimType::InvalidSyntax),
            (
                json!({"schemas": BULK_REQUEST_SCHEMA, "Operations": []}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [1], "Operations": []}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"Operations": [], "failOnErrors": 0}),
                ScimType::InvalidValue,
            ),
            (
                json!({"Operations": [], "failOnErrors": -1}),
                ScimType::InvalidValue,
            ),
            (
                json!({"Operations": [], "failOnErrors": 1.5}),
                ScimType::InvalidValue,
            ),
            (
                json!({"Operations": [], "failOnErrors": "1"}),
                ScimType::InvalidValue,
            ),
        ];
        for (body, scim_type) in bad {
            let err = BulkRequest::from_json(body.clone(), 3).unwrap_err();
            assert_error(&err, 400, Some(*scim_type));
        }

        let err = BulkRequest::from_json(json!({"Operations": ops(4)}), 3).unwrap_err();
        assert_error(&err, 413, None);
        assert!(err.detail.contains("maxOperations (3)"), "{}", err.detail);
        assert_eq!(err.to_json()["status"], "413");
    }

    #[test]
    fn operations_are_prepared_with_their_references() {
        let ids = ids(&[("u1", Some("id-1"))]);
        let op = prepare(
            json!({
                "method": "post",
                "bulkId": "g1",
                "path": "/Groups",
                "data": {"displayName": "g", "members": [{"value": "bulkId:u1"}]},
                "version": "W/\"9\"",
            }),
            &ids,
        )
        .unwrap();
        assert_eq!(op.method, Method::Post);
        assert_eq!(op.endpoint, Endpoint::Groups);
        assert_eq!(op.id, None);
        assert_eq!(op.data["members"][0]["value"], "id-1");
        // `version` is meaningless for a POST.
        assert_eq!(op.if_match, IfMatch::Unconditional);

        let op = prepare(
            json!({
                "Method": "Patch",
                "Path": "/Users/bulkId:u1",
                "Version": "W/\"3\"",
                "Data": {"Operations": [{"op": "replace", "path": "active", "value": false}]},
            }),
            &ids,
        )
        .unwrap();
        assert_eq!(op.method, Method::Patch);
        assert_eq!(op.endpoint, Endpoint::Users);
        assert_eq!(op.id.as_deref(), Some("id-1"));
        assert_eq!(op.if_match, IfMatch::Version(3));

        let op = prepare(
            json!({"method": "DELETE", "path": "/Users/x", "data": "ignored", "version": "nope"}),
            &ids,
        )
        .unwrap();
        assert_eq!(op.method, Method::Delete);
        assert_eq!(op.data, Value::Null);
        assert_eq!(op.if_match, IfMatch::Never);
    }

    #[test]
    fn invalid_operations() {
        let ids = ids(&[("u1", Some("id-1")), ("bad", None)]);
        let user = json!({"userName": "a"});
        let table: &[(Value, u16, Option<ScimType>)] = &[
            (json!("POST /Users"), 400, Some(ScimType::InvalidSyntax)),
            (
                json!({"path": "/Users", "bulkId": "b", "data": user}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": 1, "path": "/Users"}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "GET", "path": "/Users/x"}),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "DELETE"}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "DELETE", "path": ["/Users/x"]}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "POST", "path": "/Users", "data": user}),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "POST", "path": "/Users", "bulkId": "", "data": user}),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "POST", "path": "/Users", "bulkId": 7, "data": user}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            // Duplicate bulkId, whether its POST succeeded or failed.
            (
                json!({"method": "POST", "path": "/Users", "bulkId": "u1", "data": user}),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "POST", "path": "/Users", "bulkId": "bad", "data": user}),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "POST", "path": "/Users", "bulkId": "b"}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "PUT", "path": "/Users/x", "data": null}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "PATCH", "path": "/Users/x", "version": 3, "data": {}}),
                400,
                Some(ScimType::InvalidSyntax),
            ),
            (
                json!({"method": "PUT", "path": "/Devices/x", "data": user}),
                400,
                Some(ScimType::InvalidPath),
            ),
            (
                json!({"method": "POST", "path": "/Users/x", "bulkId": "b", "data": user}),
                405,
                None,
            ),
            (
                json!({"method": "PUT", "path": "/Users", "data": user}),
                405,
                None,
            ),
            (json!({"method": "DELETE", "path": "/Groups"}), 405, None),
            (
                json!({"method": "PATCH", "path": "/Users/bulkId:zz", "data": {}}),
                409,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "DELETE", "path": "/Users/bulkId:bad"}),
                409,
                Some(ScimType::InvalidValue),
            ),
            (
                json!({"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:later"}]}}),
                409,
                Some(ScimType::InvalidValue),
            ),
        ];
        for (operation, status, scim_type) in table {
            let err = prepare(operation.clone(), &ids).unwrap_err();
            assert_eq!(err.status.as_u16(), *status, "{operation}: {err:?}");
            assert_eq!(err.scim_type, *scim_type, "{operation}: {err:?}");
        }
    }

    #[test]
    fn results_render_as_bulk_response_operations() {
        let invalid = json!({"method": "get", "bulkId": "b1", "path": "/Users"});
        let mut result = OperationResult::echo(&invalid);
        result.fail(prepare(invalid, &BulkIds::default()).unwrap_err());
        let rendered = result.to_json();
        assert_eq!(rendered["method"], "GET");
        assert_eq!(rendered["bulkId"], "b1");
        assert_eq!(rendered["status"], "400");
        assert_eq!(rendered["response"]["status"], "400");
        assert_eq!(rendered["response"]["scimType"], "invalidValue");
        assert!(rendered.get("location").is_none());
        assert!(rendered.get("version").is_none());

        let mut result = OperationResult::echo(&json!({"method": "PUT", "path": "/Users/x"}));
        result.status = StatusCode::OK;
        result.location = Some("https://h/scim/v2/Users/x".into());
        result.version = Some("W/\"2\"".into());
        assert_eq!(
            result.to_json(),
            json!({
                "method": "PUT",
                "location": "https://h/scim/v2/Users/x",
                "version": "W/\"2\"",
                "status": "200",
            })
        );
        // Nothing is echoed from an operation that is not an object.
        let result = OperationResult::echo(&json!(["POST"]));
        assert_eq!(result.method, None);
        assert_eq!(result.bulk_id, None);
    }
}
