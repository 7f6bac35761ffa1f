"""The ``serve``, ``admin`` and ``audit`` commands: the KMS service and its store.

Their handlers (``sealbox.cli.serve``, ``admin``, ``audit``) import the server
only when they run."""

from __future__ import annotations

import argparse

from sealbox.cli.parsing import Parser, lazy


def add_server_commands(commands: argparse._SubParsersAction[Parser]) -> None:
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
    serve.add_argument(
        "--no-console",
        dest="console",
        action="store_false",
        default=None,
        help="do not serve the web console at /console (default: served; in the configuration "
        "file: console = false)",
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
    serve.set_defaults(handler=lazy("sealbox.cli.serve", "run_serve"))

    admin = commands.add_parser(
        "admin", help="manage access keys, identity policies, root keys and backups"
    )
    _store_options(admin)
    actions = admin.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
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
        help="attach the SealboxAdministrator policy (kms:* and sealbox:* in the account)",
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
    create.set_defaults(handler=lazy("sealbox.cli.admin", "run_create_access_key"))
    listing = actions.add_parser("list-access-keys", help="list access keys (never their secrets)")
    listing.add_argument("--account", help="only this account")
    listing.set_defaults(handler=lazy("sealbox.cli.admin", "run_list_access_keys"))
    status = actions.add_parser("update-access-key", help="activate or deactivate an access key")
    status.add_argument("--access-key-id", required=True)
    status.add_argument("--status", required=True, choices=["Active", "Inactive"])
    status.set_defaults(handler=lazy("sealbox.cli.admin", "run_update_access_key"))
    remove = actions.add_parser("delete-access-key", help="delete an access key")
    remove.add_argument("--access-key-id", required=True)
    remove.set_defaults(handler=lazy("sealbox.cli.admin", "run_delete_access_key"))
    put = actions.add_parser(
        "put-user-policy", help="attach or replace an IAM-style identity policy"
    )
    put.add_argument("--account", required=True)
    put.add_argument("--user", required=True)
    put.add_argument("--policy-name", required=True)
    put.add_argument("--policy-document", required=True, help="file with the policy JSON")
    put.set_defaults(handler=lazy("sealbox.cli.admin", "run_put_user_policy"))
    policies = actions.add_parser(
        "list-user-policies", help="print a user's identity policies as JSON"
    )
    policies.add_argument("--account", required=True)
    policies.add_argument("--user", required=True)
    policies.set_defaults(handler=lazy("sealbox.cli.admin", "run_list_user_policies"))
    detach = actions.add_parser("delete-user-policy", help="remove an identity policy")
    detach.add_argument("--account", required=True)
    detach.add_argument("--user", required=True)
    detach.add_argument("--policy-name", required=True)
    detach.set_defaults(handler=lazy("sealbox.cli.admin", "run_delete_user_policy"))

    fresh = actions.add_parser(
        "new-root-key",
        help="create the next root key (a file, or a key in a PKCS#11 token) before a rotation",
    )
    fresh.add_argument("spec", metavar="SPEC", help="a key file path or pkcs11:token=…;object=…")
    fresh.set_defaults(handler=lazy("sealbox.cli.admin", "run_new_root_key"))
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
    rotate.set_defaults(handler=lazy("sealbox.cli.admin", "run_rotate_root_key"))
    backup = actions.add_parser(
        "backup", help="write a consistent snapshot of the store, still wrapped under the root key"
    )
    backup.add_argument("file", help="backup file to write (mode 0600)")
    backup.set_defaults(handler=lazy("sealbox.cli.admin", "run_backup"))
    restore = actions.add_parser(
        "restore",
        help="restore a backup into an empty store (brings back everything deleted since)",
    )
    restore.add_argument("file", help="backup file made by sealbox admin backup")
    restore.set_defaults(handler=lazy("sealbox.cli.admin", "run_restore"))

    audit = commands.add_parser("audit", help="verify or search the KMS audit log")
    checks = audit.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
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
    verify.set_defaults(handler=lazy("sealbox.cli.audit", "run_verify"))
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
    query.set_defaults(handler=lazy("sealbox.cli.audit", "run_query"))


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
