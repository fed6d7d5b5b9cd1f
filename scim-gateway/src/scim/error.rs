//! The SCIM error body (RFC 7644 §3.12) and the one table that turns a directory
//! `tonic::Status` into it.
//!
//! The HTTP status comes from the gRPC code; `ErrorInfo.reason` (errors.proto) only adds the
//! `scimType` and splits codes that share a status (FAILED_PRECONDITION).

use directory_proto::v1::ErrorReason;
use http::StatusCode;
use serde_json::{Value, json};
use tonic::Code;
use tonic_types::StatusExt;

use super::ERROR_SCHEMA;

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    /// RFC 9865.
    InvalidCursor,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidCursor => "invalidCursor",
        }
    }
}

/// A SCIM error response, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 429 (RFC 6585): the token's rate limit is spent; retry after `seconds`.
    pub fn too_many_requests(seconds: u64) -> Self {
        ScimError {
            retry_after: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                format!("too many requests for this token: retry after {seconds} s"),
            )
        }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "method not allowed on this endpoint",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "content type must be application/scim+json or application/json",
        )
    }

    pub fn payload_too_large(max_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("request body exceeds {max_bytes} bytes"),
        )
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            GENERIC_INTERNAL_DETAIL,
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            GENERIC_UNAVAILABLE_DETAIL,
        )
    }

    /// `true` when the cause is on our side (the detail sent is generic; log the cause).
    pub fn is_server_error(&self) -> bool {
        self.status.is_server_error()
    }

    /// The RFC 7644 §3.12 body: `status` is the HTTP code as a JSON string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = Value::String(scim_type.as_str().to_owned());
        }
        body
    }
}

const GENERIC_INTERNAL_DETAIL: &str = "internal error";
const GENERIC_UNAVAILABLE_DETAIL: &str = "the directory is temporarily unavailable, retry later";

/// Maps a directory error to the SCIM error the client sees.
///
/// Client errors carry `status.message()` as the detail; server errors get a generic detail
/// (the caller logs the real cause with the trace id).
pub fn from_directory_status(status: &tonic::Status) -> ScimError {
    let reason = status
        .get_details_error_info()
        .filter(|info| info.domain == directory_proto::ERROR_DOMAIN)
        .and_then(|info| ErrorReason::from_str_name(&info.reason));
    let (http_status, scim_type) = http_status_and_scim_type(status.code(), reason);
    let detail = if http_status.is_server_error() {
        if http_status == StatusCode::SERVICE_UNAVAILABLE {
            GENERIC_UNAVAILABLE_DETAIL.to_owned()
        } else {
            GENERIC_INTERNAL_DETAIL.to_owned()
        }
    } else if status.message().is_empty() {
        http_status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase()
    } else {
        status.message().to_owned()
    };
    ScimError::new(http_status, scim_type, detail)
}

/// The mapping table (errors.proto; house-style "Error mapping").
pub fn http_status_and_scim_type(
    code: Code,
    reason: Option<ErrorReason>,
) -> (StatusCode, Option<ScimType>) {
    match code {
        Code::InvalidArgument => (StatusCode::BAD_REQUEST, reason.and_then(client_scim_type)),
        Code::AlreadyExists => (StatusCode::CONFLICT, Some(ScimType::Uniqueness)),
        Code::NotFound => (StatusCode::NOT_FOUND, None),
        Code::FailedPrecondition => match reason {
            Some(ErrorReason::VersionMismatch) => (StatusCode::PRECONDITION_FAILED, None),
            // A workspace rule (dual role membership, last admin): the detail says what to do.
            Some(ErrorReason::Conflict) => (StatusCode::CONFLICT, None),
            other => (StatusCode::BAD_REQUEST, other.and_then(client_scim_type)),
        },
        // With the directory's ErrorInfo it is about the client's token; without, the
        // directory refused the gateway's own service credential (a misconfiguration).
        Code::Unauthenticated => match reason {
            Some(_) => (StatusCode::UNAUTHORIZED, None),
            None => (StatusCode::INTERNAL_SERVER_ERROR, None),
        },
        Code::PermissionDenied => (StatusCode::FORBIDDEN, None),
        Code::ResourceExhausted => (StatusCode::CONFLICT, None),
        // Cancelled is what tonic reports when the client-side request timeout fires.
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            (StatusCode::SERVICE_UNAVAILABLE, None)
        }
        // No answer from the directory at all: tonic's "transport error" when the
        // connection breaks under a call (the directory was killed). The call may or may
        // not have happened; 503 tells the client to retry.
        Code::Unknown if reason.is_none() => (StatusCode::SERVICE_UNAVAILABLE, None),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
    }
}

