#!/usr/bin/env bash
# make bench-scale: many accounts synced by parallel cron workers, against the Graph simulator.
#
#   BENCH_ACCOUNTS (200) users, each with BENCH_CONTACTS (1000) partners in the scope "My
#   contacts" and a mailbox of its own; BENCH_WORKERS (2) worker processes, each calling the
#   sync cron's method as an Odoo cron thread does; BENCH_CYCLES (3) cycles of 1 % churn on
#   both sides. Prints one BENCH line per cycle and the extrapolation to 10,000 accounts on
#   4 workers (the R10 target: one cycle within 15 minutes).
#
# Each phase runs in `odoo-bin shell` (tools/bench_scale.py); the workers are processes of
# their own, as Odoo's cron workers are, so their memory is measured apart.
set -uo pipefail

. "$(dirname "$0")/common.sh"
cd "$root" || exit 1
resolve_venv
ensure_venv || exit 1
odoo=$(find_odoo) || { odoo_missing_help >&2; exit 1; }
install_requirements odoo requirements-odoo.txt || exit 1
python="$VENV/bin/python"
ACCOUNTS=${BENCH_ACCOUNTS:-200}
CONTACTS=${BENCH_CONTACTS:-1000}
WORKERS=${BENCH_WORKERS:-2}
CYCLES=${BENCH_CYCLES:-3}

new_run_dir bench_scale || exit 1
sim_pid=""
cleanup() {
    [ -n "$sim_pid" ] && stop_process "$sim_pid"
    bash "$root/tools/pgcluster.sh" stop "$run/pg"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bench_world || exit 1
write_odoo_conf "$odoo" log_level=warn

say "bench-scale: installing the addon"
"$python" "$odoo/odoo-bin" -c "$run/odoo.conf" -d bench -i microsoft_contacts \
    --stop-after-init >"$run/install.log" 2>&1 || { tail -n 30 "$run/install.log"; exit 1; }

# phase NAME [ENV=VALUE...]: one odoo-bin shell running tools/bench_scale.py; its JSON result
phase() {
    local name=$1; shift
    env BENCH_PHASE="$name" "$@" "$python" "$odoo/odoo-bin" shell -c "$run/odoo.conf" -d bench \
        --no-http <"$root/tools/bench_scale.py" 2>>"$run/shell.log" | sed -n 's/^BENCH_RESULT //p'
}

stats() {
    "$python" - "$sim_url" <<'EOF'
import json, sys, requests
print(json.dumps(requests.get(sys.argv[1] + "/_sim/stats", timeout=30).json()))
EOF
}

# cycle LABEL: the workers run at once; prints the cycle's figures
cycle() {
    local label=$1 changed=$2 before after start end pids=() i
    before=$(stats)
    start=$(date +%s.%N)
    for i in $(seq 1 "$WORKERS"); do
        phase worker >"$run/worker$i.json" &
        pids+=($!)
    done
    wait "${pids[@]}"
    end=$(date +%s.%N)
    after=$(stats)
    "$python" - "$label" "$changed" "$start" "$end" "$ACCOUNTS" "$CONTACTS" "$WORKERS" \
        "$before" "$after" "$run"/worker*.json <<'EOF'
import json, sys
label, changed, start, end, accounts, contacts, workers, before, after = sys.argv[1:10]
results = [json.loads(open(path).read() or "{}") for path in sys.argv[10:]]
accounts, contacts, workers, changed = int(accounts), int(contacts), int(workers), int(changed)
synced = sum(r.get("synced", 0) for r in results)
# The workers' own time: an odoo-bin shell's start (loading the registry) is not a cycle's.
seconds = max(r.get("seconds", 0) for r in results)
busy = sum(r.get("seconds", 0) for r in results)
requests_ = json.loads(after)["total_requests"] - json.loads(before)["total_requests"]
sql = sum(r.get("sql", 0) for r in results)
per_account = busy / max(synced, 1)
steps = {}
for result in results:
    for name, value in result.get("steps", {}).items():
        steps[name] = steps.get(name, 0) + value
target = 10_000 * per_account / 4 / 60
line = (
    f"BENCH scale {label}: {synced} of {accounts} accounts x {contacts} contacts synced by "
    f"{workers} workers in {seconds:.1f} s ({per_account:.3f} worker-s per account"
    + ("" if synced == accounts else f"; {synced - accounts:+d}: an account synced twice or not")
    + "); "
    f"{requests_ / max(synced, 1):.2f} Graph requests and {sql / max(synced, 1):.1f} SQL "
    f"queries per account"
)
if changed:
    line += (
        f", {requests_ / changed:.2f} Graph requests and {sql / changed:.1f} SQL queries per "
        f"changed contact ({changed} changed)"
    )
line += "; seconds per account by step " + ", ".join(
    f"{name} {value / max(synced, 1):.3f}" for name, value in sorted(steps.items())
)
line += "; peak RSS per worker " + ", ".join(f"{r.get('peak_rss_mb', 0)} MB" for r in results)
line += f"; 10,000 accounts on 4 workers at this pace: {target:.1f} min"
print(line)
EOF
}

say "bench-scale: $ACCOUNTS accounts x $CONTACTS contacts, $WORKERS workers, $CYCLES cycles"
setup=$(phase setup BENCH_ACCOUNTS="$ACCOUNTS" BENCH_CONTACTS="$CONTACTS")
echo "BENCH scale setup: $setup"
[ -n "$setup" ] || { tail -n 40 "$run/shell.log"; exit 1; }
cycle "initial push" 0
phase churn BENCH_CHURN=0 >/dev/null
cycle "echo of the push" 0
phase churn BENCH_CHURN=0 >/dev/null
cycle "no change (the fixed cost of an account)" 0
if [ -n "${BENCH_PROFILE:-}" ]; then   # where a quiet cycle's time goes, worker 1's view
    phase churn BENCH_CHURN=0.01 >/dev/null
    BENCH_PHASE=worker BENCH_PROFILE=1 "$python" "$odoo/odoo-bin" shell -c "$run/odoo.conf" \
        -d bench --no-http <"$root/tools/bench_scale.py" 2>>"$run/shell.log" | head -n 60
fi
for n in $(seq 1 "$CYCLES"); do
    edited=$(phase churn BENCH_CHURN=0.01)
    changed=$("$python" -c 'import json,sys; d=json.loads(sys.argv[1]); print(sum(d.values()))' "$edited")
    cycle "cycle $n, 1 % churn on each side" "$changed"
done
