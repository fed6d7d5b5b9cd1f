//! /ServiceProviderConfig, /ResourceTypes, /Schemas describe what the server does.

use e2e_tests::{Stack, q};
use serde_json::Value;

#[tokio::test]
async fn discovery_endpoints_describe_the_server() {
    let stack = Stack::start().await.unwrap();
    let spc = stack.scim("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, 200, "{}", spc.raw);
    assert_eq!(
        spc.body["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    for feature in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        assert!(
            spc.body[feature]["supported"].is_boolean(),
            "{feature}.supported"
        );
    }
    assert_eq!(spc.body["patch"]["supported"], true);
    assert_eq!(spc.body["filter"]["supported"], true);
    assert!(spc.body["filter"]["maxResults"].as_u64().unwrap() >= 100);
    let schemes = spc.body["authenticationSchemes"].as_array().unwrap();
    assert!(schemes.iter().any(|s| s["type"] == "oauthbearertoken"));

    let types = stack.scim("GET", "/ResourceTypes", None).await;
    assert_eq!(types.status, 200);
    let resources = types.body["Resources"].as_array().unwrap();
    let user = resources
        .iter()
        .find(|r| r["name"] == "User")
        .expect("User resource type");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");

    let schemas = stack.scim("GET", "/Schemas", None).await;
    assert_eq!(schemas.status, 200);
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    let user_schema = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "urn:ietf:params:scim:schemas:core:2.0:User")
        .unwrap();
    let attribute = |name: &str| -> Value {
        user_schema["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(attribute("userName")["uniqueness"], "server");
    assert_eq!(attribute("userName")["caseExact"], false);
    assert_eq!(attribute("password")["returned"], "never");
    assert!(
        !schemas.raw.contains("null"),
        "no nulls in /Schemas (Entra)"
    );
}

/// The gateway's attribute table (`scim/attributes.rs`) says which attributes filters may
/// name; the directory decides it. They must agree: every leaf of the table, filtered on
/// through SCIM, answers 200 when the table says filterable and 400 invalidFilter when not.
#[tokio::test]
async fn the_attribute_table_filterable_flags_match_the_directory() {
    use scim_gateway::scim::ENTERPRISE_USER_SCHEMA;
    use scim_gateway::scim::attributes::{self, Attribute, Type};

    fn comparison(path: &str, attribute: &Attribute) -> String {
        match attribute.kind {
            Type::Boolean => format!("{path} eq true"),
            // members are user ids
            _ if path.starts_with("members") => {
                format!("{path} eq \"0192a1b2-0000-7000-8000-000000000001\"")
            }
            _ => format!("{path} eq \"x\""),
        }
    }
    /// (filter, filterable) for every attribute and sub-attribute of `table`.
    fn cases(prefix: &str, table: &'static [Attribute]) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for attribute in table {
            let path = format!("{prefix}{}", attribute.name);
            out.push((comparison(&path, attribute), attribute.filterable));
            for sub in attribute.sub_attributes {
                let sub_path = format!("{path}.{}", sub.name);
                out.push((comparison(&sub_path, sub), sub.filterable));
            }
        }
        out
    }

    let stack = Stack::start().await.unwrap();
    let enterprise = format!("{ENTERPRISE_USER_SCHEMA}:");
    let mut checked = 0;
    for (endpoint, table, prefix) in [
        ("/Users", attributes::USER, ""),
        ("/Users", attributes::ENTERPRISE_USER, enterprise.as_str()),
        ("/Groups", attributes::GROUP, ""),
    ] {
        for (filter, filterable) in cases(prefix, table) {
            let answer = stack
                .scim("GET", &format!("{endpoint}?filter={}", q(&filter)), None)
                .await;
            if filterable {
                assert_eq!(answer.status, 200, "{endpoint} {filter}: {}", answer.raw);
            } else {
                assert_eq!(answer.status, 400, "{endpoint} {filter}: {}", answer.raw);
                assert_eq!(answer.body["scimType"], "invalidFilter", "{filter}");
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} attributes checked");
}
