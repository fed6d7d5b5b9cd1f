//! One module per noun; each returns the text to print on stdout.

pub mod attribute_mappings;
pub mod attributes;
pub mod clients;
pub mod credentials;
pub mod events;
pub mod groups;
pub mod import;
pub mod licenses;
pub mod members;
pub mod rate_limits;
pub mod requests;
pub mod role_mappings;
pub mod subscriptions;
pub mod tokens;
pub mod up;
pub mod users;
pub mod workspaces;
