"""pytest plugin for tier 1 (loaded by pytest.ini: ``-p tools.pytest_tier1``).

- The repository root is the addon, and its ``__init__.py`` imports odoo. pytest 8 would
  import every ``__init__.py`` above a test file as a package; here folders are collected as
  plain directories instead, and ``graph`` / ``graph_simulator`` are imported from
  ``pythonpath`` (``.`` and ``tools``), exactly as code outside Odoo sees them.
- Fixtures: ``graph_sim_server`` (session: one running GraphSimulator, seed 0) and
  ``graph_sim`` (function: the same simulator after ``reset()``, with ``REQUESTS_CA_BUNDLE``
  pointing at its CA bundle for the duration of the test).

Nothing heavy is imported at import time: this module loads before ``pythonpath`` applies.
"""

import pytest


def pytest_collect_directory(path, parent):
    if (path / "__init__.py").is_file():
        return pytest.Dir.from_parent(parent, path=path)
    return None


@pytest.fixture(scope="session")
def graph_sim_server():
    from graph_simulator.simulator import GraphSimulator

    sim = GraphSimulator(seed=0)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def graph_sim(graph_sim_server, monkeypatch):
    graph_sim_server.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", graph_sim_server.ca_bundle_path)
    yield graph_sim_server
    graph_sim_server.reset()
