#!/usr/bin/env bash
# Run a command (the test suite) with a PostgreSQL server for the database tests:
#   tools/with-postgres.sh .venv/bin/python -m pytest ...
#
# 1. GAITRIG_TEST_POSTGRES_URL set: use that server as is.
# 2. A server accepting connections on 127.0.0.1:${GAITRIG_TEST_POSTGRES_PORT:-5432}: use it
#    (user postgres, trust auth, as a developer machine or the CI service has it).
# 3. Otherwise start a throwaway cluster (initdb + pg_ctl) in a temp folder on a free port,
#    export GAITRIG_TEST_POSTGRES_URL for the command, and stop and delete it afterwards. When the
#    binaries are missing and we are root, the Debian package `postgresql` is installed first.
# 4. No server and no binaries: under CI=true this fails at once; otherwise the command runs
#    and the PostgreSQL tests skip with the reason (tests/conftest.py, require_tool).
set -uo pipefail

port=${GAITRIG_TEST_POSTGRES_PORT:-5432}
log() { echo "with-postgres: $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

find_bin() {  # the folder with initdb and pg_ctl, or nothing
    local dir
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"; return
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return; }
    done
}

if [ -n "${GAITRIG_TEST_POSTGRES_URL:-}" ]; then
    log "using GAITRIG_TEST_POSTGRES_URL"
    exec "$@"
fi
if listening "$port"; then
    export GAITRIG_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    log "using the server on 127.0.0.1:$port"
    exec "$@"
fi

bin=$(find_bin)
if [ -z "$bin" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing the Debian package postgresql"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends postgresql >/dev/null || log "apt-get could not install it"
    bin=$(find_bin)
fi
if [ -z "$bin" ]; then
    log "no PostgreSQL server on 127.0.0.1:$port and no initdb/pg_ctl: install the Debian" \
        "package postgresql"
    [ "${CI:-}" = "true" ] && { log "CI=true: failing, the PostgreSQL tests may not skip"; exit 1; }
    log "the PostgreSQL tests will skip"
    exec "$@"
fi

# PostgreSQL refuses to run as root: then the cluster belongs to the postgres user (or nobody).
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    owner=postgres; id "$owner" >/dev/null 2>&1 || owner=nobody
    run_as=(runuser -u "$owner" --)
fi
tmp=$(mktemp -d /tmp/gaitrig-pg.XXXXXX)
[ ${#run_as[@]} -eq 0 ] || chown "${run_as[2]}" "$tmp"
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_cluster() {
    "${run_as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap stop_cluster EXIT
if ! "${run_as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres -A trust --no-sync \
        >"$tmp/initdb.log" 2>&1; then
    log "initdb failed:"; cat "$tmp/initdb.log" >&2; exit 1
fi
if ! "${run_as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
        -o "-p $free_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null; then
    log "the throwaway server did not start:"; cat "$tmp/server.log" >&2; exit 1
fi
export GAITRIG_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$free_port/postgres"
log "started a throwaway PostgreSQL ($bin) on 127.0.0.1:$free_port in $tmp"
"$@"
