//! End-to-end tests: real binaries, real Postgres, real HTTP and gRPC clients.
//! One test binary on purpose (each binary costs a link on a 2-core machine).

mod architecture;
mod bulk;
mod cli;
mod credentials;
mod discovery;
mod entra;
mod events;
mod import;
mod large_groups;
mod licenses;
mod local_stack;
mod mappings;
mod oauth;
mod okta;
mod operations;
mod production;
mod rfc;
mod rules;
mod token_policies;
mod tokens;
mod tracing;
mod typed_api;
mod users;
mod workspace;
