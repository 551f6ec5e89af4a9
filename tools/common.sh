# Shell pieces shared by tools/run_tests.sh, tools/odoo_tier.sh and tools/demo.sh.
# Source it (bash); it sets `root` (the repository) and defines functions only.
#   say TEXT                         a visible step header
#   resolve_venv                     VENV (default .venv) made absolute, PYTHON defaulted
#   ensure_venv                      the virtualenv with requirements.txt + requirements-test.txt
#   install_requirements NAME FILE…  pip install once per content of the files
#   find_odoo                        prints the Odoo 18 tree (ODOO_PATH, ../odoo, /opt/odoo18, /opt/odoo)
#   odoo_missing_help                how to get an Odoo 18 tree (make odoo, ODOO_PATH)
#   default_odoo_dir                 where `make odoo` puts one: ../odoo, beside the clone
#   start_pgcluster DIR              a throwaway PostgreSQL; sets pg_host pg_port pg_user
#   start_simulator DIR PORT ARGS…   the Graph simulator as its own process, state in DIR;
#                                    sets sim_pid sim_url sim_bundle sim_ca
#   stop_process PID [SECONDS]       TERM, then KILL when still alive after SECONDS (default 20)
#   junit_counts FILE                prints "passed failed skipped" of a JUnit XML report
#   free_port                        prints a free TCP port of 127.0.0.1
#   port_is_free PORT                true when nothing listens on 127.0.0.1:PORT

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '\n=== %s\n' "$*"; }

