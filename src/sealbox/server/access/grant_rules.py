"""Grants: permissions on one key for one grantee, optionally bound to an encryption context. Pure.

Constraints apply only to operations that take an encryption context; in them,
keys and values compare exactly (case-sensitively). AWS folds the case of keys in
grant constraints, which lets ``{"TENANT": "B", "tenant": "A"}`` satisfy a constraint
``{"tenant": "A"}``; Sealbox does not, so a constraint can never be met by a context
it does not name exactly (fail-closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Operations a grant may allow that take an encryption context (its constraints apply).
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
GRANT_OPERATIONS = CONTEXT_OPERATIONS | {
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
}


def _contains(context: Mapping[str, str], pairs: Mapping[str, str]) -> bool:
    """Whether every pair of ``pairs`` is in ``context``, keys and values exactly."""
    return all(k in context and context[k] == v for k, v in pairs.items())


def _same(context: Mapping[str, str], pairs: Mapping[str, str]) -> bool:
    return len(context) == len(pairs) and _contains(context, pairs)


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
        if self.context_equals is not None:
            return _same(context, self.context_equals)
        if self.context_subset is not None:
            return _contains(context, self.context_subset)
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
            return equals is not None and _same(equals, self.context_equals)
        if self.context_subset is not None:
            narrower = equals if equals is not None else subset
            return narrower is not None and _contains(narrower, self.context_subset)
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
