#!/usr/bin/env bash
# The whole test run behind `make test`, from a fresh clone:
#   venv   .venv with the pinned dependencies (requirements*.txt)
#   unit   tier 1: graph/, sync/ and the Graph simulator with plain pytest
#   odoo   tier 2: the addon installed and tested in Odoo 18 (throwaway PostgreSQL): odoo-bin
#          runs the tests that need Odoo's HTTP server, pytest-odoo the others (tools/odoo_tier.sh)
#   lint   ruff + pylint-odoo (OCA's mandatory checks), test module names unique across tiers
#   all    all of the above and, when Odoo is found, `make demo-check`; then one summary line
# Tier 2 runs whenever an Odoo 18 tree is found (ODOO_PATH, else ../odoo, /opt/odoo18, /opt/odoo)
# and says loudly when it is skipped, and how to get one (`make odoo`). Its browser tests (hoot,
# tours) need Chromium: tier 2 installs it when missing (apt-get, as root or with password-less
# sudo) and counts a failure when it still cannot be found.
set -uo pipefail

. "$(dirname "$0")/common.sh"
cd "$root" || exit 1
mode=${1:-all}
resolve_venv
work="$root/.tmp"
mkdir -p "$work"

# name -> "passed failed skipped" (or a reason when skipped as a whole)
declare -A passed failed skipped status

run_unit() {
    say "tier 1: pure Python (graph/, sync/, Graph simulator)"
    local xml="$work/tier1.xml"
    rm -f "$xml"
    "$VENV/bin/python" -m pytest -p no:cacheprovider --junitxml="$xml" -q
    local rc=$?
    read -r p f s <<<"$(junit_counts "$xml")"
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1   # collection errors, internal errors
    passed[tier1]=$p; failed[tier1]=$f; skipped[tier1]=$s
    status[tier1]=ran
}

# The browsers Odoo 18 looks for on Linux (odoo.tests.common._find_executable), in its order.
CHROME_NAMES=(google-chrome chromium chromium-browser google-chrome-stable)

find_chrome() {
    local name
    for name in "${CHROME_NAMES[@]}"; do
        command -v "$name" && return 0
    done
    return 1
}

