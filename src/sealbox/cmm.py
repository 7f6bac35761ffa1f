"""Cryptographic materials managers (CMMs).

spec: framework/cmm-interface.md, default-cmm.md, required-encryption-context-cmm.md.

The default CMM picks the suite, adds the signing key for signed suites
(``aws-crypto-public-key``), and asks its keyring for the data key. The
required-encryption-context CMM keeps chosen context pairs out of the stored
header while still authenticating them: the reader must supply them again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sealbox.crypto.signing import (
    VerificationKey,
    decode_verification_key,
    encode_verification_key,
    generate_signing_key,
)
from sealbox.errors import (
    ErrorCode,
    KeyringError,
    MalformedMessageError,
    PolicyError,
    UsageError,
)
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.format.header import EncryptedDataKey
from sealbox.format.suites import Algorithm, CommitmentPolicy
from sealbox.keyrings.base import Keyring
from sealbox.materials import DecryptionMaterials, EncryptionMaterials


@dataclass(frozen=True)
class EncryptionMaterialsRequest:
    encryption_context: Mapping[str, str]
    commitment_policy: CommitmentPolicy
    algorithm: Algorithm | None = None
    #: bytes to be encrypted, when known (caching CMMs use it)
    plaintext_length: int | None = None
    required_encryption_context_keys: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DecryptionMaterialsRequest:
    algorithm: Algorithm
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    #: the context stored in the message
    encryption_context: Mapping[str, str]
    commitment_policy: CommitmentPolicy
    #: the context the caller supplied to decrypt, if any
    reproduced_encryption_context: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class CryptoMaterialsManager(Protocol):
    def get_encryption_materials(
        self, request: EncryptionMaterialsRequest
    ) -> EncryptionMaterials: ...

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials: ...


def check_encrypt_policy(policy: CommitmentPolicy, algorithm: Algorithm) -> None:
    if not policy.allows_encrypt(algorithm):
        fix = (
            "use a committing suite (0x0478 or 0x0578)"
            if policy is not CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
            else "use a non-committing suite, or a REQUIRE_ENCRYPT_* policy"
        )
        raise UsageError(
            f"commitment policy {policy.name} forbids encrypting with {algorithm.name}; {fix}",
            code=ErrorCode.POLICY_FORBIDS_SUITE,
        )


def check_decrypt_policy(policy: CommitmentPolicy, algorithm: Algorithm) -> None:
    if not policy.allows_decrypt(algorithm):
        raise PolicyError(
            f"commitment policy {policy.name} forbids decrypting {algorithm.name} "
            f"(0x{algorithm.suite_id:04X}), a suite without key commitment; decrypt with "
            "CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT if you trust this message's origin",
            code=ErrorCode.POLICY_FORBIDS_SUITE,
        )


def merge_reproduced_context(
    stored: Mapping[str, str], reproduced: Mapping[str, str]
) -> tuple[dict[str, str], frozenset[str]]:
    """Combine the stored context with the caller's; pairs absent from the
    message become authenticate-only keys. A differing stored value fails."""
    merged = dict(stored)
    extra: set[str] = set()
    for key, value in reproduced.items():
        if key in stored:
            if stored[key] != value:
                raise PolicyError(
                    f"encryption context mismatch: the message has {key}={stored[key]!r}, "
                    f"the caller expects {key}={value!r}",
                    code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
                )
        else:
            merged[key] = value
            extra.add(key)
    return merged, frozenset(extra)


class DefaultCryptoMaterialsManager:
    """Materials from one keyring, with signing keys for signed suites."""

    def __init__(self, *, keyring: Keyring) -> None:
        if not isinstance(keyring, Keyring):
            raise UsageError(f"{keyring!r} is not a keyring (it lacks on_encrypt/on_decrypt)")
        self.keyring = keyring

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        algorithm = request.algorithm or request.commitment_policy.default_algorithm
        check_encrypt_policy(request.commitment_policy, algorithm)
        context = dict(request.encryption_context)
        signing_key = None
        if algorithm.signature is not None:
            if PUBLIC_KEY_FIELD in context:
                raise UsageError(
                    f"the encryption context already has {PUBLIC_KEY_FIELD!r}; the CMM adds it",
                    code=ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY,
                )
            signing_key = generate_signing_key(algorithm.signature)
            context[PUBLIC_KEY_FIELD] = encode_verification_key(signing_key.public_key())
        materials = self.keyring.on_encrypt(
            EncryptionMaterials(
                algorithm=algorithm,
                encryption_context=context,
                signing_key=signing_key,
                required_encryption_context_keys=request.required_encryption_context_keys,
            )
        )
        if materials.plaintext_data_key is None or not materials.encrypted_data_keys:
            raise KeyringError(
                f"{self.keyring!r} returned no data key or no encrypted data key",
                code=ErrorCode.NO_ENCRYPTION_KEY,
            )
        return materials

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        """The keyring's data key first, then the verification key, in the specification's
        (and the reference's) order: the stored context is the data key's wrapping AAD, so
        an altered ``aws-crypto-public-key`` fails as the unwrap fails, as it does there."""
        algorithm = request.algorithm
        check_decrypt_policy(request.commitment_policy, algorithm)
        stored = request.encryption_context
        context, required = merge_reproduced_context(stored, request.reproduced_encryption_context)
        materials = self.keyring.on_decrypt(
            DecryptionMaterials(
                algorithm=algorithm,
                encryption_context=context,
                required_encryption_context_keys=required,
            ),
            request.encrypted_data_keys,
        )
        if materials.plaintext_data_key is None:
            raise KeyringError(
                f"{self.keyring!r} returned no data key", code=ErrorCode.NO_DECRYPTABLE_KEY
            )
        return dataclasses.replace(materials, verification_key=_verification_key(algorithm, stored))


def _verification_key(algorithm: Algorithm, stored: Mapping[str, str]) -> VerificationKey | None:
    """The message's verification key: in the stored context exactly when the suite signs."""
    if algorithm.signature is None:
        if PUBLIC_KEY_FIELD in stored:
            raise MalformedMessageError(
                f"{PUBLIC_KEY_FIELD} in the encryption context of unsigned suite "
                f"0x{algorithm.suite_id:04X}",
                code=ErrorCode.HEADER_INVALID,
            )
        return None
    if PUBLIC_KEY_FIELD not in stored:
        raise MalformedMessageError(
            f"signed suite 0x{algorithm.suite_id:04X} but no {PUBLIC_KEY_FIELD} "
            "in the encryption context",
            code=ErrorCode.HEADER_INVALID,
        )
    return decode_verification_key(algorithm.signature, stored[PUBLIC_KEY_FIELD])


def as_materials_manager(
    *,
    materials_manager: CryptoMaterialsManager | None,
    keyring: Keyring | None,
    parameters: str,
) -> CryptoMaterialsManager:
    """Exactly one of a materials manager or a keyring (made a default CMM).

    ``parameters`` names the caller's own two parameters for the error that
    says to pass one, e.g. ``"keyring= or materials_manager="``.
    """
    if (materials_manager is None) == (keyring is None):
        raise UsageError(f"pass exactly one of {parameters}")
    if keyring is not None:
        return DefaultCryptoMaterialsManager(keyring=keyring)
    assert materials_manager is not None
    if not isinstance(materials_manager, CryptoMaterialsManager):
        raise UsageError(f"{materials_manager!r} is not a materials manager")
    return materials_manager


class RequiredEncryptionContextCMM:
    """Require context keys on encrypt and decrypt, and keep them out of the message.

    The pairs for ``required_encryption_context_keys`` are authenticated by the
    header tag but not stored: the reader must pass them to ``decrypt``.
    """

    def __init__(
        self,
        *,
        required_encryption_context_keys: Iterable[str],
        underlying_cmm: CryptoMaterialsManager | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        keys = frozenset(required_encryption_context_keys)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise UsageError("required_encryption_context_keys must be a non-empty set of str")
        self.required_encryption_context_keys = keys
        self.underlying_cmm = as_materials_manager(
            materials_manager=underlying_cmm,
            keyring=keyring,
            parameters="underlying_cmm= or keyring=",
        )

    def _missing(self, context: Mapping[str, str]) -> Sequence[str]:
        return sorted(self.required_encryption_context_keys - context.keys())

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        missing = self._missing(request.encryption_context)
        if missing:
            raise UsageError(
                f"the encryption context lacks required keys {missing}",
                code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
            )
        keys = request.required_encryption_context_keys | self.required_encryption_context_keys
        materials = self.underlying_cmm.get_encryption_materials(
            EncryptionMaterialsRequest(
                encryption_context=request.encryption_context,
                commitment_policy=request.commitment_policy,
                algorithm=request.algorithm,
                plaintext_length=request.plaintext_length,
                required_encryption_context_keys=keys,
            )
        )
        if not self.required_encryption_context_keys <= materials.required_encryption_context_keys:
            raise KeyringError("the underlying CMM dropped required encryption context keys")
        return materials

    def decrypt_materials(self, request: DecryptionMaterialsRequest) -> DecryptionMaterials:
        missing = self._missing(request.reproduced_encryption_context)
        if missing:
            raise PolicyError(
                f"this message requires encryption context keys {missing} to be supplied on decrypt "
                "(pass encryption_context= with their values)",
                code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
            )
        materials = self.underlying_cmm.decrypt_materials(request)
        if self._missing(materials.encryption_context):
            raise KeyringError("the underlying CMM dropped required encryption context keys")
        return materials
