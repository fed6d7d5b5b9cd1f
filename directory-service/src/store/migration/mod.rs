//! Schema migrations. They run on PostgreSQL and on SQLite, at start-up and through the
//! `migrate` subcommand (a Kubernetes Job runs that before the Deployment rolls).

use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_groups_and_emails;
mod m0003_custom_attributes;
mod m0004_group_roles;
mod m0005_licenses_and_grants;
mod m0006_role_mappings;
mod m0007_attribute_mappings;
mod m0008_user_display_name_key;
mod m0009_case_keys;
mod m0009_license_waits;
mod m0010_events_and_webhooks;
mod m0011_credentials;
mod m0011b_token_scopes_and_rotation;
mod m0011c_oauth_clients;
mod m0012_request_log;
mod m0013_rate_limits;
mod m0014_workspace_allow_lists;
mod m0015_workspace_counts;
mod m0016_workspace_config_version;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_groups_and_emails::Migration),
            Box::new(m0003_custom_attributes::Migration),
            Box::new(m0004_group_roles::Migration),
            Box::new(m0005_licenses_and_grants::Migration),
            Box::new(m0006_role_mappings::Migration),
            Box::new(m0007_attribute_mappings::Migration),
            Box::new(m0008_user_display_name_key::Migration),
            Box::new(m0009_case_keys::Migration),
            Box::new(m0009_license_waits::Migration),
            Box::new(m0010_events_and_webhooks::Migration),
            Box::new(m0011_credentials::Migration),
            Box::new(m0011b_token_scopes_and_rotation::Migration),
            Box::new(m0011c_oauth_clients::Migration),
            Box::new(m0012_request_log::Migration),
            Box::new(m0013_rate_limits::Migration),
            Box::new(m0014_workspace_allow_lists::Migration),
            Box::new(m0015_workspace_counts::Migration),
            Box::new(m0016_workspace_config_version::Migration),
        ]
    }
}
