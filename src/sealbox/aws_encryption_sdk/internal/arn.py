"""KMS ARNs as the reference's ``aws_encryption_sdk.internal.arn`` shows them.

The official examples parse key ARNs with :func:`arn_from_str` (e.g. to build a discovery
filter from a key's account and partition). Parsing is Sealbox's
(:func:`sealbox.keyrings.kms_clients.parse_arn`: ``arn:PARTITION:kms:REGION:ACCOUNT:``
then ``key/ID`` or ``alias/NAME``, every part non-empty); this module gives the result the
reference's shape and exception (spec: framework/aws-kms/aws-kms-key-arn.md).
"""

from __future__ import annotations

from sealbox.aws_encryption_sdk.exceptions import MalformedArnError
from sealbox.keyrings.kms_clients import parse_arn

__all__ = ["Arn", "arn_from_str", "is_valid_mrk_arn_str", "is_valid_mrk_identifier"]


class Arn:
    """The parts of a KMS ARN; mutable, as the reference's (to move a key to another region)."""

    def __init__(
        self,
        partition: str,
        service: str,
        region: str,
        account_id: str,
        resource_type: str,
        resource_id: str,
    ) -> None:
        self.partition = partition
        self.service = service
        self.region = region
        self.account_id = account_id
        self.resource_type = resource_type
        self.resource_id = resource_id

    def to_string(self) -> str:
        return (
            f"arn:{self.partition}:{self.service}:{self.region}:{self.account_id}:"
            f"{self.resource_type}/{self.resource_id}"
        )

    def indicates_multi_region_key(self) -> bool:
        """A key (not an alias) whose id starts with ``mrk-``."""
        return self.resource_type == "key" and self.resource_id.startswith("mrk-")

    def __repr__(self) -> str:
        return f"Arn({self.to_string()!r})"


def arn_from_str(arn_str: str) -> Arn:
    """``arn_str`` as an :class:`Arn`; MalformedArnError if it is not a KMS key or alias ARN."""
    parsed = parse_arn(arn_str) if isinstance(arn_str, str) else None
    if parsed is None:
        raise MalformedArnError(f"Resource {arn_str} could not be parsed as an ARN")
    return Arn(
        parsed.partition,
        "kms",
        parsed.region,
        parsed.account,
        parsed.resource_type,
        parsed.resource_id,
    )


def is_valid_mrk_arn_str(arn_str: str) -> bool:
    """Whether a KMS ARN names a multi-Region key; MalformedArnError if it is no ARN."""
    return arn_from_str(arn_str).indicates_multi_region_key()


def is_valid_mrk_identifier(id_str: str) -> bool:
    """Whether a key ARN or bare key id names a multi-Region key (aliases never do);
    MalformedArnError for a malformed ARN."""
    if id_str.startswith("arn:"):
        return is_valid_mrk_arn_str(id_str)
    return id_str.startswith("mrk-")
