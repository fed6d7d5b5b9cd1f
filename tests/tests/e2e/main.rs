//! End-to-end tests: real binaries, real Postgres, real HTTP and gRPC clients.
//! One test binary on purpose (each binary costs a link on a 2-core machine).

mod architecture;
mod cli;
mod discovery;
mod local_stack;
mod operations;
mod tokens;
mod tracing;
mod users;
