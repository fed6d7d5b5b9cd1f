//! DomainError → gRPC Status with a google.rpc.ErrorInfo reason. The table in
//! `proto/directory/v1/errors.proto` documents the same mapping; the test below checks it.

use directory_proto::{ERROR_DOMAIN, v1::ErrorReason};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::DomainError;

pub fn code_and_reason(err: &DomainError) -> (Code, ErrorReason) {
    use DomainError::*;
    match err {
        InvalidValue(_) => (Code::InvalidArgument, ErrorReason::InvalidValue),
        InvalidFilter(_) => (Code::InvalidArgument, ErrorReason::InvalidFilter),
        InvalidPath(_) => (Code::InvalidArgument, ErrorReason::InvalidPath),
        NoTarget(_) => (Code::InvalidArgument, ErrorReason::NoTarget),
        Mutability(_) => (Code::InvalidArgument, ErrorReason::Mutability),
        TooMany(_) => (Code::InvalidArgument, ErrorReason::TooMany),
        InvalidCursor(_) => (Code::InvalidArgument, ErrorReason::InvalidCursor),
        Uniqueness(_) => (Code::AlreadyExists, ErrorReason::Uniqueness),
        Conflict(_) => (Code::FailedPrecondition, ErrorReason::Conflict),
        NotFound(_) => (Code::NotFound, ErrorReason::NotFound),
        VersionMismatch { .. } => (Code::FailedPrecondition, ErrorReason::VersionMismatch),
        Unauthenticated => (Code::Unauthenticated, ErrorReason::Unauthenticated),
        PermissionDenied(_) => (Code::PermissionDenied, ErrorReason::PermissionDenied),
        RetryLater => (Code::Unavailable, ErrorReason::RetryLater),
        Storage(_) => (Code::Internal, ErrorReason::Internal),
    }
}

pub fn to_status(err: DomainError) -> Status {
    let (code, reason) = code_and_reason(&err);
    let message = match &err {
        DomainError::Storage(cause) => {
            // The cause stays in our logs (with the trace id); the client gets no internals.
            tracing::error!(error = %cause, "storage error");
            "internal error".to_owned()
        }
        other => other.to_string(),
    };
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason.as_str_name(), ERROR_DOMAIN, []),
    )
}

pub fn invalid(message: impl Into<String>) -> Status {
    to_status(DomainError::InvalidValue(message.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_the_documented_code_and_reason() {
        let table = [
            (
                DomainError::InvalidValue("x".into()),
                Code::InvalidArgument,
                "INVALID_VALUE",
            ),
            (
                DomainError::InvalidFilter("x".into()),
                Code::InvalidArgument,
                "INVALID_FILTER",
            ),
            (
                DomainError::InvalidPath("x".into()),
                Code::InvalidArgument,
                "INVALID_PATH",
            ),
            (
                DomainError::NoTarget("x".into()),
                Code::InvalidArgument,
                "NO_TARGET",
            ),
            (
                DomainError::Mutability("x".into()),
                Code::InvalidArgument,
                "MUTABILITY",
            ),
            (
                DomainError::TooMany("x".into()),
                Code::InvalidArgument,
                "TOO_MANY",
            ),
            (
                DomainError::Uniqueness("x".into()),
                Code::AlreadyExists,
                "UNIQUENESS",
            ),
            (
                DomainError::NotFound("x".into()),
                Code::NotFound,
                "NOT_FOUND",
            ),
            (
                DomainError::VersionMismatch {
                    expected: 1,
                    current: 2,
                },
                Code::FailedPrecondition,
                "VERSION_MISMATCH",
            ),
            (
                DomainError::Unauthenticated,
                Code::Unauthenticated,
                "UNAUTHENTICATED",
            ),
            (
                DomainError::PermissionDenied("x".into()),
                Code::PermissionDenied,
                "PERMISSION_DENIED",
            ),
            (DomainError::RetryLater, Code::Unavailable, "RETRY_LATER"),
            (
                DomainError::Storage("secret detail".into()),
                Code::Internal,
                "INTERNAL",
            ),
        ];
        for (err, code, reason) in table {
            let status = to_status(err);
            assert_eq!(status.code(), code);
            let info = status
                .get_details_error_info()
                .expect("error info attached");
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, ERROR_DOMAIN);
            assert!(!status.message().contains("secret detail"));
        }
    }
}
