//! Entity tags (RFC 7644 §3.14, RFC 9110 §8.8.3, §13.1.1-2). The tag of a resource is the
//! weak `W/"<version>"` of the directory's version counter; `meta.version` carries the same
//! string.
//!
//! `If-Match` and `If-None-Match` are lists of tags or `*`. Weak and strong spellings of our
//! tags are both accepted in either header (SCIM clients echo the weak tag in `If-Match`,
//! RFC 7644 §3.14). A tag that is not one of ours can never match.

/// `W/"<version>"`.
pub fn weak_etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A parsed `If-Match` / `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    /// `*`: any current representation.
    Any,
    /// The versions the listed tags name (deduplicated, in order). Empty when the header
    /// only holds tags that are not ours: nothing can match.
    Versions(Vec<i64>),
}

impl TagList {
    /// Parses every value of the header (a header may be repeated; each value is a
    /// comma-separated list). `None` when the header is absent or blank.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<TagList> {
        let mut any = false;
        let mut foreign = false;
        let mut versions = Vec::new();
        for value in values {
            for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                if item == "*" {
                    any = true;
                    continue;
                }
                match version_of_tag(item) {
                    Some(v) if !versions.contains(&v) => versions.push(v),
                    Some(_) => {}
                    None => foreign = true,
                }
            }
        }
        if any {
            Some(TagList::Any)
        } else if versions.is_empty() && !foreign {
            None
        } else {
            Some(TagList::Versions(versions))
        }
    }

    /// Weak comparison with the current version (`If-None-Match`).
    pub fn matches(&self, version: i64) -> bool {
        match self {
            TagList::Any => true,
            TagList::Versions(versions) => versions.contains(&version),
        }
    }
}

/// `W/"7"` or `"7"` → 7; anything else is not one of our tags.
fn version_of_tag(tag: &str) -> Option<i64> {
    let opaque = tag
        .strip_prefix("W/")
        .or_else(|| tag.strip_prefix("w/"))
        .unwrap_or(tag);
    let inner = opaque.strip_prefix('"')?.strip_suffix('"')?;
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok()
}

/// What an `If-Match` header asks of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header, or `*`: unconditional.
    Unconditional,
    /// Exactly one version: the directory checks it atomically (`expected_version`).
    Version(i64),
    /// Several versions: the gateway reads the current version; when it is listed, that
    /// version becomes the `expected_version` (so the write is still atomic).
    AnyOf(Vec<i64>),
    /// Only tags that cannot be ours: 412 without calling the directory.
    Never,
}

impl IfMatch {
    pub fn from_tags(tags: Option<TagList>) -> IfMatch {
        match tags {
            None | Some(TagList::Any) => IfMatch::Unconditional,
            Some(TagList::Versions(versions)) => match versions.as_slice() {
                [] => IfMatch::Never,
                [one] => IfMatch::Version(*one),
                _ => IfMatch::AnyOf(versions),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Option<TagList> {
        TagList::parse(values.iter().copied())
    }

    #[test]
    fn tag_lists() {
        let table: &[(&[&str], Option<TagList>)] = &[
            (&[], None),
            (&[""], None),
            (&["  , "], None),
            (&["*"], Some(TagList::Any)),
            (&["W/\"1\", *"], Some(TagList::Any)),
            (&["W/\"3\""], Some(TagList::Versions(vec![3]))),
            (&["\"3\""], Some(TagList::Versions(vec![3]))),
            (&["w/\"3\""], Some(TagList::Versions(vec![3]))),
            (
                &["W/\"3\", \"4\" ,W/\"3\""],
                Some(TagList::Versions(vec![3, 4])),
            ),
            (&["W/\"3\"", "W/\"5\""], Some(TagList::Versions(vec![3, 5]))),
            (&["W/\"abc\", W/\"2\""], Some(TagList::Versions(vec![2]))),
            (&["W/\"abc\""], Some(TagList::Versions(vec![]))),
            (&["3"], Some(TagList::Versions(vec![]))),
            (&["W/3"], Some(TagList::Versions(vec![]))),
            (&["\"-1\""], Some(TagList::Versions(vec![]))),
            (&["\"\""], Some(TagList::Versions(vec![]))),
            (
                &["\"99999999999999999999\""],
                Some(TagList::Versions(vec![])),
            ),
        ];
        for (values, want) in table {
            assert_eq!(&parse(values), want, "{values:?}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        let tags = parse(&["\"3\""]).unwrap();
        assert!(tags.matches(3));
        assert!(!tags.matches(4));
        assert!(parse(&["W/\"3\""]).unwrap().matches(3));
        assert!(parse(&["*"]).unwrap().matches(42));
        assert!(!parse(&["W/\"x\""]).unwrap().matches(3));
        assert_eq!(weak_etag(3), "W/\"3\"");
        assert!(parse(&[&weak_etag(9)]).unwrap().matches(9));
    }

    #[test]
    fn if_match_preconditions() {
        let table: &[(&[&str], IfMatch)] = &[
            (&[], IfMatch::Unconditional),
            (&["*"], IfMatch::Unconditional),
            (&["W/\"3\""], IfMatch::Version(3)),
            (&["\"7\""], IfMatch::Version(7)),
            (&["W/\"3\", W/\"3\""], IfMatch::Version(3)),
            (&["W/\"3\", W/\"4\""], IfMatch::AnyOf(vec![3, 4])),
            (&["W/\"abc\""], IfMatch::Never),
            (&["3"], IfMatch::Never),
        ];
        for (values, want) in table {
            assert_eq!(&IfMatch::from_tags(parse(values)), want, "{values:?}");
        }
    }
}
