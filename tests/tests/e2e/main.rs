//! End-to-end tests: real binaries, real Postgres, real HTTP and gRPC clients.
//! One test binary on purpose (each binary costs a link on a 2-core machine).

mod architecture;
mod bulk;
mod cli;
mod corpus;
mod credentials;
mod directory_tls;
mod discovery;
mod entra;
mod event_figures;
mod events;
mod faults;
mod hostile;
mod hostile_leftovers;
mod import;
mod large_groups;
mod licenses;
mod local_stack;
mod mappings;
mod nats;
mod oauth;
mod okta;
mod operations;
mod ops_metrics;
mod production;
mod rate_limits;
mod request_log;
mod rfc;
mod rules;
mod security;
mod token_policies;
mod tokens;
mod tracing;
mod typed_api;
mod users;
mod workspace;
