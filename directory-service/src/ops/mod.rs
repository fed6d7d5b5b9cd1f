//! One function per operation: opens the transaction, loads, applies the domain rules,
//! writes, commits. Later steps (audit row, outbox event, derived roles and seats) join
//! the same transaction here, in a fixed order.

pub mod attribute_mappings;
pub mod custom_attributes;
pub mod events;
pub mod groups;
pub mod licenses;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspaces;
