"""``sealbox audit``: check the audit log's chains, and search it (no running service needed)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sealbox.cli.serve import config_flags
from sealbox.errors import UsageError


def _config(args: argparse.Namespace) -> Any:
    from sealbox.server.config import load_config
    from sealbox.server.store.engine import private_umask

    private_umask()  # opening the store may create its -wal and -shm files
    return load_config(config_flags(args), file=Path(args.config) if args.config else None)


def _existing_store(config: Any) -> Any:
    from sealbox.server.bootstrap import open_store
    from sealbox.server.store.engine import SQLITE_FILE

    if not config.database and not (config.data_dir / SQLITE_FILE).exists():
        raise UsageError(f"there is no Sealbox store in {config.data_dir}; give --data-dir")
    return open_store(config)


def run_verify(args: argparse.Namespace) -> int:
    from sealbox.server.audit import CHECKPOINT_DIR, verify
    from sealbox.server.rootkey.configured import check_binding, load_root_key

    config = _config(args)
    store = _existing_store(config)
    try:
        root_key = load_root_key(config, store)
        check_binding(store, root_key)
        directories = [Path(d) for d in args.checkpoints] or [config.data_dir / CHECKPOINT_DIR]
        count, findings = verify(store, root_key, directories)
    finally:
        store.close()
    for finding in findings:
        print(f"sealbox: audit: {finding}", file=sys.stderr)
    if findings:
        print(
            f"sealbox: audit: {len(findings)} problem(s) in {count} records checked",
            file=sys.stderr,
        )
        return 1
    print(f"audit log intact: {count} records verified")
    return 0


def _moment(text: str | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not an ISO 8601 time (e.g. 2026-11-22T10:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _names_key(record: dict[str, Any], key: str) -> bool:
    """Whether ``key`` (a key id or key ARN) is one of the record's resources."""
    for resource in record.get("resources") or ():
        arn = resource.get("ARN", "")
        if arn == key or arn.endswith(f":key/{key}"):
            return True
    return False


def _alias_target(store: Any, given: str) -> str:
    """The ARN of the key alias ``given`` (alias/NAME or an alias ARN) names now. An alias
    is per account and region: a bare name in more than one is refused, as is a name not
    in the store (searching for it would silently find nothing)."""
    from sealbox.server.arn import key_arn, parse_kms_arn

    if given.startswith("alias/"):
        found = store.keys.aliases_named(given)
        if len(found) > 1:
            where = ", ".join(f"{a.account} in {a.region}" for a in found)
            raise UsageError(
                f"{given} exists in {len(found)} accounts or regions ({where}); give its alias "
                f"ARN (arn:aws:kms:REGION:ACCOUNT:{given}) or the key's id or ARN"
            )
    else:
        arn = parse_kms_arn(given)
        alias = store.keys.get_alias(arn.account, arn.region, arn.resource) if arn else None
        found = [] if alias is None else [alias]
    if not found:
        raise UsageError(
            f"no alias {given} in this store (was it deleted?); give the key's id or ARN "
            "with --key-id"
        )
    return str(key_arn(found[0].region, found[0].account, found[0].target_key_id))


def _is_alias(key: str) -> bool:
    return key.startswith("alias/") or (key.startswith("arn:") and ":alias/" in key)


def run_query(args: argparse.Namespace) -> int:
    """Matching records, filtered on the records themselves; exit 1 if a row's indexed
    columns disagree with its record (an edit `audit verify` locates)."""
    from sealbox.server.store.audit_rows import INDEXED, indexed

    config = _config(args)
    since, until = _moment(args.since, "--since"), _moment(args.until, "--until")
    store = _existing_store(config)
    out = sys.stdout
    edited = 0
    try:
        if args.key_id is not None and _is_alias(args.key_id):
            args.key_id = _alias_target(store, args.key_id)
        for row in store.audit.query(
            event_name=args.event_name,
            principal=args.principal,
            error_code=args.error_code,
            since=since,
            until=until,
        ):
            record = json.loads(row.record)
            if args.key_id is not None and not _names_key(record, args.key_id):
                continue
            columns = indexed(record)
            if any(getattr(row, column) != columns[column] for column in INDEXED):
                edited += 1
                print(
                    f"sealbox: audit: chain {row.chain} record {row.seq}: its indexed columns "
                    "were edited; run 'sealbox audit verify'",
                    file=sys.stderr,
                )
            out.write(row.record)
            out.write("\n")
    finally:
        store.close()
    return 1 if edited else 0
