//! One function per operation: opens a [`write::Write`], loads, applies the domain rules,
//! writes and records what changed, then `Write::commit` checks the workspace rules on the
//! state after the change and commits. Reads use the pool directly.

pub mod attribute_mappings;
pub mod credentials;
pub mod custom_attributes;
pub mod events;
pub mod groups;
pub mod licenses;
pub mod oauth;
pub mod rate_limits;
pub mod request_log;
pub mod retry;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspace_config;
pub mod workspaces;
pub mod write;
