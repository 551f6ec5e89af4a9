#!/usr/bin/env bash
# Tier 2: the addon in a real Odoo 18 + PostgreSQL, the Graph side served by the simulator.
# Called by tools/run_tests.sh with VENV, ODOO_PATH and WORK set; writes "passed failed skipped"
# to $WORK/tier2.counts. PostgreSQL is stopped on exit, failures included. The tests start the
# Graph simulator themselves (tests/common.py), as they do under any runner.
#
# Two databases:
#   mc_alone     the addon alone: installs cleanly, all its tests but the calendar ones
#   mc_calendar  the addon beside microsoft_calendar: installs cleanly, the coexistence tests
set -uo pipefail

. "$(dirname "$0")/common.sh"
: "${VENV:?}" "${ODOO_PATH:?}" "${WORK:?}"
python="$VENV/bin/python"
run=$(mktemp -d "${TMPDIR:-/tmp}/microsoft_contacts_tier2.XXXXXX")
chmod 755 "$run"   # the PostgreSQL cluster inside may belong to the postgres user
counts="$WORK/tier2.counts"
echo "0 1 0" >"$counts"

cleanup() {
    bash "$root/tools/pgcluster.sh" stop "$run/pg"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The addons folder must be named after the module, whatever the clone is called.
mkdir -p "$run/addons"
ln -s "$root" "$run/addons/microsoft_contacts"

start_pgcluster "$run/pg" || { echo "tier 2: could not start PostgreSQL" >&2; exit 1; }

http_port=$(free_port)
cat >"$run/odoo.conf" <<EOF
[options]
addons_path = $ODOO_PATH/addons,$run/addons
data_dir = $run/data
db_host = $pg_host
db_port = $pg_port
db_user = $pg_user
http_interface = 127.0.0.1
http_port = $http_port
list_db = False
max_cron_threads = 0
without_demo = all
EOF

total_p=0 total_f=0 total_s=0
# odoo_run DB MODULES TEST_TAGS
odoo_run() {
    local db=$1 modules=$2 tags=$3 log="$WORK/tier2-$1.log"
    echo "--- $db: install $modules, tests $tags (log: ${log#"$root"/})"
    "$python" "$ODOO_PATH/odoo-bin" -c "$run/odoo.conf" -d "$db" -i "$modules" \
        --test-enable --test-tags "$tags" --stop-after-init --log-level=test >"$log" 2>&1
    local rc=$?
    local result t f e s errors
    result=$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$log" | tail -n 1)
    if [ -z "$result" ]; then
        echo "no test report in $log (exit $rc):" >&2
        tail -n 40 "$log" >&2
        total_f=$((total_f + 1))
        return
    fi
    read -r f e t < <(echo "$result" | sed -E 's/([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests/\1 \2 \3/')
    s=$(grep -c 'odoo.addons.microsoft_contacts.tests[^ ]*: skipped ' "$log")
    # An ERROR or CRITICAL line outside a test's own report is a failure too (a broken install).
    errors=$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$log" | grep -vc 'odoo.tests.result\|: FAIL: \|: ERROR: ')
    # Python warnings about this module's code (deprecated APIs, bad dependencies) too.
    errors=$((errors + $(grep -E ' WARNING [^ ]+ py.warnings: ' "$log" | grep -ic 'microsoft_contacts\|microsoft\.contacts')))
    grep -E ' (ERROR|CRITICAL|WARNING) ' "$log" | grep -v 'odoo.tests.result' | head -n 30
    echo "$db: $t tests, $f failed, $e errors, $s skipped, $errors other error lines, exit $rc"
    total_p=$((total_p + t - f - e - s))
    total_f=$((total_f + f + e))
    total_s=$((total_s + s))
    if [ "$errors" -gt 0 ] || { [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; }; then
        total_f=$((total_f + 1))
    fi
}

if [ -n "${ODOO_TIER_TAGS:-}" ]; then   # one database, chosen tests (benchmarks)
    odoo_run mc_tagged microsoft_contacts "$ODOO_TIER_TAGS"
    grep -h ' BENCH ' "$WORK"/tier2-mc_tagged.log | sed 's/^.* BENCH /BENCH /'
else
    odoo_run mc_alone microsoft_contacts "/microsoft_contacts,-microsoft_contacts_calendar"
    odoo_run mc_calendar microsoft_contacts,microsoft_calendar "microsoft_contacts_calendar"
fi

echo "$total_p $total_f $total_s" >"$counts"
[ "$total_f" -eq 0 ]
