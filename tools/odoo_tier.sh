#!/usr/bin/env bash
# Tier 2: the addon in a real Odoo 18 + PostgreSQL, the Graph side served by the simulator.
# Called by tools/run_tests.sh with VENV, ODOO_PATH and WORK set; writes "passed failed skipped"
# to $WORK/tier2.counts and how they split between the runners to $WORK/tier2.detail.
# PostgreSQL is stopped on exit, failures included. The tests start the Graph simulator
# themselves (tests/common.py), as they do under any runner.
#
# Two databases:
#   mc_alone     the addon alone: installs cleanly, all its tests but the calendar ones
#   mc_calendar  the addon beside microsoft_calendar: installs cleanly, the coexistence tests
# In mc_alone the tests run in two runners, which add up to odoo-bin's own selection:
#   odoo-bin     installs the addon and runs the tests tagged microsoft_contacts_http, the
#                ones that need Odoo's HTTP server (controllers, tours, hoot);
#   pytest-odoo  the others, on the database odoo-bin installed (tools/pytest_tier2.py gives
#                it Odoo's --test-tags and odoo-bin's strictness).
set -uo pipefail

. "$(dirname "$0")/common.sh"
: "${VENV:?}" "${ODOO_PATH:?}" "${WORK:?}"
python="$VENV/bin/python"
# Tests that need Odoo's HTTP server carry this tag (tests/common.py HTTP_TAG).
http_tag=microsoft_contacts_http
new_run_dir tier2 || { echo "tier 2: no temporary folder" >&2; exit 1; }
counts="$WORK/tier2.counts"
echo "0 1 0" >"$counts"
: >"$WORK/tier2.detail"

