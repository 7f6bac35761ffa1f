"""``@FILE`` arguments, as ``aws-encryption-cli`` reads them, and its ``-e``/``-d`` spelling.

An argument ``@flags.txt`` is replaced by the words of that file: split as a
shell would (quotes work), ``#`` starts a comment, ``~`` and ``$VAR`` are
expanded, and a file may name further ``@files``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from sealbox.errors import UsageError

_MAX_DEPTH = 10
_ACTIONS = {"-e": "encrypt", "--encrypt": "encrypt", "-d": "decrypt", "--decrypt": "decrypt"}


def expand_argfiles(argv: Sequence[str], depth: int = 0) -> list[str]:
    words: list[str] = []
    for word in argv:
        if not word.startswith("@") or len(word) == 1:
            words.append(word)
            continue
        if depth >= _MAX_DEPTH:
            raise UsageError(f"{word}: argument files nest deeper than {_MAX_DEPTH} (a loop?)")
        path = Path(os.path.expanduser(word[1:]))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UsageError(f"cannot read argument file {path}: {reason}") from None
        try:
            found = shlex.split(text, comments=True)
        except ValueError as error:
            raise UsageError(f"argument file {path}: {error}") from None
        expanded = [os.path.expandvars(os.path.expanduser(w)) for w in found]
        words.extend(expand_argfiles(expanded, depth + 1))
    return words


def command_form(argv: Sequence[str], commands: Sequence[str]) -> list[str]:
    """``sealbox -e …`` → ``sealbox encrypt …``; ``sealbox --decrypt-unsigned …`` →
    ``sealbox decrypt --decrypt-unsigned …``. Arguments already naming a
    command (or asking for help or the version) are returned unchanged."""
    first = next((w for w in argv if not w.startswith("-")), None)
    if first in commands and argv and argv[0] == first:
        return list(argv)
    actions = [w for w in argv if w in _ACTIONS or w == "--decrypt-unsigned"]
    if not actions:
        return list(argv)
    if len(actions) > 1:
        raise UsageError(
            f"choose one of -e/--encrypt, -d/--decrypt and --decrypt-unsigned (got {' '.join(actions)})"
        )
    rest = [w for w in argv if w not in _ACTIONS]
    command = "decrypt" if "--decrypt-unsigned" in actions else _ACTIONS[actions[0]]
    return [command, *rest]
