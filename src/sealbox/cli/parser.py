"""The argument parser of the ``sealbox`` command (built only when a command runs)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from sealbox._version import __version__

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse without prefix abbreviations, suggesting the flag a typo meant."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    #: the words being parsed, so that a typo is matched against its own command's flags
    words: Sequence[str] = ()

    def _known_flags(self) -> list[str]:
        flags = [flag for action in self._actions for flag in action.option_strings]
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = [action.choices[w] for w in self.words[:1] if w in action.choices]
                for sub in chosen or action.choices.values():
                    flags += [flag for a in sub._actions for flag in a.option_strings]
        return flags

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Refuse leftovers here, in the (sub)command that could not place them, so that the
        # error shows that command's usage rather than the top-level one.
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            import difflib

            for word in message[len(prefix) :].split():
                if word.startswith("-"):
                    close = difflib.get_close_matches(word.split("=")[0], self._known_flags(), n=1)
                    if close:
                        message += f" (did you mean {close[0]}?)"
                        break
        super().error(message)


class _Once(argparse.Action):
    """A single-valued flag given twice is a mistake, not a silent override."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, f"_seen_{self.dest}", False):
            parser.error(f"argument {'/'.join(self.option_strings)}: given twice")
        setattr(namespace, f"_seen_{self.dest}", True)
        setattr(namespace, self.dest, values)


def _byte_limit(text: str) -> int | None:
    """A size limit in bytes, or ``none`` for no limit (messages you trust only)."""
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes or 'none'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of bytes")
    return value


def _decrypt_limits(parser: argparse.ArgumentParser) -> None:
    """The library's limits for untrusted messages, with the same defaults."""
    from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH
    from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE

    parser.add_argument(
        "--max-length",
        type=_byte_limit,
        default=DEFAULT_MAX_BODY_LENGTH,
        metavar="BYTES",
        action=_Once,
        help="refuse, before reading them, frames (or non-framed bodies) longer than BYTES "
        f"(default {DEFAULT_MAX_BODY_LENGTH} = 64 MiB; 'none': no limit)",
    )
    parser.add_argument(
        "--max-header-size",
        type=_byte_limit,
        default=DEFAULT_MAX_HEADER_SIZE,
        metavar="BYTES",
        action=_Once,
        help="refuse, before reading it, a message header longer than BYTES "
        f"(default {DEFAULT_MAX_HEADER_SIZE} = 4 MiB; 'none': no limit)",
    )


