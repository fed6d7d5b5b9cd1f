//! The HTTP side: accept loop (hyper 1, HTTP/1.1), per-request span with the caller's W3C
//! trace context, routing, bearer auth, body limits and dispatch to the handlers.

pub(crate) mod auth;
pub(crate) mod auth_limit;
mod body;
mod bulk;
mod groups;
mod io;
pub(crate) mod oauth;
mod rate_limit;
mod response;
mod routes;
mod search;
mod users;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::header::{HOST, IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use observability::metrics::InFlight;
use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::directory::DirectoryClient;
use crate::scim::etag::{IfMatch, TagList};
use crate::scim::projection::Projection;
use crate::scim::{BulkLimits, ScimError, discovery, error::from_directory_status};
use auth::TokenCache;
use io::DeadlineStream;
use response::HttpResponse;
use routes::Route;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Time a client has to send the request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a readiness check waits for the directory's health answer.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// The directory service whose health `/readyz` asks for.
const DIRECTORY_HEALTH_SERVICE: &str = "directory.v1.Directory";

/// Deadlines and caps of the HTTP side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerLimits {
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time to receive a whole request body (408 after).
    pub body_read_timeout: Duration,
    /// Time for a whole request, Bulk included (503 after).
    pub request_timeout: Duration,
    /// Longest stall of a read or a write on a connection (also the keep-alive idle time).
    pub io_timeout: Duration,
    /// Time in-flight requests get to finish after shutdown begins.
    pub shutdown_grace: Duration,
}

/// Shared by every request.
pub(crate) struct AppState {
    pub directory: DirectoryClient,
    /// Streams a group's members (a full `GET /Groups/{id}`).
    pub group_members: crate::directory::GroupMembersClient,
    pub directory_health: HealthClient<Channel>,
    pub tokens: TokenCache,
    /// `https://scim.example.com` (no trailing slash) when configured.
    pub public_origin: Option<String>,
    pub max_body_bytes: usize,
    /// `POST /Bulk` limits (its body limit replaces `max_body_bytes` on that route).
    pub bulk: BulkLimits,
    pub rate_limiter: rate_limit::TokenRateLimiter,
    /// Failed authentications per client address, and recently refused tokens.
    pub auth_failures: auth_limit::AuthFailureLimiter,
    pub limits: ServerLimits,
    /// Set when shutdown begins: `/readyz` answers 503 from then on.
    pub shutting_down: AtomicBool,
    /// `https` when the listener terminates TLS (for URLs built from the Host header).
    pub scheme: &'static str,
    /// Where served requests go (disabled until [`crate::Gateway::new`] starts it).
    pub request_log: crate::request_log::RequestLogger,
}

pub(crate) use rate_limit::RateLimitSettings;

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        directory: DirectoryClient,
        group_members: crate::directory::GroupMembersClient,
        directory_health: HealthClient<Channel>,
        token_cache_ttl: Duration,
        public_origin: Option<String>,
        max_body_bytes: usize,
        bulk: BulkLimits,
        rate_limiter: rate_limit::TokenRateLimiter,
        limits: ServerLimits,
        scheme: &'static str,
    ) -> Self {
        AppState {
            directory,
            group_members,
            directory_health,
            tokens: TokenCache::new(token_cache_ttl),
            public_origin,
            max_body_bytes,
            bulk,
            rate_limiter,
            auth_failures: auth_limit::AuthFailureLimiter::new(Default::default()),
            limits,
            shutting_down: AtomicBool::new(false),
            scheme,
            request_log: crate::request_log::RequestLogger::disabled(),
        }
    }
}

pub(crate) use rate_limit::TokenRateLimiter;

impl AppState {
    /// Replaces the default failed-authentication limit.
    pub fn with_auth_limit(mut self, settings: auth_limit::AuthLimitSettings) -> Self {
        self.auth_failures = auth_limit::AuthFailureLimiter::new(settings);
        self
    }
}

/// What a handler needs to know about the authenticated request.
pub(crate) struct RequestContext {
    pub workspace_id: String,
    /// Origin used in `meta.location` and `Location` (no trailing slash).
    pub base_url: String,
    /// `attributes` / `excludedAttributes` of the URL.
    pub projection: Projection,
    /// `If-Match` (writes: PUT, PATCH, DELETE).
    pub if_match: IfMatch,
    /// `If-None-Match` (GET of one resource).
    pub if_none_match: Option<TagList>,
}

