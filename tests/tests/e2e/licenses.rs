//! Subscriptions, license groups, direct licenses and roles through `scimctl` and SCIM.

use e2e_tests::{Stack, assert_scim_error, patch};
use serde_json::{Value, json};

const SUBSCRIPTION: &str = "sub_1RqpMYGCs0LNOzY9UszOGJkL";
const GROUP_NAME: &str = "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL";

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "scimctl failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Asserts that scimctl failed and returns its stderr.
#[track_caller]
fn failure_of(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "scimctl should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn create_subscription(stack: &Stack, seats: &str) -> Value {
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "create",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
        "--plan",
        "Enterprise Plan",
        "--product",
        "AWS",
        "--seats",
        seats,
    ]))
}

/// The one subscription of `acme`, from `scimctl subscription list --output json`.
fn listed_subscription(stack: &Stack) -> Value {
    let listed = json_of(&stack.scimctl(&[
        "subscription",
        "list",
        "--workspace",
        "acme",
        "--output",
        "json",
    ]));
    let listed = listed.as_array().expect("an array");
    assert_eq!(listed.len(), 1, "{listed:?}");
    listed[0].clone()
}

fn sorted_strings(value: &Value) -> Vec<String> {
    let mut strings: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect();
    strings.sort();
    strings
}

fn user_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users: {list}"))
        .iter()
        .map(|u| u["user_name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn member_show(stack: &Stack, user: &str) -> Value {
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "show",
        "--workspace",
        "acme",
        "--user",
        user,
    ]))
}

#[tokio::test]
async fn license_group_push() {
    let stack = Stack::start().await.unwrap();
    let created = create_subscription(&stack, "2");
    assert_eq!(created["group_name"], GROUP_NAME);
    assert_eq!(created["subscription_id"], SUBSCRIPTION);
    assert_eq!(created["seats"], 2);
    assert_eq!(created["seats_used"], 0);
    assert_eq!(created["group_id"], Value::Null);

    let alice = stack.create_user("alice@x.test").await;
    let bob = stack.create_user("bob@x.test").await;
    let carol = stack.create_user("carol@x.test").await;
    // The IdP pushes the group with the exact name scimctl printed.
    let group = stack
        .create_group(created["group_name"].as_str().unwrap(), &[&alice, &bob])
        .await;

    let listed = listed_subscription(&stack);
    assert_eq!(listed["seats"], 2);
    assert_eq!(listed["seats_used"], 2);
    assert_eq!(listed["group_name"], GROUP_NAME);
    assert_eq!(listed["group_id"], group.as_str());
    assert_eq!(
        sorted_strings(&listed["holders"]),
        ["alice@x.test", "bob@x.test"]
    );
    assert!(listed["created"].is_string());

    let table = stack.scimctl(&["subscription", "list", "--workspace", "acme"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    let row = table.lines().nth(1).expect("one row");
    assert!(
        row.contains("  2/2  ") && row.contains(GROUP_NAME) && row.contains(&group),
        "{table}"
    );
    assert!(
        row.contains("alice@x.test") && row.contains("bob@x.test"),
        "{table}"
    );

    let holders = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "holders",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
    ]));
    assert_eq!(holders["total_results"], 2);
    assert_eq!(user_names(&holders), ["alice@x.test", "bob@x.test"]);

    // A third member would take a third seat of two.
    let add = stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": carol}]}]),
            )),
        )
        .await;
    let detail = assert_scim_error(&add, 409, None);
    assert!(
        detail.contains(SUBSCRIPTION) && detail.contains("2 seats"),
        "{detail}"
    );
    let mut expected = vec![alice, bob];
    expected.sort();
    assert_eq!(stack.member_ids(&group).await, expected, "nothing changed");
    assert_eq!(listed_subscription(&stack)["seats_used"], 2);
}

