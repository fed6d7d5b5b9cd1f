//! Request bodies: media type check (415), size limit on Content-Length and while reading
//! (413), JSON parsing (400 invalidSyntax).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::scim::ScimError;

/// `application/scim+json` or `application/json`, any parameters (charset). A body
/// without a Content-Type is refused like any other media type (415).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ScimError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(ScimError::unsupported_media_type());
    };
    let media_type = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/scim+json" | "application/json") => Ok(()),
        _ => Err(ScimError::unsupported_media_type()),
    }
}

/// Past the limit the rest of an oversized body is read and thrown away, up to this much,
/// so that the client finishes sending and sees the 413 instead of a reset connection.
const DRAIN_CAP_BYTES: usize = 32 * 1024 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads at most `max_bytes` of the body (413 beyond it, declared or actual).
pub async fn read_limited(
    headers: &HeaderMap,
    mut body: Incoming,
    max_bytes: usize,
) -> Result<Bytes, ScimError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes as u64) {
        drain(body).await;
        return Err(ScimError::payload_too_large(max_bytes));
    }
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ScimError::invalid_syntax(
                "the request body could not be read",
            ));
        };
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > max_bytes {
                drain(body).await;
                return Err(ScimError::payload_too_large(max_bytes));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

async fn drain(mut body: Incoming) {
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > DRAIN_CAP_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, discard).await;
}

/// Deepest JSON nesting a request may carry. Values travel to the directory as
/// `google.protobuf.Value` (two messages per JSON level) and protobuf decoding stops at
/// 100 nested messages; no SCIM resource nests more than a few levels.
const MAX_JSON_DEPTH: usize = 32;

pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request body is empty"));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
    })?;
    if depth(&value) > MAX_JSON_DEPTH {
        return Err(ScimError::invalid_value(format!(
            "the request body nests deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    check_control_characters(&value, "")?;
    Ok(value)
}

/// Control characters (C0, DEL, C1) have no place in SCIM strings: NUL cannot even be
/// stored by Postgres. Tab, CR and LF are allowed (free text such as
/// `addresses.formatted` spans lines). Checked in every string and every member name of
/// the body; the error names the attribute.
fn check_control_characters(value: &Value, path: &str) -> Result<(), ScimError> {
    let refused = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    let error = |path: &str| {
        ScimError::invalid_value(format!(
            "'{}' contains a control character",
            if path.is_empty() {
                "the request body"
            } else {
                path
            }
        ))
    };
    match value {
        Value::String(s) if s.chars().any(refused) => Err(error(path)),
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| check_control_characters(item, path)),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.chars().any(refused) {
                return Err(error(&inner.escape_debug().to_string()));
            }
            check_control_characters(item, &inner)
        }),
        _ => Ok(()),
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn content_types() {
        let table: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("application/scim+json"), true),
            (Some("application/scim+json; charset=utf-8"), true),
            (Some("Application/JSON;charset=UTF-8"), true),
            (Some("application/json"), true),
            (Some("text/plain"), false),
            (Some("application/x-www-form-urlencoded"), false),
            (Some("application/jsonx"), false),
        ];
        for (content_type, ok) in table {
            let mut headers = HeaderMap::new();
            if let Some(ct) = content_type {
                headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            let result = check_content_type(&headers);
            assert_eq!(result.is_ok(), *ok, "{content_type:?}");
            if let Err(e) = result {
                assert_eq!(e.status.as_u16(), 415);
            }
        }
    }

    #[test]
    fn json_errors_are_invalid_syntax() {
        for body in [&b""[..], b"  ", b"{", b"{\"a\":}", b"nul"] {
            let err = parse_json(body).unwrap_err();
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidSyntax));
        }
        assert!(parse_json(b"{\"userName\":\"a\"}").is_ok());
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        let err = parse_json(deep.as_bytes()).unwrap_err();
        assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidValue));
    }

    #[test]
    fn control_characters_are_refused_except_tab_cr_lf() {
        for body in [
            r#"{"userName":"a\u0000b"}"#,
            r#"{"name":{"givenName":"\u001b[31m"}}"#,
            r#"{"emails":[{"value":"a\u007f@x"}]}"#,
            r#"{"a\u0001":"x"}"#,
            r#"{"title":"\u0085"}"#,
        ] {
            let err = parse_json(body.as_bytes()).expect_err(body);
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidValue));
            assert!(err.detail.contains("control character"), "{}", err.detail);
        }
        let err = parse_json(br#"{"name":{"givenName":"a\u0000"}}"#).unwrap_err();
        assert!(err.detail.contains("'name.givenName'"), "{}", err.detail);
        assert!(parse_json(br#"{"addresses":[{"formatted":"a\tb\r\nc"}]}"#).is_ok());
    }
}