/// The next connection, with `TCP_NODELAY`: SCIM answers are small, and Nagle's algorithm
/// would hold each one until the client's delayed ACK (~40 ms).
async fn accept(listener: &TcpListener) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    let (stream, peer) = listener.accept().await?;
    stream.set_nodelay(true)?;
    Ok((stream, peer))
}

/// Accepts connections (at most `max_connections` at once) until `shutdown` resolves, then
/// stops accepting, closes idle keep-alive connections and lets in-flight requests finish
/// (up to `shutdown_grace`).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local_addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let permits = Arc::new(Semaphore::new(state.limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: further clients wait in the kernel's backlog.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = accept(&listener) => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // E.g. EMFILE: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let state = state.clone();
                let shutdown_rx = shutdown_rx.clone();
                let tls = tls.clone();
                // The socket peer, for the client address (token IP allow-lists).
                connections.spawn(auth::PEER_ADDR.scope(peer.ip(), async move {
                    let _permit = permit;
                    let _open = InFlight::enter(metrics::gauge!("scim_http_connections_open"));
                    let io = DeadlineStream::new(stream, state.limits.io_timeout);
                    match tls {
                        None => serve_connection(io, state, local_addr, peer, shutdown_rx).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(io)).await {
                                Ok(Ok(io)) => {
                                    serve_connection(io, state, local_addr, peer, shutdown_rx).await;
                                }
                                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                                Err(_) => tracing::debug!("TLS handshake timed out"),
                            }
                        }
                    }
                }));
            }
        }
    }
    drop(listener);
    state.shutting_down.store(true, Ordering::Relaxed);
    let _ = shutdown_tx.send(true);
    tracing::info!(
        open = connections.len(),
        "shutting down: no new connections, draining in-flight requests"
    );
    let drained = tokio::time::timeout(state.limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "closing connections still open after the grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// HTTP/1.1 on one accepted connection (plain or TLS) until it ends or shutdown begins, then
/// graceful: the request in flight finishes, the connection closes.
async fn serve_connection<IO>(
    io: IO,
    state: Arc<AppState>,
    local_addr: SocketAddr,
    peer: SocketAddr,
    mut shutdown_rx: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |mut request: Request<Incoming>| {
        request
            .extensions_mut()
            .insert(auth_limit::ClientAddr(peer.ip()));
        let state = state.clone();
        async move {
            Ok::<_, Infallible>(response::into_wire(
                handle(&state, local_addr, request).await,
            ))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = shutdown_rx.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// The `X-Request-Id` of the request when it is a sane token (≤ 128 of `[A-Za-z0-9._:-]`),
/// else a new UUID: it is logged and echoed, so it must not carry anything else.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(X_REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 128
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value")
        })
}

/// The method as a metric label: the standard ones, everything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The SCIM `scimType` of an error response (a metric label), set by [`error_response`].
#[derive(Clone, Copy)]
struct ScimTypeLabel(&'static str);

/// The SCIM error response, marked for the metrics (429s and 401s are counted here).
fn error_response(err: &ScimError) -> HttpResponse {
    if err.status == StatusCode::TOO_MANY_REQUESTS {
        metrics::counter!("scim_rate_limited_total").increment(1);
    } else if err.status == StatusCode::UNAUTHORIZED {
        metrics::counter!("scim_auth_failures_total").increment(1);
    }
    let mut response = response::error(err);
    if let Some(scim_type) = err.scim_type {
        response
            .extensions_mut()
            .insert(ScimTypeLabel(scim_type.as_str()));
    }
    response
}

/// One request: span named after the route template, parent from `traceparent`, a request
/// id, the whole-request deadline, metrics, one log line at the end. Never logs the
/// Authorization header.
async fn handle(
    state: &AppState,
    local_addr: SocketAddr,
    request: Request<Incoming>,
) -> HttpResponse {
    let started = Instant::now();
    let received_at = std::time::SystemTime::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let note = Arc::new(std::sync::Mutex::new(crate::request_log::Note::default()));
    let route = Route::resolve(request.uri().path());
    let template = route.template().unwrap_or("unmatched");
    let request_id = request_id(request.headers());
    let span_name = match route.template() {
        Some(template) => format!("{method} {template}"),
        None => method.to_string(),
    };
    let span = tracing::info_span!(
        "http.request",
        otel.name = %span_name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = template,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        request_id = request_id.to_str().unwrap_or_default(),
    );
    let _ = span.set_parent(observability::telemetry::remote_context(request.headers()));
    let span_context = span.context().span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }

    let in_flight = InFlight::enter(metrics::gauge!("scim_http_requests_in_flight"));
    let deadline = state.limits.request_timeout;
    let answered = tokio::time::timeout(
        deadline,
        crate::request_log::noting(
            note.clone(),
            crate::directory::with_actor(dispatch(state, local_addr, route, request)),
        )
        .instrument(span.clone()),
    )
    .await;
    drop(in_flight);
    let mut response = answered.unwrap_or_else(|_| {
        metrics::counter!("scim_request_timeouts_total", "kind" => "request").increment(1);
        span.in_scope(|| tracing::warn!(route = template, "request deadline exceeded"));
        error_response(&ScimError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            format!(
                "the request did not complete within {} s",
                deadline.as_secs()
            ),
        ))
    });
    let request_id_text = request_id.to_str().unwrap_or_default().to_owned();
    response.headers_mut().insert(X_REQUEST_ID, request_id);

    let status = response.status();
    let elapsed = started.elapsed();
    let scim_type = response
        .extensions()
        .get::<ScimTypeLabel>()
        .map_or("", |label| label.0);
    let status_label = status.as_str().to_owned();
    let method_label = method_label(&method);
    metrics::counter!(
        "scim_http_requests_total",
        "route" => template,
        "method" => method_label,
        "status" => status_label.clone(),
        "scim_type" => scim_type,
    )
    .increment(1);
    metrics::histogram!(
        "scim_http_request_duration_seconds",
        "route" => template,
        "method" => method_label,
        "status" => status_label,
    )
    .record(elapsed.as_secs_f64());

    // A cheap push (reference-counted bodies, no parsing); redaction happens off the
    // request path.
    let note = note.lock().map(|n| n.clone()).unwrap_or_default();
    state.request_log.record(crate::request_log::Served {
        id: uuid::Uuid::now_v7(),
        received_at,
        method: method.to_string(),
        path,
        query,
        status: status.as_u16(),
        scim_type: scim_type.to_owned(),
        latency: elapsed,
        trace_id: if span_context.is_valid() {
            span_context.trace_id().to_string()
        } else {
            String::new()
        },
        request_id: request_id_text,
        note,
        response_body: response
            .extensions()
            .get::<response::ResponseBody>()
            .map(|b| b.0.clone()),
    });

    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = template,
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    response
}

