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


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from sealbox.server.bootstrap import check_binding, load_root_key, open_store, prepare
    from sealbox.server.config import load_config

    config = load_config(config_flags(args), file=Path(args.config) if args.config else None)
    prepare(config)
    store = open_store(config)
    root_key = load_root_key(config, store)
    check_binding(store, root_key)
    return store, root_key


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
    from sealbox.server.config import load_config

    config = load_config(config_flags(args), file=Path(args.config) if args.config else None)
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
