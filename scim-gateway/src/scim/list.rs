//! ListResponse (RFC 7644 §3.4.2), the query parameters of a list — filter (§3.4.2.2),
//! sorting (§3.4.2.3), pagination (§3.4.2.4), projection (§3.4.2.5) — from the URL or from
//! a SearchRequest body (§3.4.3).

use directory_proto::v1::{Filter, Sort};
use serde_json::{Value, json};

use super::filter::{parse_attribute_path, parse_filter};
use super::json::{optional_string, validate_schemas};
use super::projection::Projection;
use super::{DEFAULT_COUNT, LIST_RESPONSE_SCHEMA, MAX_RESULTS, ScimError};

/// Everything a list or search request asks for, translated.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub page: Page,
    /// RFC 9865 cursor paging: `Some("")` asks for the first page.
    pub cursor: Option<String>,
    pub sort: Option<Sort>,
    pub projection: Projection,
}

impl ListQuery {
    /// From the URL query parameters (`get` looks a parameter up by name).
    pub fn from_params<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        projection: Projection,
    ) -> Result<ListQuery, ScimError> {
        Ok(ListQuery {
            filter: parse_filter_param(get("filter"))?,
            page: Page::from_query(get("startIndex"), get("count"))?,
            cursor: get("cursor").map(str::to_owned),
            sort: parse_sort(get("sortBy"), get("sortOrder"))?,
            projection,
        })
    }

    /// From a SearchRequest body (`POST .search`). Member names are case-insensitive.
    pub fn from_search_body(body: Value) -> Result<ListQuery, ScimError> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "the request body must be a JSON object",
            ));
        };
        let mut filter = None;
        let mut start_index = None;
        let mut count = None;
        let mut sort_by = None;
        let mut sort_order = None;
        let mut cursor = None;
        let mut attributes = Vec::new();
        let mut excluded = Vec::new();
        for (key, value) in map {
            match key.to_ascii_lowercase().as_str() {
                "schemas" => validate_schemas(&value)?,
                "filter" => filter = optional_string("filter", value)?,
                "startindex" => start_index = integer("startIndex", &value)?,
                "count" => count = integer("count", &value)?,
                "sortby" => sort_by = optional_string("sortBy", value)?,
                "sortorder" => sort_order = optional_string("sortOrder", value)?,
                "cursor" => cursor = Some(optional_string("cursor", value)?.unwrap_or_default()),
                "attributes" => attributes = string_list("attributes", value)?,
                "excludedattributes" => excluded = string_list("excludedAttributes", value)?,
                _ => {}
            }
        }
        Ok(ListQuery {
            filter: parse_filter_param(filter.as_deref())?,
            page: Page::new(start_index, count),
            cursor,
            sort: parse_sort(sort_by.as_deref(), sort_order.as_deref())?,
            projection: Projection::from_lists(&attributes, &excluded),
        })
    }
}

/// An absent or blank filter means "everything"; a bad one is 400 invalidFilter.
pub fn parse_filter_param(filter: Option<&str>) -> Result<Option<Filter>, ScimError> {
    match filter {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => parse_filter(text)
            .map(Some)
            .map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}"))),
    }
}

/// `sortBy` (an attribute path, URN-qualified or not) and `sortOrder` (`ascending`, the
/// default, or `descending`, case-insensitive). Without `sortBy` there is no sorting (the
/// directory's stable creation order); `sortOrder` is still checked. Whether the attribute
/// can be sorted on is the directory's call (unknown → 400 invalidValue).
pub fn parse_sort(
    sort_by: Option<&str>,
    sort_order: Option<&str>,
) -> Result<Option<Sort>, ScimError> {
    let descending = match sort_order.map(str::trim).filter(|o| !o.is_empty()) {
        None => false,
        Some(order) if order.eq_ignore_ascii_case("ascending") => false,
        Some(order) if order.eq_ignore_ascii_case("descending") => true,
        Some(order) => {
            return Err(ScimError::invalid_value(format!(
                "'sortOrder' must be 'ascending' or 'descending', not '{order}'"
            )));
        }
    };
    let Some(sort_by) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let by = parse_attribute_path(sort_by)
        .map_err(|e| ScimError::invalid_value(format!("'sortBy' is not an attribute path: {e}")))?;
    Ok(Some(Sort {
        by: Some(by),
        descending,
    }))
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

/// A normalised page request: `start_index >= 1`, `0 <= count <= MAX_RESULTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start_index: i64,
    pub count: i64,
}

