//! `POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4).
//!
//! Client authentication by HTTP Basic or by `client_id`/`client_secret` in the form body
//! (§2.3.1), never both. The directory checks the credentials and issues an opaque access
//! token (a SCIM token of the client's workspace, expiring after the configured lifetime
//! and never after the client): SCIM endpoints accept it like any bearer token, so a
//! revoked client's tokens stop within the 5 s cache bound. Errors as §5.2: JSON
//! `{"error", "error_description"}`, `Cache-Control: no-store`.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;
use tonic::Code;

use super::AppState;
use super::response::HttpResponse;
use crate::directory::OAuthClient;

/// The directory's OAuthClients service and the access token lifetime (set at start-up).
pub static TOKEN_ENDPOINT: std::sync::OnceLock<(OAuthClient, i64)> = std::sync::OnceLock::new();

const MAX_FORM_BYTES: usize = 16 * 1024;

struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Answer with `WWW-Authenticate: Basic` (the client authenticated with Basic).
    basic_challenge: bool,
}

fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> OAuthError {
    OAuthError {
        status,
        error,
        description: description.into(),
        basic_challenge: false,
    }
}

fn no_store(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("pragma", HeaderValue::from_static("no-cache"));
    response
}

fn render_error(err: OAuthError) -> HttpResponse {
    let mut response = no_store(
        err.status,
        json!({"error": err.error, "error_description": err.description}),
    );
    if err.basic_challenge {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"scim\", charset=\"UTF-8\""),
        );
    }
    response
}

/// `(client_id, client_secret)` from `Authorization: Basic` (both form-urlencoded, §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Some(Err(()));
    };
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok((unescape(id), unescape(secret))))
}

pub async fn token(state: &AppState, request: Request<Incoming>) -> HttpResponse {
    match exchange(state, request).await {
        Ok(response) => response,
        Err(err) => render_error(err),
    }
}

async fn exchange(
    state: &AppState,
    request: Request<Incoming>,
) -> Result<HttpResponse, OAuthError> {
    let Some((client, lifetime)) = TOKEN_ENDPOINT.get() else {
        return Err(oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "no token endpoint",
        ));
    };
    let (parts, body) = request.into_parts();
    let form_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let limit = state.max_body_bytes.min(MAX_FORM_BYTES);
    let bytes = super::body::read_limited(&parts.headers, body, limit)
        .await
        .map_err(|_| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "unreadable body",
            )
        })?;
    let mut grant_type = None;
    let mut body_id = None;
    let mut body_secret = None;
    for (key, value) in form_urlencoded::parse(&bytes) {
        let slot = match key.as_ref() {
            "grant_type" => &mut grant_type,
            "client_id" => &mut body_id,
            "client_secret" => &mut body_secret,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("parameter {key} is repeated"),
            ));
        }
    }
    match grant_type.as_deref() {
        None => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ));
        }
    }
    let basic = basic_credentials(&parts.headers);
    let used_basic = basic.is_some();
    let (client_id, client_secret) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "use one client authentication method: HTTP Basic or the request body",
            ));
        }
        (Some(Ok(pair)), None) => pair,
        (Some(Err(())), None) => {
            return Err(OAuthError {
                basic_challenge: true,
                ..oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication failed",
                )
            });
        }
        (None, Some(secret)) => (body_id.unwrap_or_default(), secret),
        (None, None) => {
            return Err(OAuthError {
                basic_challenge: true,
                ..oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication is required",
                )
            });
        }
    };
    let answer = client
        .clone()
        .exchange_client_credentials(directory_proto::v1::ExchangeClientCredentialsRequest {
            client_id,
            client_secret,
            lifetime_seconds: *lifetime,
        })
        .await;
    match answer {
        Ok(response) => {
            let response = response.into_inner();
            Ok(no_store(
                StatusCode::OK,
                json!({
                    "access_token": response.access_token,
                    "token_type": "Bearer",
                    "expires_in": response.expires_in,
                }),
            ))
        }
        Err(status) => Err(match status.code() {
            Code::Unauthenticated if status.message() != "missing or wrong service credential" => {
                OAuthError {
                    basic_challenge: used_basic,
                    ..oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "client authentication failed",
                    )
                }
            }
            Code::FailedPrecondition => oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the client's credentials have expired",
            ),
            code => {
                tracing::error!(?code, "token endpoint: the directory failed");
                oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "try again later",
                )
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("oc_a%3Ab:s%2Bcret");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(Ok(("oc_a:b".to_owned(), "s+cret".to_owned())))
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&headers), Some(Err(())));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&headers), None);
    }
}
