#!/usr/bin/env bash
# The one-command local stack: builds the binaries, then `scimctl up` starts the directory
# on SQLite (./data) and the SCIM gateway, creates the default workspace, issues a
# bootstrap token and prints the SCIM base URL and the token. Ctrl-C stops both.
#
#   ./scripts/up.sh [scimctl up flags...]     e.g. --gateway-listen 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
locked=()
[ -f Cargo.lock ] && locked=(--locked)
cargo build --workspace --bins "${locked[@]}"
exec target/debug/scimctl up "$@"
