"""File-like streams that encrypt or decrypt in O(frame) memory.

``StreamEncryptor`` and ``StreamDecryptor`` read their source in large,
frame-aligned chunks and hand out ciphertext or plaintext through ``read()``,
``readinto()`` and iteration. After any error every further read raises the
same error. ``readinto()`` into a large buffer writes the output in place, and
a file source is read into buffers the stream reuses, so that copying a stream
between files allocates nothing per chunk (fresh memory costs a page fault
per 4 KiB, more than the crypto).
A decrypting stream holds at most ``max_header_size`` bytes of header and one
frame (or non-framed body) of at most ``max_body_length`` bytes, whatever the
message declares: larger declarations fail before their bytes are read.
"""

from __future__ import annotations

import functools
import io
from collections import deque
from collections.abc import Iterator, Mapping

from sealbox._buffers import OutputBuffer
from sealbox._source import Chunker, Fill, Source, filler, open_reader
from sealbox.cmm import CryptoMaterialsManager
from sealbox.decryptor import MessageDecryptor
from sealbox.encryptor import DEFAULT_FRAME_LENGTH, MessageEncryptor
from sealbox.errors import ErrorCode, UsageError
from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH, REGULAR_FRAME_OVERHEAD
from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE, MessageHeader
from sealbox.format.suites import Algorithm, CommitmentPolicy

CHUNK_SIZE = 1 << 20  # plaintext per encryption step, rounded to whole frames
MAX_READ = 1 << 24  # one read() call never asks for more (a file object allocates it up front)
DIRECT_CHUNK = 8 << 20  # plaintext per step of readinto() into a large buffer, at most


