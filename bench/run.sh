#!/usr/bin/env bash
# Runs the benchmark (see BENCHMARKS.md):
#
#   bench/run.sh                      # every scenario, 10 s each, 1M users (~10 min after the build)
#   bench/run.sh --smoke              # a few seconds on tiny data; non-zero exit on any error
#   bench/run.sh --only get_user_by_id,cursor   # some scenarios (others are skipped, seeding is not)
#
# Builds the release binaries, starts a private throwaway PostgreSQL cluster
# (scripts/lib/postgres.sh) unless DATABASE_URL names a server (postgres://user@127.0.0.1:port,
# no database: the bench creates and drops its own), then runs target/release/scim-bench with
# the remaining arguments. Everything listens on and talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --workspace --bins

if [ -z "${DATABASE_URL:-}" ]; then
    # shellcheck source=scripts/lib/postgres.sh
    source scripts/lib/postgres.sh
    start_throwaway_postgres || { echo "no PostgreSQL: set DATABASE_URL" >&2; exit 1; }
    DATABASE_URL=$TEST_DATABASE_URL
fi

target_dir=${CARGO_TARGET_DIR:-target}
"$target_dir/release/scim-bench" --database-url "$DATABASE_URL" --bin-dir "$target_dir/release" "$@"
