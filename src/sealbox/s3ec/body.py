"""The plaintext body ``get_object`` returns: released only once it has authenticated.

An AES-GCM object is authenticated by the tag at its very end, so no byte of it can
be trusted before the last one has arrived. The body is decrypted as it downloads
into a spool — memory up to ``SPOOL_MEMORY`` (8 MiB), a temporary file beyond
that, which is removed when the body is closed — and the tag is checked before the
first byte is handed out. Memory stays bounded for objects of any size, and a
tampered object fails in ``get_object`` itself, with nothing released.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import IO, Any, Self

from sealbox.s3ec.content import ContentDecryptor

SPOOL_MEMORY = 8 * 1024 * 1024
CHUNK = 1024 * 1024


def decrypt_into(decryptor: ContentDecryptor, source: Any, sink: IO[bytes]) -> int:
    """Decrypt everything ``source`` (a readable: botocore's StreamingBody) holds into
    ``sink``; raise before returning if it does not authenticate. Returns the length."""
    written = 0
    while chunk := source.read(CHUNK):
        plain = decryptor.update(chunk)
        sink.write(plain)  # file objects may return None: count what was given
        written += len(plain)
    last = decryptor.finish()
    sink.write(last)
    return written + len(last)


class PlaintextBody(ABC):
    """What callers use of botocore's StreamingBody — ``read``, ``iter_chunks``,
    iteration, ``close``, context manager — over a subclass's ``read`` and ``close``."""

    content_length: int

    @abstractmethod
    def read(self, amt: int | None = None) -> bytes: ...

    @abstractmethod
    def close(self) -> None: ...

    def iter_chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def readable(self) -> bool:
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VerifiedBody(PlaintextBody):
    """The whole object's plaintext, authenticated before the body was made."""

    def __init__(self, spool: IO[bytes], length: int) -> None:
        self._spool = spool
        self.content_length = length

    @classmethod
    def download(cls, decryptor: ContentDecryptor, source: Any) -> VerifiedBody:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)
        try:
            length = decrypt_into(decryptor, source, spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return cls(spool, length)

    def read(self, amt: int | None = None) -> bytes:
        return self._spool.read(-1 if amt is None else amt)

    def close(self) -> None:
        self._spool.close()

    @property
    def closed(self) -> bool:
        return self._spool.closed
