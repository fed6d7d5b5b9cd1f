//! RFC 7643/7644 behaviour a server is judged on (`shared/reference/idp-traffic.md` §4).
//! Test names follow the reference's `rfc.*` labels.

#![allow(non_snake_case)] // test names are the step names of the reference

use e2e_tests::{Stack, assert_scim_error, patch, q};
use serde_json::{Value, json};

#[tokio::test]
async fn error_response_schema() {
    let stack = Stack::start().await.unwrap();
    let missing = stack
        .scim("GET", "/Users/00000000-0000-0000-0000-000000000000", None)
        .await;
    assert_scim_error(&missing, 404, None);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("application/scim+json")
    );
    assert!(
        missing.body["status"].is_string(),
        "status is a JSON string"
    );
}

#[tokio::test]
async fn userName_uniqueness_case_insensitive_409() {
    let stack = Stack::start().await.unwrap();
    stack.create_user("Bjensen@Example.com").await;
    let clash = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen@example.COM"})),
        )
        .await;
    assert_scim_error(&clash, 409, Some("uniqueness"));
}

#[tokio::test]
async fn create_location_and_meta() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "meta@x.test"})))
        .await;
    assert_eq!(created.status, 201);
    let meta = &created.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(
        created.header("location").unwrap(),
        meta["location"].as_str().unwrap()
    );
    assert_eq!(meta["created"], meta["lastModified"]);
    assert!(chrono_like(meta["created"].as_str().unwrap()));
    assert_eq!(
        created.header("etag").unwrap(),
        meta["version"].as_str().unwrap()
    );
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.contains('T')
        && (s.ends_with('Z') || s.contains('+'))
}

#[tokio::test]
async fn meta_last_modified_advances() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "lm@x.test"})))
        .await;
    let id = created.body["id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "CTO"}]),
            )),
        )
        .await;
    assert_eq!(patched.status, 200);
    let before = created.body["meta"]["lastModified"].as_str().unwrap();
    let after = patched.body["meta"]["lastModified"].as_str().unwrap();
    assert!(after > before, "{after} > {before}");
    assert_eq!(
        patched.body["meta"]["created"],
        created.body["meta"]["created"]
    );
    assert_ne!(
        patched.body["meta"]["version"],
        created.body["meta"]["version"]
    );
}

#[tokio::test]
async fn pagination_edges() {
    let stack = Stack::start().await.unwrap();
    for i in 0..3 {
        stack.create_user(&format!("p{i}@x.test")).await;
    }
    let zero = stack.scim("GET", "/Users?startIndex=0&count=2", None).await;
    assert_eq!(zero.body["startIndex"], 1, "startIndex < 1 means 1");
    assert_eq!(zero.body["Resources"].as_array().unwrap().len(), 2);
    let negative = stack.scim("GET", "/Users?startIndex=-3", None).await;
    assert_eq!(negative.body["startIndex"], 1);
    let none = stack.scim("GET", "/Users?count=0", None).await;
    assert_eq!(none.body["totalResults"], 3);
    assert_eq!(none.body["Resources"], json!([]));
    assert_eq!(none.body["itemsPerPage"], 0);
    let beyond = stack.scim("GET", "/Users?startIndex=10", None).await;
    assert_eq!(beyond.body["totalResults"], 3);
    assert_eq!(beyond.body["Resources"], json!([]));
    let last = stack.scim("GET", "/Users?startIndex=3&count=5", None).await;
    assert_eq!(last.body["Resources"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn attribute_names_case_insensitive() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"SCHEMAS": ["urn:ietf:params:scim:schemas:core:2.0:User"], "USERNAME": "Case@x.test", "Name": {"GivenName": "C"}, "ACTIVE": true})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.body["userName"], "Case@x.test");
    assert_eq!(created.body["name"]["givenName"], "C");
    let found = stack
        .scim(
            "GET",
            &format!("/Users?filter={}", q("USERNAME EQ \"case@x.test\"")),
            None,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.raw);
    assert_eq!(found.body["totalResults"], 1);
    let id = created.body["id"].as_str().unwrap();
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "REPLACE", "path": "NAME.FAMILYNAME", "value": "Z"}]),
            )),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    assert_eq!(patched.body["name"]["familyName"], "Z");
}

