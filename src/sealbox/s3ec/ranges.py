"""Ranged gets of encrypted objects: unauthenticated, so refused unless opted in.

A range of an AES-GCM object cannot be authenticated (the tag covers the whole
object), so AWS's clients decrypt it as AES-CTR — GCM's own keystream, whose block
``k`` of plaintext uses the counter ``IV ‖ uint32(2 + k)`` — and only when the caller
enables legacy unauthenticated modes. A CBC object's range is decrypted with the
cipher block before it as IV. Only the blocks the range touches are fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sealbox.errors import AuthenticationError, ErrorCode, MalformedMessageError, UsageError
from sealbox.s3ec.body import PlaintextBody
from sealbox.s3ec.content import content_key_and_iv
from sealbox.s3ec.envelope import Envelope
from sealbox.s3ec.suites import TAG_LENGTH, ContentCipher

BLOCK = 16
#: GetObject arguments that HeadObject takes too (they choose the object version or
#: unlock it), for a ranged get's first look at the envelope.
HEAD_ARGUMENTS = frozenset(
    (
        "VersionId",
        "IfMatch",
        "IfNoneMatch",
        "IfModifiedSince",
        "IfUnmodifiedSince",
        "SSECustomerAlgorithm",
        "SSECustomerKey",
        "SSECustomerKeyMD5",
        "RequestPayer",
        "ExpectedBucketOwner",
    )
)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def requested_span(header: str, plaintext_length: int) -> tuple[int, int]:
    """The inclusive (first, last) plaintext bytes of an HTTP ``Range`` header."""
    found = _RANGE.match(header.strip())
    if found is None or found.group(1) == found.group(2) == "":
        raise UsageError(f"Range {header!r} is not bytes=FIRST-LAST, bytes=FIRST- or bytes=-COUNT")
    start, end = found.group(1), found.group(2)
    if start == "":
        first, last = max(0, plaintext_length - int(end)), plaintext_length - 1
    else:
        first = int(start)
        last = min(int(end), plaintext_length - 1) if end else plaintext_length - 1
    if first > last or first >= plaintext_length:
        raise UsageError(
            f"Range {header!r} is not satisfiable: the object has {plaintext_length} bytes"
        )
    return first, last


def plaintext_length_of(
    envelope: Envelope, data_key: bytes, stored_length: int, fetch: Callable[[int, int], bytes]
) -> int:
    """The object's plaintext length. GCM: the stored length less the tag. CBC: the
    recorded ``x-amz-unencrypted-content-length``, or else read off the padding of the
    last block (``fetch(first, last)`` gets those ciphertext bytes)."""
    if envelope.cipher is not ContentCipher.AES_CBC:
        return max(0, stored_length - TAG_LENGTH)
    if envelope.plaintext_length is not None:
        return envelope.plaintext_length
    if stored_length < BLOCK or stored_length % BLOCK:
        raise MalformedMessageError(
            "the CBC object's length is not a positive multiple of 16", code=ErrorCode.TRUNCATED
        )
    key, iv = content_key_and_iv(envelope, data_key)
    tail = fetch(max(0, stored_length - 2 * BLOCK), stored_length - 1)
    previous = tail[:BLOCK] if stored_length > BLOCK else iv
    decryptor = Cipher(algorithms.AES(key), modes.CBC(previous)).decryptor()
    block = decryptor.update(tail[-BLOCK:]) + decryptor.finalize()
    pad = block[-1]
    if not 1 <= pad <= BLOCK or block[-pad:] != bytes([pad]) * pad:
        raise AuthenticationError(
            "the object's CBC padding is invalid: wrong key, or the body was altered",
            code=ErrorCode.CONTENT_AUTH_FAILED,
        )
    return stored_length - pad


def fetch_span(envelope: Envelope, first: int, last: int, stored_length: int) -> tuple[int, int]:
    """The inclusive ciphertext bytes to fetch for plaintext bytes first..last."""
    start = first - first % BLOCK
    if envelope.cipher is ContentCipher.AES_CBC:
        start = max(0, start - BLOCK)  # the previous cipher block is this range's IV
        end = min(stored_length - 1, (last // BLOCK + 1) * BLOCK - 1)
    else:
        end = last
    return start, end


class RangeBody(PlaintextBody):
    """The decrypted range, streamed (and unauthenticated)."""

    def __init__(
        self,
        source: Any,
        transform: Callable[[bytes], bytes],
        finish: Callable[[], bytes],
        skip: int,
        length: int,
    ) -> None:
        self._source = source
        self._transform = transform
        self._finish = finish
        self._skip = skip
        self._remaining = length
        self._pending = bytearray()
        self._ended = False
        self.content_length = length

    def read(self, amt: int | None = None) -> bytes:
        wanted = self._remaining if amt is None else min(amt, self._remaining)
        while len(self._pending) < wanted and not self._ended:
            chunk = self._source.read(1 << 20)
            produced = self._transform(chunk) if chunk else self._finish()
            self._ended = not chunk
            if self._skip:
                cut = min(self._skip, len(produced))
                produced, self._skip = produced[cut:], self._skip - cut
            self._pending += produced
        if len(self._pending) < wanted:
            raise MalformedMessageError(
                f"S3 answered {self.content_length - self._remaining + len(self._pending)} of "
                f"the range's {self.content_length} bytes",
                code=ErrorCode.TRUNCATED,
            )
        data = bytes(self._pending[:wanted])
        del self._pending[:wanted]
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        self._source.close()

    @property
    def closed(self) -> bool:
        return bool(getattr(self._source, "closed", False))


def range_body(
    envelope: Envelope,
    data_key: bytes,
    source: Any,
    *,
    first: int,
    last: int,
    fetched_from: int,
    fetched_to: int,
    stored_length: int,
) -> RangeBody:
    """Decrypt ``source`` (ciphertext bytes fetched_from..fetched_to) to plaintext first..last."""
    key, iv = content_key_and_iv(envelope, data_key)
    if envelope.cipher is ContentCipher.AES_CBC:
        return _cbc_range(key, iv, source, first, last, fetched_from, fetched_to, stored_length)
    counter = iv + (2 + fetched_from // BLOCK).to_bytes(4, "big")
    context = Cipher(algorithms.AES(key), modes.CTR(counter)).decryptor()
    return RangeBody(
        source, context.update, context.finalize, first - fetched_from, last - first + 1
    )


def _cbc_range(
    key: bytes,
    iv: bytes,
    source: Any,
    first: int,
    last: int,
    fetched_from: int,
    fetched_to: int,
    stored_length: int,
) -> RangeBody:
    if fetched_from:  # the first fetched block is the IV of the next
        iv = source.read(BLOCK)
        if len(iv) != BLOCK:
            raise MalformedMessageError(
                "the ranged get answered too few bytes", code=ErrorCode.TRUNCATED
            )
        fetched_from += BLOCK
    context = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    at_end = fetched_to == stored_length - 1
    unpadder = padding.PKCS7(128).unpadder() if at_end else None

    def transform(chunk: bytes) -> bytes:
        plain = context.update(chunk)
        return unpadder.update(plain) if unpadder else plain

    def finish() -> bytes:
        tail = context.finalize()
        if unpadder is None:
            return tail
        try:
            return unpadder.update(tail) + unpadder.finalize()
        except ValueError:
            raise AuthenticationError(
                "the object's CBC padding is invalid: wrong key, or the body was altered",
                code=ErrorCode.CONTENT_AUTH_FAILED,
            ) from None

    return RangeBody(source, transform, finish, first - fetched_from, last - first + 1)


def check_answered_span(answer: Mapping[str, Any], first: int, last: int, stored: int) -> None:
    """S3's Content-Range must be the bytes asked for, of the object the envelope was
    read from: anything else would be decrypted under the wrong counter."""
    expected = f"bytes {first}-{last}/{stored}"
    if answer.get("ContentRange") != expected:
        raise MalformedMessageError(
            f"S3 answered {answer.get('ContentRange')!r} to a request for {expected!r}",
            code=ErrorCode.TRUNCATED,
        )


def get_range(
    s3: Any,
    bucket: str,
    key: str,
    header: str,
    request: dict[str, Any],
    open_envelope: Callable[[Mapping[str, Any]], tuple[Envelope, bytes]],
) -> dict[str, Any]:
    """A ranged get: the envelope from a HEAD (``open_envelope`` checks the policies and
    unwraps the key), then only the cipher blocks the range needs, from the same version."""
    selectors = {k: v for k, v in request.items() if k in HEAD_ARGUMENTS}
    head = s3.head_object(Bucket=bucket, Key=key, **selectors)
    envelope, data_key = open_envelope(head)
    if "VersionId" not in request and "IfMatch" not in request:
        request = {**request, "IfMatch": head["ETag"]}
    stored = int(head["ContentLength"])

    def fetch(first: int, last: int) -> Any:
        answer = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}", **request)
        try:
            check_answered_span(answer, first, last, stored)
        except BaseException:
            answer["Body"].close()
            raise
        return answer

    def fetch_bytes(first: int, last: int) -> bytes:
        with fetch(first, last)["Body"] as body:
            data: bytes = body.read()
        if len(data) != last - first + 1:
            raise MalformedMessageError("S3 answered a short range", code=ErrorCode.TRUNCATED)
        return data

    length = plaintext_length_of(envelope, data_key, stored, fetch_bytes)
    first, last = requested_span(header, length)
    fetched_from, fetched_to = fetch_span(envelope, first, last, stored)
    response = fetch(fetched_from, fetched_to)
    try:
        body = range_body(
            envelope,
            data_key,
            response["Body"],
            first=first,
            last=last,
            fetched_from=fetched_from,
            fetched_to=fetched_to,
            stored_length=stored,
        )
    except BaseException:
        response["Body"].close()
        raise
    return {
        **response,
        "Body": body,
        "ContentLength": body.content_length,
        "ContentRange": f"bytes {first}-{last}/{length}",
    }
