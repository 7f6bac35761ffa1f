"""``sealbox admin``: manage principals directly in the store (no running service needed).

Every change is audited: the run opens a chain of its own in the store's audit log,
records each change in the change's transaction where it can (right after it where it
cannot: backup, restore) and closes the chain when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
    from sealbox.server.bootstrap import open_store, prepare
    from sealbox.server.rootkey.configured import load_serving_root_key

    config = _config_of(args)
    prepare(config)
    store = open_store(config)
    try:
        return store, load_serving_root_key(config, store)
    except BaseException:
        store.close()
        raise


@dataclass
class _Session:
    config: Any
    store: Any
    root_key: Any
    audit: Any  # sealbox.server.audit.admin.AdminAudit


@contextlib.contextmanager
def _audited(args: argparse.Namespace) -> Iterator[_Session]:
    """The store with an audit chain of this run's own, closed (cleanly) on the way out."""
    from sealbox.server.audit import CHECKPOINT_DIR
    from sealbox.server.audit.admin import AdminAudit

    config = _config_of(args)
    store, root_key = _open(args)
    try:
        audit = AdminAudit(store, root_key, config.data_dir / CHECKPOINT_DIR)
        try:
            yield _Session(config, store, root_key, audit)
        finally:
            audit.close()
    finally:
        store.close()


def _note_if_unserved(session: _Session) -> None:
    """Say so when no running `sealbox serve` uses the (SQLite) store just changed: the
    change is real, but the server the user meant is probably using another store.
    A PostgreSQL store is not checked (its nodes may run anywhere)."""
    from sealbox.server.audit import CHECKPOINT_DIR
    from sealbox.server.audit.chain import store_id
    from sealbox.server.audit.checkpoint import in_use

    config = session.config
    if config.database:
        return
    own = session.audit.log.chain
    if in_use(config.data_dir / CHECKPOINT_DIR, store_id(session.store), besides=own):
        return
    path = config.data_dir.expanduser().resolve()
    print(
        f"sealbox: note: no running sealbox serve uses the store at {path}; start one with "
        f"--data-dir {path}, or pass the --data-dir of the server you meant",
        file=sys.stderr,
    )


