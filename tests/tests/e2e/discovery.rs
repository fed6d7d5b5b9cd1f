//! /ServiceProviderConfig, /ResourceTypes, /Schemas describe what the server does.

use e2e_tests::Stack;
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
