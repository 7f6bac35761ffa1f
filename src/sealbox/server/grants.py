"""Grants: permissions on one key for one grantee, optionally bound to an encryption context. Pure.

Constraints apply only to operations that take an encryption context; in them,
context keys compare case-insensitively and values case-sensitively, as AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

GRANT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "Sign",
        "Verify",
        "GetPublicKey",
        "CreateGrant",
        "RetireGrant",
        "DescribeKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    }
)
CONTEXT_OPERATIONS = frozenset(
    {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
    }
)


def _folded(context: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in context.items()}


@dataclass(frozen=True)
class Grant:
    grant_id: str
    key_id: str
    name: str
    grantee: str
    retiring: str | None
    operations: frozenset[str]
    context_subset: Mapping[str, str] | None
    context_equals: Mapping[str, str] | None
    issuing_account: str
    created_at: float
    token: str

    def permits(self, operation: str, context: Mapping[str, str]) -> bool:
        """Whether this grant covers ``operation`` with ``context`` (the grantee checked apart)."""
        if operation not in self.operations:
            return False
        if operation not in CONTEXT_OPERATIONS:
            return True
        given = _folded(context)
        if self.context_equals is not None:
            return given == _folded(self.context_equals)
        if self.context_subset is not None:
            return all(given.get(k) == v for k, v in _folded(self.context_subset).items())
        return True

    def may_delegate(
        self,
        operations: frozenset[str],
        subset: Mapping[str, str] | None,
        equals: Mapping[str, str] | None,
    ) -> bool:
        """Whether this grant's CreateGrant permission covers a new grant of ``operations``
        with these constraints: the same or fewer operations, the same or stricter constraints."""
        if "CreateGrant" not in self.operations or not operations <= self.operations:
            return False
        if self.context_equals is not None:
            return equals is not None and _folded(equals) == _folded(self.context_equals)
        if self.context_subset is not None:
            narrower = equals if equals is not None else subset
            if narrower is None:
                return False
            given = _folded(narrower)
            return all(given.get(k) == v for k, v in _folded(self.context_subset).items())
        return True

    def same_request(self, other: Grant) -> bool:
        """An idempotent CreateGrant: same name and parameters (the name is scoped to the key)."""
        return (
            self.key_id,
            self.name,
            self.grantee,
            self.retiring,
            self.operations,
            self.context_subset,
            self.context_equals,
        ) == (
            other.key_id,
            other.name,
            other.grantee,
            other.retiring,
            other.operations,
            other.context_subset,
            other.context_equals,
        )
