//! Pieces of the filter → SQL translation shared by users and groups.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, SimpleExpr};

use crate::domain::filter::{CompareOp, FilterValue};
use crate::domain::{DomainError, DomainResult};

/// A string comparison; the caller has already folded case where the attribute is
/// `caseExact: false`. LIKE wildcards in the value are escaped.
pub fn string_compare(lhs: Expr, op: CompareOp, text: String) -> DomainResult<SimpleExpr> {
    let like = |pattern: String| LikeExpr::new(pattern).escape('\\');
    Ok(match op {
        CompareOp::Eq => lhs.eq(text),
        CompareOp::Ne => lhs.ne(text),
        CompareOp::Co => lhs.like(like(format!("%{}%", escape_like(&text)))),
        CompareOp::Sw => lhs.like(like(format!("{}%", escape_like(&text)))),
        CompareOp::Ew => lhs.like(like(format!("%{}", escape_like(&text)))),
        CompareOp::Gt => lhs.gt(text),
        CompareOp::Ge => lhs.gte(text),
        CompareOp::Lt => lhs.lt(text),
        CompareOp::Le => lhs.lte(text),
        CompareOp::Pr => unreachable!("pr is handled before"),
    })
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

pub fn timestamp_compare(
    column: Expr,
    op: CompareOp,
    value: &FilterValue,
) -> DomainResult<SimpleExpr> {
    let FilterValue::String(text) = value else {
        return Err(DomainError::InvalidFilter(
            "timestamps compare with a date-time string".into(),
        ));
    };
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(text)
        .map_err(|_| DomainError::InvalidFilter(format!("{text:?} is not an RFC 3339 date-time")))?
        .with_timezone(&Utc);
    Ok(match op {
        CompareOp::Eq => column.eq(at),
        CompareOp::Ne => column.ne(at),
        CompareOp::Gt => column.gt(at),
        CompareOp::Ge => column.gte(at),
        CompareOp::Lt => column.lt(at),
        CompareOp::Le => column.lte(at),
        _ => {
            return Err(DomainError::InvalidFilter(
                "timestamps support eq, ne, gt, ge, lt, le and pr".into(),
            ));
        }
    })
}
