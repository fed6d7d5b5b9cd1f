#!/usr/bin/env bash
# SCIM 2.0 conformance check: scim2-tester (through scim2-cli's `scim test`) against the
# real binaries on PostgreSQL.
#
#   ./scripts/conformance.sh
#
#   1. Python venv with the pinned tester (scripts/conformance/requirements.txt), under
#      ${XDG_CACHE_HOME:-$HOME/.cache}/scim-conformance-venv (reused while the pins match);
#   2. cargo build --workspace --bins            (skipped with SKIP_BUILD=1);
#   3. PostgreSQL: $TEST_DATABASE_URL if set, else a private throwaway cluster
#      (scripts/lib/postgres.sh); a fresh database conf_<random> on it, dropped at the end;
#   4. directory-service and scim-gateway on 127.0.0.1:0 with a random credential;
#   5. scimctl: workspace `conformance` and a bearer token;
#   6. scim --url http://<gateway>/scim/v2 test -v   with header `Authorization: Bearer <token>`
#      (passed through SCIM_CLI_HEADERS, never on a command line).
#
# Output in target/conformance/: report.txt (the tester's full output), report.json (every
# result: status, check, reason, data), summary.txt, directory.log, gateway.log.
# Exit code: 0 only if the tester reports SUCCESS for every check (as `scim test` does: any
# other status, SKIPPED included, fails it).
#
# Environment:
#   TEST_DATABASE_URL      postgres://user@host:port of a server whose role may CREATE DATABASE
#   SKIP_BUILD=1           use the binaries already in target/debug
#   CONFORMANCE_VENV       venv directory (default above)
#   CONFORMANCE_PYTHON     interpreter for the venv (default: first python3.x >= 3.11 found)
#   CONFORMANCE_TIMEOUT    seconds the tester may run (default 900)
#   CONFORMANCE_KEEP_DB=1  keep the conf_* database after the run
#   CARGO_TARGET_DIR       honoured, like cargo does
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

here=scripts/conformance
requirements=$here/requirements.txt
target_dir=${CARGO_TARGET_DIR:-target}
bin_dir=$target_dir/debug
out_dir=$target_dir/conformance
venv=${CONFORMANCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/scim-conformance-venv}
tester_timeout=${CONFORMANCE_TIMEOUT:-900}
startup_timeout=60

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

# State the EXIT trap cleans up.
directory_pid=""
gateway_pid=""
tester_pid=""
db_name=""
db_server=""
psql_bin=""
started_postgres=""

# ---------------------------------------------------------------------------------------
# helpers

