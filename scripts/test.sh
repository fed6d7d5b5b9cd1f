#!/usr/bin/env bash
# The test command: ./scripts/test.sh [extra `cargo test` args...]
#
#   1. Postgres: uses $TEST_DATABASE_URL if set; otherwise starts a private throwaway
#      cluster (scripts/lib/postgres.sh) that is stopped and deleted when this exits.
#   2. cargo build --workspace --bins   (the e2e tests spawn these from target/debug)
#   3. cargo test --workspace "$@"
#
# Examples:
#   ./scripts/test.sh
#   ./scripts/test.sh -p directory-service
#   ./scripts/test.sh -p e2e-tests -- --nocapture
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432 ./scripts/test.sh
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source=SCRIPTDIR/lib/postgres.sh
source scripts/lib/postgres.sh

export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

locked=()
if [ -f Cargo.lock ]; then
    locked=(--locked)
fi

script_start=$SECONDS
phase_start=$SECONDS
phase() {
    phase_start=$SECONDS
    printf '\n==== %s\n' "$*"
}
phase_done() {
    printf -- '---- %s: %ss\n' "$1" "$((SECONDS - phase_start))"
}
die() {
    printf '\nERROR: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------
phase "[1/3] PostgreSQL for tests"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "using TEST_DATABASE_URL from the environment: ${TEST_DATABASE_URL}"
    # Fail early (CI) or warn (locally) if it does not answer; never skip silently.
    if command -v pg_isready >/dev/null 2>&1; then
        if ! pg_isready -q -d "$TEST_DATABASE_URL" -t 5; then
            if [ "${CI:-}" = "true" ]; then
                die "TEST_DATABASE_URL=$TEST_DATABASE_URL does not accept connections (pg_isready failed)"
            fi
            echo "WARNING: TEST_DATABASE_URL=$TEST_DATABASE_URL does not accept connections (pg_isready); Postgres tests will fail or report skips" >&2
        fi
    fi
elif ! start_throwaway_postgres; then
    if [ "${CI:-}" = "true" ]; then
        die "CI=true and a throwaway PostgreSQL cluster could not be started (see messages above). Tests against Postgres must not be skipped in CI."
    fi
    die "could not start a throwaway PostgreSQL cluster (see messages above).
Either install PostgreSQL server binaries (Debian: apt-get install postgresql) and rerun,
or point the tests at a server you already have, e.g.
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432 ./scripts/test.sh
(the role needs CREATE DATABASE: every test creates its own database)."
fi
export TEST_DATABASE_URL
phase_done "postgres"

# ---------------------------------------------------------------------------------------
phase "[2/3] cargo build --workspace --bins ${locked[*]}"
cargo build --workspace --bins "${locked[@]}"
phase_done "build"

# ---------------------------------------------------------------------------------------
phase "[3/3] cargo test --workspace ${locked[*]} $*"
cargo test --workspace "${locked[@]}" "$@"
phase_done "test"

printf '\n==== all phases passed in %ss\n' "$((SECONDS - script_start))"