resolve_venv() {
    PYTHON=${PYTHON:-python3}
    VENV=${VENV:-.venv}
    case "$VENV" in /*) ;; *) VENV="$root/$VENV" ;; esac
}

ensure_venv() {
    resolve_venv
    if ! "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
        echo "Python 3.10-3.12 is required; set PYTHON=/path/to/python3.x (found: $("$PYTHON" --version 2>&1))" >&2
        return 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtualenv $VENV"
        "$PYTHON" -m venv "$VENV" || return 1
    fi
    install_requirements base "$root/requirements.txt" "$root/requirements-test.txt"
}

install_requirements() {
    local name=$1; shift
    local stamp="$VENV/.installed-$name"
    local digest
    digest=$(cat "$@" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
        say "installing pinned Python dependencies ($name)"
        local args=()
        for f in "$@"; do args+=(-r "$f"); done
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" 2>&1 \
            | grep -v "is ignored: it is neither a file nor a directory" || true
        "$VENV/bin/python" -m pip check >/dev/null 2>&1 || {
            "$VENV/bin/python" -m pip check >&2
            echo "pip check failed for $name" >&2
            return 1
        }
        echo "$digest" >"$stamp"
    fi
}

find_odoo() {
    local candidates=()
    if [ -n "${ODOO_PATH:-}" ]; then
        candidates=("$ODOO_PATH")
    else
        candidates=("$root/../odoo" /opt/odoo18 /opt/odoo)
    fi
    for dir in "${candidates[@]}"; do
        if [ -x "$dir/odoo-bin" ] && [ -f "$dir/odoo/release.py" ] \
            && grep -Eq "^version_info = \(18, 0" "$dir/odoo/release.py"; then
            (cd "$dir" && pwd)
            return 0
        fi
    done
    if [ -n "${ODOO_PATH:-}" ]; then
        echo "ODOO_PATH=$ODOO_PATH does not hold an Odoo 18.0 tree (odoo-bin + odoo/release.py)" >&2
    fi
    return 1
}

default_odoo_dir() {
    echo "$(cd "$root/.." && pwd)/odoo"
}

odoo_missing_help() {
    local looked target
    if [ -n "${ODOO_PATH:-}" ]; then
        looked="ODOO_PATH=$ODOO_PATH" target=$ODOO_PATH
    else
        target=$(default_odoo_dir)
        looked="$target, /opt/odoo18, /opt/odoo"
    fi
    cat <<EOF
No Odoo 18.0 source tree (a folder with odoo-bin and the odoo/ package of release 18.0) at:
  $looked
To get one, either
  make odoo
      which clones Odoo 18.0 (several hundred MB; it needs to reach github.com) where make
      test and make demo find it:
      git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo $target
  or put an Odoo 18.0 source tree there yourself,
  or name the one you have: make test ODOO_PATH=/path/to/odoo (make demo likewise).
EOF
}

# new_run_dir NAME: sets run to a new temporary folder for a cluster and an Odoo, holding
# addons/microsoft_contacts (this clone, whatever the clone is called). Not in the clone: when
# we are root the cluster belongs to the postgres user, who must be able to reach it, and a
# clone under /root or in another private folder does not let that user in.
new_run_dir() {
    run=$(mktemp -d "${TMPDIR:-/tmp}/microsoft_contacts_$1.XXXXXX") || return 1
    chmod 755 "$run"
    mkdir -p "$run/addons"
    ln -s "$root" "$run/addons/microsoft_contacts"
}

# write_odoo_conf ODOO OPTION=VALUE...: $run/odoo.conf for Odoo tree ODOO on the cluster that
# start_pgcluster started, without demo data nor cron threads, plus the options given.
write_odoo_conf() {
    local odoo=$1 option; shift
    {
        echo "[options]"
        echo "addons_path = $odoo/addons,$run/addons"
        echo "data_dir = $run/data"
        echo "db_host = $pg_host"
        echo "db_port = $pg_port"
        echo "db_user = $pg_user"
        echo "list_db = False"
        echo "max_cron_threads = 0"
        echo "without_demo = all"
        for option in "$@"; do echo "${option%%=*} = ${option#*=}"; done
    } >"$run/odoo.conf"
}

start_pgcluster() {
    local line
    line=$(bash "$root/tools/pgcluster.sh" start "$1") || return 1
    read -r pg_host pg_port pg_user < <(echo "$line" | sed 's/[a-z]*=//g')
    [ -n "${pg_host:-}" ]
}

start_simulator() {
    local dir=$1 port=$2; shift 2
    mkdir -p "$dir"
    PYTHONPATH="$root/tools" "$VENV/bin/python" -m graph_simulator --port "$port" \
        --state-dir "$dir" "$@" >"$dir/sim.json" 2>"$dir/sim.log" &
    sim_pid=$!
    local _
    for _ in $(seq 1 100); do
        [ -s "$dir/sim.json" ] && break
        kill -0 "$sim_pid" 2>/dev/null || break
        sleep 0.1
    done
    local fields
    fields=$("$VENV/bin/python" -c '
import json, sys
line = json.loads(open(sys.argv[1]).readline())
print(line["base_url"], line["ca_bundle_path"], line["ca_path"])' "$dir/sim.json" 2>/dev/null) || {
        echo "the Graph simulator did not start:" >&2
        cat "$dir/sim.log" >&2
        return 1
    }
    read -r sim_url sim_bundle sim_ca <<<"$fields"
}

stop_process() {
    local pid=$1 seconds=${2:-20} _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 $((seconds * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_is_free() {
    "$VENV/bin/python" -c '
import socket, sys
s = socket.socket()
sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$1"
}

# A report that is missing or unreadable counts as one failure.
junit_counts() {
    "$VENV/bin/python" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 1 0")
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = failures = skips = 0
for s in suites:
    tests += int(s.get("tests", 0))
    failures += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skips += int(s.get("skipped", 0))
print(tests - failures - skips, failures, skips)
EOF
}

# start_bench_world: the throwaway cluster and the Graph simulator of a bench run (in $run),
# and the environment the addon's code reads the simulator from.
start_bench_world() {
    start_pgcluster "$run/pg" || return 1
    start_simulator "$run/sim" 0 --seed 1 || return 1
    export MICROSOFT_CONTACTS_SIMULATOR_URL="$sim_url"
    export REQUESTS_CA_BUNDLE="$sim_bundle"
}
