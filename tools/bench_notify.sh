#!/usr/bin/env bash
# make bench-notify: how long a change made in Outlook takes to reach Odoo through Graph change
# notifications (R12; target: under 60 s with the default debounce).
#
# A real Odoo (odoo-bin with its HTTP server and BENCH_CRON_THREADS (2) cron threads) and the
# Graph simulator, which posts its notifications to Odoo's route through its relay (HTTPS in
# front of Odoo's HTTP, as a reverse proxy is). BENCH_CONTACTS (50) Outlook contacts synced
# once; BENCH_TRIALS (5) changes, one at a time, timed until Odoo shows them; then a burst of
# changes, to count the runs it makes. tools/bench_notify.py holds the phases; the logs stay in
# .tmp/bench-notify-logs.
set -uo pipefail

. "$(dirname "$0")/common.sh"
cd "$root" || exit 1
resolve_venv
ensure_venv || exit 1
odoo=$(find_odoo) || { odoo_missing_help >&2; exit 1; }
install_requirements odoo requirements-odoo.txt || exit 1
python="$VENV/bin/python"
db=bench

new_run_dir bench_notify || exit 1
logs="$root/.tmp/bench-notify-logs"
mkdir -p "$logs"
sim_pid="" odoo_pid=""
cleanup() {
    [ -n "$odoo_pid" ] && stop_process "$odoo_pid"
    [ -n "$sim_pid" ] && stop_process "$sim_pid"
    cp "$run"/*.log "$logs/" 2>/dev/null
    bash "$root/tools/pgcluster.sh" stop "$run/pg"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bench_world || exit 1
port=$(free_port)
export BENCH_ODOO_URL="http://127.0.0.1:$port" BENCH_DB="$db"
write_odoo_conf "$odoo" "log_level=${BENCH_LOG_LEVEL:-info}" "http_port=$port"
sed -i "s/^max_cron_threads = .*/max_cron_threads = ${BENCH_CRON_THREADS:-2}/" "$run/odoo.conf"

say "bench-notify: installing the addon"
"$python" "$odoo/odoo-bin" -c "$run/odoo.conf" -d "$db" -i microsoft_contacts \
    --stop-after-init >"$run/install.log" 2>&1 || { tail -n 30 "$run/install.log"; exit 1; }

say "bench-notify: Odoo on $BENCH_ODOO_URL with its cron threads"
"$python" "$odoo/odoo-bin" -c "$run/odoo.conf" -d "$db" >"$run/odoo.log" 2>&1 &
odoo_pid=$!
for _ in $(seq 1 300); do
    curl -fs -o /dev/null "$BENCH_ODOO_URL/web/login" && break
    kill -0 "$odoo_pid" 2>/dev/null || { tail -n 30 "$run/odoo.log"; exit 1; }
    sleep 0.2
done

setup=$(env BENCH_PHASE=setup "$python" "$odoo/odoo-bin" shell -c "$run/odoo.conf" -d "$db" \
    --no-http <"$root/tools/bench_notify.py" 2>>"$run/shell.log" | sed -n 's/^BENCH_RESULT //p')
[ -n "$setup" ] || { tail -n 40 "$run/shell.log"; exit 1; }
BENCH_PHASE=measure BENCH_SETUP="$setup" "$python" "$root/tools/bench_notify.py" || {
    tail -n 40 "$run/odoo.log"
    exit 1
}