def _read_secret(name: str) -> str:
    """The secret in file ``name`` (``-``: stdin), without one trailing line break."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not text; put the secret access key in it") from None
    for ending in ("\r\n", "\n"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text


def _print(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _imported(args: argparse.Namespace) -> tuple[str, str] | None:
    from sealbox.server.access.principals import check_imported

    key_id, secret_file = args.access_key_id, args.secret_access_key_file
    if key_id is None and secret_file is None:
        return None
    if key_id is None or secret_file is None:
        raise UsageError(
            "importing an access key takes both --access-key-id and --secret-access-key-file"
        )
    secret = _read_secret(secret_file)
    check_imported(key_id, secret)  # before the store is opened (or created)
    return key_id, secret


def run_create_access_key(args: argparse.Namespace) -> int:
    from sealbox.server.access.principals import create_access_key

    imported = _imported(args)
    parameters = {
        "accountId": args.account,
        "userName": args.user,
        "admin": args.admin,
        "imported": imported is not None,
    }
    with _audited(args) as session:
        with session.audit.change("CreateAccessKey", parameters, account=args.account) as extra:
            created = create_access_key(
                session.store,
                session.root_key,
                account=args.account,
                user_name=args.user,
                admin=args.admin,
                now=time.time(),
                imported=imported,
            )
            extra["accessKeyId"] = created.access_key_id
        _note_if_unserved(session)
    document = {"AccessKeyId": created.access_key_id, "Arn": created.arn}
    if imported is None:  # an imported secret is never printed: its owner has it
        document["SecretAccessKey"] = created.secret_access_key
    _print(document)
    return 0


def run_list_access_keys(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        records = store.identities.access_keys(args.account)
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
    parameters = {"accessKeyId": args.access_key_id, "status": args.status}
    with _audited(args) as session:
        with session.audit.change("UpdateAccessKey", parameters), session.store.write() as tx:
            if not session.store.identities.set_access_key_status(
                args.access_key_id, args.status, tx
            ):
                raise UsageError(f"no access key {args.access_key_id}")
        _note_if_unserved(session)
    return 0


def run_delete_access_key(args: argparse.Namespace) -> int:
    with _audited(args) as session:
        with (
            session.audit.change("DeleteAccessKey", {"accessKeyId": args.access_key_id}),
            session.store.write() as tx,
        ):
            if not session.store.identities.delete_access_key(args.access_key_id, tx):
                raise UsageError(f"no access key {args.access_key_id}")
        _note_if_unserved(session)
    return 0


def run_put_user_policy(args: argparse.Namespace) -> int:
    from sealbox.server.access.principals import put_user_policy

    try:
        document = Path(args.policy_document).read_text()
    except OSError as error:
        raise UsageError(f"cannot read {args.policy_document}: {error.strerror}") from None
    parameters = {
        "accountId": args.account,
        "userName": args.user,
        "policyName": args.policy_name,
        "policyDocument": document,  # not secret; CloudTrail records IAM's too
    }
    with _audited(args) as session:
        with session.audit.change("PutUserPolicy", parameters, account=args.account):
            put_user_policy(
                session.store,
                account=args.account,
                user_name=args.user,
                name=args.policy_name,
                document=document,
                now=time.time(),
            )
        _note_if_unserved(session)
    return 0


def run_list_user_policies(args: argparse.Namespace) -> int:
    store, _ = _open(args)
    try:
        policies = store.identities.user_policies(args.account, args.user)
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
    parameters = {"accountId": args.account, "userName": args.user, "policyName": args.policy_name}
    with _audited(args) as session:
        with (
            session.audit.change("DeleteUserPolicy", parameters, account=args.account),
            session.store.write() as tx,
        ):
            if not session.store.identities.delete_user_policy(
                args.account, args.user, args.policy_name, tx
            ):
                raise UsageError(
                    f"user {args.user} in {args.account} has no policy {args.policy_name}"
                )
        _note_if_unserved(session)
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from sealbox.server.backup import write_backup

    with _audited(args) as session:
        root_key = session.root_key
        rows = write_backup(session.store, root_key, Path(args.file))
        session.audit.record(
            "CreateBackup",
            {"file": str(Path(args.file).resolve()), "rootKeyId": root_key.key_id},
            details={"rows": rows},
        )
    print(
        f"wrote {args.file}: {rows} rows under root key {root_key.key_id}; it is useless "
        "without that root key, so back the root key up separately",
        file=sys.stderr,
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from sealbox.server.backup import restore_backup
    from sealbox.server.bootstrap import open_store
    from sealbox.server.rootkey.configured import load_root_key

    config = _config_of(args)
    store = open_store(config)
    try:
        root_key = load_root_key(config, store)  # must exist: the backup was made under it
        rows = restore_backup(store, root_key, Path(args.file))
        _audit_restore(config, store, root_key, Path(args.file), rows)
    finally:
        store.close()
    print(
        f"restored {rows} rows from {args.file}; keys, grants and access keys deleted since "
        "the backup are back",
        file=sys.stderr,
    )
    return 0


def _audit_restore(config: Any, store: Any, root_key: Any, path: Path, rows: int) -> None:
    """Record the restore, right after it (the audit key came with the backup). The record
    names the head of every chain the backup brought back: their checkpoints stayed with
    the store backed up, and this record stands in for them in `sealbox audit verify`."""
    from sealbox.server.audit import CHECKPOINT_DIR, ensure_audit_key
    from sealbox.server.audit.admin import AdminAudit
    from sealbox.server.audit.records import RESTORE_EVENT

    ensure_audit_key(store, root_key)  # a backup from before store identities gets one
    heads = []
    for chain in store.audit.chains():
        head = store.audit.head(chain)
        if head is not None:
            heads.append({"chain": chain, "seq": head[0], "mac": head[1].hex()})
    audit = AdminAudit(store, root_key, config.data_dir / CHECKPOINT_DIR)
    try:
        audit.record(
            RESTORE_EVENT,
            {"file": str(path.resolve()), "rootKeyId": root_key.key_id},
            details={"rows": rows, "restoredChains": heads},
        )
    finally:
        audit.close()


def _make_or_load(config: Any, store: Any, spec: str) -> Any:
    """The root key ``spec`` names: a key file (created if absent) or a PKCS#11 key
    (generated in the token if absent)."""
    import dataclasses

    from sealbox.server.rootkey.configured import load_root_key
    from sealbox.server.rootkey.passphrase import is_passphrase

    if is_passphrase(spec):
        raise UsageError(
            "rotating to a passphrase root key is not supported; use a key file or PKCS#11"
        )
    target = dataclasses.replace(config, root_key=spec, previous_root_key=None)
    return load_root_key(target, store, create=True)


@contextlib.contextmanager
def _counted(change: Any, count: int) -> Iterator[None]:
    with change as extra:
        extra["valuesRewrapped"] = count
        yield


def run_new_root_key(args: argparse.Namespace) -> int:
    from sealbox.server.rootkey.core import close_root_key

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
    from sealbox.server.rootkey.configured import is_pkcs11
    from sealbox.server.rootkey.core import close_root_key
    from sealbox.server.rootkey.rekey import DualRootKey, rotate_root_key

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
    with _audited(args) as session:
        store, current = session.store, session.root_key
        if isinstance(current, DualRootKey):  # given as --root-key OLD --previous-root-key …
            current = current.new
        new = _make_or_load(config, store, new_spec)
        if new.key_id == current.key_id:
            raise UsageError(
                "--new-root-key is the current root key; give the current key as --root-key"
            )

        def report(table: str, count: int) -> None:
            print(f"sealbox: re-wrapped {count} values ({table})", file=sys.stderr)

        def audited(count: int) -> contextlib.AbstractContextManager[Any]:
            # the binding to the new key and its record commit together
            parameters = {"fromRootKeyId": current.key_id, "toRootKeyId": new.key_id}
            return _counted(session.audit.change("RotateRootKey", parameters), count)

        count = rotate_root_key(store, current, new, progress=report, audited=audited)
    close_root_key(current)
    close_root_key(new)
    print(
        f"the store is now bound to root key {new.key_id} ({count} values re-wrapped); restart "
        f"every node with --root-key {new_spec} and without --previous-root-key",
        file=sys.stderr,
    )
    return 0
