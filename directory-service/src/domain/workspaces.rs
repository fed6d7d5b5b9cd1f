//! Workspaces: the tenants.

use super::{DomainError, DomainResult};

/// A workspace handle: 1-63 chars of lowercase ASCII letters, digits and '-', not starting
/// or ending with '-' (so it can appear in DNS names and URLs unescaped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceSlug(String);

impl WorkspaceSlug {
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let slug = raw.trim();
        let valid_chars = slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if slug.is_empty()
            || slug.len() > 63
            || !valid_chars
            || slug.starts_with('-')
            || slug.ends_with('-')
        {
            return Err(DomainError::InvalidValue(format!(
                "workspace slug {raw:?} must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'"
            )));
        }
        Ok(Self(slug.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn display_name_or_slug(display_name: &str, slug: &WorkspaceSlug) -> String {
    let trimmed = display_name.trim();
    if trimmed.is_empty() {
        slug.as_str().to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The one SCIM base URL of this deployment: the gateway's public URL with `/scim/v2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimEndpoint(String);

impl ScimEndpoint {
    /// Accepts `https://scim.example.com`, with or without a trailing `/` or `/scim/v2`.
    pub fn parse(public_base_url: &str) -> DomainResult<Self> {
        let base = public_base_url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/scim/v2").unwrap_or(base);
        let valid = (base.starts_with("https://") || base.starts_with("http://"))
            && base
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty())
            && !base.contains(['?', '#', ' ']);
        if !valid {
            return Err(DomainError::InvalidValue(format!(
                "public base URL must be an http(s) URL without query or fragment, got {public_base_url:?}"
            )));
        }
        Ok(Self(format!("{base}/scim/v2")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        assert_eq!(WorkspaceSlug::parse(" acme-1 ").unwrap().as_str(), "acme-1");
        for bad in ["", "Acme", "-a", "a-", "a b", "ä", &"a".repeat(64)] {
            assert!(WorkspaceSlug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn scim_endpoint_ends_in_scim_v2_once() {
        for raw in [
            "https://scim.example.com",
            "https://scim.example.com/",
            "https://scim.example.com/scim/v2",
            " https://scim.example.com/scim/v2/ ",
        ] {
            assert_eq!(
                ScimEndpoint::parse(raw).unwrap().as_str(),
                "https://scim.example.com/scim/v2",
                "{raw}"
            );
        }
        for bad in [
            "",
            "scim.example.com",
            "https://",
            "https://x/?a=1",
            "ftp://x",
        ] {
            assert!(ScimEndpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
