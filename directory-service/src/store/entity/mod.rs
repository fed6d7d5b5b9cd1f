//! SeaORM entities. Column meaning is documented on the migration that creates it.

pub mod attribute_mapping;
pub mod custom_attribute;
pub mod event;
pub mod group;
pub mod group_member;
pub mod license_grant;
pub mod license_wait;
pub mod oauth_client;
pub mod oauth_client_secret;
pub mod rate_limit;
pub mod request_log;
pub mod role_grant;
pub mod role_mapping;
pub mod scim_token;
pub mod service_credential;
pub mod subscription;
pub mod user;
pub mod user_email;
pub mod webhook_attempt;
pub mod webhook_endpoint;
pub mod workspace;
pub mod workspace_allow_list;
