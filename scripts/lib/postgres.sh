# shellcheck shell=bash
#
# Private, throwaway PostgreSQL cluster for tests. Source this file, then call
# `start_throwaway_postgres`. Used by scripts/test.sh and scripts/dev-postgres.sh.
#
# start_throwaway_postgres
#   - finds initdb under /usr/lib/postgresql/*/bin (highest version); installs Debian's
#     `postgresql` package if there is none (as root, or through sudo);
#   - initdb -A trust into a fresh temp dir (as the `postgres` OS user when run as root,
#     because initdb and pg_ctl refuse to run as root);
#   - starts it on a free port in 55432..55532 on 127.0.0.1, socket in the temp dir,
#     fsync off; waits until it accepts connections;
#   - exports TEST_DATABASE_URL=postgres://postgres@127.0.0.1:<port> and
#     THROWAWAY_PG_{DIR,PORT,BIN};
#   - installs an EXIT trap (plus INT/TERM -> exit) that calls stop_throwaway_postgres.
#     A caller that needs its own EXIT trap must call stop_throwaway_postgres from it.
#   Returns non-zero (and prints why) if the cluster cannot be started; it never exits
#   the caller, so the caller decides how loudly to fail.
#
# stop_throwaway_postgres
#   Stops the cluster (pg_ctl stop -m immediate) and removes the temp dir. Idempotent.
#
# Nothing here touches the machine's system cluster (port 5432), if there is one.

_tpg_log() { printf '[postgres] %s\n' "$*" >&2; }

# Run a command as root: directly when we are root, through sudo when it exists.
_tpg_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _tpg_log "need root to run: $* (not root, and no sudo)"
        return 1
    fi
}

# The OS user that owns and runs the cluster: ourselves, unless we are root.
_tpg_os_user() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

# Run a command as the cluster's OS user.
_tpg_as_owner() {
    local owner
    owner=$(_tpg_os_user)
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$owner" -- "$@"
        else
            # su needs one command string; quote every word.
            su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

# Print the bin dir of the highest installed PostgreSQL that has initdb; fail if none.
find_postgres_bindir() {
    local initdb
    initdb=$(
        for f in /usr/lib/postgresql/*/bin/initdb; do
            [ -x "$f" ] && printf '%s\n' "$f"
        done | sort -V | tail -n 1
    )
    [ -n "$initdb" ] || return 1
    dirname "$initdb"
}

# Install Debian's postgresql package. Installing it may create and start a system
# cluster on 5432; we do not use it.
install_postgres_server() {
    _tpg_log "no initdb under /usr/lib/postgresql/*/bin: installing Debian's postgresql package"
    if ! command -v apt-get >/dev/null 2>&1; then
        _tpg_log "apt-get not found: install PostgreSQL server binaries yourself"
        return 1
    fi
    _tpg_as_root apt-get update -q || return 1
    _tpg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql || return 1
}

# Is something listening on 127.0.0.1:$1?
_tpg_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print a free port in 55432..55532, starting at a random offset so that two runs at
# once rarely probe the same port first.
_tpg_free_port() {
    local i port offset=$((RANDOM % 101))
    for ((i = 0; i < 101; i++)); do
        port=$((55432 + (offset + i) % 101))
        if ! _tpg_port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

stop_throwaway_postgres() {
    local dir=${THROWAWAY_PG_DIR:-}
    [ -n "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        if ! _tpg_as_owner "$THROWAWAY_PG_BIN/pg_ctl" -D "$dir/data" stop -m immediate -w -t 20 >/dev/null 2>&1; then
            # pg_ctl failed: kill the postmaster we started, by its pid.
            local pid
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
            if [ -n "$pid" ]; then
                kill -QUIT "$pid" 2>/dev/null || true
            fi
        fi
        _tpg_log "stopped throwaway cluster on port ${THROWAWAY_PG_PORT:-?}"
    fi
    rm -rf "$dir"
    unset THROWAWAY_PG_DIR THROWAWAY_PG_PORT
}

start_throwaway_postgres() {
    local bin dir owner port attempt started=""

    if ! bin=$(find_postgres_bindir); then
        install_postgres_server || { _tpg_log "could not install PostgreSQL"; return 1; }
        bin=$(find_postgres_bindir) || { _tpg_log "postgresql installed, but still no initdb under /usr/lib/postgresql/*/bin"; return 1; }
    fi
    owner=$(_tpg_os_user)

    dir=$(mktemp -d /tmp/scim-pg.XXXXXX) || return 1
    export THROWAWAY_PG_DIR=$dir THROWAWAY_PG_BIN=$bin
    trap stop_throwaway_postgres EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [ "$(id -u)" -eq 0 ]; then
        chown "$owner" "$dir" || return 1
    fi

    _tpg_log "initdb ($bin, as $owner) into $dir/data"
    if ! _tpg_as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1; then
        _tpg_log "initdb failed:"
        cat "$dir/initdb.log" >&2
        return 1
    fi

    # A port found free can be taken before the server binds it: retry on another one.
    for attempt in 1 2 3 4 5; do
        port=$(_tpg_free_port) || { _tpg_log "no free port in 55432..55532"; return 1; }
        if _tpg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null 2>&1; then
            started=yes
            break
        fi
        _tpg_log "start on port $port failed (attempt $attempt); server log:"
        tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
        # A failed pg_ctl -w may leave a postmaster behind; stop it before retrying.
        _tpg_as_owner "$bin/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    done
    [ -n "$started" ] || return 1
    export THROWAWAY_PG_PORT=$port

    local i
    for ((i = 0; i < 60; i++)); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
            export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port"
            _tpg_log "throwaway cluster ready: $TEST_DATABASE_URL (PostgreSQL $("$bin/postgres" --version | awk '{print $3}'))"
            return 0
        fi
        sleep 0.5
    done
    _tpg_log "server started but pg_isready never succeeded; server log:"
    tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
    return 1
}
