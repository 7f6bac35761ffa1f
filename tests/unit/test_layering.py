"""The package's design, as rules on who imports whom.

Imports flow one way, up this stack (a module may import its own layer and those below):

    _version, errors, _buffers      import no sealbox module at all
    _source                         errors only
    format                          pure message layout: no crypto, no I/O
    crypto
    materials
    keyrings
    cmm
    caching
    encryptor, header_check, decryptor
    streaming
    api
    aws_encryption_sdk, s3ec        the reference SDK's legacy API; the S3 encryption client
    sealbox (the lazy re-exports), testing
    cli

The server may use errors, format and crypto, and nothing else of the library; no
library module imports the server or the CLI, except the CLI commands that front the
server (``serve``, ``admin``, ``audit``). There is no import circle anywhere in the package.
Importing the library loads neither boto3 (the KMS keyring imports it when it first
calls KMS) nor any server dependency, and ``import sealbox`` alone loads nothing heavy.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sealbox"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("sealbox._version", "sealbox.errors", "sealbox._buffers", "sealbox.console"),
    ("sealbox._source",),
    ("sealbox.format",),
    ("sealbox.crypto",),
    ("sealbox.frame_runs",),
    ("sealbox.materials",),
    ("sealbox.keyrings",),
    ("sealbox.cmm",),
    ("sealbox.caching",),
    ("sealbox.encryptor", "sealbox.header_check", "sealbox.decryptor"),
    ("sealbox.streaming",),
    ("sealbox.api",),
    ("sealbox.aws_encryption_sdk", "sealbox.s3ec"),
    ("sealbox", "sealbox.testing"),
    ("sealbox.cli", "sealbox.__main__"),
)
IMPORT_NO_SEALBOX_MODULE = (
    "sealbox._version",
    "sealbox.errors",
    "sealbox._buffers",
    "sealbox.console",
)
SERVER_MAY_IMPORT = (
    "sealbox._version",
    "sealbox.errors",
    "sealbox.format",
    "sealbox.crypto",
    "sealbox.console",
)
SERVER_FRONTS = ("sealbox.cli.serve", "sealbox.cli.admin", "sealbox.cli.audit")
HEAVY = ("boto3", "botocore", "sqlalchemy", "psycopg", "uvicorn", "sealbox.server")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PATHS = {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def within(name: str, entry: str) -> bool:
    """``name`` is the module or package ``entry`` or inside it (the root only as itself)."""
    return name == entry or (entry != "sealbox" and name.startswith(entry + "."))


def imports_in(code: str, name: str, *, is_package: bool = False) -> set[str]:
    """The modules that module ``name`` imports, wherever the statement is (in functions
    and TYPE_CHECKING blocks too). ``from a import b`` imports ``a.b`` when that is one
    of our modules, else ``a``; relative imports resolve against the module's package."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in PATHS else base)
    return found


def imports_of(name: str) -> set[str]:
    path = PATHS[name]
    return imports_in(path.read_text(), name, is_package=path.name == "__init__.py")


def sealbox_imports_of(name: str) -> set[str]:
    return {m for m in imports_of(name) if m == "sealbox" or m.startswith("sealbox.")}


def layer_of(name: str) -> int | None:
    """The layer of the most specific entry ``name`` is within; None if outside them all."""
    matches = [
        (len(entry), index)
        for index, layer in enumerate(LAYERS)
        for entry in layer
        if within(name, entry)
    ]
    return max(matches)[1] if matches else None


def violations(name: str, imported: set[str]) -> list[str]:
    """What is wrong with module ``name`` importing the sealbox modules ``imported``."""
    if within(name, "sealbox.server"):
        allowed = (*SERVER_MAY_IMPORT, "sealbox.server")
        return [
            f"{name} imports {m}: the server uses only {', '.join(SERVER_MAY_IMPORT)}"
            for m in sorted(imported)
            if not any(within(m, entry) for entry in allowed)
        ]
    own = layer_of(name)
    if own is None:
        return [f"{name} is in no layer: place it in LAYERS"]
    if name in IMPORT_NO_SEALBOX_MODULE:
        return [f"{name} imports {m}: it must import no sealbox module" for m in sorted(imported)]
    found = []
    for m in sorted(imported):
        layer = layer_of(m)
        if layer is None and name in SERVER_FRONTS and within(m, "sealbox.server"):
            continue
        if layer is None:
            found.append(f"{name} imports {m}, which the library must not import")
        elif layer > own:
            found.append(f"{name} imports {m}, a layer above it: imports flow one way")
    return found


