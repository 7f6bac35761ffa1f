"""Accept a message's header before any of its body is read.

A parsed header is trusted only once the caller's settings allow its suite and
its frame length, the materials manager has given a data key for it, that key
commits to the message, and the header tag verifies over the header and any
authenticate-only context pairs. The decryptor releases nothing before this.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from sealbox.cmm import CryptoMaterialsManager, DecryptionMaterialsRequest, check_decrypt_policy
from sealbox.crypto.aead import GCM
from sealbox.crypto.kdf import derive_message_keys
from sealbox.errors import (
    AuthenticationError,
    ErrorCode,
    LimitExceededError,
    MessageError,
    NoDecryptableKeyError,
    PolicyError,
)
from sealbox.format.context import serialize_encryption_context
from sealbox.format.header import MessageHeader, ParsedHeader
from sealbox.format.suites import CommitmentPolicy
from sealbox.materials import DecryptionMaterials


def body_too_large(what: str, limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"the message's {what} is larger than max_body_length={limit} bytes; a frame "
        "(or a non-framed body) is held in memory until its tag verifies, so Sealbox "
        "refuses it before reading it. If you trust where the message came from, pass "
        "a larger max_body_length= (command line: --max-length)",
        code=ErrorCode.BODY_TOO_LARGE,
    )


def accept_header(
    parsed: ParsedHeader,
    *,
    materials_manager: CryptoMaterialsManager,
    commitment_policy: CommitmentPolicy,
    reproduced: Mapping[str, str],
    unsigned_only: bool,
    max_body_length: int | None,
) -> tuple[DecryptionMaterials, GCM]:
    """The materials and the message's cipher, once the header may be trusted.

    ``reproduced`` is the encryption context the caller passed to decrypt."""
    header = parsed.header
    algorithm = header.algorithm
    if unsigned_only and algorithm.is_signing:
        raise PolicyError(
            f"the message is signed ({algorithm.name}) but unsigned-only decryption was "
            "requested (mode='decrypt-unsigned' / --decrypt-unsigned); use mode='decrypt'",
            code=ErrorCode.SIGNED_MESSAGE_FORBIDDEN,
        )
    check_decrypt_policy(commitment_policy, algorithm)
    if max_body_length is not None and header.frame_length > max_body_length:
        raise body_too_large(f"frame length {header.frame_length}", max_body_length)
    try:
        return _authenticate(parsed, materials_manager, commitment_policy, reproduced)
    except (NoDecryptableKeyError, AuthenticationError) as error:
        raise _with_context_hint(error, reproduced, header) from None


def _authenticate(
    parsed: ParsedHeader,
    materials_manager: CryptoMaterialsManager,
    commitment_policy: CommitmentPolicy,
    reproduced: Mapping[str, str],
) -> tuple[DecryptionMaterials, GCM]:
    """Materials from the CMM, the key commitment and the header tag."""
    header = parsed.header
    algorithm = header.algorithm
    materials = materials_manager.decrypt_materials(
        DecryptionMaterialsRequest(
            algorithm=algorithm,
            encrypted_data_keys=header.encrypted_data_keys,
            encryption_context=header.encryption_context,
            commitment_policy=commitment_policy,
            reproduced_encryption_context=reproduced,
        )
    )
    assert materials.plaintext_data_key is not None
    key, commitment = derive_message_keys(
        algorithm, materials.plaintext_data_key, header.message_id
    )
    if algorithm.is_committing and not hmac.compare_digest(commitment, header.commitment):
        raise AuthenticationError(
            "key commitment mismatch: the data key does not commit to this message "
            "(the message was altered or crafted to decrypt differently under other keys)",
            code=ErrorCode.COMMITMENT_MISMATCH,
        )
    gcm = GCM(key)
    context = materials.encryption_context
    required = materials.required_encryption_context_keys
    auth_only = serialize_encryption_context({k: context[k] for k in required})
    gcm.decrypt(
        parsed.auth_iv,
        parsed.auth_tag,
        parsed.body_bytes + auth_only,
        code=ErrorCode.HEADER_AUTH_FAILED,
    )
    return materials, gcm


def _with_context_hint(
    error: MessageError, reproduced: Mapping[str, str], header: MessageHeader
) -> MessageError:
    """Say so when the caller's context names keys the message does not store."""
    extra = sorted(set(reproduced) - set(header.encryption_context))
    if not extra:
        return error
    hint = (
        f"(the encryption context passed to decrypt has keys the message does not store: {extra}; "
        "they only belong there if the message was written with a required-encryption-context CMM)"
    )
    hinted = error.with_hint(hint)
    assert isinstance(hinted, MessageError)
    return hinted