async fn dispatch(
    state: &AppState,
    local_addr: SocketAddr,
    route: Route,
    request: Request<Incoming>,
) -> HttpResponse {
    if route == Route::NotFound {
        return error_response(&ScimError::not_found("no such endpoint"));
    }
    let allowed = route.allowed_methods();
    if !allowed.contains(request.method()) {
        return response::method_not_allowed(allowed);
    }
    match route {
        // Liveness: the process answers (no dependency is checked, so a directory outage
        // never restarts gateways).
        Route::Health | Route::Livez => {
            return response::json(StatusCode::OK, &serde_json::json!({"status": "ok"}));
        }
        Route::Readyz => return readiness(state).await,
        Route::OAuthToken => return oauth::token(state, request).await,
        _ => {}
    }
    match dispatch_authenticated(state, local_addr, route, request).await {
        Ok(response) => response,
        Err(err) => error_response(&err),
    }
}

/// `/readyz`: 200 while the directory's gRPC health says SERVING (it says NOT_SERVING
/// while its database is unreachable), 503 otherwise and once shutdown has begun.
async fn readiness(state: &AppState) -> HttpResponse {
    let directory = if state.shutting_down.load(Ordering::Relaxed) {
        "shutting down".to_owned()
    } else {
        let mut health = state.directory_health.clone();
        let check = health.check(HealthCheckRequest {
            service: DIRECTORY_HEALTH_SERVICE.to_owned(),
        });
        match tokio::time::timeout(READINESS_TIMEOUT, check).await {
            Ok(Ok(answer)) => match ServingStatus::try_from(answer.into_inner().status) {
                Ok(ServingStatus::Serving) => "SERVING".to_owned(),
                Ok(other) => other.as_str_name().to_owned(),
                Err(_) => "UNKNOWN".to_owned(),
            },
            Ok(Err(status)) => format!("unreachable ({:?})", status.code()),
            Err(_) => "no answer in time".to_owned(),
        }
    };
    let ready = directory == "SERVING";
    metrics::gauge!("scim_directory_ready").set(if ready { 1.0 } else { 0.0 });
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    response::json(
        status,
        &serde_json::json!({"status": word, "directory": directory}),
    )
}

