#!/usr/bin/env bash
# `make demo`: Odoo 18 with its demo data and this addon, pointed at the Graph simulator (a
# local Microsoft), which holds Mitchell Admin's Outlook mailbox (~200 contacts, tools/demo_seed.py).
# Everything runs from a throwaway folder (.tmp/demo: Odoo's files, the simulator's CA; PostgreSQL
# in a temporary folder of its own) until Ctrl-C or TERM, which stop it all and delete those
# folders. Logs stay in .tmp/demo-logs.
#
#   tools/demo.sh          the demo: Odoo on DEMO_PORT (8069), the simulator on DEMO_SIM_PORT (8443)
#   tools/demo.sh --check  `make demo-check`: start, check over HTTP (tools/demo.py check), stop;
#                          on free ports unless DEMO_PORT / DEMO_SIM_PORT are set
set -uo pipefail

. "$(dirname "$0")/common.sh"

case "${1:-}" in
"") mode=demo ;;
--check) mode=check ;;
*) echo "usage: tools/demo.sh [--check]" >&2; exit 2 ;;
esac
name=$([ "$mode" = check ] && echo demo-check || echo demo)
run="$root/.tmp/$name"
logs="$root/.tmp/$name-logs"
db=demo
odoo_pid="" sim_pid="" pg=""

fail() { echo "$name: $*" >&2; exit 1; }

ensure_venv || fail "no virtualenv"
if ! odoo=$(find_odoo); then
    [ -n "${ODOO_PATH:-}" ] || odoo_missing_help >&2
    fail "needs an Odoo 18.0 tree"
fi
install_requirements odoo "$root/requirements-odoo.txt" || fail "Odoo's Python dependencies did not install"
python="$VENV/bin/python"

# stop_pg DIR: stop the cluster in DIR and delete DIR, a folder this script made (its name says so)
stop_pg() {
    case "$(basename "${1:-}")" in
    "microsoft_contacts_$name-pg."*)
        bash "$root/tools/pgcluster.sh" stop "$1"
        rm -rf "$1"
        ;;
    esac
}

# A demo killed without its cleanup (kill -9, a reboot) leaves its folder: finish that cleanup.
# ps_has PIDFILE TEXT: the process of PIDFILE runs and its command line holds TEXT
ps_has() {
    local pid
    pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}
if [ -d "$run" ]; then
    ps_has "$run/demo.pid" tools/demo.sh && fail "already running (pid $(cat "$run/demo.pid")); stop it first"
    echo "$name: cleaning up after an earlier run that did not stop cleanly"
    for pidfile in "$run/odoo.pid" "$run/sim.pid"; do
        ps_has "$pidfile" "$run" && stop_process "$(cat "$pidfile")"
    done
    stop_pg "$(cat "$run/pg.path" 2>/dev/null)"
    rm -rf "$run"
fi

if [ "$mode" = check ]; then
    odoo_port=${DEMO_PORT:-$(free_port)}
    sim_port=${DEMO_SIM_PORT:-$(free_port)}
    while [ "$sim_port" = "$odoo_port" ] && [ -z "${DEMO_SIM_PORT:-}" ]; do sim_port=$(free_port); done
else
    odoo_port=${DEMO_PORT:-8069}
    sim_port=${DEMO_SIM_PORT:-8443}
fi
port_is_free "$odoo_port" || fail "port $odoo_port is in use: stop what listens there or set DEMO_PORT"
port_is_free "$sim_port" || fail "port $sim_port is in use: stop what listens there or set DEMO_SIM_PORT"
odoo_url="http://localhost:$odoo_port"

mkdir -p "$run" "$logs"
echo $$ >"$run/demo.pid"

