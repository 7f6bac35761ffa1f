"""The modules under test for issue 13's checks: the reference ``aws_encryption_sdk`` and
Sealbox's drop-in ``sealbox.aws_encryption_sdk``. Both must import."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

MODULES = {"reference": "aws_encryption_sdk", "sealbox": "sealbox.aws_encryption_sdk"}


def load(label: str) -> ModuleType:
    """The module called ``label`` in :data:`MODULES`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's dependencies warn on import
        return importlib.import_module(MODULES[label])


def present_modules() -> list[ModuleType]:
    """Every module under test, the reference first."""
    return [load(label) for label in MODULES]


def submodule(sdk: ModuleType, path: str) -> ModuleType:
    """``sdk``'s counterpart of ``aws_encryption_sdk.<path>``: where a user's ``from`` imports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"{sdk.__name__}.{path}")
