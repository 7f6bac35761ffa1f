"""The KMS master keys' rules for key identifiers, regions and clients.

ARNs are parsed by Sealbox's keyring code (:mod:`sealbox.keyrings.kms_clients`, in the
reference's shape by :mod:`sealbox.aws_encryption_sdk.internal.arn`); this module adds
what only the legacy API needs: the reference's exception for an unknown region, and
multi-Region key matching (spec: aws-kms-mrk-match-for-decrypt.md, aws-kms-mrk-are-unique.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from sealbox.aws_encryption_sdk.exceptions import UnknownRegionError
from sealbox.aws_encryption_sdk.internal.arn import arn_from_str, is_valid_mrk_identifier
from sealbox.errors import KeyringError
from sealbox.keyrings.kms_clients import DefaultClientSupplier, parse_arn, region_of


def mrk_match(key1: str, key2: str) -> bool:
    """The same key, or one multi-Region key in two regions (same partition, account, id);
    MalformedArnError if they differ and one is no ARN."""
    if key1 == key2:
        return True
    arn1, arn2 = arn_from_str(key1), arn_from_str(key2)
    if not (arn1.indicates_multi_region_key() and arn2.indicates_multi_region_key()):
        return False
    return (arn1.partition, arn1.account_id, arn1.resource_id) == (
        arn2.partition,
        arn2.account_id,
        arn2.resource_id,
    )


def related_mrks(key_ids: Iterable[str]) -> list[str]:
    """Every multi-Region key of ``key_ids`` that shares its key id with another one."""

    def resource_id(identifier: str) -> str | None:  # None for an alias ARN: never related
        parsed = parse_arn(identifier)
        if parsed is None:
            return identifier
        return parsed.resource_id if parsed.resource_type == "key" else None

    mrks = [key_id for key_id in key_ids if is_valid_mrk_identifier(key_id)]
    related: dict[str, None] = {}
    for key1, key2 in itertools.combinations(mrks, 2):
        if resource_id(key1) == resource_id(key2):
            related.update(dict.fromkeys((key1, key2)))
    return list(related)


def region_from_key_id(key_id: str, default_region: str | None = None) -> str:
    """The region of a key ARN, else ``default_region``; UnknownRegionError if neither."""
    region = region_of(key_id) or default_region
    if region is None:
        raise UnknownRegionError(
            f"No default region found and no region determinable from key id: {key_id}"
        )
    return region


def check_client(client: object) -> None:
    """TypeError unless ``client`` is a botocore client, as the reference's config checks."""
    import botocore.client

    if not isinstance(client, botocore.client.BaseClient):
        raise TypeError(f"client must be a botocore KMS client, not {type(client).__name__}")


def default_client(key_id: str) -> Any:
    """A lone master key's client: the default session's, in the key's region if its ARN
    names one."""
    try:
        return DefaultClientSupplier()(region_of(key_id))
    except KeyringError as error:
        raise UnknownRegionError(error.message) from None


def check_type(value: object, kind: Any, name: str) -> None:
    """TypeError unless ``value`` is a ``kind``, as the reference's attrs validators raise."""
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__}")


def as_tuple(value: Any, name: str) -> tuple[Any, ...]:
    """A list argument as a tuple; one str is refused rather than split into characters."""
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a list, not one {type(value).__name__}")
    return tuple(value)