cleanup() {
    bash "$root/tools/pgcluster.sh" stop "$run/pg"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_pgcluster "$run/pg" || { echo "tier 2: could not start PostgreSQL" >&2; exit 1; }

write_odoo_conf "$ODOO_PATH" http_interface=127.0.0.1 http_port="$(free_port)"

total_p=0 total_f=0 total_s=0
# add_counts RUNNER PASSED FAILED SKIPPED
add_counts() {
    total_p=$((total_p + $2)) total_f=$((total_f + $3)) total_s=$((total_s + $4))
    echo "$1: $2 passed, $3 failed, $4 skipped" >>"$WORK/tier2.detail"
}

# odoo_run DB MODULES TEST_TAGS [MUST_RUN]: install MODULES in a new database DB and run the
# tests TEST_TAGS selects; with MUST_RUN, no test run or a skipped one is a failure (tests that
# skip themselves where what they need is not installed must not skip where it is).
odoo_run() {
    local db=$1 modules=$2 tags=$3 must_run=${4:-} log="$WORK/tier2-$1.log"
    echo "--- $db (odoo-bin): install $modules, tests $tags (log: ${log#"$root"/})"
    "$python" "$ODOO_PATH/odoo-bin" -c "$run/odoo.conf" -d "$db" -i "$modules" \
        --test-enable --test-tags "$tags" --stop-after-init --log-level=test >"$log" 2>&1
    local rc=$?
    local result t f e s class_skips errors
    result=$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$log" | tail -n 1)
    if [ -z "$result" ]; then
        echo "no test report in $log (exit $rc):" >&2
        tail -n 40 "$log" >&2
        add_counts "$db (odoo-bin)" 0 1 0
        return
    fi
    read -r f e t < <(echo "$result" | sed -E 's/([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests/\1 \2 \3/')
    s=$(grep -c 'odoo.addons.microsoft_contacts.tests[^ ]*: skipped ' "$log")
    # A class whose setUpClass skips: Odoo leaves its tests out of the count; one skip here.
    class_skips=$(grep -c 'skipped setUpClass (odoo.addons.microsoft_contacts\.' "$log")
    # An ERROR or CRITICAL line outside a test's own report is a failure too (a broken install).
    errors=$(grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$log" | grep -vc 'odoo.tests.result\|: FAIL: \|: ERROR: ')
    # Python warnings about this module's code (deprecated APIs, bad dependencies) too.
    errors=$((errors + $(grep -E ' WARNING [^ ]+ py.warnings: ' "$log" | grep -ic 'microsoft_contacts\|microsoft\.contacts')))
    grep -E ' (ERROR|CRITICAL|WARNING) ' "$log" | grep -v 'odoo.tests.result' | head -n 30
    echo "$db (odoo-bin): $t tests, $f failed, $e errors, $s skipped, $class_skips classes" \
        "skipped, $errors other error lines, exit $rc"
    local failed=$((f + e))
    if [ "$errors" -gt 0 ] || { [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
        failed=$((failed + 1))
    fi
    if [ -n "$must_run" ] && { [ "$t" -eq 0 ] || [ $((s + class_skips)) -gt 0 ]; }; then
        echo "$db: its tests must run there; $t ran, $((s + class_skips)) skipped" >&2
        failed=$((failed + 1))
    fi
    add_counts "$db (odoo-bin)" $((t - f - e - s)) "$failed" $((s + class_skips))
}

# pytest_run DB TEST_TAGS: the tests TEST_TAGS selects, under pytest-odoo, on the database DB
# that odoo_run installed. The tests are collected through the addons folder, where the addon
# has its module's name (pytest-odoo imports them as odoo.addons.microsoft_contacts.tests.*).
# pytest-odoo imports Odoo's test framework before Odoo is in test mode: Odoo logs one ERROR
# about it ("Importing test framework...") at the top of the log, outside any test; harmless.
pytest_run() {
    local db=$1 tags=$2 log="$WORK/tier2-$1-pytest.log" xml="$WORK/tier2-$1-pytest.xml"
    echo "--- $db (pytest-odoo): tests $tags (log: ${log#"$root"/})"
    rm -f "$xml"
    # Odoo and tools/pytest_tier2.py on the import path; from $run, so that the clone's own
    # folders do not shadow anything.
    (cd "$run" && PYTHONPATH="$ODOO_PATH:$root/tools" "$python" -m pytest -p pytest_tier2 \
        --test-tags "$tags" --odoo-config "$run/odoo.conf" --odoo-database "$db" \
        --odoo-log-level warn --junitxml "$xml" -q "$run/addons/microsoft_contacts/tests") \
        >"$log" 2>&1
    local rc=$? p=0 f=0 s=0
    [ -f "$xml" ] && read -r p f s <<<"$(junit_counts "$xml")"
    tail -n 1 "$log"
    echo "$db (pytest-odoo): $((p + f + s)) tests, $f failed, $s skipped, exit $rc"
    grep -E '^(FAILED|ERROR) ' "$log" | head -n 30
    # Exit 1 is failed tests, counted above; any other non-zero exit (no test collected, a
    # usage error, an internal error) is a failure of its own.
    if [ "$rc" -ne 0 ] && { [ "$rc" -ne 1 ] || [ "$f" -eq 0 ]; }; then
        echo "pytest-odoo exited with $rc:" >&2
        tail -n 40 "$log" >&2
        f=$((f + 1))
    fi
    add_counts "$db (pytest-odoo)" "$p" "$f" "$s"
}

if [ -n "${ODOO_TIER_TAGS:-}" ]; then   # one database, chosen tests (benchmarks)
    odoo_run mc_tagged microsoft_contacts "$ODOO_TIER_TAGS"
    grep -h ' BENCH ' "$WORK"/tier2-mc_tagged.log | sed 's/^.* BENCH /BENCH /'
else
    odoo_run mc_alone microsoft_contacts "$http_tag/microsoft_contacts,-microsoft_contacts_calendar"
    pytest_run mc_alone "/microsoft_contacts,-microsoft_contacts_calendar,-$http_tag"
    odoo_run mc_calendar microsoft_contacts,microsoft_calendar microsoft_contacts_calendar must-run
fi

echo "$total_p $total_f $total_s" >"$counts"
[ "$total_f" -eq 0 ]
