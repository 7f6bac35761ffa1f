"""``sealbox admin``: manage principals directly in the store (no running service needed)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sealbox.cli.serve import config_flags
from sealbox.errors import UsageError


def _config_of(args: argparse.Namespace) -> Any:
    from sealbox.server.config import load_config
    from sealbox.server.store.engine import private_umask

    private_umask()  # every admin command (backups included) creates private files only
    return load_config(config_flags(args), file=Path(args.config) if args.config else None)


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from sealbox.server.bootstrap import load_serving_root_key, open_store, prepare

    config = _config_of(args)
    prepare(config)
    store = open_store(config)
    return store, load_serving_root_key(config, store)


def _print(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def run_create_access_key(args: argparse.Namespace) -> int:
    from sealbox.server.principals import create_access_key

    store, root_key = _open(args)
    try:
        created = create_access_key(
            store,
            root_key,
            account=args.account,
            user_name=args.user,
            admin=args.admin,
            now=time.time(),
        )
    finally:
        store.close()
    _print(
        {
            "AccessKeyId": created.access_key_id,
            "SecretAccessKey": created.secret_access_key,
            "Arn": created.arn,
        }
    )
    return 0


def run_list_access_keys(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        records = store.access_keys(args.account)
    finally:
        store.close()
    _print(
        {
            "AccessKeys": [
                {
                    "AccessKeyId": r.access_key_id,
                    "Arn": r.user_arn,
                    "Account": r.account,
                    "UserName": r.user_name,
                    "Status": r.status,
                    "Admin": r.admin,
                    "CreateDate": r.created_at,
                }
                for r in records
            ]
        }
    )
    return 0


def run_update_access_key(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        if not store.set_access_key_status(args.access_key_id, args.status):
            raise UsageError(f"no access key {args.access_key_id}")
    finally:
        store.close()
    return 0


def run_delete_access_key(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        if not store.delete_access_key(args.access_key_id):
            raise UsageError(f"no access key {args.access_key_id}")
    finally:
        store.close()
    return 0


def run_put_user_policy(args: argparse.Namespace) -> int:
    from sealbox.server.principals import put_user_policy

    try:
        document = Path(args.policy_document).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {args.policy_document}: {error.strerror}") from None
    store, _ = _open(args)
    try:
        put_user_policy(
            store,
            account=args.account,
            user_name=args.user,
            name=args.policy_name,
            document=document,
            now=time.time(),
        )
    finally:
        store.close()
    return 0


def run_list_user_policies(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        policies = store.user_policies(args.account, args.user)
    finally:
        store.close()
    _print(
        {
            "PolicyNames": [name for name, _ in policies],
            "Policies": {name: json.loads(document) for name, document in policies},
        }
    )
    return 0


def run_delete_user_policy(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        if not store.delete_user_policy(args.account, args.user, args.policy_name):
            raise UsageError(f"user {args.user} in {args.account} has no policy {args.policy_name}")
    finally:
        store.close()
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from sealbox.server.backup import write_backup

    store, root_key = _open(args)
    try:
        rows = write_backup(store, root_key, Path(args.file))
    finally:
        store.close()
    print(
        f"wrote {args.file}: {rows} rows under root key {root_key.key_id}; it is useless "
        "without that root key, so back the root key up separately",
        file=sys.stderr,
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from sealbox.server.backup import restore_backup
    from sealbox.server.bootstrap import load_root_key, open_store

    config = _config_of(args)
    store = open_store(config)
    try:
        root_key = load_root_key(config, store)  # must exist: the backup was made under it
        rows = restore_backup(store, root_key, Path(args.file))
    finally:
        store.close()
    print(
        f"restored {rows} rows from {args.file}; keys, grants and access keys deleted since "
        "the backup are back",
        file=sys.stderr,
    )
    return 0


def _make_or_load(config: Any, store: Any, spec: str) -> Any:
    """The root key ``spec`` names: a key file (created if absent) or a PKCS#11 key
    (generated in the token if absent)."""
    import dataclasses

    from sealbox.server.bootstrap import load_root_key
    from sealbox.server.passphrase import is_passphrase
    from sealbox.server.rootkey import create_root_key_file

    if is_passphrase(spec):
        raise UsageError(
            "rotating to a passphrase root key is not supported; use a key file or PKCS#11"
        )
    target = dataclasses.replace(config, root_key=spec, previous_root_key=None)
    if spec.startswith("pkcs11:"):
        return load_root_key(target, store, create=True)
    path = Path(spec).expanduser()
    return load_root_key(target, store) if path.exists() else create_root_key_file(path)


def run_new_root_key(args: argparse.Namespace) -> int:
    from sealbox.server.rootkey import close_root_key

    store, current = _open(args)
    try:
        new = _make_or_load(_config_of(args), store, args.spec)
    finally:
        store.close()
    close_root_key(current)
    close_root_key(new)
    print(
        f"root key {new.key_id} is ready at {args.spec}; give it to every node as --root-key "
        "with the current key as --previous-root-key, then run rotate-root-key",
        file=sys.stderr,
    )
    return 0


def run_rotate_root_key(args: argparse.Namespace) -> int:
    from sealbox.server.bootstrap import is_pkcs11
    from sealbox.server.rekey import DualRootKey, rotate_root_key
    from sealbox.server.rootkey import close_root_key

    new_spec: str = args.new_root_key
    config = _config_of(args)
    if (
        is_pkcs11(config)
        and not new_spec.startswith("pkcs11:")
        and not args.allow_downgrade_to_file
    ):
        raise UsageError(
            "moving the root key from a PKCS#11 token to a file takes it out of the HSM; "
            "add --allow-downgrade-to-file if that is what you want"
        )
    store, current = _open(args)
    if isinstance(current, DualRootKey):  # given as --root-key OLD --previous-root-key …
        current = current.new
    try:
        new = _make_or_load(config, store, new_spec)
        if new.key_id == current.key_id:
            raise UsageError(
                "--new-root-key is the current root key; give the current key as --root-key"
            )

        def report(table: str, count: int) -> None:
            print(f"sealbox: re-wrapped {count} values ({table})", file=sys.stderr)

        count = rotate_root_key(store, current, new, progress=report)
    finally:
        store.close()
    close_root_key(current)
    close_root_key(new)
    print(
        f"the store is now bound to root key {new.key_id} ({count} values re-wrapped); restart "
        f"every node with --root-key {new_spec} and without --previous-root-key",
        file=sys.stderr,
    )
    return 0
