//! Everything that knows SCIM JSON: resource shapes, the filter grammar, PATCH paths,
//! discovery documents and the SCIM error body. Nothing here performs I/O.
//!
//! **Architecture invariant:** this crate is the only one in the workspace that knows SCIM
//! JSON; the directory speaks the typed `directory.v1` contract only.

pub mod attributes;
pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod group;
pub mod json;
pub mod list;
pub mod patch;
pub mod projection;
pub mod user;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

pub use error::{ScimError, ScimType};

/// Core User schema (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Core Group schema (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The schema Microsoft Entra adds to the `schemas` of a group it creates (accepted, ignored).
pub const ADSCIM_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// Path of the SCIM root below the public origin.
pub const BASE_PATH: &str = "/scim/v2";

/// Largest page the gateway asks the directory for (advertised as `filter.maxResults`).
pub const MAX_RESULTS: i64 = 1000;
/// Page size when the client sends no `count`.
pub const DEFAULT_COUNT: i64 = 100;

/// The limits of `POST /Bulk` (RFC 7644 §3.7.4): advertised in `/ServiceProviderConfig`
/// (`bulk.maxOperations`, `bulk.maxPayloadSize`) and enforced with 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_bytes: usize,
}

/// `true` for a schema URN that names a whole extension (`urn:...:2.0:User`) rather than
/// an attribute inside one (`urn:...:2.0:User:department`).
///
/// Extension schemas for users end in `:User` by convention (RFC 7643 §3.3); attributes
/// never start with an upper-case `User`.
pub fn is_user_extension_urn(candidate: &str) -> bool {
    let lower = candidate.to_ascii_lowercase();
    lower.starts_with("urn:")
        && lower.ends_with(":user")
        && !lower.eq_ignore_ascii_case(USER_SCHEMA)
}

/// `true` for a schema URN that names a whole group extension (`urn:...:2.0:Group`), the
/// group counterpart of [`is_user_extension_urn`].
pub fn is_group_extension_urn(candidate: &str) -> bool {
    let lower = candidate.to_ascii_lowercase();
    lower.starts_with("urn:")
        && lower.ends_with(":group")
        && !lower.eq_ignore_ascii_case(GROUP_SCHEMA)
}

/// `true` for an id the directory could have issued: a UUID in its canonical lowercase,
/// hyphenated form (`Uuid::now_v7`'s text). Anything else names no resource, so the gateway
/// answers 404 without asking the directory; ids are compared as sent, never trimmed.
pub fn is_issued_id(id: &str) -> bool {
    id.len() == 36
        && uuid::Uuid::try_parse(id).is_ok_and(|uuid| uuid.hyphenated().to_string() == id)
}

/// 404 for an id we never issue (never echoed: it may be kilobytes long).
pub fn check_issued_id(id: &str, resource: &str) -> Result<(), ScimError> {
    if is_issued_id(id) {
        Ok(())
    } else {
        Err(ScimError::not_found(format!("no such {resource}")))
    }
}

/// Characters escaped when an id is put into a URL path segment.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `<base>/scim/v2/<endpoint>/<id>` with the id escaped as a path segment.
/// `<base>/scim/v2/Users/<id>`.
pub fn user_location(base_url: &str, id: &str) -> String {
    resource_location(base_url, "Users", id)
}

/// `<base>/scim/v2/Groups/<id>`.
pub fn group_location(base_url: &str, id: &str) -> String {
    resource_location(base_url, "Groups", id)
}

pub(crate) fn resource_location(base_url: &str, endpoint: &str, id: &str) -> String {
    format!(
        "{base_url}{BASE_PATH}/{endpoint}/{}",
        utf8_percent_encode(id, PATH_SEGMENT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_uuids_are_ids_we_issue() {
        let id = "01939a6e-7c2b-7d3e-8f4a-0123456789ab";
        assert!(is_issued_id(id));
        for other in [
            String::new(),
            "abc".to_owned(),
            format!("{id} "),
            format!(" {id}"),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            "a".repeat(10 * 1024),
        ] {
            assert!(!is_issued_id(&other), "{other:?}");
        }
        let err = check_issued_id(&"a".repeat(10 * 1024), "user").unwrap_err();
        assert_eq!(err.status.as_u16(), 404);
        assert_eq!(err.detail, "no such user");
    }
}
