//! SeaORM entities. Column meaning is documented on the migration that creates it.

pub mod scim_token;
pub mod user;
pub mod workspace;
