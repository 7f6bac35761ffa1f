"""``sealbox completion SHELL``: a completion script generated from the argument parser.

shtab reads the same parser the command uses, so completion never drifts from
the flags. It is imported only here, keeping ``sealbox --version`` instant.
"""

from __future__ import annotations

import argparse
import sys

from sealbox.errors import UsageError


def completion_script(shell: str) -> str:
    try:
        import shtab
    except ImportError:
        raise UsageError(
            "shell completion needs the shtab package: pip install 'shtab>=1.9'"
        ) from None
    from sealbox.cli.parser import build_parser

    parser = build_parser()
    _complete_paths(parser, shtab.FILE)
    script: str = shtab.complete(parser, shell=shell)
    return script


_PATH_ARGUMENTS = {"input", "output", "file", "metadata_output", "config", "data_dir"}


def _complete_paths(parser: argparse.ArgumentParser, files: object) -> None:
    """Complete file names for the arguments that take a path."""
    for action in parser._actions:
        if action.dest in _PATH_ARGUMENTS:
            action.complete = files  # type: ignore[attr-defined]  # read by shtab
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_paths(sub, files)


def run_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell))
    return 0
