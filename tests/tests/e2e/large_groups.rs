//! Groups far larger than tonic's default 4 MiB gRPC message: a 100k-member group used
//! to answer 500 on `GET /Groups/{id}`, then was read whole into one 8 MiB message; now
//! it is streamed through both hops (`GroupMembers.StreamGroupMembers`, a chunked body).

use e2e_tests::Stack;
use sea_orm::{ConnectionTrait, Database, Statement};

const MEMBERS: usize = 100_000;

/// Adds `MEMBERS` users (copies of `template`'s row with new ids and userNames) to `group`
/// straight in the database: creating them through the API would take minutes.
async fn seed_members(stack: &Stack, template: &str, group: &str) {
    let db = Database::connect(&stack.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let columns: Vec<String> = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT column_name FROM information_schema.columns \
             WHERE table_name = 'users' ORDER BY ordinal_position",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "column_name").unwrap())
        .collect();
    let select: Vec<String> = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" => "gen_random_uuid()".to_owned(),
            "user_name" | "user_name_key" => "'member' || s.i || '@big.test'".to_owned(),
            "external_id" => "NULL".to_owned(),
            other => format!("t.\"{other}\""),
        })
        .collect();
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    db.execute_unprepared(&format!(
        "INSERT INTO users ({}) SELECT {} FROM users t \
         CROSS JOIN generate_series(1, {MEMBERS}) AS s(i) WHERE t.id = '{template}'",
        quoted.join(", "),
        select.join(", "),
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO group_members (group_id, user_id, workspace_id, created_at) \
         SELECT '{group}', u.id, u.workspace_id, now() FROM users u \
         WHERE u.user_name LIKE 'member%@big.test'"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_group_of_100k_members_is_returned_whole() {
    let stack = Stack::start().await.unwrap();
    let template = stack.create_user("template@big.test").await;
    let group = stack.create_group("Everyone", &[]).await;
    seed_members(&stack, &template, &group).await;

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
