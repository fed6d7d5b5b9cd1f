//! One module per noun; each returns the text to print on stdout.

pub mod attributes;
pub mod tokens;
pub mod up;
pub mod users;
pub mod workspaces;