#[tokio::test]
async fn license_assign_revoke_and_one_seat() {
    let stack = Stack::start().await.unwrap();
    create_subscription(&stack, "1");
    let alice = stack.create_user("alice@x.test").await;
    stack.create_user("bob@x.test").await;
    let license = |verb: &str, user: &str| {
        stack.scimctl(&[
            "--output",
            "json",
            "license",
            verb,
            "--workspace",
            "acme",
            "--subscription-id",
            SUBSCRIPTION,
            "--user",
            user,
        ])
    };

    // By userName (any case, as SCIM `userName eq`).
    let assigned = json_of(&license("assign", "Alice@X.test"));
    assert_eq!(assigned["subscription_id"], SUBSCRIPTION);
    assert_eq!(assigned["seats_used"], 1);
    assert_eq!(assigned["group_id"], Value::Null);
    assert_eq!(
        member_show(&stack, "alice@x.test")["licenses"],
        json!([SUBSCRIPTION])
    );

    // The only seat is taken: another user is refused, with the directory's conflict.
    let stderr = failure_of(&license("assign", "bob@x.test"));
    assert!(
        stderr.contains("grpc status FAILED_PRECONDITION, reason CONFLICT")
            && stderr.contains(SUBSCRIPTION),
        "{stderr}"
    );
    let stderr = failure_of(&license("assign", "nobody@x.test"));
    assert!(stderr.contains("nobody@x.test"), "{stderr}");

    // The license group with the same user: still one seat.
    let group = stack.create_group(GROUP_NAME, &[&alice]).await;
    let listed = listed_subscription(&stack);
    assert_eq!(listed["seats_used"], 1);
    assert_eq!(listed["group_id"], group.as_str());
    assert_eq!(listed["holders"], json!(["alice@x.test"]));

    // Revoking the direct assignment (by id this time) leaves the group's license.
    let revoked = json_of(&license("revoke", &alice));
    assert_eq!(revoked["seats_used"], 1);
    let listed = listed_subscription(&stack);
    assert_eq!(listed["seats_used"], 1);
    assert_eq!(listed["holders"], json!(["alice@x.test"]));
    assert_eq!(
        member_show(&stack, &alice)["licenses"],
        json!([SUBSCRIPTION])
    );

    // Nothing direct is left to revoke.
    let stderr = failure_of(&license("revoke", "alice@x.test"));
    assert!(stderr.contains("grpc status NOT_FOUND"), "{stderr}");
    assert_eq!(listed_subscription(&stack)["seats_used"], 1);
}

#[tokio::test]
async fn member_set_role_counts_for_last_admin() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let bob = stack.create_user("bob@x.test").await;
    let admins = stack.create_group("LocalStack-Admin", &[&alice]).await;
    let admins_path = format!("/Groups/{admins}");
    let remove_alice = || {
        stack.scim(
            "PATCH",
            &admins_path,
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
            )),
        )
    };
    let detail = assert_scim_error(&remove_alice().await, 409, None);
    assert!(
        detail.contains("Cannot remove the last workspace admin"),
        "{detail}"
    );

    let set_role = |role: &str| {
        stack.scimctl(&[
            "member",
            "set-role",
            "--workspace",
            "acme",
            "--user",
            "bob@x.test",
            "--role",
            role,
            "--output",
            "json",
        ])
    };
    let granted = json_of(&set_role("admin"));
    assert_eq!(granted["user_id"], bob.as_str());
    assert_eq!(granted["active"], true);
    assert_eq!(granted["role"], "admin");
    assert_eq!(granted["granted_role"], "admin");

    let removed = remove_alice().await;
    assert!(
        removed.status == 204 || removed.status == 200,
        "{}",
        removed.raw
    );
    assert!(stack.member_ids(&admins).await.is_empty());

    let admins_listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "admins",
        "--workspace",
        "acme",
    ]));
    assert_eq!(admins_listed["total_results"], 1);
    assert_eq!(user_names(&admins_listed), ["bob@x.test"]);
    assert_eq!(admins_listed["users"][0]["id"], bob.as_str());

    // Bob is now the last admin: his grant cannot be withdrawn.
    let stderr = failure_of(&set_role("none"));
    assert!(
        stderr.contains("Cannot remove the last workspace admin")
            && stderr.contains("grpc status FAILED_PRECONDITION, reason CONFLICT"),
        "{stderr}"
    );
    assert_eq!(member_show(&stack, "bob@x.test")["role"], "admin");

    let shown = member_show(&stack, "alice@x.test");
    assert_eq!(shown["user_id"], alice.as_str());
    assert_eq!(shown["active"], true);
    assert_eq!(shown["role"], "none");
    assert_eq!(shown["granted_role"], "none");
    assert_eq!(shown["licenses"], json!([]));
}