cleanup() {
    trap '' INT TERM   # a second Ctrl-C must not leave half of it running
    echo
    echo "$name: stopping Odoo, the Graph simulator and PostgreSQL"
    [ -n "$odoo_pid" ] && stop_process "$odoo_pid" 30
    [ -n "$sim_pid" ] && stop_process "$sim_pid"
    stop_pg "$pg"
    rm -rf "$run"
    echo "$name: stopped, $run removed (logs: ${logs#"$root"/})"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_odoo LOG ARGS...: Odoo in the background (so that Ctrl-C is handled at once)
start_odoo() {
    local log=$1; shift
    REQUESTS_CA_BUNDLE="$sim_bundle" ODOO_NOTIFY_CRON_CHANGES=1 \
        "$python" "$odoo/odoo-bin" -c "$run/odoo.conf" "$@" >"$log" 2>&1 &
    odoo_pid=$!
    echo "$odoo_pid" >"$run/odoo.pid"
}

show_log() {
    echo "--- last lines of ${1#"$root"/}:" >&2
    tail -n "${2:-30}" "$1" >&2
}

# The cluster goes to a temporary folder, not into the clone: when we are root it belongs to
# the postgres user, who must be able to reach it, and a clone under /root or in another
# private folder does not let that user in. Its path is noted for the cleanup of a later run.
pg=$(mktemp -d "${TMPDIR:-/tmp}/microsoft_contacts_$name-pg.XXXXXX") || fail "no temporary folder"
chmod 755 "$pg"
echo "$pg" >"$run/pg.path"
say "PostgreSQL (throwaway cluster in $pg)"
start_pgcluster "$pg" || fail "PostgreSQL did not start"

say "Graph simulator on port $sim_port, Mitchell Admin's mailbox"
start_simulator "$run/sim" "$sim_port" --seed 1 || fail "the Graph simulator did not start"
echo "$sim_pid" >"$run/sim.pid"
PYTHONPATH="$root/tools" "$python" "$root/tools/demo.py" simulator \
    --simulator "$sim_url" --ca "$sim_bundle" --odoo-port "$odoo_port" || fail "seeding the simulator failed"

mkdir -p "$run/addons"
ln -s "$root" "$run/addons/microsoft_contacts"   # the addons folder is named after the module
cat >"$run/odoo.conf" <<EOF
[options]
addons_path = $odoo/addons,$run/addons
data_dir = $run/data
db_host = $pg_host
db_port = $pg_port
db_user = $pg_user
db_name = $db
dbfilter = ^$db\$
http_interface = 127.0.0.1
http_port = $odoo_port
list_db = False
max_cron_threads = 1
without_demo = False
EOF

say "Odoo: database '$db' with demo data, installing microsoft_contacts (about a minute)"
start_odoo "$logs/odoo-install.log" -d "$db" -i microsoft_contacts --stop-after-init
wait "$odoo_pid"
rc=$?
odoo_pid=""
if [ "$rc" -ne 0 ] || grep -Eq '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$logs/odoo-install.log"; then
    show_log "$logs/odoo-install.log"
    fail "installing the addon failed (exit $rc)"
fi

say "Odoo server on port $odoo_port (cron worker on)"
start_odoo "$logs/odoo.log"
answers=""
for _ in $(seq 1 240); do
    kill -0 "$odoo_pid" 2>/dev/null || { show_log "$logs/odoo.log"; fail "Odoo stopped while starting"; }
    "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
        "$odoo_url/web/login" 2>/dev/null && { answers=1; break; }
    sleep 0.5
done
[ -n "$answers" ] || { show_log "$logs/odoo.log"; fail "Odoo does not answer on $odoo_url/web/login"; }
PYTHONPATH="$root/tools" "$python" "$root/tools/demo.py" odoo \
    --odoo "$odoo_url" --db "$db" --simulator "$sim_url" || { show_log "$logs/odoo.log"; fail "configuring Odoo failed"; }

if [ "$mode" = check ]; then
    say "smoke check"
    PYTHONPATH="$root/tools" "$python" "$root/tools/demo.py" check \
        --odoo "$odoo_url" --db "$db" --simulator "$sim_url" --ca "$sim_bundle"
    rc=$?
    errors=$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$logs/odoo.log")
    if [ -n "$errors" ]; then
        echo "$errors" >&2
        echo "$name: Odoo logged errors (${logs#"$root"/}/odoo.log)" >&2
        rc=1
    fi
    [ "$rc" -eq 0 ] || show_log "$logs/odoo.log"
    echo "$name: $([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $SECONDS s"
    exit "$rc"
fi

cat <<EOF

==========================================================================================
  Outlook Contacts Sync demo is running

  Odoo        $odoo_url
              login: admin   password: admin
  Microsoft   $sim_url  (the Graph simulator: Microsoft sign-in and Graph, locally)
              sign in as: Mitchell Admin <admin@yourcompany.example.com>, no password:
              the consent page has him chosen, click Accept
              mailbox: ~200 Outlook contacts in the folder "Odoo Contacts"

  Try it: Contacts > Sync with Outlook > Accept (Microsoft's consent), then Sync with
  Outlook again: the first sync opens its preview; Apply Selected, or Skip Preview and
  Sync Everything (the background worker runs it at once), and the Outlook contacts appear
  in Contacts. Your browser warns about the simulator's certificate (a local test CA, made
  for this run): accept it, or import ${sim_ca#"$root"/} as a trusted CA.

  Logs: ${logs#"$root"/}/odoo.log        Ctrl-C stops everything and deletes the demo database.
==========================================================================================
EOF
# Until Ctrl-C, TERM, or one of them stops on its own.
wait -n "$odoo_pid" "$sim_pid"
show_log "$logs/odoo.log" 10
fail "Odoo or the simulator stopped unexpectedly"
