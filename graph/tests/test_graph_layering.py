"""graph/ (and sync/, once it exists) must stay importable without Odoo."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("graph", "sync")


def _python_files():
    for package in PURE_PACKAGES:
        folder = ROOT / package
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*.py") if "tests" not in p.parts)


def _imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", list(_python_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_layer_never_imports_odoo(path):
    assert "odoo" not in set(_imported_roots(path)), f"{path} imports odoo"


def test_layering_check_sees_the_graph_package():
    files = {p.name for p in _python_files()}
    assert {"client.py", "errors.py", "pacer.py"} <= files
