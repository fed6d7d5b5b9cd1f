//! What an SRE relies on: health, reflection, the service credential.

use directory_proto::v1 as pb;
use e2e_tests::Stack;

#[tokio::test]
async fn directory_health_reflection_and_credential() {
    let stack = Stack::start().await.unwrap();
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", stack.directory.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();

    // Health needs no credential (Kubernetes probes).
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "directory.v1.Directory".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    // Reflection lists the service (for callers holding the credential).
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut anonymous = ServerReflectionClient::new(channel.clone());
    let refused = anonymous
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        }]))
        .await;
    assert_eq!(
        refused.unwrap_err().code(),
        tonic::Code::Unauthenticated,
        "reflection needs the credential"
    );
    let mut reflection = ServerReflectionClient::with_interceptor(
        channel.clone(),
        e2e_tests::CredentialInterceptor(stack.credential.clone()),
    );
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reflection reply");
    };
    assert!(list.service.iter().any(|s| s.name == "directory.v1.Users"));

    // Without the credential every directory RPC is refused.
    let mut bare = pb::workspaces_client::WorkspacesClient::new(channel);
    let refused = bare
        .list_workspaces(pb::ListWorkspacesRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    // With it, the workspace is there.
    let listed = stack
        .grpc()
        .await
        .unwrap()
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest {})
        .await
        .unwrap();
    assert_eq!(listed.into_inner().workspaces.len(), 1);
}

#[tokio::test]
async fn grpc_errors_carry_error_info_reasons() {
    use tonic_types::StatusExt;
    let stack = Stack::start().await.unwrap();
    let client = stack.grpc().await.unwrap();
    let attributes = pb::UserAttributes {
        user_name: "a@x.test".into(),
        active: Some(true),
        ..Default::default()
    };
    client
        .users()
        .create_user(pb::CreateUserRequest {
            workspace_id: stack.workspace_id.clone(),
            attributes: Some(attributes.clone()),
        })
        .await
        .unwrap();
    let duplicate = client
        .users()
        .create_user(pb::CreateUserRequest {
            workspace_id: stack.workspace_id.clone(),
            attributes: Some(attributes),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), tonic::Code::AlreadyExists);
    assert_eq!(
        duplicate.get_details_error_info().unwrap().reason,
        "UNIQUENESS"
    );
    let missing = client
        .users()
        .get_user(pb::GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            id: uuid_nil(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(
        missing.get_details_error_info().unwrap().reason,
        "NOT_FOUND"
    );
}

fn uuid_nil() -> String {
    "00000000-0000-0000-0000-000000000000".into()
}
