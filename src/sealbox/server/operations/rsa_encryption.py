"""Encrypt, Decrypt and ReEncrypt with an RSA key of usage ENCRYPT_DECRYPT (RSAES_OAEP_SHA_1
or _256). As AWS: the ciphertext is the bare RSA-OAEP output (no header, so Decrypt must be
named the key), no encryption context, and at most k - 2·hLen - 2 bytes of plaintext."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sealbox.server import keypairs
from sealbox.server.access.authorization import request_alias_keys
from sealbox.server.errors import (
    InvalidCiphertextException,
    ValidationException,
)
from sealbox.server.key_specs import ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT
from sealbox.server.operations.pairs import check_algorithm, check_usage, private_key
from sealbox.server.operations.table import Params, stop_if_dry_run
from sealbox.server.service import Caller, KeyEntry, KmsService, require_usable

INVALID_CIPHERTEXT = (
    "The ciphertext is not valid for this key and encryption algorithm "
    "(an asymmetric key's ciphertext is decrypted with the same key and EncryptionAlgorithm)."
)


def _checked(
    service: KmsService,
    caller: Caller,
    entry: KeyEntry,
    key_param: str | None,
    action: str,
    algorithm: str | None,
    context: Mapping[str, str],
) -> str:
    """Authorization, state, usage, algorithm and context: the algorithm to use."""
    name = algorithm or SYMMETRIC_DEFAULT
    keys = {"kms:encryptionalgorithm": name, **request_alias_keys(key_param)}
    service.authorize(caller, action, entry, context=keys)
    require_usable(entry)
    check_usage(entry, action, ENCRYPT_DECRYPT)
    check_algorithm(entry, name)  # a missing algorithm is SYMMETRIC_DEFAULT: refused
    if context:
        raise ValidationException(
            "EncryptionContext is not supported with asymmetric KMS keys; "
            "leave it out of the request."
        )
    return name


def encrypt(
    service: KmsService,
    caller: Caller,
    params: Params,
    entry: KeyEntry,
    *,
    key_param: str,
    action: str,
    plaintext: bytes,
    algorithm: str | None,
    context: Mapping[str, str],
) -> tuple[str, bytes]:
    """(algorithm, ciphertext): ``plaintext`` under the RSA key ``entry``."""
    name = _checked(service, caller, entry, key_param, action, algorithm, context)
    public = private_key(service, entry).public_key()
    limit = keypairs.oaep_limit(public, name)
    if len(plaintext) > limit:
        raise ValidationException(
            f"Algorithm {name} and key spec {entry.record.key_spec} cannot encrypt data "
            f"larger than {limit} bytes."
        )
    stop_if_dry_run(params)
    return name, keypairs.rsa_encrypt(public, name, plaintext)


def decrypt(
    service: KmsService,
    caller: Caller,
    params: Params,
    entry: KeyEntry,
    *,
    key_param: str | None,
    action: str,
    blob: bytes,
    algorithm: str | None,
    context: Mapping[str, str],
) -> tuple[str, Callable[[], bytes]]:
    """(algorithm, work): every check now; the private-key work (milliseconds of CPU) when
    the caller chooses, so the dispatcher can run it in the work pool."""
    name = _checked(service, caller, entry, key_param, action, algorithm, context)
    key = private_key(service, entry)
    stop_if_dry_run(params)

    def work() -> bytes:
        plaintext = keypairs.rsa_decrypt(key, name, blob)
        if plaintext is None:
            raise InvalidCiphertextException(INVALID_CIPHERTEXT)
        return plaintext

    return name, work
