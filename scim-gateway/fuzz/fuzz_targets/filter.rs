//! Arbitrary bytes → the RFC 7644 filter / PATCH path / attribute path parsers.
//!
//! Properties: no input panics (or overflows the stack, or runs past libFuzzer's
//! `-timeout`), error positions point inside the input, and every accepted filter is a
//! well-formed `directory.v1` tree (what the gateway sends to the directory service).
#![no_main]

use directory_proto::v1::{CompareOp, Filter, filter::Node};
use libfuzzer_sys::fuzz_target;
use scim_gateway::scim::filter::{parse_attribute_path, parse_filter, parse_patch_path};

/// `MAX_DEPTH` in scim-gateway/src/scim/filter.rs (private there).
const PARSER_MAX_DEPTH: usize = 32;
/// Each parser nesting level (`(`, `not (`, `attr[`) can add at most three tree levels
/// (not/value path + or + and), plus the top-level or/and and the leaf comparison.
const MAX_TREE_DEPTH: usize = 3 * PARSER_MAX_DEPTH + 3;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let chars = input.chars().count();

    match parse_filter(input) {
        Ok(filter) => check_filter(&filter, 1, false),
        Err(e) => assert!(e.position <= chars, "position {} > {chars}", e.position),
    }

    match parse_patch_path(input) {
        Ok(patch_path) => {
            assert!(!patch_path.path.attribute.is_empty() || !patch_path.path.schema.is_empty());
            if let Some(filter) = &patch_path.value_filter {
                assert!(patch_path.path.schema.is_empty() || !patch_path.path.attribute.is_empty());
                check_filter(filter, 2, true);
            }
        }
        Err(e) => assert!(e.position <= chars, "position {} > {chars}", e.position),
    }

    if let Ok(path) = parse_attribute_path(input) {
        assert!(!path.attribute.is_empty(), "{path:?}");
    }
});

/// Structural invariants of a parsed filter tree.
fn check_filter(filter: &Filter, depth: usize, in_value_path: bool) {
    assert!(depth <= MAX_TREE_DEPTH, "tree deeper than {MAX_TREE_DEPTH}");
    match filter.node.as_ref().expect("every node is set") {
        Node::Compare(c) => {
            let path = c.path.as_ref().expect("comparison without a path");
            assert!(!path.attribute.is_empty(), "{path:?}");
            let op = CompareOp::try_from(c.op).expect("valid op");
            assert_ne!(op, CompareOp::Unspecified);
            // `pr` carries no value; every other operator carries one.
            assert_eq!(c.value.is_none(), op == CompareOp::Pr, "{c:?}");
            if let Some(v) = &c.value {
                assert!(v.kind.is_some(), "{c:?}");
            }
        }
        Node::And(list) | Node::Or(list) => {
            let is_and = matches!(filter.node, Some(Node::And(_)));
            assert!(list.filters.len() >= 2, "and/or with fewer than two operands");
            for child in &list.filters {
                // Chains are flattened: no `and` directly inside an `and` (same for `or`).
                match child.node {
                    Some(Node::And(_)) => assert!(!is_and, "unflattened and"),
                    Some(Node::Or(_)) => assert!(is_and, "unflattened or"),
                    _ => {}
                }
                check_filter(child, depth + 1, in_value_path);
            }
        }
        Node::Not(inner) => check_filter(inner, depth + 1, in_value_path),
        Node::ValuePath(vp) => {
            assert!(!in_value_path, "nested value path");
            let path = vp.path.as_ref().expect("value path without a path");
            assert!(!path.attribute.is_empty() && path.sub_attribute.is_empty(), "{path:?}");
            let inner = vp.filter.as_ref().expect("value path without a filter");
            check_filter(inner, depth + 1, true);
        }
    }
}