async fn names(stack: &Stack, filter: &str) -> Vec<String> {
    let found = stack
        .scim("GET", &format!("/Users?filter={}", q(filter)), None)
        .await;
    assert_eq!(found.status, 200, "{filter}: {}", found.raw);
    let mut names: Vec<String> = found.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn filter_operators_precedence_and_value_paths() {
    let stack = Stack::start().await.unwrap();
    for (user, title_email, active) in [
        ("ann@corp.test", "ann@work.test", true),
        ("bob@corp.test", "bob@home.test", false),
        ("cy@other.test", "cy@work.test", true),
    ] {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user, "active": active, "displayName": user.split('@').next().unwrap(),
            "emails": [{"value": title_email, "type": if title_email.contains("work") {"work"} else {"home"}}]});
        assert_eq!(stack.scim("POST", "/Users", Some(body)).await.status, 201);
    }
    assert_eq!(names(&stack, "userName sw \"a\"").await, ["ann@corp.test"]);
    assert_eq!(
        names(&stack, "userName ew \"corp.test\"").await,
        ["ann@corp.test", "bob@corp.test"]
    );
    assert_eq!(
        names(&stack, "userName co \"OB@\"").await,
        ["bob@corp.test"]
    );
    assert_eq!(
        names(&stack, "userName ne \"ann@corp.test\"").await,
        ["bob@corp.test", "cy@other.test"]
    );
    assert_eq!(
        names(&stack, "userName gt \"b\" and userName lt \"c\"").await,
        ["bob@corp.test"]
    );
    assert_eq!(names(&stack, "displayName pr").await.len(), 3);
    assert_eq!(
        names(&stack, "not (active eq true)").await,
        ["bob@corp.test"]
    );
    // and binds tighter than or.
    assert_eq!(
        names(
            &stack,
            "userName sw \"cy\" or userName sw \"a\" and active eq false"
        )
        .await,
        ["cy@other.test"]
    );
    assert_eq!(
        names(
            &stack,
            "(userName sw \"cy\" or userName sw \"a\") and active eq true"
        )
        .await,
        ["ann@corp.test", "cy@other.test"]
    );
    assert_eq!(
        names(
            &stack,
            "emails[type eq \"work\" and value co \"@work.test\"]"
        )
        .await,
        ["ann@corp.test", "cy@other.test"]
    );
    assert_eq!(
        names(
            &stack,
            "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"ann@corp.test\""
        )
        .await,
        ["ann@corp.test"]
    );
    assert_eq!(
        names(&stack, "meta.created gt \"2000-01-01T00:00:00Z\"")
            .await
            .len(),
        3
    );
    assert!(
        names(&stack, "meta.lastModified lt \"2000-01-01T00:00:00Z\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn filter_invalid_400_invalidFilter() {
    let stack = Stack::start().await.unwrap();
    for filter in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "emails[type eq \"work\"",
        "userName eq \"a\" and",
        "noSuchAttribute eq \"x\"",
        "\"quoted\" eq userName",
    ] {
        let response = stack
            .scim("GET", &format!("/Users?filter={}", q(filter)), None)
            .await;
        assert_scim_error(&response, 400, Some("invalidFilter"));
    }
    let groups = stack
        .scim(
            "GET",
            &format!("/Groups?filter={}", q("owner eq \"x\"")),
            None,
        )
        .await;
    assert_scim_error(&groups, 400, Some("invalidFilter"));
    // Nested beyond what any IdP sends: still a clean 400, not a 500 from the transport.
    let deep = format!("{}userName pr{}", "(not (".repeat(30), "))".repeat(30));
    let response = stack
        .scim("GET", &format!("/Users?filter={}", q(&deep)), None)
        .await;
    assert_scim_error(&response, 400, Some("invalidFilter"));
    let nested: Value =
        serde_json::from_str(&format!("{}1{}", "[".repeat(60), "]".repeat(60))).unwrap();
    let id = stack.create_user("deep@x.test").await;
    let body = patch(json!([{"op": "add", "path": "nickName", "value": nested}]));
    let response = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(body))
        .await;
    assert_scim_error(&response, 400, Some("invalidValue"));
}

