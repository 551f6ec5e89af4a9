"""A domain on contacts typed by a user, read as data: never evaluated as code."""

from __future__ import annotations

import ast

MAX_DOMAIN_LENGTH = 2_000
MAX_DOMAIN_TERMS = 50


def parse_domain(text: str, uid: int) -> list:
    """A domain typed as a Python literal (`uid` allowed), as a list; ValueError otherwise."""
    if len(text) > MAX_DOMAIN_LENGTH:
        raise ValueError(f"longer than {MAX_DOMAIN_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a domain: {error.msg}") from None

    def value(node):
        if isinstance(node, ast.Constant) and (
            node.value is None or isinstance(node.value, str | int | float | bool)
        ):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            items = [value(item) for item in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Name) and node.id == "uid":
            return uid
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            return -node.operand.value
        raise ValueError(
            f"only plain values and uid may be used, not {ast.get_source_segment(text, node)}"
        )

    domain = value(tree.body)
    if not isinstance(domain, list):
        raise ValueError("a domain is a list, e.g. [('is_company', '=', False)]")
    if len(domain) > MAX_DOMAIN_TERMS:
        raise ValueError(f"more than {MAX_DOMAIN_TERMS} terms")
    return domain
