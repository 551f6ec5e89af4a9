#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a Unix socket, for the Odoo tier and the demo.
#
#   tools/pgcluster.sh start DIR   -> initdb + start; prints "host=DIR/socket port=PORT user=USER"
#   tools/pgcluster.sh stop DIR    -> stop the cluster (safe to call twice)
#
# PostgreSQL refuses to run as root: when we are root the cluster belongs to the
# `postgres` system user and a superuser role is created for root, which is who
# Odoo runs as. On a workstation the same script runs as the user itself.
set -euo pipefail

cmd=${1:?usage: pgcluster.sh start|stop DIR}
dir=${2:?usage: pgcluster.sh start|stop DIR}
port=${PGCLUSTER_PORT:-54329}

pg_bin() {
    local name=$1
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
    for candidate in /usr/lib/postgresql/*/bin/"$name"; do
        [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
    echo "pgcluster: $name not found; install the PostgreSQL server (e.g. apt-get install postgresql)" >&2
    exit 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    mkdir -p "$dir/socket"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$dir"
        runuser -u postgres -- test -w "$dir/socket" || {
            echo "pgcluster: the postgres user cannot reach $dir (make its parent folders traversable)" >&2
            exit 1
        }
    fi
    as_owner "$(pg_bin initdb)" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$(pg_bin pg_ctl)" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-k $dir/socket -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$dir/postgres.log" >&2; exit 1; }
    role=$(id -un)
    if [ "$role" != postgres ]; then
        psql=$(pg_bin psql)
        as_owner "$psql" -h "$dir/socket" -p "$port" -U postgres -d postgres -qtA \
            -c "CREATE ROLE \"$role\" LOGIN SUPERUSER" >/dev/null
    fi
    echo "host=$dir/socket port=$port user=$role"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$(pg_bin pg_ctl)" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    echo "usage: pgcluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
