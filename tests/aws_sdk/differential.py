"""What the differential checks compare: clients, header summaries, outcomes."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tests.aws_sdk.modules import load, present_modules, submodule

REFERENCE: ModuleType = load("reference")
MODULES = present_modules()  # the reference first
ALGORITHMS = [suite.name for suite in REFERENCE.Algorithm]
PUBLIC_KEY = "aws-crypto-public-key"


def committing(algorithm: str | None) -> bool:
    return algorithm is None or bool(REFERENCE.Algorithm[algorithm].is_committing())


def client(module: ModuleType, algorithm: str | None = None, **config: Any) -> Any:
    """A client whose commitment policy lets ``algorithm`` encrypt; it decrypts anything."""
    policies = module.CommitmentPolicy
    policy = (
        policies.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        if committing(algorithm)
        else policies.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    return module.EncryptionSDKClient(commitment_policy=policy, **config)


def encrypt_options(
    module: ModuleType, algorithm: str | None, frame_length: int | None
) -> dict[str, Any]:
    """Only what the call sets: a default stays the module's own default."""
    options: dict[str, Any] = {}
    if algorithm is not None:
        options["algorithm"] = module.Algorithm[algorithm]
    if frame_length is not None:
        options["frame_length"] = frame_length
    return options


def summary(header: Any) -> tuple[Any, ...]:
    """A header's fields that do not vary from message to message: no message id, IVs,
    wrapped keys or signing key (only that one is there)."""
    context = {
        key: "<public key>" if key == PUBLIC_KEY else value
        for key, value in header.encryption_context.items()
    }
    edks = sorted(
        (
            edk.key_provider.provider_id,
            # a raw AES key's info ends with its random 12-byte IV
            edk.key_provider.key_info[:-12]
            if edk.key_provider.key_info.startswith(b"aes")
            else edk.key_provider.key_info,
        )
        for edk in header.encrypted_data_keys
    )
    return (
        header.version.value,
        header.algorithm.name,
        len(header.message_id),
        context,
        edks,
        header.content_type.name,
        header.frame_length,
    )


def parsed(message: bytes) -> tuple[tuple[Any, ...], int]:
    """The summary of ``message``'s header as the reference parses it, and its length."""
    deserialize = submodule(REFERENCE, "internal.formatting.deserialize").deserialize_header
    header, raw = deserialize(io.BytesIO(message))
    return summary(header), len(raw)


def outcome(call: Callable[[], object]) -> Exception | None:
    try:
        call()
    except Exception as error:
        return error
    return None


def name(result: Exception | None) -> str:
    return "ok" if result is None else type(result).__name__


def catchable_as(module: ModuleType, error_class: type[BaseException]) -> type[BaseException]:
    """What a user of ``module`` catches where reference users catch ``error_class``: its
    counterpart in ``module.exceptions``, or the very class if it is not the SDK's own
    (``TypeError``, ``cryptography.exceptions.InvalidTag``)."""
    if error_class.__module__.startswith("aws_encryption_sdk"):
        found: type[BaseException] = getattr(submodule(module, "exceptions"), error_class.__name__)
        return found
    return error_class


def assert_alike(results: dict[ModuleType, Exception | None], expected: str | None = None) -> None:
    """Every module ended the same way (same exception class name, or success), and each
    can be caught as the reference's exception is caught."""
    names = {module.__name__: name(result) for module, result in results.items()}
    assert len(set(names.values())) == 1, names
    if expected is not None:
        assert set(names.values()) == {expected}, names
    reference_result = results.get(REFERENCE)
    if reference_result is None:
        return
    for module, result in results.items():
        assert isinstance(result, catchable_as(module, type(reference_result))), (
            module.__name__,
            type(result).__mro__,
        )
