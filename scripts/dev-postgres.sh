#!/usr/bin/env bash
# A private throwaway PostgreSQL cluster for working on the tests by hand.
#
#   scripts/dev-postgres.sh
#       Starts the cluster, prints the TEST_DATABASE_URL to export in another shell,
#       and stays in the foreground; Ctrl-C stops the cluster and deletes its data.
#
#   scripts/dev-postgres.sh COMMAND [ARGS...]
#       Starts the cluster, runs COMMAND with TEST_DATABASE_URL set, then stops it:
#       scripts/dev-postgres.sh cargo test -p directory-service
#
# Same cluster as ./scripts/test.sh starts (scripts/lib/postgres.sh).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib/postgres.sh
source "$repo_root/scripts/lib/postgres.sh"

if ! start_throwaway_postgres; then
    echo "ERROR: could not start a throwaway PostgreSQL cluster (see messages above)." >&2
    exit 1
fi

if [ "$#" -gt 0 ]; then
    # Not exec: the EXIT trap must run afterwards to stop the cluster.
    status=0
    "$@" || status=$?
    exit "$status"
fi

cat <<EOF

$("$THROWAWAY_PG_BIN/postgres" --version) is running on 127.0.0.1:$THROWAWAY_PG_PORT (data in $THROWAWAY_PG_DIR, deleted on stop).

In another shell:
    export TEST_DATABASE_URL=$TEST_DATABASE_URL
    ./scripts/test.sh            # or: cargo test --workspace
    psql "\$TEST_DATABASE_URL"    # a shell on the maintenance database

Stop it with Ctrl-C here (or: kill $$).
EOF

# Wait in the foreground; notice if the server dies on its own.
pidfile="$THROWAWAY_PG_DIR/data/postmaster.pid"
postmaster_pid=$(head -n 1 "$pidfile")
while kill -0 "$postmaster_pid" 2>/dev/null; do
    sleep 2 &
    wait $! || true
done
echo "ERROR: the PostgreSQL server exited on its own; last lines of its log:" >&2
tail -n 20 "$THROWAWAY_PG_DIR/server.log" >&2 || true
exit 1
