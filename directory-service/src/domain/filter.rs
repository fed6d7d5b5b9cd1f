//! The SCIM filter as the directory sees it: an expression tree over attribute paths
//! (RFC 7644 §3.4.2.2). The gateway parses the text; the store turns the tree into SQL;
//! `matches_item` evaluates the sub-attribute filters of PATCH value paths in memory.

use super::{DomainError, DomainResult};

pub const CORE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `schema:attribute.sub_attribute`, names as the client spelled them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttrPath {
    pub schema: String,
    pub attribute: String,
    pub sub_attribute: String,
}

impl AttrPath {
    pub fn attribute_is(&self, name: &str) -> bool {
        self.attribute.eq_ignore_ascii_case(name)
    }

    pub fn sub_attribute_is(&self, name: &str) -> bool {
        self.sub_attribute.eq_ignore_ascii_case(name)
    }

    pub fn has_sub_attribute(&self) -> bool {
        !self.sub_attribute.is_empty()
    }

    pub fn is_core_user(&self) -> bool {
        self.schema.is_empty() || self.schema.eq_ignore_ascii_case(CORE_USER_SCHEMA)
    }

    pub fn is_enterprise_user(&self) -> bool {
        self.schema.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.schema.is_empty() {
            write!(f, "{}:", self.schema)?;
        }
        f.write_str(&self.attribute)?;
        if !self.sub_attribute.is_empty() {
            write!(f, ".{}", self.sub_attribute)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FilterValue {
    String(String),
    Bool(bool),
    Number(f64),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: FilterValue,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `path[filter]`: some value of the multi-valued attribute `path` matches `filter`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Whether some comparison names an attribute outside the core and enterprise user
    /// schemas: only such a filter needs the workspace's declared custom attributes.
    pub fn names_extension_schema(&self) -> bool {
        match self {
            Filter::And(parts) | Filter::Or(parts) => {
                parts.iter().any(Filter::names_extension_schema)
            }
            Filter::Not(inner) => inner.names_extension_schema(),
            Filter::ValuePath { path, filter } => {
                !(path.is_core_user() || path.is_enterprise_user())
                    || filter.names_extension_schema()
            }
            Filter::Compare { path, .. } => !(path.is_core_user() || path.is_enterprise_user()),
        }
    }
}

/// Evaluates a value filter (`type eq "work"`) against one value of a multi-valued
/// attribute, given as a JSON object. String comparisons are case-insensitive: the
/// sub-attributes we evaluate (type, value, display of emails and phoneNumbers) are all
/// `caseExact: false` in RFC 7643.
pub fn matches_item(filter: &Filter, item: &serde_json::Value) -> DomainResult<bool> {
    match filter {
        Filter::And(parts) => {
            for part in parts {
                if !matches_item(part, item)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Filter::Or(parts) => {
            for part in parts {
                if matches_item(part, item)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Filter::Not(inner) => Ok(!matches_item(inner, item)?),
        Filter::ValuePath { .. } => Err(DomainError::InvalidFilter(
            "value paths cannot be nested".into(),
        )),
        Filter::Compare { path, op, value } => {
            let key = if path.has_sub_attribute() {
                &path.sub_attribute
            } else {
                &path.attribute
            };
            let actual = item.as_object().and_then(|object| {
                object
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            });
            compare_json(actual, *op, value)
        }
    }
}

fn compare_json(
    actual: Option<&serde_json::Value>,
    op: CompareOp,
    expected: &FilterValue,
) -> DomainResult<bool> {
    use serde_json::Value as J;
    let actual = match actual {
        // An unassigned attribute equals only null (RFC 7643 §2.5).
        None | Some(J::Null) => {
            return Ok(match op {
                CompareOp::Eq => *expected == FilterValue::Null,
                CompareOp::Ne => *expected != FilterValue::Null,
                _ => false,
            });
        }
        Some(v) => v,
    };
    if op == CompareOp::Pr {
        return Ok(!matches!(actual, J::String(s) if s.is_empty()));
    }
    let ordering = match (actual, expected) {
        (J::String(a), FilterValue::String(b)) => {
            let (a, b) = (super::fold_case(a), super::fold_case(b));
            match op {
                CompareOp::Co => return Ok(a.contains(&b)),
                CompareOp::Sw => return Ok(a.starts_with(&b)),
                CompareOp::Ew => return Ok(a.ends_with(&b)),
                _ => a.cmp(&b),
            }
        }
        (J::Bool(a), FilterValue::Bool(b)) => match op {
            CompareOp::Eq => return Ok(a == b),
            CompareOp::Ne => return Ok(a != b),
            _ => {
                return Err(DomainError::InvalidFilter(
                    "booleans only support eq and ne".into(),
                ));
            }
        },
        (J::Number(a), FilterValue::Number(b)) => {
            let a = a.as_f64().unwrap_or(f64::NAN);
            a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Less)
        }
        (_, FilterValue::Null) => return Ok(op == CompareOp::Ne),
        _ => return Ok(op == CompareOp::Ne),
    };
    use std::cmp::Ordering::*;
    Ok(match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            return Err(DomainError::InvalidFilter(
                "co, sw and ew compare strings only".into(),
            ));
        }
        CompareOp::Pr => unreachable!("handled above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(attribute: &str, op: CompareOp, value: FilterValue) -> Filter {
        Filter::Compare {
            path: AttrPath {
                attribute: attribute.into(),
                ..Default::default()
            },
            op,
            value,
        }
    }

    #[test]
    fn only_filters_outside_core_and_enterprise_need_declared_attributes() {
        let s = |v: &str| FilterValue::String(v.into());
        let in_schema = |schema: &str, attribute: &str| Filter::Compare {
            path: AttrPath {
                schema: schema.into(),
                attribute: attribute.into(),
                ..Default::default()
            },
            op: CompareOp::Eq,
            value: s("x"),
        };
        let custom = in_schema(
            "urn:acme:params:scim:schemas:extension:acme:2.0:User",
            "badge",
        );
        assert!(!cmp("userName", CompareOp::Eq, s("a")).names_extension_schema());
        assert!(!in_schema(ENTERPRISE_USER_SCHEMA, "department").names_extension_schema());
        assert!(!in_schema(CORE_USER_SCHEMA, "externalId").names_extension_schema());
        assert!(custom.names_extension_schema());
        let nested = Filter::Or(vec![
            cmp("userName", CompareOp::Eq, s("a")),
            Filter::Not(Box::new(custom)),
        ]);
        assert!(nested.names_extension_schema());
    }

    #[test]
    fn evaluates_value_filters_case_insensitively() {
        let work = json!({"type": "Work", "value": "A@Example.com", "primary": true});
        let s = |v: &str| FilterValue::String(v.into());
        let cases = [
            (cmp("type", CompareOp::Eq, s("work")), true),
            (cmp("TYPE", CompareOp::Eq, s("home")), false),
            (cmp("value", CompareOp::Co, s("@example")), true),
            (cmp("value", CompareOp::Sw, s("a@")), true),
            (cmp("value", CompareOp::Ew, s(".org")), false),
            (cmp("primary", CompareOp::Eq, FilterValue::Bool(true)), true),
            (cmp("display", CompareOp::Pr, FilterValue::Null), false),
            (cmp("display", CompareOp::Ne, s("x")), true),
            (
                Filter::And(vec![
                    cmp("type", CompareOp::Eq, s("work")),
                    cmp("value", CompareOp::Co, s("example.com")),
                ]),
                true,
            ),
            (
                Filter::Not(Box::new(cmp("type", CompareOp::Eq, s("work")))),
                false,
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                matches_item(&filter, &work).unwrap(),
                expected,
                "{filter:?}"
            );
        }
    }
}

/// `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sort {
    pub by: AttrPath,
    pub descending: bool,
}