#[tokio::test]
async fn attributes_and_excludedAttributes() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "attr@x.test", "displayName": "A", "title": "T"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let only = stack
        .scim("GET", &format!("/Users/{id}?attributes=displayName"), None)
        .await;
    assert_eq!(only.body["id"], id, "id is always returned");
    assert_eq!(only.body["displayName"], "A");
    assert!(only.body.get("title").is_none() && only.body.get("userName").is_none());
    let without = stack
        .scim(
            "GET",
            &format!("/Users/{id}?excludedAttributes=title"),
            None,
        )
        .await;
    assert!(without.body.get("title").is_none());
    assert_eq!(without.body["userName"], "attr@x.test");
    let list = stack.scim("GET", "/Users?attributes=userName", None).await;
    assert_eq!(list.body["Resources"][0]["userName"], "attr@x.test");
    assert!(list.body["Resources"][0].get("displayName").is_none());
}

#[tokio::test]
async fn sorting() {
    let stack = Stack::start().await.unwrap();
    for name in ["m@x.test", "a@x.test", "z@x.test"] {
        stack.create_user(name).await;
    }
    let asc = stack.scim("GET", "/Users?sortBy=userName", None).await;
    assert_eq!(asc.status, 200, "{}", asc.raw);
    let order: Vec<&str> = asc.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["a@x.test", "m@x.test", "z@x.test"]);
    let desc = stack
        .scim("GET", "/Users?sortBy=userName&sortOrder=descending", None)
        .await;
    let order: Vec<&str> = desc.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["z@x.test", "m@x.test", "a@x.test"]);
    let spc = stack.scim("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.body["sort"]["supported"], true);
}

#[tokio::test]
async fn search_post() {
    let stack = Stack::start().await.unwrap();
    stack.create_user("search@x.test").await;
    stack.create_user("other@x.test").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"search@x.test\"", "attributes": ["userName"], "startIndex": 1, "count": 10});
    let found = stack.scim("POST", "/Users/.search", Some(body)).await;
    assert_eq!(found.status, 200, "{}", found.raw);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["userName"], "search@x.test");
    stack.create_group("Searchable", &[]).await;
    let groups = stack
        .scim(
            "POST",
            "/Groups/.search",
            Some(json!({"filter": "displayName eq \"searchable\""})),
        )
        .await;
    assert_eq!(groups.status, 200, "{}", groups.raw);
    assert_eq!(groups.body["totalResults"], 1);
}

#[tokio::test]
async fn patch_add_appends_and_primary_is_exclusive() {
    let stack = Stack::start().await.unwrap();
    let created = stack.scim("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "p@x.test", "emails": [{"value": "one@x.test", "type": "work", "primary": true}]}))).await;
    let id = created.body["id"].as_str().unwrap();
    let added = stack.scim("PATCH", &format!("/Users/{id}"), Some(patch(json!([{"op": "add", "path": "emails", "value": [{"value": "two@x.test", "type": "home", "primary": true}]}])))).await;
    assert_eq!(added.status, 200, "{}", added.raw);
    let emails = added.body["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2, "add appends to a multi-valued attribute");
    let primaries: Vec<&str> = emails
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, ["two@x.test"], "a new primary clears the others");
}

#[tokio::test]
async fn patch_errors_and_atomicity() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "atomic@x.test", "displayName": "Before"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let no_path = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(json!([{"op": "remove"}]))),
        )
        .await;
    assert_scim_error(&no_path, 400, Some("noTarget"));
    let read_only = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "id", "value": "x"}]),
            )),
        )
        .await;
    assert_scim_error(&read_only, 400, Some("mutability"));
    let bad_path = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            )),
        )
        .await;
    assert_scim_error(&bad_path, 400, Some("invalidPath"));
    let mixed = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(json!([
            {"op": "replace", "path": "displayName", "value": "After"},
            {"op": "replace", "path": "meta", "value": {}}]))),
        )
        .await;
    assert_eq!(mixed.status, 400);
    let after = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(
        after.body["displayName"], "Before",
        "a failed PATCH changes nothing"
    );
}