fn client_scim_type(reason: ErrorReason) -> Option<ScimType> {
    match reason {
        ErrorReason::InvalidValue => Some(ScimType::InvalidValue),
        ErrorReason::InvalidFilter => Some(ScimType::InvalidFilter),
        ErrorReason::InvalidPath => Some(ScimType::InvalidPath),
        ErrorReason::NoTarget => Some(ScimType::NoTarget),
        ErrorReason::Mutability => Some(ScimType::Mutability),
        ErrorReason::TooMany => Some(ScimType::TooMany),
        ErrorReason::Uniqueness => Some(ScimType::Uniqueness),
        ErrorReason::InvalidCursor => Some(ScimType::InvalidCursor),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn grpc_code_and_reason_table() {
        use ErrorReason as R;
        use ScimType as T;
        let table: &[(Code, Option<ErrorReason>, u16, Option<ScimType>)] = &[
            (Code::FailedPrecondition, Some(R::Conflict), 409, None),
            (
                Code::InvalidArgument,
                Some(R::InvalidCursor),
                400,
                Some(T::InvalidCursor),
            ),
            (
                Code::InvalidArgument,
                Some(R::InvalidValue),
                400,
                Some(T::InvalidValue),
            ),
            (
                Code::InvalidArgument,
                Some(R::InvalidFilter),
                400,
                Some(T::InvalidFilter),
            ),
            (
                Code::InvalidArgument,
                Some(R::InvalidPath),
                400,
                Some(T::InvalidPath),
            ),
            (
                Code::InvalidArgument,
                Some(R::NoTarget),
                400,
                Some(T::NoTarget),
            ),
            (
                Code::InvalidArgument,
                Some(R::Mutability),
                400,
                Some(T::Mutability),
            ),
            (
                Code::InvalidArgument,
                Some(R::TooMany),
                400,
                Some(T::TooMany),
            ),
            (Code::InvalidArgument, None, 400, None),
            (
                Code::AlreadyExists,
                Some(R::Uniqueness),
                409,
                Some(T::Uniqueness),
            ),
            (Code::AlreadyExists, None, 409, Some(T::Uniqueness)),
            (Code::NotFound, Some(R::NotFound), 404, None),
            (
                Code::FailedPrecondition,
                Some(R::VersionMismatch),
                412,
                None,
            ),
            (Code::FailedPrecondition, None, 400, None),
            (
                Code::FailedPrecondition,
                Some(R::InvalidValue),
                400,
                Some(T::InvalidValue),
            ),
            (Code::Unauthenticated, Some(R::Unauthenticated), 401, None),
            (Code::Unauthenticated, None, 500, None),
            (Code::PermissionDenied, Some(R::PermissionDenied), 403, None),
            (Code::ResourceExhausted, None, 409, None),
            (Code::Unavailable, Some(R::RetryLater), 503, None),
            (Code::DeadlineExceeded, None, 503, None),
            (Code::Cancelled, None, 503, None),
            (Code::Internal, Some(R::Internal), 500, None),
            (Code::Unknown, None, 503, None),
            (Code::Unknown, Some(R::Internal), 500, None),
            (Code::DataLoss, None, 500, None),
            (Code::Unimplemented, None, 500, None),
        ];
        for (code, reason, want_status, want_type) in table {
            let (status, scim_type) = http_status_and_scim_type(*code, *reason);
            assert_eq!(status.as_u16(), *want_status, "{code:?} {reason:?}");
            assert_eq!(scim_type, *want_type, "{code:?} {reason:?}");
        }
    }

    #[test]
    fn reads_reason_from_error_info_and_keeps_client_detail() {
        let status = tonic::Status::with_error_details(
            Code::AlreadyExists,
            "userName already taken",
            ErrorDetails::with_error_info("UNIQUENESS", directory_proto::ERROR_DOMAIN, []),
        );
        let err = from_directory_status(&status);
        assert_eq!(err.status, StatusCode::CONFLICT);
        assert_eq!(err.scim_type, Some(ScimType::Uniqueness));
        assert_eq!(err.detail, "userName already taken");

        let status = tonic::Status::with_error_details(
            Code::InvalidArgument,
            "unknown attribute foo",
            ErrorDetails::with_error_info("INVALID_FILTER", directory_proto::ERROR_DOMAIN, []),
        );
        let body = from_directory_status(&status).to_json();
        assert_eq!(body["status"], "400");
        assert_eq!(body["scimType"], "invalidFilter");
        assert_eq!(body["detail"], "unknown attribute foo");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    }

    #[test]
    fn ignores_reasons_of_other_domains_and_hides_server_causes() {
        let status = tonic::Status::with_error_details(
            Code::InvalidArgument,
            "x",
            ErrorDetails::with_error_info("INVALID_FILTER", "other.domain", []),
        );
        assert_eq!(from_directory_status(&status).scim_type, None);

        let status = tonic::Status::internal("db password wrong at 10.0.0.1");
        let err = from_directory_status(&status);
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.detail.contains("10.0.0.1"));

        let status = tonic::Status::unavailable("tcp connect error: connection refused");
        let err = from_directory_status(&status);
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.detail.contains("tcp"));
    }

    #[test]
    fn error_body_omits_absent_scim_type() {
        let body = ScimError::not_found("user not found").to_json();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }
}