impl Page {
    /// From the query parameters. Absent or empty → defaults; non-numeric → 400 invalidValue.
    pub fn from_query(start_index: Option<&str>, count: Option<&str>) -> Result<Page, ScimError> {
        let start_index = parse_integer("startIndex", start_index)?;
        let count = parse_integer("count", count)?;
        Ok(Page::new(start_index, count))
    }

    /// Clamps: startIndex < 1 → 1, count < 0 → 0, count > max → max.
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        Page {
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_RESULTS),
        }
    }
}

fn parse_integer(name: &str, raw: Option<&str>) -> Result<Option<i64>, ScimError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(n) => Ok(Some(n)),
        // Larger than i64 but still an integer: saturate rather than refuse.
        Err(_)
            if raw
                .trim_start_matches(['-', '+'])
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
        {
            Ok(Some(if raw.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            }))
        }
        Err(_) => Err(ScimError::invalid_value(format!(
            "'{name}' must be an integer"
        ))),
    }
}

/// `{"schemas":[ListResponse],"totalResults":N,"startIndex":S,"itemsPerPage":K,"Resources":[..]}`
pub fn list_response(resources: Vec<Value>, total_results: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// A page of a cursor-paged list (RFC 9865): no startIndex, and `nextCursor` unless this
/// is the last page.
pub fn cursor_list_response(resources: Vec<Value>, total_results: i64, next_cursor: &str) -> Value {
    let mut response = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if !next_cursor.is_empty() {
        response["nextCursor"] = Value::String(next_cursor.to_owned());
    }
    response
}

/// One page of resources as the directory answered it, already SCIM JSON.
pub struct ListPage {
    pub resources: Vec<Value>,
    pub total_results: i64,
    pub start_index: i64,
    pub next_cursor: String,
}

/// The ListResponse for a directory answer, index- or cursor-paged as the query asked.
pub fn page_response(
    query: &ListQuery,
    resources: Vec<Value>,
    total_results: i64,
    start_index: i64,
    next_cursor: &str,
) -> Value {
    if query.cursor.is_some() {
        cursor_list_response(resources, total_results, next_cursor)
    } else {
        let start_index = if start_index >= 1 {
            start_index
        } else {
            query.page.start_index
        };
        list_response(resources, total_results, start_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::tests::{eq_str, path};

    fn sort(schema: &str, attribute: &str, sub: &str, descending: bool) -> Option<Sort> {
        Some(Sort {
            by: Some(path(schema, attribute, sub)),
            descending,
        })
    }

    #[test]
    fn sort_parameters() {
        let table: &[(Option<&str>, Option<&str>, Option<Sort>)] = &[
            (None, None, None),
            (Some(""), None, None),
            (None, Some("descending"), None),
            (Some("userName"), None, sort("", "userName", "", false)),
            (
                Some(" userName "),
                Some("ascending"),
                sort("", "userName", "", false),
            ),
            (
                Some("name.familyName"),
                Some("DESCENDING"),
                sort("", "name", "familyName", true),
            ),
            (
                Some("meta.lastModified"),
                Some("Descending"),
                sort("", "meta", "lastModified", true),
            ),
            (
                Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
                Some(""),
                sort("", "userName", "", false),
            ),
            (
                Some("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
                Some("ascending"),
                sort(
                    "urn:ietf:params:scim:schemas:core:2.0:Group",
                    "displayName",
                    "",
                    false,
                ),
            ),
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
                None,
                sort(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "department",
                    "",
                    false,
                ),
            ),
        ];
        for (sort_by, sort_order, want) in table {
            assert_eq!(
                &parse_sort(*sort_by, *sort_order).unwrap(),
                want,
                "{sort_by:?} {sort_order:?}"
            );
        }
        for (sort_by, sort_order) in [
            (Some("userName"), Some("up")),
            (Some("userName"), Some("asc")),
            (None, Some("desc")),
            (Some("emails[type eq \"work\"].value"), None),
            (Some("9lives"), None),
            (Some("name."), None),
        ] {
            let err = parse_sort(sort_by, sort_order).expect_err(&format!("{sort_by:?}"));
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
            assert_eq!(err.status.as_u16(), 400);
        }
    }

    #[test]
    fn list_query_from_url_parameters() {
        let params = [
            ("filter", "userName eq \"a\""),
            ("startIndex", "3"),
            ("count", "5"),
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
        ];
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let query = ListQuery::from_params(get, Projection::default()).unwrap();
        assert_eq!(query.filter, Some(eq_str("userName", "a")));
        assert_eq!(
            query.page,
            Page {
                start_index: 3,
                count: 5
            }
        );
        assert_eq!(query.sort, sort("", "userName", "", true));

        let bad_filter = ListQuery::from_params(
            |name| (name == "filter").then_some("userName eq"),
            Projection::default(),
        )
        .unwrap_err();
        assert_eq!(bad_filter.scim_type, Some(ScimType::InvalidFilter));
        let bad_order = ListQuery::from_params(
            |name| (name == "sortOrder").then_some("sideways"),
            Projection::default(),
        )
        .unwrap_err();
        assert_eq!(bad_order.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn list_query_from_search_request() {
        let query = ListQuery::from_search_body(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "Filter": "displayName eq \"G\"",
            "startIndex": 2,
            "count": 10,
            "sortBy": "displayName",
            "SORTORDER": "descending",
            "excludedAttributes": ["members"],
        }))
        .unwrap();
        assert_eq!(query.filter, Some(eq_str("displayName", "G")));
        assert_eq!(
            query.page,
            Page {
                start_index: 2,
                count: 10
            }
        );
        assert_eq!(query.sort, sort("", "displayName", "", true));
        assert!(!query.projection.returns("members"));

        let query = ListQuery::from_search_body(json!({"attributes": "displayName"})).unwrap();
        assert_eq!(query.filter, None);
        assert_eq!(query.sort, None);
        assert!(!query.projection.returns("members"));

        for (body, want) in [
            (json!([]), ScimType::InvalidSyntax),
            (json!({"schemas": "x"}), ScimType::InvalidSyntax),
            (json!({"filter": 1}), ScimType::InvalidValue),
            (json!({"count": "1"}), ScimType::InvalidValue),
            (json!({"sortBy": 1}), ScimType::InvalidValue),
            (json!({"sortOrder": "random"}), ScimType::InvalidValue),
            (json!({"attributes": [1]}), ScimType::InvalidValue),
            (json!({"filter": "x y z"}), ScimType::InvalidFilter),
        ] {
            let err = ListQuery::from_search_body(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.scim_type, Some(want), "{body}");
        }
    }

    #[test]
    fn page_parameters_are_clamped() {
        let table: &[(Option<&str>, Option<&str>, i64, i64)] = &[
            (None, None, 1, 100),
            (Some("1"), Some("2"), 1, 2),
            (Some("0"), Some("-5"), 1, 0),
            (Some("-3"), Some("0"), 1, 0),
            (Some("101"), Some("100"), 101, 100),
            (Some("5"), Some("5000"), 5, 1000),
            (Some(""), Some(" "), 1, 100),
            (
                Some("99999999999999999999"),
                Some("99999999999999999999"),
                i64::MAX,
                1000,
            ),
        ];
        for (start, count, want_start, want_count) in table {
            let page = Page::from_query(*start, *count).unwrap();
            assert_eq!(
                (page.start_index, page.count),
                (*want_start, *want_count),
                "{start:?} {count:?}"
            );
        }
    }

    #[test]
    fn non_numeric_page_parameters_are_invalid_values() {
        for (start, count) in [(Some("x"), None), (None, Some("1.5")), (None, Some("ten"))] {
            let err = Page::from_query(start, count).unwrap_err();
            assert_eq!(err.status.as_u16(), 400);
            assert_eq!(err.scim_type, Some(crate::scim::ScimType::InvalidValue));
        }
    }

    #[test]
    fn list_response_has_integers_and_always_resources() {
        let body = list_response(vec![], 0, 1);
        assert_eq!(
            body,
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "startIndex": 1,
                   "itemsPerPage": 0, "Resources": []})
        );
    }
}
