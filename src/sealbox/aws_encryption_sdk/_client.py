"""``EncryptionSDKClient``: the legacy API's one-shot ``encrypt``/``decrypt`` and ``stream``.

One-shot calls run Sealbox's one-shot pipeline (:class:`sealbox.api.EncryptionClient`)
rather than draining a stream as the reference does; ``stream`` returns the legacy
streaming classes. Arguments are the reference's keyword arguments; the client's
``commitment_policy`` and ``max_encrypted_data_keys`` override any passed to a call
(with a warning), as in the reference.
"""

from __future__ import annotations

import warnings
from typing import Any

from sealbox._source import read_all
from sealbox.api import EncryptionClient
from sealbox.aws_encryption_sdk._bridge.cmm import as_sealbox_cmm
from sealbox.aws_encryption_sdk._bridge.configs import (
    DecryptorConfig,
    EncryptionSDKClientConfig,
    EncryptorConfig,
    bounded_source,
)
from sealbox.aws_encryption_sdk._bridge.convert import (
    header_to_legacy,
    optional_sealbox_algorithm,
)
from sealbox.aws_encryption_sdk._bridge.errors import translated
from sealbox.aws_encryption_sdk.internal.utils.signature import SignaturePolicy
from sealbox.aws_encryption_sdk.streaming_client import StreamDecryptor, StreamEncryptor
from sealbox.aws_encryption_sdk.structures import MessageHeader

_SIGNATURE_POLICIES = {
    "e": SignaturePolicy.ALLOW_ENCRYPT_ALLOW_DECRYPT,
    "encrypt": SignaturePolicy.ALLOW_ENCRYPT_ALLOW_DECRYPT,
    "d": SignaturePolicy.ALLOW_ENCRYPT_ALLOW_DECRYPT,
    "decrypt": SignaturePolicy.ALLOW_ENCRYPT_ALLOW_DECRYPT,
    "decrypt-unsigned": SignaturePolicy.ALLOW_ENCRYPT_FORBID_DECRYPT,
}


class EncryptionSDKClient:
    """Encrypts and decrypts with master key providers or legacy materials managers.

    ``EncryptionSDKClient(commitment_policy=..., max_encrypted_data_keys=...)`` or
    ``EncryptionSDKClient(config=EncryptionSDKClientConfig(...))``.
    """

    _config_class = EncryptionSDKClientConfig

    def __init__(self, **kwargs: Any) -> None:
        config = kwargs.pop("config", None)
        if not isinstance(config, self._config_class):
            config = self._config_class(**kwargs)
        self.config = config

    def _set_config_kwargs(self, callee_name: str, kwargs: dict[str, Any]) -> None:
        for key in ("commitment_policy", "max_encrypted_data_keys"):
            if key in kwargs:
                warnings.warn(
                    f"Invalid keyword argument '{key}' passed to {callee_name}. Set this value "
                    "by passing a 'config' to the EncryptionSDKClient constructor instead.",
                    stacklevel=3,
                )
        kwargs["commitment_policy"] = self.config.commitment_policy
        kwargs["max_encrypted_data_keys"] = self.config.max_encrypted_data_keys

    def encrypt(self, **kwargs: Any) -> tuple[bytes, MessageHeader]:
        """Encrypt ``source`` into one message; return ``(ciphertext, header)``."""
        self._set_config_kwargs("encrypt", kwargs)
        config = _config(EncryptorConfig, kwargs)
        source = config.source
        if config.key_provider is None and config.source_length is not None:
            source = read_all(bounded_source(source, config.source_length))
        with translated():
            ciphertext, header = _sealbox_client(config).encrypt(
                source=source,
                materials_manager=as_sealbox_cmm(config.cmm, frame_length=config.frame_length),
                encryption_context=config.encryption_context,
                algorithm=optional_sealbox_algorithm(config.algorithm),
                frame_length=config.frame_length,
            )
        return ciphertext, header_to_legacy(header)

    def decrypt(self, **kwargs: Any) -> tuple[bytes, MessageHeader]:
        """Decrypt one message; return ``(plaintext, header)``.

        Nothing is returned unless every tag and the signature verified, and Sealbox
        refuses bytes after the message (the reference ignores them)."""
        self._set_config_kwargs("decrypt", kwargs)
        config = _config(DecryptorConfig, kwargs)
        with translated():
            plaintext, header = _sealbox_client(config).decrypt(
                source=config.source,
                materials_manager=as_sealbox_cmm(config.cmm, frame_length=0),
                max_body_length=config.max_body_length,
                max_header_size=None,
            )
        return plaintext, header_to_legacy(header)

    def stream(self, **kwargs: Any) -> StreamEncryptor | StreamDecryptor:
        """A file-like stream: ``mode`` "e"/"encrypt" encrypts, "d"/"decrypt" decrypts,
        "decrypt-unsigned" decrypts but refuses signed messages."""
        self._set_config_kwargs("stream", kwargs)
        mode = str(kwargs.pop("mode")).lower()
        if mode not in _SIGNATURE_POLICIES:
            # The reference's exception: KeyError, from its lookup of the mode.
            raise KeyError(
                f"unsupported stream mode {mode!r}: use 'e', 'encrypt', 'd', 'decrypt' "
                "or 'decrypt-unsigned'"
            )
        kwargs["signature_policy"] = _SIGNATURE_POLICIES[mode]
        if mode in ("e", "encrypt"):
            return StreamEncryptor(**kwargs)
        return StreamDecryptor(**kwargs)


def _config(kind: type[Any], kwargs: dict[str, Any]) -> Any:
    """The stream configuration the reference would build from these call arguments."""
    kwargs.pop("signature_policy", None)
    given = kwargs.pop("config", None)
    return given if isinstance(given, kind) else kind(**kwargs)


def _sealbox_client(config: EncryptorConfig | DecryptorConfig) -> EncryptionClient:
    return EncryptionClient(
        commitment_policy=config.commitment_policy,
        max_encrypted_data_keys=config.max_encrypted_data_keys,
    )


__all__ = ["EncryptionSDKClient", "EncryptionSDKClientConfig"]