def test_imports_follow_the_layers() -> None:
    found = [v for name in PATHS for v in violations(name, sealbox_imports_of(name))]
    assert found == [], "\n".join(found)


def test_format_is_pure() -> None:
    """Format code computes no tags and does no I/O: it imports neither pyca nor io/os."""
    for name in PATHS:
        if within(name, "sealbox.format"):
            impure = {
                m
                for m in imports_of(name)
                if m.startswith(("cryptography", "os", "io", "hashlib", "hmac"))
            }
            assert not impure, name


def test_no_import_circle() -> None:
    """In the library and in the server: any module's imports, function-local and
    type-checking ones included, never lead back to it."""
    library = list(PATHS)
    edges = {name: sealbox_imports_of(name) & set(library) for name in library}

    def reaches(start: str, goal: str) -> bool:
        seen: set[str] = set()
        todo = list(edges[start])
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo.extend(edges[name])
        return False

    circles = [f"{a} -> {b} -> ... -> {a}" for a in library for b in edges[a] if reaches(b, a)]
    assert circles == [], "\n".join(circles)


def test_the_import_reader_sees_every_form() -> None:
    assert imports_in("from sealbox import server", "sealbox.cli.x") == {"sealbox.server"}
    assert imports_in("from sealbox import EncryptionClient", "sealbox.cli.x") == {"sealbox"}
    assert imports_in("import sealbox.cmm as c", "sealbox.format.x") == {"sealbox.cmm"}
    assert imports_in("from . import body", "sealbox.format.x") == {"sealbox.format.body"}
    assert imports_in("from .body import f", "sealbox.format.x") == {"sealbox.format.body"}
    assert imports_in("from .. import api", "sealbox.format.x") == {"sealbox.api"}
    assert imports_in("from ..crypto import aead", "sealbox.format.x") == {"sealbox.crypto.aead"}
    assert imports_in("from . import x", "sealbox.format", is_package=True) == {"sealbox.format"}
    assert imports_in("def f():\n    from . import server\n", "sealbox.api") == {"sealbox.server"}


@pytest.mark.parametrize(
    ("name", "imported"),
    [
        ("sealbox.format.header", {"sealbox.crypto.aead"}),
        ("sealbox.errors", {"sealbox._buffers"}),
        ("sealbox._source", {"sealbox.format.suites"}),
        ("sealbox.materials", {"sealbox.keyrings.base"}),
        ("sealbox.cmm", {"sealbox.api"}),
        ("sealbox.encryptor", {"sealbox.streaming"}),
        ("sealbox.api", {"sealbox.cli.crypt"}),
        ("sealbox.api", {"sealbox"}),
        ("sealbox.keyrings.aws_kms", {"sealbox.server.errors"}),
        ("sealbox.cli.crypt", {"sealbox.server"}),
        ("sealbox.server.dispatch", {"sealbox.cmm"}),
        ("sealbox.server.dispatch", {"sealbox.keyrings.base"}),
        ("sealbox.server.dispatch", {"sealbox.cli"}),
        ("sealbox.newcomer", set()),
    ],
)
def test_a_broken_rule_is_reported(name: str, imported: set[str]) -> None:
    assert violations(name, imported) != []


def test_the_library_imports_nothing_heavy() -> None:
    """boto3 and the server's dependencies load only when used, never on import."""
    library = [name for name in PATHS if not within(name, "sealbox.server")]
    library.remove("sealbox.__main__")  # it runs the command line
    code = (
        "import importlib, json, sys\n"
        f"for name in {library!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(loaded) == [], "imported by the library on import"


def test_import_sealbox_is_cheap() -> None:
    """``import sealbox`` (and so ``sealbox --version``) loads no other sealbox module
    than its version, and not the cryptography package: names load on first use."""
    code = "import json, sys, sealbox\nprint(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    assert [m for m in loaded if m.startswith("sealbox")] == ["sealbox", "sealbox._version"]
    assert not [m for m in loaded if m.startswith(("cryptography", *HEAVY))]
