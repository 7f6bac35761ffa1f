"""The client: one-shot ``encrypt``/``decrypt`` and ``stream``.

Parameter names follow the reference package (``aws_encryption_sdk``) so that
porting is mechanical, with keyrings in place of master key providers. Every
argument is keyword-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from sealbox._buffers import OutputBuffer
from sealbox._source import Source, read_all
from sealbox.cmm import CryptoMaterialsManager, as_materials_manager
from sealbox.decryptor import MessageDecryptor
from sealbox.encryptor import DEFAULT_FRAME_LENGTH, MessageEncryptor, check_frame_length
from sealbox.errors import UsageError
from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH
from sealbox.format.context import check_caller_context
from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE, MessageHeader
from sealbox.format.suites import Algorithm, CommitmentPolicy
from sealbox.keyrings.base import Keyring
from sealbox.streaming import StreamDecryptor, StreamEncryptor

StreamMode = Literal["e", "encrypt", "d", "decrypt", "decrypt-unsigned"]


#: the two ways to give the client its materials, named in the error when both or neither are
_MATERIALS_PARAMETERS = "keyring= or materials_manager="


def _caller_context(
    encryption_context: Mapping[str, str] | None, *, encrypting: bool
) -> dict[str, str]:
    """The caller's encryption context as a dict. One to be written into a message is
    also checked for reserved keys and size; one given to decrypt is only compared."""
    if encryption_context is None:
        return {}
    if not isinstance(encryption_context, Mapping):
        raise UsageError("encryption_context must be a mapping of str to str")
    context = dict(encryption_context)
    if encrypting:
        check_caller_context(context)
    return context


def _check_algorithm(algorithm: Algorithm | None) -> None:
    if algorithm is not None and not isinstance(algorithm, Algorithm):
        raise UsageError(
            "algorithm must be a sealbox.Algorithm member (e.g. Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)"
        )


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise UsageError(f"{name} must be a positive int or None, got {value!r}")


class EncryptionClient:
    """Encrypts and decrypts AWS Encryption SDK messages.

    ``commitment_policy`` defaults to the strictest, REQUIRE_ENCRYPT_REQUIRE_DECRYPT.
    ``max_encrypted_data_keys`` defaults to **no limit**, as in the reference
    package; set it when you decrypt messages from untrusted sources, since
    every encrypted data key may cost a keyring (or KMS) call. Memory is bounded
    regardless: ``decrypt`` and ``stream`` refuse a header over ``max_header_size``
    (default 4 MiB) and a frame or non-framed body over ``max_body_length``
    (default 64 MiB) before reading it; pass larger values (or None for no
    limit) only for messages from sources you trust.
    """

    def __init__(
        self,
        *,
        commitment_policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        max_encrypted_data_keys: int | None = None,
    ) -> None:
        if not isinstance(commitment_policy, CommitmentPolicy):
            raise UsageError("commitment_policy must be a sealbox.CommitmentPolicy member")
        _check_limit("max_encrypted_data_keys", max_encrypted_data_keys)
        self.commitment_policy = commitment_policy
        self.max_encrypted_data_keys = max_encrypted_data_keys

    def encrypt(
        self,
        *,
        source: Source,
        keyring: Keyring | None = None,
        materials_manager: CryptoMaterialsManager | None = None,
        encryption_context: Mapping[str, str] | None = None,
        algorithm: Algorithm | None = None,
        frame_length: int = DEFAULT_FRAME_LENGTH,
    ) -> tuple[bytes, MessageHeader]:
        """Encrypt ``source`` into one message; return ``(ciphertext, header)``."""
        cmm = as_materials_manager(
            materials_manager=materials_manager, keyring=keyring, parameters=_MATERIALS_PARAMETERS
        )
        context = _caller_context(encryption_context, encrypting=True)
        _check_algorithm(algorithm)
        check_frame_length(frame_length)
        plaintext = memoryview(read_all(source))
        encryptor = MessageEncryptor(
            materials_manager=cmm,
            commitment_policy=self.commitment_policy,
            encryption_context=context,
            algorithm=algorithm,
            plaintext_length=len(plaintext),
            frame_length=frame_length,
            max_encrypted_data_keys=self.max_encrypted_data_keys,
        )
        try:
            output = OutputBuffer(encryptor.message_size_bound(len(plaintext)))
            out = output.view
            header = encryptor.header_bytes
            out[: len(header)] = header
            whole = len(plaintext) - len(plaintext) % frame_length
            position = len(header)
            position += encryptor.encrypt_frames(plaintext[:whole], out[position:])
            position += encryptor.finish(plaintext[whole:], out[position:])
            del out
            return output.to_bytes(position), encryptor.header
        finally:
            encryptor.close()

    def decrypt(
        self,
        *,
        source: Source,
        keyring: Keyring | None = None,
        materials_manager: CryptoMaterialsManager | None = None,
        encryption_context: Mapping[str, str] | None = None,
        max_body_length: int | None = DEFAULT_MAX_BODY_LENGTH,
        max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE,
    ) -> tuple[bytes, MessageHeader]:
        """Decrypt one message; return ``(plaintext, header)``.

        Nothing is returned unless every check passed: header tag, key
        commitment, every frame tag, the signature, and no trailing bytes.
        ``encryption_context``, if given, must be contained in the message's
        (pairs not stored in the message are authenticated by its header tag).
        ``max_body_length`` and ``max_header_size`` apply as in :meth:`stream`,
        so that both APIs give one message the same verdict.
        """
        _check_limit("max_body_length", max_body_length)
        _check_limit("max_header_size", max_header_size)
        decryptor = MessageDecryptor(
            materials_manager=as_materials_manager(
                materials_manager=materials_manager,
                keyring=keyring,
                parameters=_MATERIALS_PARAMETERS,
            ),
            commitment_policy=self.commitment_policy,
            max_encrypted_data_keys=self.max_encrypted_data_keys,
            encryption_context=_caller_context(encryption_context, encrypting=False),
            max_body_length=max_body_length,
            max_header_size=max_header_size,
        )
        data = memoryview(read_all(source))
        try:
            output = OutputBuffer(decryptor.output_bound(len(data)))
            _, produced = decryptor.step(data, output.view, eof=True)
            decryptor.finish()
            assert decryptor.header is not None
            return output.to_bytes(produced), decryptor.header
        finally:
            decryptor.close()

    def stream(
        self,
        *,
        mode: StreamMode,
        source: Source,
        keyring: Keyring | None = None,
        materials_manager: CryptoMaterialsManager | None = None,
        encryption_context: Mapping[str, str] | None = None,
        algorithm: Algorithm | None = None,
        frame_length: int | None = None,
        source_length: int | None = None,
        max_body_length: int | None = DEFAULT_MAX_BODY_LENGTH,
        max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE,
    ) -> StreamEncryptor | StreamDecryptor:
        """A file-like stream: ``mode`` "e"/"encrypt" yields a message, "d"/"decrypt"
        yields plaintext, "decrypt-unsigned" refuses signed messages right after the header.

        ``algorithm``, ``frame_length`` and ``source_length`` apply to encryption,
        ``max_body_length`` and ``max_header_size`` to decryption; passing one to
        the other mode is an error. Decrypting streams release each frame once its
        tag verifies; the final frame of a signed message waits for the signature.
        Treat released plaintext as unverified until the stream has ended without error.

        A decrypting stream refuses, before reading them, a header of more than
        ``max_header_size`` bytes (``HEADER_TOO_LARGE``) and a frame or non-framed
        body of more than ``max_body_length`` bytes (``BODY_TOO_LARGE``), so its
        memory stays bounded whatever the message declares. None means no limit.
        """
        cmm = as_materials_manager(
            materials_manager=materials_manager, keyring=keyring, parameters=_MATERIALS_PARAMETERS
        )
        if mode in ("e", "encrypt"):
            _refuse_options(
                mode,
                max_body_length=_changed(max_body_length, DEFAULT_MAX_BODY_LENGTH),
                max_header_size=_changed(max_header_size, DEFAULT_MAX_HEADER_SIZE),
            )
            _check_algorithm(algorithm)
            frame_length = DEFAULT_FRAME_LENGTH if frame_length is None else frame_length
            check_frame_length(frame_length)
            if source_length is not None and (
                isinstance(source_length, bool)
                or not isinstance(source_length, int)
                or source_length < 0
            ):
                raise UsageError(
                    f"source_length must be a non-negative int or None, got {source_length!r}"
                )
            return StreamEncryptor(
                source=source,
                materials_manager=cmm,
                commitment_policy=self.commitment_policy,
                encryption_context=_caller_context(encryption_context, encrypting=True),
                algorithm=algorithm,
                frame_length=frame_length,
                source_length=source_length,
                max_encrypted_data_keys=self.max_encrypted_data_keys,
            )
        if mode in ("d", "decrypt", "decrypt-unsigned"):
            _refuse_options(
                mode, algorithm=algorithm, frame_length=frame_length, source_length=source_length
            )
            _check_limit("max_body_length", max_body_length)
            _check_limit("max_header_size", max_header_size)
            return StreamDecryptor(
                source=source,
                materials_manager=cmm,
                commitment_policy=self.commitment_policy,
                encryption_context=_caller_context(encryption_context, encrypting=False),
                max_encrypted_data_keys=self.max_encrypted_data_keys,
                max_body_length=max_body_length,
                max_header_size=max_header_size,
                unsigned_only=mode == "decrypt-unsigned",
            )
        raise UsageError(
            f"mode must be 'e', 'encrypt', 'd', 'decrypt' or 'decrypt-unsigned', not {mode!r}"
        )


def _changed(value: int | None, default: int) -> int | None:
    """A decrypt-only limit the caller set, or None if left alone (None or the default)."""
    return None if value is None or value == default else value


def _refuse_options(mode: str, **options: object) -> None:
    given = sorted(name for name, value in options.items() if value is not None)
    if given:
        raise UsageError(f"{', '.join(given)} do(es) not apply to mode={mode!r}; remove it")
