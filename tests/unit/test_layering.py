"""Imports flow one way: format, crypto -> materials, keyrings, cmm -> api, streaming -> cli.

The server may use format and crypto; no library module imports the server or the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sealbox"

# module prefix -> sealbox packages/modules it must never import
FORBIDDEN = {
    "sealbox.format": (
        "sealbox.crypto",
        "sealbox.keyrings",
        "sealbox.cmm",
        "sealbox.api",
        "sealbox.streaming",
        "sealbox.cli",
        "sealbox.server",
        "sealbox.materials",
    ),
    "sealbox.crypto": (
        "sealbox.keyrings",
        "sealbox.cmm",
        "sealbox.api",
        "sealbox.streaming",
        "sealbox.cli",
        "sealbox.server",
        "sealbox.materials",
    ),
    "sealbox.keyrings": ("sealbox.api", "sealbox.streaming", "sealbox.cli", "sealbox.server"),
    "sealbox.cmm": ("sealbox.api", "sealbox.streaming", "sealbox.cli", "sealbox.server"),
    "sealbox.caching": ("sealbox.api", "sealbox.streaming", "sealbox.cli", "sealbox.server"),
    "sealbox.api": ("sealbox.cli", "sealbox.server"),
    "sealbox.streaming": ("sealbox.cli", "sealbox.server"),
    "sealbox.encryptor": ("sealbox.cli", "sealbox.server", "sealbox.api"),
    "sealbox.decryptor": ("sealbox.cli", "sealbox.server", "sealbox.api"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_imports_flow_one_way() -> None:
    violations = []
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        for prefix, banned in FORBIDDEN.items():
            if name == prefix or name.startswith(prefix + "."):
                violations += [
                    f"{name} imports {m}" for m in imports_of(path) if m.startswith(banned)
                ]
    assert violations == []


def test_format_is_pure() -> None:
    """Format code computes no tags and does no I/O: it imports neither pyca nor io/os."""
    for path in (SRC / "format").rglob("*.py"):
        assert not {
            m
            for m in imports_of(path)
            if m.startswith(("cryptography", "os", "io", "hashlib", "hmac"))
        }, path
