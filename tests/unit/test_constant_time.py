"""G-C3: secrets are compared with hmac.compare_digest (or a library verify call), never ==.

Any ``==``/``!=`` whose operand is named like a tag, MAC, signature, commitment,
digest or secret is reported, unless its line says ``# not secret`` (e.g. a
length field). A seeded violation proves the check finds what it should.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sealbox"
# whole components of an identifier: auth_tag, expected_signature, commitment, digest...
SECRETISH = re.compile(
    r"(^|_)(tag|mac|signature|commit|commitment|digest|secret)(_|$)", re.IGNORECASE
)


def _is_column(node: ast.expr) -> bool:
    """``table.c.name``: a SQLAlchemy column, whose == builds SQL and compares nothing."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "c"
    )


def _names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr, *_names(node.value)]
    if isinstance(node, ast.Subscript):
        return _names(node.value)
    return []


def secret_comparisons(source: str, filename: str = "<fixture>") -> list[str]:
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_column(operand) for operand in operands):
            continue
        if any(SECRETISH.search(name) for operand in operands for name in _names(operand)):
            if "# not secret" not in lines[node.lineno - 1]:
                found.append(f"{filename}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_no_secret_is_compared_with_equals() -> None:
    hits = [
        hit for path in SRC.rglob("*.py") for hit in secret_comparisons(path.read_text(), str(path))
    ]
    assert hits == []


def test_the_check_catches_a_seeded_violation() -> None:
    fixture = "def check(expected_tag, tag):\n    return tag == expected_tag\n"
    assert secret_comparisons(fixture) == ["<fixture>:2: return tag == expected_tag"]
    assert secret_comparisons("import hmac\nok = hmac.compare_digest(tag, other)\n") == []
    assert secret_comparisons("if record.auth_tag != sent:\n    pass\n") == [
        "<fixture>:1: if record.auth_tag != sent:"
    ]