#[tokio::test]
async fn deactivated_user_holds_no_role_or_license() {
    let stack = Stack::start().await.unwrap();
    create_subscription(&stack, "2");
    let carol = stack.create_user("carol@x.test").await;
    let dave = stack.create_user("dave@x.test").await;
    let erin = stack.create_user("erin@x.test").await;
    stack
        .create_group("LocalStack-Admin", &[&carol, &dave])
        .await;
    stack.create_group(GROUP_NAME, &[&carol, &erin]).await;

    let shown = member_show(&stack, &carol);
    assert_eq!(shown["active"], true);
    assert_eq!(shown["role"], "admin");
    assert_eq!(shown["licenses"], json!([SUBSCRIPTION]));
    assert_eq!(listed_subscription(&stack)["seats_used"], 2);

    let carol_path = format!("/Users/{carol}");
    let set_active = |active: bool| {
        stack.scim(
            "PATCH",
            &carol_path,
            Some(patch(
                json!([{"op": "replace", "value": {"active": active}}]),
            )),
        )
    };
    let deactivated = set_active(false).await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.raw);
    assert_eq!(deactivated.body["active"], false);

    let shown = member_show(&stack, &carol);
    assert_eq!(shown["active"], false);
    assert_eq!(shown["role"], "none");
    assert_eq!(shown["licenses"], json!([]));
    let listed = listed_subscription(&stack);
    assert_eq!(listed["seats_used"], 1);
    assert_eq!(listed["holders"], json!(["erin@x.test"]));
    let admins = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "admins",
        "--workspace",
        "acme",
    ]));
    assert_eq!(user_names(&admins), ["dave@x.test"]);

    let reactivated = set_active(true).await;
    assert_eq!(reactivated.status, 200, "{}", reactivated.raw);
    let shown = member_show(&stack, "carol@x.test");
    assert_eq!(shown["active"], true);
    assert_eq!(shown["role"], "admin");
    assert_eq!(shown["licenses"], json!([SUBSCRIPTION]));
    let listed = listed_subscription(&stack);
    assert_eq!(listed["seats_used"], 2);
    assert_eq!(
        sorted_strings(&listed["holders"]),
        ["carol@x.test", "erin@x.test"]
    );
    let admins = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "admins",
        "--workspace",
        "acme",
    ]));
    assert_eq!(user_names(&admins), ["carol@x.test", "dave@x.test"]);
}

/// `scimctl subscription update --seats` never drops below the holders and seats waiting
/// members when it adds seats; `subscription delete` takes the license from its holders
/// and leaves the license group as a plain group.
async fn subscription_update_and_delete(stack: Stack) {
    create_subscription(&stack, "3");
    let alice = stack.create_user("alice@acme.test").await;
    let bob = stack.create_user("bob@acme.test").await;
    let carol = stack.create_user("carol@acme.test").await;
    let group = stack
        .create_group(GROUP_NAME, &[&alice, &bob, &carol])
        .await;
    let set_active = |id: String, active: bool| {
        let stack = &stack;
        async move {
            stack
                .scim(
                    "PATCH",
                    &format!("/Users/{id}"),
                    Some(patch(
                        json!([{"op": "replace", "path": "active", "value": active}]),
                    )),
                )
                .await
        }
    };
    let update = |seats: &str| {
        stack.scimctl(&[
            "--output",
            "json",
            "subscription",
            "update",
            "--workspace",
            "acme",
            "--subscription-id",
            SUBSCRIPTION,
            "--seats",
            seats,
        ])
    };

    // Three holders: two seats are refused with a message and exit code 4 (conflict).
    let refused = update("2");
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let stderr = failure_of(&refused);
    assert!(stderr.contains("3 license holders"), "{stderr}");
    assert_eq!(listed_subscription(&stack)["seats"], 3);

    // Carol leaves (deactivated), the seats shrink to two, Carol comes back and waits.
    assert_eq!(set_active(carol.clone(), false).await.status, 200);
    assert_eq!(json_of(&update("2"))["seats"], 2);
    assert_eq!(set_active(carol.clone(), true).await.status, 200);
    let listed = listed_subscription(&stack);
    assert_eq!(
        (&listed["seats_used"], &listed["seats_waiting"]),
        (&json!(2), &json!(1))
    );

    // A third seat goes to Carol at once.
    let updated = json_of(&update("3"));
    assert_eq!(
        (
            &updated["seats"],
            &updated["seats_used"],
            &updated["seats_waiting"]
        ),
        (&json!(3), &json!(3), &json!(0)),
        "{updated}"
    );

    let deleted = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "delete",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
    ]));
    assert_eq!(deleted["subscription_id"], SUBSCRIPTION);
    let listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "list",
        "--workspace",
        "acme",
    ]));
    assert_eq!(listed, json!([]));
    let alice_now = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "user",
        "show",
        "--workspace",
        "acme",
        "--user",
        &alice,
    ]));
    assert_eq!(alice_now["licenses"], json!([]), "{alice_now}");
    let group_now = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "group",
        "show",
        "--workspace",
        "acme",
        "--group",
        &group,
    ]));
    assert_eq!(group_now["kind"], "plain");
    assert_eq!(group_now["member_count"], 3);
    // Every change is an event, in order, with the subscription as it was written.
    let events =
        json_of(&stack.scimctl(&["--output", "json", "events", "list", "--workspace", "acme"]));
    let subscription_events: Vec<(String, Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("subscription."))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["subscription"]["seats"].clone(),
            )
        })
        .collect();
    assert_eq!(
        subscription_events,
        [
            ("subscription.created".to_owned(), json!(3)),
            ("subscription.updated".to_owned(), json!(2)),
            ("subscription.updated".to_owned(), json!(3)),
            ("subscription.deleted".to_owned(), json!(3)),
        ],
        "{events}"
    );
    let again = stack.scimctl(&[
        "subscription",
        "delete",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
    ]);
    assert_eq!(again.status.code(), Some(3), "{again:?}");
}

e2e_tests::on_both_backends!(subscription_update_and_delete);