async fn dispatch_authenticated(
    state: &AppState,
    local_addr: SocketAddr,
    route: Route,
    request: Request<Incoming>,
) -> Result<HttpResponse, ScimError> {
    let peer = request
        .extensions()
        .get::<auth_limit::ClientAddr>()
        .map(|addr| addr.0);
    let workspace_id = auth_limit::authenticate(state, peer, request.headers()).await?;
    crate::request_log::note_workspace(&workspace_id);
    // Counted per token, after authentication: a bad token never uses someone's budget.
    let token_digest = auth::bearer_token(request.headers()).map(auth::digest);
    // The limit set for the token or its workspace (delivered with the authentication).
    let token_limit = token_digest
        .as_ref()
        .and_then(|digest| state.tokens.limit_of(digest));
    if let Some(digest) = &token_digest {
        state
            .rate_limiter
            .check_limited(digest, token_limit)
            .await?;
    }
    // An id we never issue names nothing: 404 here, without a directory call.
    match &route {
        Route::User(id) => crate::scim::check_issued_id(id, "user")?,
        Route::Group(id) => crate::scim::check_issued_id(id, "group")?,
        _ => {}
    }
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let ctx = RequestContext {
        workspace_id,
        base_url: base_url(state, &parts.headers, local_addr),
        projection: Projection::from_params(
            query.get("attributes"),
            query.get("excludedAttributes"),
        ),
        if_match: IfMatch::from_tags(TagList::parse(header_values(&parts.headers, IF_MATCH))),
        if_none_match: TagList::parse(header_values(&parts.headers, IF_NONE_MATCH)),
    };
    let json_body = if matches!(parts.method, Method::POST | Method::PUT | Method::PATCH) {
        body::check_content_type(&parts.headers)?;
        let read = async {
            if route == Route::Bulk {
                bulk::read_body(state, &parts.headers, body).await
            } else {
                body::read_limited(&parts.headers, body, state.max_body_bytes).await
            }
        };
        let timeout = state.limits.body_read_timeout;
        let bytes = tokio::time::timeout(timeout, read).await.map_err(|_| {
            metrics::counter!("scim_request_timeouts_total", "kind" => "body_read").increment(1);
            ScimError::new(
                StatusCode::REQUEST_TIMEOUT,
                None,
                format!(
                    "the request body was not received within {} s",
                    timeout.as_secs()
                ),
            )
        })??;
        crate::request_log::note_request_body(&bytes);
        let json = body::parse_json(&bytes)?;
        // Each operation of a Bulk counts against the rate limit (the request itself was
        // counted above).
        if route == Route::Bulk
            && let Some(digest) = &token_digest
        {
            let operations = bulk_operation_count(&json);
            state
                .rate_limiter
                .charge_limited(digest, token_limit, operations.saturating_sub(1))
                .await;
        }
        json
    } else {
        Value::Null
    };

    match (route, parts.method) {
        (Route::Users, Method::GET) => users::list(state, &ctx, &query).await,
        (Route::Users, Method::POST) => users::create(state, &ctx, json_body).await,
        (Route::UsersSearch, _) => users::search(state, &ctx, json_body).await,
        (Route::RootSearch, _) => search::root_search(state, &ctx, json_body).await,
        (Route::User(id), Method::GET) => users::get(state, &ctx, &id).await,
        (Route::User(id), Method::PUT) => users::replace(state, &ctx, &id, json_body).await,
        (Route::User(id), Method::PATCH) => users::patch(state, &ctx, &id, json_body).await,
        (Route::User(id), Method::DELETE) => users::delete(state, &ctx, &id).await,
        (Route::Groups, Method::GET) => groups::list(state, &ctx, &query).await,
        (Route::Groups, Method::POST) => groups::create(state, &ctx, json_body).await,
        (Route::GroupsSearch, _) => groups::search(state, &ctx, json_body).await,
        (Route::Group(id), Method::GET) => groups::get(state, &ctx, &id).await,
        (Route::Group(id), Method::PUT) => groups::replace(state, &ctx, &id, json_body).await,
        (Route::Group(id), Method::PATCH) => {
            // RFC 7644 §3.5.2: 204, unless the client asked for attributes back.
            let wants_body = query
                .get("attributes")
                .is_some_and(|a| !a.trim().is_empty());
            groups::patch(state, &ctx, &id, json_body, wants_body).await
        }
        (Route::Group(id), Method::DELETE) => groups::delete(state, &ctx, &id).await,
        (Route::Bulk, _) => bulk::bulk(state, &ctx, json_body).await,
        (Route::ServiceProviderConfig, _) => Ok(response::json(
            StatusCode::OK,
            &discovery::service_provider_config(&ctx.base_url, state.bulk),
        )),
        (Route::ResourceTypes, _) => {
            let custom = custom_attributes(state, &ctx).await?;
            Ok(response::json(
                StatusCode::OK,
                &discovery::resource_types(&ctx.base_url, &custom),
            ))
        }
        (Route::ResourceType(name), _) => {
            let custom = custom_attributes(state, &ctx).await?;
            discovery::resource_type(&ctx.base_url, &name, &custom)
                .map(|body| response::json(StatusCode::OK, &body))
                .ok_or_else(|| ScimError::not_found(format!("resource type '{name}' not found")))
        }
        (Route::Schemas, _) => {
            let custom = custom_attributes(state, &ctx).await?;
            Ok(response::json(
                StatusCode::OK,
                &discovery::schemas(&ctx.base_url, &custom),
            ))
        }
        (Route::Schema(urn), _) => {
            let custom = custom_attributes(state, &ctx).await?;
            discovery::schema(&ctx.base_url, &urn, &custom)
                .map(|body| response::json(StatusCode::OK, &body))
                .ok_or_else(|| ScimError::not_found(format!("schema '{urn}' not found")))
        }
        // `allowed_methods` was checked above.
        _ => Err(ScimError::method_not_allowed()),
    }
}