#[tokio::test]
async fn put_replace() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "put@x.test", "title": "Old", "nickName": "N"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let put = stack.scim("PUT", &format!("/Users/{id}"), Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "ignored", "meta": {"version": "x"}, "userName": "put@x.test", "title": "New"}))).await;
    assert_eq!(put.status, 200, "{}", put.raw);
    assert_eq!(put.body["id"], id, "the id in the body is ignored");
    assert_eq!(put.body["title"], "New");
    assert!(
        put.body.get("nickName").is_none(),
        "omitted attributes are cleared by a replacement"
    );
    let unknown = stack
        .scim(
            "PUT",
            "/Users/00000000-0000-7000-8000-000000000000",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@x.test"})),
        )
        .await;
    assert_scim_error(&unknown, 404, None);
}

#[tokio::test]
async fn delete_user_semantics() {
    let stack = Stack::start().await.unwrap();
    let id = stack.create_user("del@x.test").await;
    assert_eq!(
        stack
            .scim("DELETE", &format!("/Users/{id}"), None)
            .await
            .status,
        204
    );
    for (method, body) in [
        ("GET", None),
        (
            "PUT",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "del@x.test"}),
            ),
        ),
        (
            "PATCH",
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
        ),
        ("DELETE", None),
    ] {
        let response = stack.scim(method, &format!("/Users/{id}"), body).await;
        assert_scim_error(&response, 404, None);
    }
    assert_eq!(
        stack
            .scim(
                "GET",
                &format!("/Users?filter={}", q("userName eq \"del@x.test\"")),
                None
            )
            .await
            .body["totalResults"],
        0
    );
}

#[tokio::test]
async fn etag_if_match_412() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@x.test"})))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let etag = created.header("etag").unwrap().to_owned();
    let auth = format!("Bearer {}", stack.token);
    let not_modified = stack
        .request(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, 304);
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "etag@x.test", "title": "x"}).to_string();
    let ok = stack
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(body.clone()),
            &[("authorization", &auth), ("if-match", &etag)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    let stale = stack
        .request(
            "PUT",
            &format!("/Users/{id}"),
            Some(body),
            &[("authorization", &auth), ("if-match", &etag)],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.raw);
    let stale_delete = stack
        .request(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            &[("authorization", &auth), ("if-match", &etag)],
        )
        .await;
    assert_eq!(stale_delete.status, 412);
    let changed = stack
        .request(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(
        stack.scim("GET", "/ServiceProviderConfig", None).await.body["etag"]["supported"],
        true
    );
}

#[tokio::test]
async fn discovery_resource_types_and_schemas() {
    let stack = Stack::start().await.unwrap();
    let types = stack.scim("GET", "/ResourceTypes", None).await;
    let names: Vec<&str> = types.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"User") && names.contains(&"Group"),
        "{names:?}"
    );
    let group = stack.scim("GET", "/ResourceTypes/Group", None).await;
    assert_eq!(group.status, 200);
    assert_eq!(group.body["endpoint"], "/Groups");
    let schema = stack
        .scim(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    assert_eq!(schema.status, 200, "{}", schema.raw);
    let attributes: Vec<&Value> = schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(attributes.iter().any(|a| a["name"] == "members"));
    let unknown = stack.scim("GET", "/Schemas/urn:nope", None).await;
    assert_scim_error(&unknown, 404, None);
}
