"""Local HTTPS stand-in for Microsoft login + Microsoft Graph (tests, demo, benchmark).

See README.md. Nothing here imports odoo.
"""

from graph_simulator.simulator import DEFAULTS, GraphError, GraphSimulator

__all__ = ["DEFAULTS", "GraphError", "GraphSimulator"]
