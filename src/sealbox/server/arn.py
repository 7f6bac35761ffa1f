"""Amazon Resource Names: every ARN the service builds or reads goes through here. Pure.

Sealbox serves one partition, ``aws``. Key and alias ARNs are
``arn:aws:kms:REGION:ACCOUNT:key/UUID`` and ``arn:aws:kms:REGION:ACCOUNT:alias/NAME``;
principals are ``arn:aws:iam::ACCOUNT:user/NAME`` and an account itself is
``arn:aws:iam::ACCOUNT:root``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTITION = "aws"

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_KMS = re.compile(r"^arn:([^:]+):kms:([^:]+):(\d{12}):((?:key|alias)/.+)$")
_ACCOUNT_ROOT = re.compile(r"^arn:aws:iam::(\d{12}):root$")
PRINCIPAL = re.compile(r"^arn:aws:iam::\d{12}:(root|user/[\w+=,.@/-]+)$")


def is_account_id(value: str) -> bool:
    """Exactly twelve ASCII digits (no trailing newline, no other scripts' digits)."""
    return _ACCOUNT_ID.fullmatch(value) is not None


def key_arn(region: str, account: str, key_id: str) -> str:
    return f"arn:{PARTITION}:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    """``alias_name`` includes its ``alias/`` prefix, as KMS spells alias names."""
    return f"arn:{PARTITION}:kms:{region}:{account}:{alias_name}"


def user_arn(account: str, user_name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:user/{user_name}"


def account_root_arn(account: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:root"


def root_account(value: str) -> str | None:
    """The account an ``arn:aws:iam::ACCOUNT:root`` names, or None for anything else."""
    match = _ACCOUNT_ROOT.match(value)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class KmsArn:
    partition: str
    region: str
    account: str
    resource: str  # "key/UUID" or "alias/NAME"

    @property
    def is_alias(self) -> bool:
        return self.resource.startswith("alias/")

    @property
    def key_id(self) -> str:
        """The id of a key ARN (not meaningful for an alias ARN)."""
        return self.resource.removeprefix("key/")


def parse_kms_arn(value: str) -> KmsArn | None:
    """A KMS key or alias ARN taken apart, or None if ``value`` is not one."""
    match = _KMS.match(value)
    return KmsArn(*match.groups()) if match else None


def arn_region(value: str) -> str | None:
    """The region of anything shaped like a KMS ARN (``arn:P:kms:REGION:…``), else None;
    looser than :func:`parse_kms_arn`, so a malformed ARN of another region is still seen
    as being of another region."""
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms":
        return parts[3]
    return None


def arn_account_and_region(value: str) -> tuple[str, str]:
    """(account, region) of an ARN the service built itself."""
    parts = value.split(":", 5)
    return parts[4], parts[3]
