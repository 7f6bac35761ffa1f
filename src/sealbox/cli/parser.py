"""The argument parser of the ``sealbox`` command (built only when a command runs)."""

from __future__ import annotations

import argparse

from sealbox._version import __version__
from sealbox.cli.crypt_flags import add_crypt_commands
from sealbox.cli.parsing import Parser, lazy
from sealbox.cli.server_flags import add_server_commands


def build_parser() -> Parser:
    parser = Parser(
        prog="sealbox",
        description="Envelope encryption you can run yourself. "
        "aws-encryption-cli spellings work too: sealbox -e|-d|--decrypt-unsigned [flags].",
    )
    parser.add_argument("--version", action="version", version=f"sealbox {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an unexpected error, show the Python traceback (also accepted after COMMAND)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    add_crypt_commands(commands)

    keygen = commands.add_parser("keygen", help="make a raw wrapping key file")
    keygen.add_argument(
        "-o", "--output", required=True, help="key file to create (mode 0600; never overwritten)"
    )
    keygen.add_argument(
        "--type",
        default="aes-256",
        choices=["aes-128", "aes-192", "aes-256", "rsa-2048", "rsa-3072", "rsa-4096"],
    )
    keygen.add_argument("--name", help="key name written into messages (AES; default: random)")
    keygen.add_argument(
        "--namespace", default="sealbox", help="key namespace written into messages (AES)"
    )
    keygen.set_defaults(handler=lazy("sealbox.cli.keygen", "run_keygen"))

    add_server_commands(commands)

    inspect = commands.add_parser(
        "inspect", help="show a message's header as JSON, without decrypting"
    )
    inspect.add_argument("file", help="message file, or - for stdin")
    inspect.set_defaults(handler=lazy("sealbox.cli.inspect", "run_inspect"))

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script, e.g. sealbox completion bash > "
        "~/.local/share/bash-completion/completions/sealbox",
    )
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    completion.set_defaults(handler=lazy("sealbox.cli.completion", "run_completion"))
    _debug_after_commands(parser)
    return parser


def _debug_after_commands(parser: argparse.ArgumentParser) -> None:
    """Accept --debug after any (sub)command too; SUPPRESS keeps a --debug given before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():  # aliases once
                sub.add_argument(
                    "--debug",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="show the Python traceback of an unexpected error",
                )
                _debug_after_commands(sub)


COMMANDS = ("encrypt", "decrypt", "keygen", "serve", "admin", "audit", "inspect", "completion")