/// How many operations a BulkRequest body carries (`Operations`, any case); 0 when it has
/// none (the Bulk handler then refuses it).
fn bulk_operation_count(body: &Value) -> u32 {
    body.as_object()
        .and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("operations"))
                .and_then(|(_, value)| value.as_array())
        })
        .map_or(0, |operations| {
            u32::try_from(operations.len()).unwrap_or(u32::MAX)
        })
}

/// Maps a directory error to the SCIM error; server-side causes are logged here (the
/// request span carries the trace id), never sent to the client.
pub(crate) fn directory_error(status: &tonic::Status) -> ScimError {
    let err = from_directory_status(status);
    if err.status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(grpc.code = ?status.code(), grpc.message = status.message(), "directory unavailable");
    } else if err.is_server_error() {
        tracing::error!(grpc.code = ?status.code(), grpc.message = status.message(), "directory call failed");
    }
    err
}

/// The configured public origin, else `http://<Host>`, else the listening address.
fn base_url(state: &AppState, headers: &HeaderMap, local_addr: SocketAddr) -> String {
    if let Some(origin) = &state.public_origin {
        return origin.clone();
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| is_plausible_host(h));
    let scheme = state.scheme;
    match host {
        Some(host) => format!("{scheme}://{host}"),
        None => format!("{scheme}://{local_addr}"),
    }
}

/// Host header characters that can safely be echoed into URLs and headers.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

/// Every value of a (possibly repeated) header; a value that is not visible ASCII becomes a
/// tag that matches nothing.
fn header_values<'a>(
    headers: &'a HeaderMap,
    name: HeaderName,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .into_iter()
        .map(|value| value.to_str().unwrap_or("\"?\""))
}

/// The `expected_version` to send with a write, or 412. Only a list of several tags needs
/// the current version (`current` is then awaited, else never): when it is listed it
/// becomes the expected version, so the directory still checks it atomically.
pub(crate) async fn expected_version(
    if_match: &IfMatch,
    current: impl Future<Output = Result<i64, ScimError>>,
) -> Result<Option<i64>, ScimError> {
    let mismatch = || ScimError::precondition_failed("If-Match does not match the current version");
    match if_match {
        IfMatch::Unconditional => Ok(None),
        IfMatch::Version(version) => Ok(Some(*version)),
        IfMatch::Never => Err(mismatch()),
        IfMatch::AnyOf(versions) => {
            let current = current.await?;
            if versions.contains(&current) {
                Ok(Some(current))
            } else {
                Err(mismatch())
            }
        }
    }
}

