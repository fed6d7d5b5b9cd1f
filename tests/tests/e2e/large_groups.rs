//! Groups far larger than tonic's default 4 MiB gRPC message: a 100k-member group used
//! to answer 500 on `GET /Groups/{id}`, then was read whole into one 8 MiB message; now
//! it is streamed through both hops (`GroupMembers.StreamGroupMembers`, a chunked body).

use e2e_tests::Stack;

const MEMBERS: usize = 100_000;

#[tokio::test]
async fn a_group_of_100k_members_is_returned_whole() {
    let stack = Stack::start().await.unwrap();
    let template = stack.create_user("template@big.test").await;
    let group = stack.create_group("Everyone", &[]).await;
    stack
        .seed_members(
            &template,
            std::slice::from_ref(&group),
            MEMBERS,
            "big.test",
            0,
        )
        .await;

    let full = stack.scim("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(full.status, 200, "{}", &full.raw[..full.raw.len().min(500)]);
    assert_eq!(
        full.headers
            .get("transfer-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("chunked"),
        "streamed, not buffered: {:?}",
        full.headers
    );
    assert!(full.headers.get("content-length").is_none());
    let etag = full.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(full.body["meta"]["version"], etag.as_str());
    assert_eq!(full.body["id"], group.as_str());
    assert_eq!(full.body["displayName"], "Everyone");
    let members = full.body["members"].as_array().expect("members");
    assert_eq!(members.len(), MEMBERS);
    for member in members {
        assert_eq!(member["type"], "User");
        assert!(
            member["$ref"]
                .as_str()
                .unwrap()
                .ends_with(member["value"].as_str().unwrap())
        );
    }
    let distinct: std::collections::HashSet<&str> = members
        .iter()
        .map(|m| m["value"].as_str().expect("member value"))
        .collect();
    assert_eq!(distinct.len(), MEMBERS);
    // The same version answers 304 without reading the members.
    let unchanged = stack
        .request(
            "GET",
            &format!("/Groups/{group}"),
            None,
            &[
                ("authorization", &format!("Bearer {}", stack.token)),
                ("if-none-match", &etag),
            ],
        )
        .await;
    assert_eq!(unchanged.status, 304);
    // And the count without loading them.
    let slim = stack
        .scim(
            "GET",
            &format!("/Groups/{group}?excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(slim.status, 200);
    assert!(slim.body.get("members").is_none());
}
