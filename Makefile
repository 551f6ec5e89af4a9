# Outlook Contacts Sync for Odoo: developer entry points.
#   make test   tier 1 (pure Python + simulator), tier 2 (Odoo, when an Odoo 18 tree is found), lint
#   make demo   Odoo 18 + demo data + this addon on http://localhost:8069 (admin / admin), pointed
#               at a local Graph simulator holding ~200 Outlook contacts; Ctrl-C stops it all
#   make demo-check   the same started, checked over HTTP and stopped (non-interactive, for CI)
#   make demo-screenshots   the README's screenshots (static/description/screenshots/*.png), taken
#               by headless Chromium (CHROMIUM, default: chromium on the PATH) from a running
#               `make demo` that nobody has connected yet: it goes through Connect and the first
#               sync (restart the demo to take them again)
#   make bench-directory   5,000 Entra ID users imported, then a delta run; a group of 5,000
#               members: first import, delta, the same changes read whole (needs Odoo)
#   make bench-sync   Outlook contacts sync of 1,000 partners: push, incremental, no-op; pushes
#               paced to 100 / 50 / 10 % of Outlook's limit and from a 90 % spent window
#   make bench-notify  the time from a change in Outlook (the simulator) to the change in Odoo
#               through Graph change notifications, a real Odoo with its cron threads (needs Odoo)
#   make bench-scale  many accounts (BENCH_ACCOUNTS=200 x BENCH_CONTACTS=1000) synced by
#               BENCH_WORKERS=2 cron workers, BENCH_CYCLES=3 cycles of 1 % churn (needs Odoo)
#   make odoo   Odoo 18.0 fetched with git (shallow) into ODOO_PATH, else ../odoo, where the
#               targets above find it; nothing to do when they find one already
# ODOO_PATH: an Odoo 18.0 source tree (the folder holding odoo-bin). Default: the first of
#   ../odoo, /opt/odoo18, /opt/odoo that holds an Odoo 18 tree.
# PYTHON: the interpreter the virtualenv is built from (3.10-3.12). Default: python3.

PYTHON ?= python3
VENV ?= .venv
export ODOO_PATH PYTHON VENV

.PHONY: test test-unit test-odoo lint venv clean demo demo-check demo-screenshots bench-directory \
	bench-sync bench-scale bench-notify odoo

test:
	@bash tools/run_tests.sh all

test-unit:
	@bash tools/run_tests.sh unit

test-odoo:
	@bash tools/run_tests.sh odoo

lint:
	@bash tools/run_tests.sh lint

venv:
	@bash tools/run_tests.sh venv

odoo:
	@bash tools/get_odoo.sh

# Benchmarks print their figures (they are not part of make test).
bench-directory:
	@ODOO_TIER_TAGS=microsoft_contacts_bench bash tools/run_tests.sh odoo

bench-sync:
	@ODOO_TIER_TAGS=microsoft_contacts_bench_sync bash tools/run_tests.sh odoo

bench-scale:
	@bash tools/bench_scale.sh

bench-notify:
	@bash tools/bench_notify.sh

# DEMO_PORT (Odoo, default 8069) and DEMO_SIM_PORT (the simulator, default 8443) move the ports.
demo:
	@bash tools/demo.sh

demo-check:
	@bash tools/demo.sh --check

demo-screenshots:
	@bash -c '. tools/common.sh && resolve_venv && exec "$$VENV/bin/python" tools/demo_screenshots.py'

clean:
	rm -rf $(VENV) .tmp .pytest_cache .ruff_cache .hypothesis
