"""Streaming encryptor and decryptor with the reference's file-like interface.

Each wraps one of Sealbox's streams (:mod:`sealbox.streaming`, built through
:class:`sealbox.api.EncryptionClient`), so memory stays O(frame) and the message
format is Sealbox's. As in the reference: ``read(b)`` returns ``b`` bytes unless the
message ends; ``readline()`` returns the next ``line_length`` (8192) bytes and
iteration yields those chunks; ``tell()`` counts bytes handed out; ``header`` is the
reference's ``MessageHeader``; leaving a ``with`` block closes the stream, and closing a
decryptor before its message ended raises (and ``__exit__`` logs) "Footer not read".
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from sealbox.api import EncryptionClient
from sealbox.aws_encryption_sdk._bridge.cmm import as_sealbox_cmm
from sealbox.aws_encryption_sdk._bridge.configs import (
    DecryptorConfig,
    EncryptorConfig,
    bounded_source,
    source_length_of,
)
from sealbox.aws_encryption_sdk._bridge.convert import (
    header_to_legacy,
    optional_sealbox_algorithm,
)
from sealbox.aws_encryption_sdk._bridge.errors import translated
from sealbox.aws_encryption_sdk.exceptions import AWSEncryptionSDKClientError, SerializationError
from sealbox.aws_encryption_sdk.internal.defaults import FRAME_LENGTH, LINE_LENGTH
from sealbox.aws_encryption_sdk.internal.utils.signature import SignaturePolicy
from sealbox.aws_encryption_sdk.structures import MessageHeader
from sealbox.streaming import StreamDecryptor as SealboxStreamDecryptor
from sealbox.streaming import StreamEncryptor as SealboxStreamEncryptor

__all__ = ("DecryptorConfig", "EncryptorConfig", "StreamDecryptor", "StreamEncryptor")

_LOGGER = logging.getLogger(__name__)


class _EncryptionStream(io.IOBase):
    """What both streams share: configuration, reads, lines, iteration, the header."""

    line_length: int = LINE_LENGTH
    _config_class: type[EncryptorConfig] | type[DecryptorConfig]
    _stream: SealboxStreamEncryptor | SealboxStreamDecryptor

    def __init__(self, **kwargs: Any) -> None:
        config = kwargs.pop("config", None)
        if not isinstance(config, self._config_class):
            config = self._config_class(**kwargs)
        self.config = config
        self.bytes_read = 0
        self._header: MessageHeader | None = None

    @property
    def header(self) -> MessageHeader:
        """The message header (reading or writing as much of the message as that takes)."""
        if self._header is None:
            with translated():
                self._header = header_to_legacy(self._stream.header)
        return self._header

    def __enter__(self) -> _EncryptionStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except AWSEncryptionSDKClientError:
            _LOGGER.exception("Error on closing")

    def readable(self) -> bool:
        return not self.closed

    def writable(self) -> bool:
        return False

    def read(self, b: int | None = -1, /) -> bytes:
        """``b`` bytes (fewer only at the end); everything left if ``b`` is negative or None."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        size = -1 if b is None or b < 0 else b
        with translated():
            data = self._stream.read(size)
            # Sealbox hands out what verified before an error and raises on the next read;
            # the reference raises in this one, so a short read asks again at once.
            while (size < 0 or len(data) < size) and not self._stream.finished:
                more = self._stream.read(size if size < 0 else size - len(data))
                if not more:
                    break
                data += more
        self.bytes_read += len(data)
        return data

    def tell(self) -> int:
        return self.bytes_read

    def seek(self, offset: int, whence: int = 0, /) -> int:
        raise NotImplementedError("seek is not available for this object")

    def write(self, b: Any, /) -> int:
        raise NotImplementedError("write is not available for this object")

    def writelines(self, lines: Any, /) -> None:
        raise NotImplementedError("writelines is not available for this object")

    def readline(self, size: int | None = -1, /) -> bytes:
        """The next ``line_length`` bytes (or ``size``, if given): output is binary, not lines."""
        return self.read(size if size is not None and size > 0 else self.line_length)

    def readlines(self, hint: int = -1, /) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.closed:
            raise StopIteration
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


class StreamEncryptor(_EncryptionStream):
    """Reads plaintext from ``source`` and yields one message (see :class:`EncryptorConfig`)."""

    _config_class = EncryptorConfig
    config: EncryptorConfig

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config = self.config
        self._stream_length = config.source_length
        if self._stream_length is None:
            self._stream_length = source_length_of(config.source)
        source = config.source
        if config.key_provider is None and config.source_length is not None:
            source = bounded_source(source, config.source_length)
        with translated():
            stream = EncryptionClient(
                commitment_policy=config.commitment_policy,
                max_encrypted_data_keys=config.max_encrypted_data_keys,
            ).stream(
                mode="e",
                source=source,
                materials_manager=as_sealbox_cmm(config.cmm, frame_length=config.frame_length),
                encryption_context=config.encryption_context,
                algorithm=optional_sealbox_algorithm(config.algorithm),
                frame_length=config.frame_length,
                source_length=self._stream_length,
            )
        assert isinstance(stream, SealboxStreamEncryptor)
        self._stream = stream

    @property
    def stream_length(self) -> int:
        """The plaintext's length: ``source_length``, or measured (bytes, seekable files)."""
        if self._stream_length is None:
            raise io.UnsupportedOperation("the source's length cannot be determined")
        return self._stream_length


class StreamDecryptor(_EncryptionStream):
    """Reads one message from ``source`` and yields its plaintext (see :class:`DecryptorConfig`).

    A frame's plaintext is released once its tag verifies; the last frame of a signed
    message once the signature verifies too.
    """

    _config_class = DecryptorConfig
    config: DecryptorConfig

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        config = self.config
        unsigned_only = config.signature_policy is SignaturePolicy.ALLOW_ENCRYPT_FORBID_DECRYPT
        with translated():
            stream = EncryptionClient(
                commitment_policy=config.commitment_policy,
                max_encrypted_data_keys=config.max_encrypted_data_keys,
            ).stream(
                mode="decrypt-unsigned" if unsigned_only else "d",
                source=config.source,
                materials_manager=as_sealbox_cmm(config.cmm, frame_length=FRAME_LENGTH),
                max_body_length=config.max_body_length,
                max_header_size=None,
            )
        assert isinstance(stream, SealboxStreamDecryptor)
        self._stream = stream

    def close(self) -> None:
        """Close; raise SerializationError if the message was not read to its end."""
        if self.closed:
            return
        finished = self._stream.finished
        super().close()
        if not finished:
            raise SerializationError("Footer not read")