def _crypt_options(parser: argparse.ArgumentParser, mode: str) -> None:
    """The aws-encryption-cli flag set, with stdin/stdout defaults and metadata off by default."""
    parser.add_argument(
        "-i",
        "--input",
        default="-",
        action=_Once,
        help="a file, a directory (with -r), a glob pattern, s3://BUCKET/KEY, or - for stdin (default)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        action=_Once,
        help="a file, a directory, s3://BUCKET/KEY, or - for stdout (default)",
    )
    parser.add_argument(
        "-w",
        "--wrapping-keys",
        nargs="+",
        action="append",
        metavar="ATTR=VALUE",
        default=[],
        help="a group of wrapping keys: key=KMS_KEY [key=…] [region=R] [profile=P]"
        + (
            " | discovery=true [discovery-account=ID … discovery-partition=aws]"
            if mode == "decrypt"
            else ""
        )
        + " (provider=aws-kms, the default), or provider=raw-aes key=FILE, or provider=raw-rsa "
        "key=PEM [padding=oaep-sha256|oaep-sha1|oaep-sha384|oaep-sha512|pkcs1] [namespace=] [name=]. "
        "Without provider=, a key= naming an existing file is a key file. Repeat -w for more "
        "groups; the first key generates the data key.",
    )
    parser.add_argument(
        "-c",
        "--encryption-context",
        nargs="+",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="the encryption context"
        if mode == "encrypt"
        else "pairs that the message's encryption context must have, or bare keys it must contain",
    )
    parser.add_argument(
        "--commitment-policy",
        default="require-encrypt-require-decrypt",
        action=_Once,
        choices=[
            "forbid-encrypt-allow-decrypt",
            "require-encrypt-allow-decrypt",
            "require-encrypt-require-decrypt",
        ],
    )
    metadata = parser.add_mutually_exclusive_group()
    metadata.add_argument(
        "-S", "--suppress-metadata", action="store_true", help="write no metadata (the default)"
    )
    metadata.add_argument(
        "--metadata-output",
        metavar="FILE",
        action=_Once,
        help="append one JSON line per file processed (mode, input, output, header); - for stdout",
    )
    parser.add_argument(
        "--overwrite-metadata", action="store_true", help="truncate the metadata file first"
    )
    parser.add_argument(
        "-r",
        "-R",
        "--recursive",
        action="store_true",
        help="process the files under a directory input",
    )
    parser.add_argument(
        "--suffix",
        nargs="?",
        const="",
        action=_Once,
        help=f"appended to names written into a directory output (default .{mode}ed; bare --suffix: none)",
    )
    parser.add_argument(
        "--encode", action="store_true", help="write the output as Base64 text (safe in shells)"
    )
    parser.add_argument(
        "--decode",
        action="store_true",
        help="read the input as Base64 text"
        + (
            " (detected without this flag when it starts like a message)"
            if mode == "decrypt"
            else ""
        ),
    )
    parser.add_argument(
        "--max-encrypted-data-keys",
        type=int,
        metavar="N",
        action=_Once,
        help="refuse messages with more encrypted data keys than N (default: no limit)",
    )
    parser.add_argument(
        "-b",
        "--buffer",
        action="store_true",
        help="hold all output until the whole message has verified (files are always written whole)",
    )
    parser.add_argument(
        "--caching",
        nargs="+",
        metavar="NAME=VALUE",
        help="cache data keys: capacity=N max_age=SECONDS [max_messages_encrypted=N] "
        "[max_bytes_encrypted=N]",
    )
    overwrite = parser.add_mutually_exclusive_group()
    overwrite.add_argument(
        "--interactive", action="store_true", help="ask before overwriting an existing file"
    )
    overwrite.add_argument(
        "--no-overwrite", action="store_true", help="skip inputs whose output file exists"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail on stderr (-v … -vvvv)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no warnings or progress")


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="store directory (default ~/.local/share/sealbox); with --database, only audit checkpoints",
    )
    parser.add_argument(
        "--database",
        help="a postgresql://USER@HOST/DB URL: the store lives there, shared by every node "
        "(sslmode=, sslrootcert=… as query parameters; also SEALBOX_DATABASE)",
    )
    parser.add_argument(
        "--root-key",
        metavar="SPEC",
        help="the root key: a file (default ~/.config/sealbox/root.key), "
        "pkcs11:token=LABEL;object=LABEL (module and PIN file from --config), "
        "or passphrase: / passphrase:fd=N",
    )
    parser.add_argument(
        "--previous-root-key",
        metavar="SPEC",
        help="during a root-key rotation: the key being replaced, so values not yet re-wrapped "
        "still unwrap (see sealbox admin rotate-root-key)",
    )
    parser.add_argument(
        "--config", help="TOML configuration file (flags > SEALBOX_* variables > file)"
    )


def _serve_limits(serve: argparse.ArgumentParser) -> None:
    """HTTP and work limits of ``sealbox serve`` (per worker process)."""
    limits = serve.add_argument_group("limits (per worker process)")
    limits.add_argument(
        "--max-header-bytes",
        type=int,
        metavar="BYTES",
        help="request line and headers beyond this are answered 431 (default 16384)",
    )
    limits.add_argument(
        "--header-timeout",
        type=float,
        metavar="SECONDS",
        help="headers must arrive within this of the connection or the previous answer (default 10)",
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        help="the body must arrive within this of the headers, or 408 (default 10)",
    )
    limits.add_argument(
        "--keepalive-timeout",
        type=float,
        metavar="SECONDS",
        help="idle keep-alive connections are closed after this (default 5)",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="open connections beyond this are answered 503 and closed (default 4096)",
    )
    limits.add_argument(
        "--work-threads",
        type=int,
        metavar="N",
        help="threads for CPU-heavy work such as RSA key generation (default 2)",
    )
    limits.add_argument(
        "--work-per-account",
        type=int,
        metavar="N",
        help="of those threads, how many one account may use at once (default 1)",
    )