class _MessageStream(io.IOBase):
    """Shared plumbing: a queue of ready chunks, sticky errors, iteration."""

    def __init__(self, source: Source) -> None:
        self._reader, self._owned = open_reader(source)
        self._ready: deque[bytes] = deque()
        self._head = 0  # bytes of the first ready chunk already handed out
        self._available = 0  # ready bytes not yet handed out
        self._finished = False
        self._error: BaseException | None = None
        self._wait = True  # readinto() returns only once its buffer is hashed

    # subclasses produce at least one chunk, or set _finished
    def _produce(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        """Free worker threads and files; called on error and on close."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def _run(self, until: int) -> None:
        """Produce until ``until`` bytes are ready (all if negative) or the end.

        If an error strikes while verified output is waiting, that output is
        handed out first and the error is raised by the next call."""
        try:
            while (until < 0 or self._available < until) and not self._finished:
                if self._head:
                    # Keep only the unread rest (shorter than ``until``) of a chunk
                    # partly handed out, so that no more is held while producing.
                    self._ready[0] = self._ready[0][self._head :]
                    self._head = 0
                self._produce_once()
        except Exception:
            if not self._available:
                raise

    # subclasses write one step's output into ``out`` and return its length, or
    # return -1 (having done nothing) when ``out`` has no room for the step
    def _produce_into(self, out: memoryview) -> int:
        raise NotImplementedError

    def _produce_once(self, out: memoryview | None = None) -> int:
        if self._error is not None:
            raise self._error
        try:
            if out is None:
                self._produce()
                return 0
            return self._produce_into(out)
        except BaseException as error:
            self._error = error
            self._release()
            raise

    def _push(self, chunk: bytes) -> None:
        if chunk:
            self._ready.append(chunk)
            self._available += len(chunk)

    @property
    def finished(self) -> bool:
        """Whether the whole output has been produced (when decrypting: and verified)."""
        return self._finished

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes (all remaining if ``size`` is negative or None); b"" at the end."""
        if self.closed:
            raise UsageError("read from a closed stream", code=ErrorCode.STREAM_STATE)
        size = -1 if size is None else size
        self._run(size)
        return self._take(self._available if size < 0 else min(size, self._available))

    def readinto(self, buffer: bytearray | memoryview, /, *, wait: bool = True) -> int:
        """Fill ``buffer`` with the next bytes (fewer only at the end); return how many.

        Output goes straight into ``buffer`` when a whole step fits (a buffer of a
        few MiB); with the same buffer reused this copies and allocates nothing.

        A signed message is hashed for its signature as it is written. With
        ``wait=False`` that hashing may still be reading ``buffer`` (on another
        thread) when this returns, so that it overlaps with filling the next
        buffer: ``buffer`` must then not change until ``wait_hashed(hash_token)``
        has returned (writing it out meanwhile is fine)."""
        if self.closed:
            raise UsageError("read from a closed stream", code=ErrorCode.STREAM_STATE)
        self._wait = wait
        view = memoryview(buffer).cast("B")
        written = 0
        try:
            while written < len(view) and (self._available or not self._finished):
                if self._available:
                    written += self._copy_ready(view[written:])
                    continue
                count = self._produce_once(view[written:])
                if count >= 0:
                    written += count
                elif written:
                    break  # no room for a whole step: hand out what is there
                else:
                    self._produce_once()  # into a chunk of its own, copied out above
        except Exception:
            if not written:
                raise
        return written

    @property
    def hash_token(self) -> int:
        """A token for :meth:`wait_hashed` covering all the output so far."""
        return 0

    def wait_hashed(self, token: int) -> None:
        """Return once the output up to ``token`` is hashed; safe from another thread."""

    def _copy_ready(self, out: memoryview) -> int:
        chunk, head = self._ready[0], self._head
        count = min(len(out), len(chunk) - head)
        out[:count] = memoryview(chunk)[head : head + count]
        self._available -= count
        if head + count == len(chunk):
            self._ready.popleft()
            self._head = 0
        else:
            self._head = head + count
        return count

    def _take(self, size: int) -> bytes:
        """The next ``size`` ready bytes, copied at most once.

        Small reads slice the first chunk at an offset instead of re-slicing its
        rest each time (a copy of up to a whole chunk per read); the chunk is
        dropped once handed out, and :meth:`_run` trims it before producing more."""
        ready, head = self._ready, self._head
        self._available -= size
        if ready and head + size < len(ready[0]):  # within the first chunk: O(size)
            self._head = head + size
            return ready[0][head : head + size]
        parts: list[bytes | memoryview] = []
        while size:
            chunk = ready[0]
            if head + size < len(chunk):
                parts.append(memoryview(chunk)[head : head + size])
                break
            ready.popleft()
            parts.append(memoryview(chunk)[head:] if head else chunk)
            size -= len(chunk) - head
            head = 0
        self._head = head + size
        if len(parts) == 1 and isinstance(parts[0], bytes):
            return parts[0]  # a whole chunk, handed out without a copy
        return b"".join(parts)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        """The next chunk of output as it becomes ready (not a line: this is binary data)."""
        if self.closed:
            raise UsageError("iterate over a closed stream", code=ErrorCode.STREAM_STATE)
        self._run(1)
        if not self._ready:
            raise StopIteration
        return self._take(len(self._ready[0]) - self._head)

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()


class StreamEncryptor(_MessageStream):
    """Reads plaintext from ``source`` and yields one message."""

    def __init__(
        self,
        *,
        source: Source,
        materials_manager: CryptoMaterialsManager,
        commitment_policy: CommitmentPolicy,
        encryption_context: Mapping[str, str],
        algorithm: Algorithm | None = None,
        frame_length: int = DEFAULT_FRAME_LENGTH,
        source_length: int | None = None,
        max_encrypted_data_keys: int | None = None,
    ) -> None:
        super().__init__(source)
        # Materials are asked for on the first read, so that their errors stick like any other.
        self._begin = functools.partial(
            MessageEncryptor,
            materials_manager=materials_manager,
            commitment_policy=commitment_policy,
            encryption_context=encryption_context,
            algorithm=algorithm,
            plaintext_length=source_length,
            frame_length=frame_length,
            max_encrypted_data_keys=max_encrypted_data_keys,
        )
        self._encryptor: MessageEncryptor | None = None
        self._plaintext = Chunker(self._reader)  # carries plaintext shorter than a frame

    @property
    def header(self) -> MessageHeader:
        """The header of the message being written (available before any read)."""
        if self._encryptor is None:
            self._run(1)
        assert self._encryptor is not None
        return self._encryptor.header

    def _produce(self) -> None:
        encryptor = self._encryptor
        if encryptor is None:
            self._encryptor = self._begin()
            self._push(self._encryptor.header_bytes)
            return
        frame = encryptor.frame_length
        size = max(1, CHUNK_SIZE // frame) * frame
        data, ended = self._plaintext.next(size - self._plaintext.carried)
        if ended:
            out = OutputBuffer(encryptor.finish_size_bound(len(data)))
            self._push(out.to_bytes(encryptor.finish(data, out.view)))
            self._end()
            return
        whole = len(data) - len(data) % frame
        if whole:
            out = OutputBuffer(encryptor.frames_size(whole))
            written = encryptor.encrypt_frames(memoryview(data)[:whole], out.view, hash_now=False)
            chunk = out.to_bytes(written)
            encryptor.absorb(chunk)  # immutable now: hashed while the next chunk is encrypted
            self._push(chunk)
        self._plaintext.carry(data[whole:])  # less than a frame

    def _produce_into(self, out: memoryview) -> int:
        encryptor = self._encryptor
        if encryptor is None:
            self._produce()
            return 0
        frame = encryptor.frame_length
        frames = min(len(out) // (frame + REGULAR_FRAME_OVERHEAD), max(1, DIRECT_CHUNK // frame))
        if not frames:
            return -1
        data, ended = self._plaintext.next(frames * frame - self._plaintext.carried)
        if ended:
            if encryptor.finish_size_bound(len(data)) > len(out):
                self._plaintext.carry(data)
                return -1
            written = encryptor.finish(data, out)
            self._end()
            return written
        whole = len(data) - len(data) % frame
        written = encryptor.encrypt_frames(memoryview(data)[:whole], out) if whole else 0
        if self._wait:
            encryptor.wait_hashed()  # the caller may change ``out`` once we return
        self._plaintext.carry(data[whole:])
        return written

    @property
    def hash_token(self) -> int:
        return 0 if self._encryptor is None else self._encryptor.hash_token

    def wait_hashed(self, token: int) -> None:
        if self._encryptor is not None:
            self._encryptor.wait_hashed(token)

    def _end(self) -> None:
        self._finished = True
        self._release()

    def _release(self) -> None:
        if self._encryptor is not None:
            self._encryptor.close()
        super()._release()


class StreamDecryptor(_MessageStream):
    """Reads one message from ``source`` and yields its verified plaintext."""

    def __init__(
        self,
        *,
        source: Source,
        materials_manager: CryptoMaterialsManager,
        commitment_policy: CommitmentPolicy,
        encryption_context: Mapping[str, str] | None = None,
        max_encrypted_data_keys: int | None = None,
        max_body_length: int | None = DEFAULT_MAX_BODY_LENGTH,
        max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE,
        unsigned_only: bool = False,
    ) -> None:
        super().__init__(source)
        self._decryptor = MessageDecryptor(
            materials_manager=materials_manager,
            commitment_policy=commitment_policy,
            max_encrypted_data_keys=max_encrypted_data_keys,
            encryption_context=encryption_context,
            unsigned_only=unsigned_only,
            max_body_length=max_body_length,
            max_header_size=max_header_size,
        )
        self._data: bytes | memoryview = b""  # the input being decrypted
        self._offset = 0  # bytes of it consumed
        self._eof = False
        self._starved = True  # the last step made no progress: read before the next
        # A file is read into two buffers in turn; each is refilled only once the
        # hasher (signed messages) is done with it: ``_marks`` are its tokens.
        self._fill_from: Fill | None = filler(self._reader)
        self._ring = [memoryview(bytearray()), memoryview(bytearray())]
        self._marks = [0, 0]
        self._current = 0

    @property
    def header(self) -> MessageHeader:
        """The header, once authenticated (reads as much of the source as that takes)."""
        while self._decryptor.header is None:
            self._produce_once()
        assert self._decryptor.header is not None
        return self._decryptor.header

    def _fill(self) -> None:
        """Read until the next step can make progress, copying the unconsumed rest once.

        The decryptor says how many bytes that takes (a whole frame, a header at
        most its limit), having refused any declared length over its limits, so
        the buffer never grows past them; reads in between may come back short
        (pipes, sockets) without costing a copy of the backlog each time."""
        rest = memoryview(self._data)[self._offset :]
        # The last step made no progress on ``rest``, so at least one more byte is due.
        needed = max(self._decryptor.needed(rest), len(rest) + 1)
        # Top a partial frame up to whole frames, so that the next buffer starts
        # on a frame boundary and needs no copy.
        target = max(needed, self._decryptor.wanted())
        if self._fill_from is not None:
            self._fill_buffer(rest, needed, target)
            return
        pieces = [bytes(rest)] if rest else []
        held = len(rest)
        del rest
        while held < needed:
            chunk = self._reader.read(min(target - held, MAX_READ))
            if not chunk:
                self._eof = True
                break
            pieces.append(chunk)
            held += len(chunk)
        self._data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._offset = 0

    def _fill_buffer(self, rest: memoryview, needed: int, target: int) -> None:
        assert self._fill_from is not None
        spare = 1 - self._current
        self._decryptor.wait_hashed(self._marks[spare])
        buffer = self._ring[spare]
        if len(buffer) < target:
            # The old one may still be referenced by the hasher; it is dropped, not reused.
            buffer = self._ring[spare] = memoryview(bytearray(target))
        held = len(rest)
        buffer[:held] = rest
        while held < needed:
            count = self._fill_from(buffer[held:target])
            if not count:
                self._eof = True
                break
            held += count
        self._data, self._offset, self._current = buffer[:held], 0, spare

    def _produce(self) -> None:
        self._step(None)

    def _produce_into(self, out: memoryview) -> int:
        return self._step(out)

    def _step(self, out: memoryview | None) -> int:
        """One decryption step into ``out``, or into a chunk of its own (pushed) if None.
        Returns the bytes written to ``out``, or -1 (nothing done) if it has too little room."""
        decryptor = self._decryptor
        if self._starved and not self._eof:
            self._fill()
            self._starved = False
        data = memoryview(self._data)[self._offset :]
        bound = decryptor.output_bound(len(data))
        if out is not None and bound > len(out):
            return -1
        chunk = OutputBuffer(bound) if out is None else None
        target = out if chunk is None else chunk.view
        assert target is not None
        consumed, produced = decryptor.step(data, target, eof=self._eof)
        del data, target
        self._marks[self._current] = decryptor.hash_token
        self._offset += consumed
        if chunk is not None:
            self._push(chunk.to_bytes(produced))
        if decryptor.done and self._eof:
            self._finished = True
            self._release()
        # Finished or not, a step that used nothing (or all there was) needs more
        # input; a finished message still reads once more to refuse trailing bytes.
        self._starved = consumed == 0 or decryptor.done or self._offset == len(self._data)
        return produced if chunk is None else 0

    def _release(self) -> None:
        self._decryptor.close()
        super()._release()
