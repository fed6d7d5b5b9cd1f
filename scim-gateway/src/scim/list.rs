//! ListResponse (RFC 7644 §3.4.2) and the pagination parameters (§3.4.2.4).

use serde_json::{Value, json};

use super::{DEFAULT_COUNT, LIST_RESPONSE_SCHEMA, MAX_RESULTS, ScimError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
