//! Response builders. Every body is `application/scim+json`; errors carry the SCIM error
//! body plus `WWW-Authenticate` (401) or `Retry-After` (503).

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Response, StatusCode};
use std::sync::{Arc, Mutex};

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio_stream::StreamExt as _;

use crate::scim::ScimError;

pub type HttpResponse = Response<Full<Bytes>>;

/// What goes on the wire: the handler's buffered body, or a body streamed after the
/// headers ([`streamed`]).
pub type WireBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// Chunks of a streamed body; an `Err` aborts the connection (the client sees a truncated
/// response, never a shorter document that parses).
pub type BodyChunks = tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Carries a streamed body from the handler to the connection (extensions must be
/// `Clone`; the receiver is taken once, by [`into_wire`]).
#[derive(Clone)]
struct StreamedBody(Arc<Mutex<Option<BodyChunks>>>);

/// A response whose body is written as `chunks` arrive (chunked transfer encoding), with
/// the SCIM content type and `etag`: nothing holds the whole body. Handlers keep returning
/// an [`HttpResponse`] (headers, status, an empty buffered body); the connection swaps the
/// stream in ([`into_wire`]).
pub fn streamed(status: StatusCode, etag: &str, chunks: BodyChunks) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
        .extensions_mut()
        .insert(StreamedBody(Arc::new(Mutex::new(Some(chunks)))));
    response
}

/// The response as written on the connection: the streamed body if the handler set one,
/// else its buffered body.
pub fn into_wire(response: HttpResponse) -> Response<WireBody> {
    let chunks = response
        .extensions()
        .get::<StreamedBody>()
        .and_then(|body| body.0.lock().ok()?.take());
    match chunks {
        Some(chunks) => response.map(|_| {
            StreamBody::new(
                tokio_stream::wrappers::ReceiverStream::new(chunks)
                    .map(|chunk| chunk.map(Frame::data)),
            )
            .boxed_unsync()
        }),
        None => response.map(|body| body.map_err(|never| match never {}).boxed_unsync()),
    }
}

/// What a write handler produced, before it is rendered: the single-request handlers turn
/// it into an HTTP response, Bulk reads status, id, version and location from it directly.
#[derive(Debug)]
pub struct Written<R> {
    /// 201 for a create, 204 for a write answered without a body, 200 otherwise.
    pub status: StatusCode,
    pub id: String,
    pub version: i64,
    /// The resource's URL (`meta.location`; the `Location` header of a 201).
    pub location: String,
    pub resource: R,
}

impl<R> Written<R> {
    pub fn etag(&self) -> String {
        crate::scim::etag::weak_etag(self.version)
    }
}

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The body of a response, kept beside it for the request log (a reference-counted
/// handle on the same bytes, not a copy).
#[derive(Clone)]
pub struct ResponseBody(pub Bytes);

pub fn json(status: StatusCode, body: &Value) -> HttpResponse {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut response = Response::new(Full::new(bytes.clone()));
    response.extensions_mut().insert(ResponseBody(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    response
}

/// A resource response with `ETag` and, for 201, `Location`.
pub fn resource(
    status: StatusCode,
    body: &Value,
    etag: &str,
    location: Option<&str>,
) -> HttpResponse {
    let mut response = json(status, body);
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// 304 for a conditional GET whose `If-None-Match` matches: the tag, no body.
pub fn not_modified(etag: &str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

/// 204 after a write that answers without a body but still tells the new version.
pub fn no_content_with_etag(etag: &str) -> HttpResponse {
    let mut response = no_content();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

pub fn no_content() -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

pub fn error(err: &ScimError) -> HttpResponse {
    let mut response = json(err.status, &err.to_json());
    let headers = response.headers_mut();
    if err.status == StatusCode::UNAUTHORIZED {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scim\""),
        );
    }
    if err.status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if let Some(seconds) = err.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub fn method_not_allowed(allowed: &[Method]) -> HttpResponse {
    let mut response = error(&ScimError::method_not_allowed());
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_headers() {
        let r = error(&ScimError::unauthorized("no"));
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer realm=\"scim\"");
        assert_eq!(r.headers()[CONTENT_TYPE], SCIM_CONTENT_TYPE);
        let r = error(&ScimError::unavailable());
        assert_eq!(r.headers()[RETRY_AFTER], "1");
        let r = method_not_allowed(&[Method::GET, Method::POST]);
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[ALLOW], "GET, POST");
    }

    #[test]
    fn bodiless_responses_carry_the_etag() {
        let r = not_modified("W/\"3\"");
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[ETAG], "W/\"3\"");
        assert!(r.headers().get(CONTENT_TYPE).is_none());
        let r = no_content_with_etag("W/\"4\"");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[ETAG], "W/\"4\"");
    }
}
