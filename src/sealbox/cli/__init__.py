"""The ``sealbox`` command line: a thin client of the library.

Exit status: 0 success, 1 the operation failed, 2 a usage error. Commands
import what they need when they run, so ``sealbox --version`` stays instant:
this module imports nothing beyond the standard minimum.
"""

from __future__ import annotations

import sys

from sealbox._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from sealbox.cli.parser import _Parser


def build_parser() -> _Parser:
    from sealbox.cli.parser import build_parser as build

    return build()


class _Terminated(BaseException):
    """SIGTERM, raised so that partial outputs are cleaned up on the way out."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _configure_logging(args: argparse.Namespace) -> None:
    import logging

    verbosity = getattr(args, "verbose", 0)
    if getattr(args, "quiet", False):
        level = logging.ERROR
    else:
        level = (
            (logging.WARNING, logging.INFO)[min(verbosity, 1)] if verbosity < 2 else logging.DEBUG
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sealbox: %(levelname)s: %(message)s"))
    cli = logging.getLogger("sealbox.cli")
    cli.addHandler(handler)
    cli.setLevel(level)
    cli.propagate = False
    if verbosity >= 3:  # -vvv: the libraries we call too; -vvvv: at debug level
        logging.basicConfig(level=logging.INFO if verbosity == 3 else logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:  # the fast path: no parser, no imports
        print(f"sealbox {__version__}")
        return 0
    import signal

    if hasattr(signal, "SIGPIPE"):
        # Behave like other Unix filters when the reader goes away (`sealbox ... | head`).
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from sealbox.cli.argfiles import command_form, expand_argfiles
    from sealbox.cli.parser import COMMANDS
    from sealbox.errors import SealboxError, UsageError

    parser = build_parser()
    try:
        words = command_form(expand_argfiles(words), COMMANDS)
    except UsageError as error:
        parser.error(str(error))
    parser.words = words
    args = parser.parse_args(words)
    _configure_logging(args)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result: int = args.handler(args)
    except UsageError as error:
        print(f"sealbox: error: {error}", file=sys.stderr)
        return 2
    except SealboxError as error:
        print(f"sealbox: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sealbox: interrupted; no output was written", file=sys.stderr)
        return 130
    except _Terminated:
        print("sealbox: terminated; no output was written", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    return result
