"""The ``sealbox`` command line: a thin client of the library.

Exit status: 0 success, 1 the operation failed (or an unexpected error), 2 a
usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Every failure
is one line on stderr; ``--debug`` adds the traceback of an unexpected one.
Commands import what they need when they run, so ``sealbox --version`` stays
instant: this module imports nothing beyond the standard minimum.
"""

from __future__ import annotations

import sys

from sealbox._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from sealbox.cli.parsing import Parser
    from sealbox.errors import SealboxError


def build_parser() -> Parser:
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


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _failure(error: SealboxError) -> str:
    """The error as one line: a failed decryption lists each keyring's reason after ';'."""
    from sealbox.errors import NoDecryptableKeyError

    if isinstance(error, NoDecryptableKeyError) and error.causes:
        return _one_line(f"{error.summary}: " + "; ".join(str(c) for c in error.causes))
    return _one_line(str(error))


def _unexpected(error: Exception, debug: bool) -> int:
    """A bug or an environment problem the code did not foresee: one line, or the traceback."""
    if debug:
        import traceback

        traceback.print_exception(error)
        return 1
    what = _one_line(str(error)) or "no details"
    print(
        f"sealbox: error: {type(error).__name__}: {what} (run with --debug for details)",
        file=sys.stderr,
    )
    return 1


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

    debug = "--debug" in words[: words.index("--")] if "--" in words else "--debug" in words
    try:
        parser = build_parser()
        try:
            words = command_form(expand_argfiles(words), COMMANDS)
        except UsageError as error:
            parser.error(str(error))
        parser.words = words
        args = parser.parse_args(words)
        _configure_logging(args)
    except Exception as error:  # argparse exits by SystemExit, which passes through
        return _unexpected(error, debug)
    debug = debug or getattr(args, "debug", False)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result: int = args.handler(args)
    except UsageError as error:
        print(f"sealbox: error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except SealboxError as error:
        print(f"sealbox: error: {_failure(error)}", file=sys.stderr)
        return 1
    except Exception as error:
        return _unexpected(error, debug)
    except KeyboardInterrupt:
        print("sealbox: interrupted; no output was written", file=sys.stderr)
        return 130
    except _Terminated:
        print("sealbox: terminated; no output was written", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    return result
