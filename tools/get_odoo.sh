#!/usr/bin/env bash
# `make odoo`: an Odoo 18.0 source tree where `make test` and `make demo` look for one, fetched
# with git: ODOO_PATH when set, else ../odoo beside this clone. Outside the repository: Odoo
# is a dependency, like any Odoo install, and nothing of it belongs in this repository.
# Does nothing when an Odoo 18 tree is found already; fails with the same advice as `make test`
# when it cannot fetch one (no git, no network, an unrelated folder in the way).
set -uo pipefail

. "$(dirname "$0")/common.sh"
url=https://github.com/odoo/odoo
branch=18.0

fail() {
    echo "make odoo: $*" >&2
    echo >&2
    odoo_missing_help >&2
    exit 1
}

if odoo=$(find_odoo 2>/dev/null); then
    echo "make odoo: Odoo 18.0 is already at $odoo (make test and make demo use it)"
    exit 0
fi
target=$(realpath -m "${ODOO_PATH:-$(default_odoo_dir)}")
case "$target/" in
"$root"/*) fail "$target is inside this repository; choose a folder outside it (ODOO_PATH)" ;;
esac
if [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    fail "$target exists and does not hold Odoo 18.0; move it away or set ODOO_PATH"
fi
command -v git >/dev/null 2>&1 || fail "git is not installed (e.g. apt-get install git)"

# Ask the server first, briefly: where the network does not reach it (no route, a firewall
# that drops the connection) this says so within seconds instead of hanging in the clone.
# GIT_TERMINAL_PROMPT=0: never wait for credentials that no one will type.
export GIT_TERMINAL_PROMPT=0
echo "make odoo: asking $url for its $branch branch"
if ! reply=$(timeout 30 git ls-remote --exit-code --heads "$url" "$branch" 2>&1); then
    fail "cannot reach $url: ${reply:-no answer within 30 s}"
fi

# The clone itself may take minutes: it is stopped only when it stalls (under 1 KB/s for a
# minute), and goes to a side folder first, so that an interrupted clone leaves no half tree
# behind under the name the lookup tries.
partial="$target.partial"
rm -rf "$partial"
mkdir -p "$(dirname "$target")" || fail "cannot create $(dirname "$target")"
echo "make odoo: git clone --depth 1 --branch $branch $url $target"
if ! GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=60 \
    git clone --depth 1 --branch "$branch" --single-branch "$url" "$partial"; then
    rm -rf "$partial"
    fail "the clone of $url failed (git's message is above)"
fi
{ rm -rf "$target" && mv "$partial" "$target"; } || fail "cannot move the clone to $target"
odoo=$(ODOO_PATH="$target" find_odoo) || fail "$url $branch gave no Odoo 18.0 tree in $target"
echo "make odoo: Odoo 18.0 is at $odoo, where make test and make demo find it"
echo "(make test and make demo install its Python dependencies into the virtualenv)"
