//! The typed calls for internal services, over gRPC on PostgreSQL: no SCIM document is
//! built, and the same rules as SCIM apply (read back through SCIM to prove it).

use directory_proto::v1 as pb;
use e2e_tests::Stack;
use tonic_types::StatusExt;

fn user_ref(stack: &Stack, id: &str) -> pb::UserRef {
    pb::UserRef {
        workspace_id: stack.workspace_id.clone(),
        id: id.to_owned(),
        expected_version: None,
    }
}

fn members_request(stack: &Stack, group: &str, ids: &[&str]) -> pb::GroupMembersRequest {
    pb::GroupMembersRequest {
        workspace_id: stack.workspace_id.clone(),
        group_id: group.to_owned(),
        user_ids: ids.iter().map(|id| id.to_string()).collect(),
        expected_version: None,
    }
}

fn reason(status: &tonic::Status) -> String {
    status.get_details_error_info().unwrap().reason
}

#[tokio::test]
async fn deactivate_and_reactivate_a_user_with_the_last_admin_rule() {
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    let ada = stack.create_user("ada@x.test").await;
    let off = client
        .users()
        .deactivate_user(user_ref(&stack, &ada))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(off.attributes.unwrap().active, Some(false));
    let read = stack.scim("GET", &format!("/Users/{ada}"), None).await;
    assert_eq!(read.body["active"], false, "{}", read.raw);
    let on = client
        .users()
        .reactivate_user(user_ref(&stack, &ada))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(on.attributes.unwrap().active, Some(true));
    assert_eq!(on.version, off.version + 1);

    // A stale version is refused, as If-Match is.
    let stale = client
        .users()
        .deactivate_user(pb::UserRef {
            expected_version: Some(off.version),
            ..user_ref(&stack, &ada)
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&stale), "VERSION_MISMATCH");

    // The only admin (through an admin role group) cannot be deactivated.
    stack.create_group("Workspace Admins", &[&ada]).await;
    let last_admin = client
        .users()
        .deactivate_user(user_ref(&stack, &ada))
        .await
        .unwrap_err();
    assert_eq!(
        last_admin.code(),
        tonic::Code::FailedPrecondition,
        "{last_admin:?}"
    );
    let read = stack.scim("GET", &format!("/Users/{ada}"), None).await;
    assert_eq!(read.body["active"], true);

    let unknown = client
        .users()
        .deactivate_user(user_ref(&stack, "0192a1b2-0000-7000-8000-000000000009"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn update_user_profile_writes_only_the_masked_fields() {
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(
                serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "grace@x.test",
                    "title": "Engineer",
                    "displayName": "Grace",
                    "name": {"givenName": "G", "familyName": "Hopper"},
                }),
            ),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let update = |attributes: pb::UserAttributes, paths: &[&str]| pb::UpdateUserProfileRequest {
        workspace_id: stack.workspace_id.clone(),
        id: id.clone(),
        attributes: Some(attributes),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
        expected_version: None,
    };
    let user = client
        .users()
        .update_user_profile(update(
            pb::UserAttributes {
                title: Some("Rear Admiral".into()),
                display_name: Some("ignored: not in the mask".into()),
                name: Some(pb::Name {
                    given_name: Some("Grace".into()),
                    ..Default::default()
                }),
                enterprise: Some(pb::EnterpriseUser {
                    department: Some("Navy".into()),
                    ..Default::default()
                }),
                emails: vec![pb::MultiValue {
                    value: "grace@navy.test".into(),
                    r#type: Some("work".into()),
                    primary: true,
                    display: None,
                }],
                ..Default::default()
            },
            &[
                "title",
                "name.given_name",
                "enterprise.department",
                "emails",
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    let attributes = user.attributes.unwrap();
    assert_eq!(attributes.title.as_deref(), Some("Rear Admiral"));
    assert_eq!(attributes.display_name.as_deref(), Some("Grace"));
    let name = attributes.name.unwrap();
    assert_eq!(name.given_name.as_deref(), Some("Grace"));
    assert_eq!(name.family_name.as_deref(), Some("Hopper"));
    assert_eq!(
        attributes.enterprise.unwrap().department.as_deref(),
        Some("Navy")
    );
    let read = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(read.body["emails"][0]["value"], "grace@navy.test");
    assert_eq!(read.body["title"], "Rear Admiral");

    // A masked field left unset is cleared; a field that is not writable is refused whole.
    let cleared = client
        .users()
        .update_user_profile(update(pb::UserAttributes::default(), &["title"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cleared.attributes.unwrap().title, None);
    for paths in [&["groups"][..], &["name.nick"], &[]] {
        let err = client
            .users()
            .update_user_profile(update(pb::UserAttributes::default(), paths))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{paths:?}");
    }
    // userName keeps its rules.
    let err = client
        .users()
        .update_user_profile(update(pb::UserAttributes::default(), &["user_name"]))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "INVALID_VALUE");
}

#[tokio::test]
async fn lookup_user_by_user_name_external_id_or_email() {
    use pb::lookup_user_request::Key;
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(
                serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "Linus@x.test",
                    "externalId": "ext-42",
                    "emails": [{"value": "linus@mail.test", "type": "work", "primary": true}],
                }),
            ),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    stack.create_user("other@x.test").await;
    for key in [
        Key::UserName("linus@X.TEST".into()),
        Key::ExternalId("ext-42".into()),
        Key::Email("linus@mail.test".into()),
    ] {
        let found = client
            .users()
            .lookup_user(pb::LookupUserRequest {
                workspace_id: stack.workspace_id.clone(),
                key: Some(key.clone()),
            })
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e:?}"))
            .into_inner();
        assert_eq!(found.id, id, "{key:?}");
    }
    let missing = client
        .users()
        .lookup_user(pb::LookupUserRequest {
            workspace_id: stack.workspace_id.clone(),
            key: Some(Key::ExternalId("ext-43".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let no_key = client
        .users()
        .lookup_user(pb::LookupUserRequest {
            workspace_id: stack.workspace_id.clone(),
            key: None,
        })
        .await
        .unwrap_err();
    assert_eq!(no_key.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn describe_user_shows_groups_role_and_metadata() {
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    for (source, destination) in [
        ("title", "public_metadata.job"),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
            "organization_role",
        ),
    ] {
        client
            .attributes()
            .set_attribute_mapping(pb::SetAttributeMappingRequest {
                workspace_id: stack.workspace_id.clone(),
                mapping: Some(pb::AttributeMapping {
                    source: source.into(),
                    destination: destination.into(),
                    template: String::new(),
                }),
            })
            .await
            .unwrap();
    }
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], 
                "userName": "ada@x.test",
                "title": "Countess",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "analysts"},
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let ada = created.body["id"].as_str().unwrap().to_owned();
    let group = stack.create_group("Workspace Admins", &[&ada]).await;
    let description = client
        .users()
        .describe_user(user_ref(&stack, &ada))
        .await
        .unwrap()
        .into_inner();
    let user = description.user.unwrap();
    assert_eq!(user.id, ada);
    assert_eq!(user.groups.len(), 1);
    assert_eq!(user.groups[0].value, group);
    let metadata = directory_proto::json::struct_to_json(user.public_metadata.unwrap());
    assert_eq!(metadata["job"], "Countess");
    assert_eq!(user.organization_role, "analysts");
    let access = description.access.unwrap();
    assert_eq!(access.role, pb::WorkspaceRole::Admin as i32);
    assert!(access.active);
    assert!(access.licenses.is_empty());
}

#[tokio::test]
async fn group_members_by_id() {
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    let a = stack.create_user("a@x.test").await;
    let b = stack.create_user("b@x.test").await;
    let c = stack.create_user("c@x.test").await;
    let group = stack.create_group("Team", &[]).await;
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    let added = client
        .groups()
        .add_group_members(members_request(&stack, &group, &[&a, &b]))
        .await
        .unwrap()
        .into_inner();
    assert!(!added.members_included, "the answer leaves the members out");
    assert_eq!(
        stack.member_ids(&group).await,
        sorted(vec![a.clone(), b.clone()])
    );
    // Adding a member again changes nothing.
    let again = client
        .groups()
        .add_group_members(members_request(&stack, &group, &[&a]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.version, added.version);

    client
        .groups()
        .remove_group_members(members_request(&stack, &group, &[&a, &c]))
        .await
        .unwrap();
    assert_eq!(stack.member_ids(&group).await, vec![b.clone()]);

    client
        .groups()
        .replace_group_members(members_request(&stack, &group, &[&a, &c]))
        .await
        .unwrap();
    assert_eq!(
        stack.member_ids(&group).await,
        sorted(vec![a.clone(), c.clone()])
    );

    let stranger = client
        .groups()
        .add_group_members(members_request(&stack, &group, &["not-a-user"]))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), tonic::Code::InvalidArgument);
    client
        .groups()
        .replace_group_members(members_request(&stack, &group, &[]))
        .await
        .unwrap();
    assert!(stack.member_ids(&group).await.is_empty());
}