/// Query parameters with case-insensitive names (first occurrence wins).
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        Query {
            pairs: query
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The custom attributes the token's workspace declared (for the discovery documents).
async fn custom_attributes(
    state: &AppState,
    ctx: &RequestContext,
) -> Result<Vec<directory_proto::v1::CustomAttribute>, ScimError> {
    Ok(state
        .directory
        .clone()
        .attributes()
        .list_custom_attributes(directory_proto::v1::ListCustomAttributesRequest {
            workspace_id: ctx.workspace_id.clone(),
        })
        .await
        .map_err(|s| directory_error(&s))?
        .into_inner()
        .attributes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Regression guard for the ~40 ms Nagle/delayed-ACK stall per request.
    #[tokio::test]
    async fn accepted_http_connections_have_nodelay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _peer) = accept(&listener).await.unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "accepted socket lacks TCP_NODELAY"
        );
    }

    #[test]
    fn query_names_are_case_insensitive_and_values_decoded() {
        let q = Query::parse(Some(
            "Filter=userName%20eq%20%22a%2Bb%40x%22&startIndex=1&COUNT=2&attributes=id",
        ));
        assert_eq!(q.get("filter"), Some("userName eq \"a+b@x\""));
        assert_eq!(q.get("count"), Some("2"));
        assert_eq!(q.get("startindex"), Some("1"));
        assert_eq!(q.get("sortBy"), None);
    }

    fn if_match(values: &[&str]) -> IfMatch {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IF_MATCH, HeaderValue::from_str(value).unwrap());
        }
        IfMatch::from_tags(TagList::parse(header_values(&headers, IF_MATCH)))
    }

    #[tokio::test]
    async fn if_match_becomes_the_expected_version() {
        // (header values, current version, Some(expected version) or None for 412)
        type Case = (&'static [&'static str], i64, Option<Option<i64>>);
        let table: &[Case] = &[
            (&[], 3, Some(None)),
            (&["*"], 3, Some(None)),
            (&["W/\"3\""], 3, Some(Some(3))),
            (&["\"7\""], 3, Some(Some(7))),
            (&["W/\"abc\""], 3, None),
            (&["3"], 3, None),
            (&["W/\"2\", W/\"3\""], 3, Some(Some(3))),
            (&["W/\"2\"", "W/\"3\""], 3, Some(Some(3))),
            (&["W/\"1\", W/\"2\""], 3, None),
        ];
        for (values, current, want) in table {
            let precondition = if_match(values);
            let got = if matches!(precondition, IfMatch::AnyOf(_)) {
                expected_version(&precondition, async { Ok(*current) }).await
            } else {
                expected_version(&precondition, async {
                    panic!("the current version is not needed")
                })
                .await
            };
            let got = got
                .inspect_err(|e| assert_eq!(e.status, StatusCode::PRECONDITION_FAILED))
                .ok();
            assert_eq!(got, *want, "{values:?}");
        }
        // A failing read of the current version is that error, not 412.
        let err = expected_version(&if_match(&["W/\"1\", W/\"2\""]), async {
            Err(ScimError::not_found("gone"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn non_ascii_if_none_match_matches_nothing() {
        let mut headers = HeaderMap::new();
        headers.insert(
            IF_NONE_MATCH,
            HeaderValue::from_bytes(b"W/\"\xff\"").unwrap(),
        );
        let tags = TagList::parse(header_values(&headers, IF_NONE_MATCH)).unwrap();
        assert!(!tags.matches(1));
        assert!(TagList::parse(header_values(&HeaderMap::new(), IF_NONE_MATCH)).is_none());
    }

    #[test]
    fn hosts() {
        assert!(is_plausible_host("scim.example.com:8443"));
        assert!(is_plausible_host("[::1]:80"));
        assert!(!is_plausible_host("evil.com/path"));
        assert!(!is_plausible_host("a b"));
        assert!(!is_plausible_host(""));
    }
}
