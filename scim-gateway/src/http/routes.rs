//! Routing: path normalisation, route templates (span names never contain ids) and the
//! methods each route accepts.

use http::Method;
use percent_encoding::percent_decode_str;

use crate::scim::BASE_PATH;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Users,
    User(String),
    UsersSearch,
    /// `POST /.search` at the SCIM root.
    RootSearch,
    Groups,
    Group(String),
    GroupsSearch,
    /// `POST /Bulk` (RFC 7644 §3.7).
    Bulk,
    ServiceProviderConfig,
    ResourceTypes,
    ResourceType(String),
    Schemas,
    Schema(String),
    /// Liveness for Kubernetes probes (kept for existing probes; same as `/livez`).
    Health,
    /// Liveness: the process answers. Needs no token.
    Livez,
    /// Readiness: the directory answers SERVING. Needs no token.
    Readyz,
    /// `POST /oauth/token`: OAuth 2.0 client credentials (client authentication, no token).
    OAuthToken,
    NotFound,
}

impl Route {
    /// Resolves a raw request path. Duplicate and trailing slashes are tolerated
    /// (`/scim/v2//Users/` is `/scim/v2/Users`); endpoint names compare case-insensitively.
    pub fn resolve(raw_path: &str) -> Route {
        let segments: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["healthz"] => return Route::Health,
            ["livez"] => return Route::Livez,
            ["readyz"] => return Route::Readyz,
            ["oauth", "token"] => return Route::OAuthToken,
            _ => {}
        }
        let base: Vec<&str> = BASE_PATH.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() < base.len()
            || !segments
                .iter()
                .zip(&base)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
        {
            return Route::NotFound;
        }
        let rest = &segments[base.len()..];
        let Some((endpoint, rest)) = rest.split_first() else {
            return Route::NotFound;
        };
        let param = match rest {
            [] => None,
            [one] => match percent_decode_str(one).decode_utf8() {
                Ok(decoded) if !decoded.is_empty() => Some(decoded.into_owned()),
                _ => return Route::NotFound,
            },
            _ => return Route::NotFound,
        };
        let endpoint = endpoint.to_ascii_lowercase();
        if endpoint == ".search" && param.is_none() {
            return Route::RootSearch;
        }
        match (endpoint.as_str(), param) {
            ("users", None) => Route::Users,
            ("users", Some(id)) if id == ".search" => Route::UsersSearch,
            ("users", Some(id)) => Route::User(id),
            ("groups", None) => Route::Groups,
            ("groups", Some(id)) if id == ".search" => Route::GroupsSearch,
            ("groups", Some(id)) => Route::Group(id),
            ("bulk", None) => Route::Bulk,
            // `ServiceProviderConfigs` was the name in drafts of RFC 7644; some clients keep it.
            ("serviceproviderconfig" | "serviceproviderconfigs", None) => {
                Route::ServiceProviderConfig
            }
            ("resourcetypes", None) => Route::ResourceTypes,
            ("resourcetypes", Some(name)) => Route::ResourceType(name),
            ("schemas", None) => Route::Schemas,
            ("schemas", Some(urn)) => Route::Schema(urn),
            _ => Route::NotFound,
        }
    }

    /// The route template used as span name and log field. `None` for unknown routes.
    pub fn template(&self) -> Option<&'static str> {
        Some(match self {
            Route::Users => "/scim/v2/Users",
            Route::User(_) => "/scim/v2/Users/{id}",
            Route::UsersSearch => "/scim/v2/Users/.search",
            Route::RootSearch => "/scim/v2/.search",
            Route::Groups => "/scim/v2/Groups",
            Route::Group(_) => "/scim/v2/Groups/{id}",
            Route::GroupsSearch => "/scim/v2/Groups/.search",
            Route::Bulk => "/scim/v2/Bulk",
            Route::ServiceProviderConfig => "/scim/v2/ServiceProviderConfig",
            Route::ResourceTypes => "/scim/v2/ResourceTypes",
            Route::ResourceType(_) => "/scim/v2/ResourceTypes/{name}",
            Route::Schemas => "/scim/v2/Schemas",
            Route::Schema(_) => "/scim/v2/Schemas/{urn}",
            Route::Health => "/healthz",
            Route::Livez => "/livez",
            Route::Readyz => "/readyz",
            Route::OAuthToken => "/oauth/token",
            Route::NotFound => return None,
        })
    }

    pub fn allowed_methods(&self) -> &'static [Method] {
        match self {
            Route::Users | Route::Groups => &[Method::GET, Method::POST],
            Route::User(_) | Route::Group(_) => {
                &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE]
            }
            Route::UsersSearch | Route::GroupsSearch | Route::RootSearch | Route::Bulk => {
                &[Method::POST]
            }
            Route::ServiceProviderConfig
            | Route::ResourceTypes
            | Route::ResourceType(_)
            | Route::Schemas
            | Route::Schema(_) => &[Method::GET],
            Route::Health | Route::Livez | Route::Readyz => &[Method::GET],
            Route::OAuthToken => &[Method::POST],
            Route::NotFound => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        let table: &[(&str, Route)] = &[
            ("/scim/v2/Users", Route::Users),
            ("/scim/v2/Users/", Route::Users),
            ("/scim/v2//Users", Route::Users),
            ("//scim//v2//users//", Route::Users),
            ("/scim/v2/Users/abc", Route::User("abc".into())),
            ("/scim/v2/Users/a%20b", Route::User("a b".into())),
            ("/scim/v2/Users/.search", Route::UsersSearch),
            ("/scim/v2/.search", Route::RootSearch),
            (
                "/scim/v2/ServiceProviderConfig",
                Route::ServiceProviderConfig,
            ),
            (
                "/scim/v2/ServiceProviderConfigs",
                Route::ServiceProviderConfig,
            ),
            ("/scim/v2/ResourceTypes", Route::ResourceTypes),
            (
                "/scim/v2/ResourceTypes/User",
                Route::ResourceType("User".into()),
            ),
            ("/scim/v2/Schemas", Route::Schemas),
            (
                "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                Route::Schema("urn:ietf:params:scim:schemas:core:2.0:User".into()),
            ),
            ("/scim/v2/Groups", Route::Groups),
            ("/scim/v2/groups/", Route::Groups),
            ("/scim/v2/Groups/g1", Route::Group("g1".into())),
            ("/scim/v2/Groups/.search", Route::GroupsSearch),
            ("/scim/v2/Bulk", Route::Bulk),
            ("/scim/v2/bulk/", Route::Bulk),
            ("/scim/v2/Bulk/x", Route::NotFound),
            ("/healthz", Route::Health),
            ("/livez", Route::Livez),
            ("/readyz/", Route::Readyz),
            ("/scim/v2/Groups/a/b", Route::NotFound),
            ("/scim/v2/Devices", Route::NotFound),
            ("/scim/v2", Route::NotFound),
            ("/", Route::NotFound),
            ("/scim/v1/Users", Route::NotFound),
            ("/scim/v2/Users/a/b", Route::NotFound),
            ("/scim/v2/Users/%FF", Route::NotFound),
        ];
        for (path, want) in table {
            assert_eq!(&Route::resolve(path), want, "{path}");
        }
    }

    #[test]
    fn templates_never_contain_ids() {
        let route = Route::resolve("/scim/v2/Users/0b6f0c4e-1111");
        assert_eq!(route.template(), Some("/scim/v2/Users/{id}"));
        let route = Route::resolve("/scim/v2/Groups/0b6f0c4e-2222");
        assert_eq!(route.template(), Some("/scim/v2/Groups/{id}"));
        assert_eq!(
            Route::resolve("/scim/v2/Groups/.search").template(),
            Some("/scim/v2/Groups/.search")
        );
        assert_eq!(
            Route::resolve("/scim/v2/bulk").template(),
            Some("/scim/v2/Bulk")
        );
        assert_eq!(Route::NotFound.template(), None);
    }
}