# ensure_chromium: a browser for Odoo's browser tests, installed with apt-get when missing.
ensure_chromium() {
    local chrome
    if chrome=$(find_chrome); then
        echo "browser for the tours and hoot tests: $chrome"
        return 0
    fi
    say "tier 2: no Chromium/Chrome found (${CHROME_NAMES[*]}): installing Chromium"
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "not root and no password-less sudo: cannot install Chromium" >&2
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "no apt-get on this machine: cannot install Chromium" >&2
    elif [ "$(id -u)" -eq 0 ] || [ "${#as_root[@]}" -gt 0 ]; then
        "${as_root[@]}" apt-get update -qq \
            && { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
                || "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-browser; }
    fi
    hash -r
    if chrome=$(find_chrome); then
        echo "browser for the tours and hoot tests: $chrome"
        return 0
    fi
    cat >&2 <<'EOF'
!!! No Chromium or Google Chrome: the browser tests (tours, hoot) cannot run and FAIL.
!!! Install it, then run again: Debian/Ubuntu `sudo apt-get install chromium` (older
!!! Ubuntu: chromium-browser), Fedora `sudo dnf install chromium`, or Google Chrome. It must
!!! be on PATH as google-chrome, chromium, chromium-browser or google-chrome-stable.
EOF
    return 1
}

run_odoo() {
    local odoo
    if ! odoo=$(find_odoo); then
        if [ -n "${ODOO_PATH:-}" ]; then   # asked for explicitly: a wrong path is an error
            passed[tier2]=0; failed[tier2]=1; skipped[tier2]=0; status[tier2]=ran
            return 1
        fi
        status[tier2]="SKIPPED: no Odoo 18 tree (make odoo fetches one)"
        say "tier 2: ${status[tier2]}"
        echo "!!! The Odoo tier did NOT run: models, views, controllers and security are untested. !!!" >&2
        odoo_missing_help >&2
        return 0
    fi
    say "tier 2: Odoo 18 at $odoo"
    rm -f "$work/tier2.counts" "$work/tier2.detail"   # no figures of an earlier run
    install_requirements odoo requirements-odoo.txt || { failed[tier2]=1; status[tier2]=ran; return 1; }
    local no_browser=0
    ensure_chromium || no_browser=1
    VENV="$VENV" ODOO_PATH="$odoo" WORK="$work" bash "$root/tools/odoo_tier.sh"
    local rc=$?
    read -r p f s <"$work/tier2.counts" 2>/dev/null || { p=0; f=1; s=0; }
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    f=$((f + no_browser))
    passed[tier2]=$p; failed[tier2]=$f; skipped[tier2]=$s
    status[tier2]=ran
}

# demo: `make demo` started from this clone, checked over HTTP and stopped (tools/demo.sh
# --check, on free ports), so that README's second command keeps working.
run_demo() {
    if ! find_odoo >/dev/null 2>&1; then
        status[demo]="SKIPPED: no Odoo 18 tree (make odoo fetches one)"
        return 0
    fi
    say "demo: make demo-check"
    if bash "$root/tools/demo.sh" --check; then
        passed[demo]=1; failed[demo]=0
    else
        passed[demo]=0; failed[demo]=1
    fi
    skipped[demo]=0
    status[demo]=ran
}

run_lint() {
    say "lint: ruff"
    local f=0 p=0
    if "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check --quiet .; then
        p=$((p + 1))
    else
        f=$((f + 1))
        echo "ruff found problems: run '$VENV/bin/ruff check --fix . && $VENV/bin/ruff format .'" >&2
    fi
    say "lint: pylint-odoo (OCA mandatory checks)"
    local parent="$work/lint-addons"
    rm -rf "$parent" && mkdir -p "$parent" && ln -s "$root" "$parent/microsoft_contacts"
    if (cd "$parent" && "$VENV/bin/python" -m pylint --rcfile="$root/.pylintrc" microsoft_contacts); then
        p=$((p + 1))
    else
        f=$((f + 1))
    fi
    say "lint: test module names unique across tiers"
    # pytest imports a test file by its name when its folder is not a package (tier 1), so two
    # test files of one name collide in any run that collects both (pytest from the root).
    local same
    same=$(find "$root" -name '.*' -prune -o -path '*/tests/*' -name 'test_*.py' -print \
        | xargs -r -n1 basename | sort | uniq -d)
    if [ -z "$same" ]; then
        p=$((p + 1))
    else
        f=$((f + 1))
        echo "test modules of the same name in several folders (rename one): $same" >&2
    fi
    passed[lint]=$p; failed[lint]=$f; skipped[lint]=0
    status[lint]=ran
}

summary() {
    say "summary"
    local tp=0 tf=0 ts=0
    for tier in tier1 tier2 demo lint; do
        local st=${status[$tier]:-not run}
        if [ "$st" = ran ]; then
            printf '  %-6s %s passed, %s failed, %s skipped\n' "$tier" \
                "${passed[$tier]}" "${failed[$tier]}" "${skipped[$tier]}"
            # Tier 2 in parts: which runner ran which tests, in which database.
            [ "$tier" = tier2 ] && [ -s "$work/tier2.detail" ] && sed 's/^/           /' "$work/tier2.detail"
            tp=$((tp + passed[$tier])); tf=$((tf + failed[$tier])); ts=$((ts + skipped[$tier]))
        else
            printf '  %-6s %s\n' "$tier" "$st"
        fi
    done
    echo
    echo "summary: $tp passed, $tf failed, $ts skipped"
    [ "$tf" -eq 0 ]
}

ensure_venv || { echo "summary: 0 passed, 1 failed"; exit 1; }
case "$mode" in
venv) exit 0 ;;
unit) run_unit; summary ;;
odoo) run_odoo; summary ;;
lint) run_lint; summary ;;
all) run_unit; run_odoo; run_demo; run_lint; summary ;;
*) echo "usage: run_tests.sh all|unit|odoo|lint|venv" >&2; exit 2 ;;
esac