# postgres://user@host:port[/db][?params] with the database replaced by $2
# (the same rule as tests/src/lib.rs database_url).
database_url() {
    local server=$1 name=$2 base query="" rest authority
    base=${server%%\?*}
    if [ "$base" != "$server" ]; then
        query="?${server#*\?}"
    fi
    rest=${base#*://}
    authority=${rest%%/*}
    printf '%s://%s/%s%s' "${base%%://*}" "$authority" "$name" "$query"
}

find_psql() {
    if command -v psql >/dev/null 2>&1; then
        command -v psql
        return 0
    fi
    local candidate
    for candidate in "${THROWAWAY_PG_BIN:-/nonexistent}/psql" /usr/lib/postgresql/*/bin/psql; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

run_psql() {
    PGCONNECT_TIMEOUT=10 timeout 60 "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$@"
}

# Stop one child we started: SIGTERM, up to 10 s, then SIGKILL; reap it.
stop_child() {
    local pid=$1 name=$2 i
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "[conformance] $name (pid $pid) did not stop on SIGTERM: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT
    set +e
    stop_child "$tester_pid" scim2-tester
    tester_pid=""
    stop_child "$gateway_pid" scim-gateway
    gateway_pid=""
    stop_child "$directory_pid" directory-service
    directory_pid=""
    if [ -n "$db_name" ] && [ -n "$db_server" ] && [ -z "$started_postgres" ]; then
        # On a throwaway cluster the whole cluster goes away below; elsewhere drop our database.
        if [ "${CONFORMANCE_KEEP_DB:-}" = 1 ]; then
            echo "[conformance] kept database $db_name (CONFORMANCE_KEEP_DB=1)" >&2
        elif ! run_psql "$(database_url "$db_server" postgres)" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" 2>/dev/null &&
            ! run_psql "$(database_url "$db_server" postgres)" -c "DROP DATABASE IF EXISTS $db_name"; then
            echo "[conformance] WARNING: could not drop database $db_name" >&2
        fi
    fi
    if [ -n "$started_postgres" ]; then
        stop_throwaway_postgres
    fi
    exit "$rc"
}

# Wait until the child writes `LISTENING <addr>` to its stdout file; print <addr>.
wait_listening() {
    local pid=$1 name=$2 stdout_file=$3 log_file=$4 deadline=$((SECONDS + startup_timeout)) line
    while ((SECONDS < deadline)); do
        line=$(grep -m 1 '^LISTENING ' "$stdout_file" 2>/dev/null || true)
        if [ -n "$line" ]; then
            echo "${line#LISTENING }"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "[conformance] $name exited before listening; last lines of $log_file:" >&2
            tail -n 30 "$log_file" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    echo "[conformance] $name printed no LISTENING line within ${startup_timeout}s; last lines of $log_file:" >&2
    tail -n 30 "$log_file" >&2 || true
    return 1
}

random_hex() {
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

pick_python() {
    if [ -n "${CONFORMANCE_PYTHON:-}" ]; then
        echo "$CONFORMANCE_PYTHON"
        return 0
    fi
    local candidate
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------------------------------
phase "[1/6] SCIM tester (Python venv: $venv)"
[ -f "$requirements" ] || die "$requirements is missing"
stamp=$venv/.conformance-requirements
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp" &&
    "$venv/bin/python" -c 'import scim2_cli, scim2_tester' 2>/dev/null; then
    echo "reusing the venv (pins unchanged)"
else
    python=$(pick_python) || die "no Python >= 3.11 found (scim2-tester needs it); set CONFORMANCE_PYTHON"
    echo "creating the venv with $python ($("$python" --version 2>&1))"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! "$python" -m venv "$venv"; then
        rm -rf "$venv"
        die "'$python -m venv' failed (Debian: apt-get install python3-venv)"
    fi
    if ! timeout 600 "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"; then
        rm -rf "$venv"
        die "pip install -r $requirements failed (see above)"
    fi
    cp "$requirements" "$stamp"
fi
"$venv/bin/python" -m pip --disable-pip-version-check list 2>/dev/null | grep -E '^scim2-' || true
phase_done "tester"

# ---------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-}" = 1 ]; then
    phase "[2/6] build skipped (SKIP_BUILD=1): using $bin_dir"
else
    locked=()
    [ -f Cargo.lock ] && locked=(--locked)
    phase "[2/6] cargo build --workspace --bins ${locked[*]}"
    cargo build --workspace --bins "${locked[@]}"
fi
for binary in directory-service scim-gateway scimctl; do
    [ -x "$bin_dir/$binary" ] || die "$bin_dir/$binary not found: build first (cargo build --workspace --bins) or unset SKIP_BUILD"
done
phase_done "build"

# ---------------------------------------------------------------------------------------
phase "[3/6] PostgreSQL"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "using TEST_DATABASE_URL from the environment: ${TEST_DATABASE_URL}"
else
    # shellcheck source=SCRIPTDIR/lib/postgres.sh
    source scripts/lib/postgres.sh
    # It installs its own EXIT trap; ours (below) replaces it and stops the cluster too.
    started_postgres=yes
    start_throwaway_postgres || die "could not start a throwaway PostgreSQL cluster (see above); or set TEST_DATABASE_URL=postgres://user@host:port"
fi
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
db_server=$TEST_DATABASE_URL
psql_bin=$(find_psql) || die "psql not found (Debian: apt-get install postgresql-client)"
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -d "$(database_url "$db_server" postgres)" -t 10; then
    die "PostgreSQL at $db_server does not accept connections (pg_isready)"
fi
db_name="conf_$(date +%s)_$(random_hex 4)"
run_psql "$(database_url "$db_server" postgres)" -c "CREATE DATABASE $db_name" ||
    die "could not create database $db_name on $db_server (the role needs CREATE DATABASE)"
database=$(database_url "$db_server" "$db_name")
echo "database: $database"
phase_done "postgres"

# ---------------------------------------------------------------------------------------
phase "[4/6] directory-service and scim-gateway"
mkdir -p "$out_dir"
rm -f "$out_dir"/report.txt "$out_dir"/report.json "$out_dir"/summary.txt
credential=$(random_hex 24)
export DIRECTORY_CREDENTIAL=$credential
export NO_COLOR=1

"$bin_dir/directory-service" serve --listen 127.0.0.1:0 --database-url "$database" \
    >"$out_dir/directory.stdout" 2>"$out_dir/directory.log" </dev/null &
directory_pid=$!
directory_addr=$(wait_listening "$directory_pid" directory-service "$out_dir/directory.stdout" "$out_dir/directory.log") ||
    die "directory-service did not start"
echo "directory-service (pid $directory_pid): $directory_addr"

# The tester checks SCIM semantics as fast as it can and does not honour 429: the per-token
# rate limit (100/s, burst 20; tested by the e2e suite) is lifted here.
GATEWAY_RATE_LIMIT_PER_TOKEN=0 \
"$bin_dir/scim-gateway" --listen 127.0.0.1:0 --directory-url "http://$directory_addr" \
    >"$out_dir/gateway.stdout" 2>"$out_dir/gateway.log" </dev/null &
gateway_pid=$!
gateway_addr=$(wait_listening "$gateway_pid" scim-gateway "$out_dir/gateway.stdout" "$out_dir/gateway.log") ||
    die "scim-gateway did not start"
echo "scim-gateway (pid $gateway_pid): $gateway_addr"
phase_done "services"

# ---------------------------------------------------------------------------------------
phase "[5/6] workspace and token (scimctl)"
scimctl=("$bin_dir/scimctl" --directory-url "http://$directory_addr" --output json)
timeout 60 "${scimctl[@]}" workspace create conformance >"$out_dir/workspace.json" </dev/null ||
    die "scimctl workspace create conformance failed"
token_json=$(timeout 60 "${scimctl[@]}" token issue --workspace conformance --name scim2-tester </dev/null) ||
    die "scimctl token issue failed"
token=$(printf '%s' "$token_json" | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])') ||
    die "no \"token\" field in the output of scimctl token issue"
[ -n "$token" ] || die "scimctl token issue printed an empty token"
unset token_json
echo "workspace 'conformance' and a bearer token ready"
phase_done "provisioning"

# ---------------------------------------------------------------------------------------
base_url="http://$gateway_addr/scim/v2"
phase "[6/6] scim --url $base_url test -v   (scim2-tester; timeout ${tester_timeout}s)"
# In the background and waited for, so that INT/TERM reach our trap (which stops it) at once.
SCIM_CLI_HEADERS="Authorization: Bearer $token" timeout "$tester_timeout" \
    "$venv/bin/python" "$here/run_tester.py" "$out_dir/report.json" "$out_dir/summary.txt" -- \
    --url "$base_url" test -v >"$out_dir/report.txt" 2>&1 </dev/null &
tester_pid=$!
tester_rc=0
wait "$tester_pid" || tester_rc=$?
tester_pid=""
unset token
phase_done "tester"

printf '\n==== conformance summary (full output: %s, JSON: %s)\n' "$out_dir/report.txt" "$out_dir/report.json"
if [ -s "$out_dir/summary.txt" ]; then
    cat "$out_dir/summary.txt"
fi
if [ "$tester_rc" -eq 124 ]; then
    echo "the tester did not finish within ${tester_timeout}s (CONFORMANCE_TIMEOUT); last lines of its output:"
    tail -n 20 "$out_dir/report.txt"
elif [ ! -s "$out_dir/summary.txt" ] || grep -q '^the tester ran no check' "$out_dir/summary.txt"; then
    echo "last lines of the tester's output:"
    tail -n 20 "$out_dir/report.txt"
fi
if ! kill -0 "$gateway_pid" 2>/dev/null || ! kill -0 "$directory_pid" 2>/dev/null; then
    echo "WARNING: a service exited during the run: see $out_dir/gateway.log and $out_dir/directory.log" >&2
fi

# One plain closing line: passed = SUCCESS, failed = every other status but SKIPPED
# (which `scim test` counts as a failure as well).
if [ -s "$out_dir/report.json" ]; then
    "$venv/bin/python" - "$out_dir/report.json" <<'EOF'
import json, sys
counts = json.load(open(sys.argv[1]))["counts"]
passed = counts.get("SUCCESS", 0)
skipped = counts.get("SKIPPED", 0)
failed = sum(counts.values()) - passed - skipped
print(f"\nconformance: {passed} passed, {failed} failed, {skipped} skipped")
if skipped:
    print("(scim test also fails on SKIPPED results)")
EOF
fi

if [ "$tester_rc" -ne 0 ]; then
    printf '\n==== conformance FAILED (tester exit code %s) in %ss\n' "$tester_rc" "$((SECONDS - script_start))"
    exit 1
fi
printf '\n==== conformance passed in %ss\n' "$((SECONDS - script_start))"