def build_parser() -> _Parser:
    parser = _Parser(
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    encrypt = commands.add_parser(
        "encrypt", help="encrypt files, stdin or S3 objects into messages (also: sealbox -e)"
    )
    _crypt_options(encrypt, "encrypt")
    encrypt.add_argument(
        "--algorithm",
        action=_Once,
        help="suite name or id, e.g. AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 or 0x0578",
    )
    encrypt.add_argument("--frame-length", type=int, default=4096, metavar="BYTES", action=_Once)
    encrypt.set_defaults(handler=_lazy("sealbox.cli.crypt", "run_encrypt"))

    decrypt = commands.add_parser(
        "decrypt", help="decrypt messages from files, stdin or S3 objects (also: sealbox -d)"
    )
    _crypt_options(decrypt, "decrypt")
    decrypt.add_argument(
        "--decrypt-unsigned",
        action="store_true",
        help="refuse signed messages (fails right after the header)",
    )
    _decrypt_limits(decrypt)
    decrypt.set_defaults(handler=_lazy("sealbox.cli.crypt", "run_decrypt"))

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
    keygen.set_defaults(handler=_lazy("sealbox.cli.keygen", "run_keygen"))

    serve = commands.add_parser(
        "serve", help="run the KMS service (needs: pip install 'sealbox[server]')"
    )
    _store_options(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="port to listen on (default 8400; 0 picks a free port)"
    )
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")
    serve.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--tls-key", help="the certificate's private key (PEM)")
    serve.add_argument("--regions", help="serve only these regions (comma-separated; default: any)")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="log lines for people or for collectors (default: text when stderr is a "
        "terminal, else json)",
    )
    serve.add_argument(
        "--account-quota",
        type=float,
        help="requests per second each account may make before ThrottlingException "
        "(default 10000; 0: no quota)",
    )
    _serve_limits(serve)
    serve.add_argument(
        "--dev",
        action="store_true",
        help="a development instance: account 111122223333 with an admin access key and a key "
        "behind alias/sealbox-dev; prints export lines for the aws CLI and SDKs first. Alone: "
        "throwaway (a temporary store, deleted on exit); with --data-dir DIR: persistent, the "
        "same credentials and keys on every start (root key in DIR, for development only)",
    )
    serve.set_defaults(handler=_lazy("sealbox.cli.serve", "run_serve"))

    admin = commands.add_parser(
        "admin", help="manage access keys, identity policies, root keys and backups"
    )
    _store_options(admin)
    actions = admin.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    create = actions.add_parser(
        "create-access-key", help="print a new access key as JSON (the secret is shown once)"
    )
    create.add_argument("--account", required=True, help="12-digit account id")
    create.add_argument(
        "--user", required=True, help="user name (the ARN is arn:aws:iam::ACCOUNT:user/NAME)"
    )
    create.add_argument(
        "--admin",
        action="store_true",
        help="attach the SealboxAdministrator policy (kms:* in the account)",
    )
    create.add_argument(
        "--access-key-id",
        metavar="ID",
        help="import this access key id (16-128 of A-Z and 0-9) instead of making one; "
        "with --secret-access-key-file",
    )
    create.add_argument(
        "--secret-access-key-file",
        metavar="FILE",
        help="file holding the imported key's secret (- for stdin; one trailing newline is "
        "dropped); the secret is never printed",
    )
    create.set_defaults(handler=_lazy("sealbox.cli.admin", "run_create_access_key"))
    listing = actions.add_parser("list-access-keys", help="list access keys (never their secrets)")
    listing.add_argument("--account", help="only this account")
    listing.set_defaults(handler=_lazy("sealbox.cli.admin", "run_list_access_keys"))
    status = actions.add_parser("update-access-key", help="activate or deactivate an access key")
    status.add_argument("--access-key-id", required=True)
    status.add_argument("--status", required=True, choices=["Active", "Inactive"])
    status.set_defaults(handler=_lazy("sealbox.cli.admin", "run_update_access_key"))
    remove = actions.add_parser("delete-access-key", help="delete an access key")
    remove.add_argument("--access-key-id", required=True)
    remove.set_defaults(handler=_lazy("sealbox.cli.admin", "run_delete_access_key"))
    put = actions.add_parser(
        "put-user-policy", help="attach or replace an IAM-style identity policy"
    )
    put.add_argument("--account", required=True)
    put.add_argument("--user", required=True)
    put.add_argument("--policy-name", required=True)
    put.add_argument("--policy-document", required=True, help="file with the policy JSON")
    put.set_defaults(handler=_lazy("sealbox.cli.admin", "run_put_user_policy"))
    policies = actions.add_parser(
        "list-user-policies", help="print a user's identity policies as JSON"
    )
    policies.add_argument("--account", required=True)
    policies.add_argument("--user", required=True)
    policies.set_defaults(handler=_lazy("sealbox.cli.admin", "run_list_user_policies"))
    detach = actions.add_parser("delete-user-policy", help="remove an identity policy")
    detach.add_argument("--account", required=True)
    detach.add_argument("--user", required=True)
    detach.add_argument("--policy-name", required=True)
    detach.set_defaults(handler=_lazy("sealbox.cli.admin", "run_delete_user_policy"))

    fresh = actions.add_parser(
        "new-root-key",
        help="create the next root key (a file, or a key in a PKCS#11 token) before a rotation",
    )
    fresh.add_argument("spec", metavar="SPEC", help="a key file path or pkcs11:token=…;object=…")
    fresh.set_defaults(handler=_lazy("sealbox.cli.admin", "run_new_root_key"))
    rotate = actions.add_parser(
        "rotate-root-key",
        help="re-wrap every key material and secret under a new root key, online; run it again "
        "if interrupted",
    )
    rotate.add_argument(
        "--new-root-key",
        required=True,
        metavar="SPEC",
        help="a key file (created if absent) or pkcs11:token=…;object=… (generated in the token "
        "if absent)",
    )
    rotate.add_argument(
        "--allow-downgrade-to-file",
        action="store_true",
        help="allow moving from a PKCS#11 token to a key file, which takes the root of trust "
        "out of the HSM",
    )
    rotate.set_defaults(handler=_lazy("sealbox.cli.admin", "run_rotate_root_key"))
    backup = actions.add_parser(
        "backup", help="write a consistent snapshot of the store, still wrapped under the root key"
    )
    backup.add_argument("file", help="backup file to write (mode 0600)")
    backup.set_defaults(handler=_lazy("sealbox.cli.admin", "run_backup"))
    restore = actions.add_parser(
        "restore",
        help="restore a backup into an empty store (brings back everything deleted since)",
    )
    restore.add_argument("file", help="backup file made by sealbox admin backup")
    restore.set_defaults(handler=_lazy("sealbox.cli.admin", "run_restore"))

    audit = commands.add_parser("audit", help="verify or search the KMS audit log")
    checks = audit.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    checks.required = True
    verify = checks.add_parser(
        "verify",
        help="check every record's MAC chain and checkpoint; exit 1 and say where if any record "
        "was edited, deleted, inserted or reordered",
    )
    _store_options(verify)
    verify.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="DIR",
        help="a checkpoint directory (default DATA_DIR/audit-checkpoints); nodes sharing a "
        "PostgreSQL store each keep their own: give every node's, one --checkpoints each",
    )
    verify.set_defaults(handler=_lazy("sealbox.cli.audit", "run_verify"))
    query = checks.add_parser("query", help="print matching records as JSON lines, oldest first")
    _store_options(query)
    query.add_argument(
        "--key-id",
        help="records about this key: key id, key ARN, alias/NAME (the key it names now) or "
        "alias ARN",
    )
    query.add_argument("--principal", help="records of this caller (user ARN)")
    query.add_argument(
        "--event-name",
        help="records of this operation, e.g. Decrypt, or CreateAccessKey (sealbox admin's)",
    )
    query.add_argument("--error-code", help="records of requests refused with this code")
    query.add_argument("--since", help="records at or after this time (ISO 8601)")
    query.add_argument("--until", help="records at or before this time (ISO 8601)")
    query.set_defaults(handler=_lazy("sealbox.cli.audit", "run_query"))

    inspect = commands.add_parser(
        "inspect", help="show a message's header as JSON, without decrypting"
    )
    inspect.add_argument("file", help="message file, or - for stdin")
    inspect.set_defaults(handler=_lazy("sealbox.cli.inspect", "run_inspect"))

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script, e.g. sealbox completion bash > "
        "~/.local/share/bash-completion/completions/sealbox",
    )
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    completion.set_defaults(handler=_lazy("sealbox.cli.completion", "run_completion"))
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


def _lazy(module: str, function: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        import importlib

        handler: Handler = getattr(importlib.import_module(module), function)
        return handler(args)

    return run


COMMANDS = ("encrypt", "decrypt", "keygen", "serve", "admin", "audit", "inspect", "completion")
