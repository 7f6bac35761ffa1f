"""Large frames and the zero-copy paths.

Every way in and out of a message (one-shot; a stream read by ``read()``,
iteration or ``readinto()`` into large and small buffers; from memory, from
files read into reused buffers, from sources that return short reads) gives the
same plaintext at and around frame boundaries, with 1 MiB frames and small
ones; large unsigned inputs are encrypted on two threads; the reference SDK
reads our 1 MiB-frame messages and we read its. Tampering is caught, and a
stream releases exactly the frames that verified: nothing of a failed frame,
nor of a signed message's last frame before its signature, is left in the
caller's buffer.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import io
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sealbox
from sealbox import frame_runs
from sealbox._buffers import HUGE_FROM, OutputBuffer
from sealbox.cli.crypt_pump import pump
from sealbox.cmm import DefaultCryptoMaterialsManager
from sealbox.decryptor import MessageDecryptor
from sealbox.errors import ErrorCode, SealboxError
from sealbox.format.body import FINAL_FRAME_OVERHEAD, REGULAR_FRAME_OVERHEAD
from sealbox.frame_runs import PARALLEL_FROM
from tests.interop.reference import clients_for, ours, reference_algorithm, reference_provider

MiB = 1 << 20
LARGE = max(PARALLEL_FROM, 16 * MiB)  # encrypted on two threads where there are two cores
SIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
KEYRING = ours("aes")
CLIENT = sealbox.EncryptionClient()


def data_of(length: int, seed: int = 16) -> bytes:
    return random.Random(seed).randbytes(length)


def readinto_all(stream: Any, size: int) -> bytes:
    buffer = bytearray(size)
    parts = []
    with stream:
        while count := stream.readinto(buffer):
            parts.append(bytes(buffer[:count]))
    return b"".join(parts)


class ShortReads(io.RawIOBase):
    """A file that hands out its bytes in small, uneven pieces (as pipes and sockets do)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0
        self._sizes = [1, 7, 4096, 100_000, 3, 65_536]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._sizes[0], len(self._data) - self._position)
        self._sizes.append(self._sizes.pop(0))
        buffer[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


class ReadOnly(io.RawIOBase):
    """A raw file with read() only: its readinto() is io.RawIOBase's, which raises."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, 50_000) if size >= 0 else size)


def encryptions(data: bytes, path: Path, **options: Any) -> dict[str, bytes]:
    """The same plaintext sealed each way there is (messages differ: each has its own id)."""
    path.write_bytes(data)
    options = {"keyring": KEYRING, **options}

    def stream(source: Any) -> Any:
        return CLIENT.stream(mode="e", source=source, **options)

    with path.open("rb") as handle:
        from_file = readinto_all(stream(handle), 4 * MiB)
    return {
        "one-shot": CLIENT.encrypt(source=data, **options)[0],
        "iterated from a file": b"".join(stream(path)),
        "readinto from a file": from_file,
        "readinto, small buffer": readinto_all(stream(path), 1000),
        "from short reads": b"".join(stream(ShortReads(data))),
        "readinto from short reads": readinto_all(stream(ShortReads(data)), 3 * MiB),
        "readinto from a read()-only file": readinto_all(stream(ReadOnly(data)), 3 * MiB),
    }


def decryptions(message: bytes, path: Path) -> dict[str, bytes]:
    path.write_bytes(message)

    def stream(source: Any) -> Any:
        return CLIENT.stream(mode="d", source=source, keyring=KEYRING)

    return {
        "one-shot": CLIENT.decrypt(source=message, keyring=KEYRING)[0],
        "iterated from a file": b"".join(stream(path)),
        "readinto from a file": readinto_all(stream(path), 4 * MiB),
        "readinto, small buffer": readinto_all(stream(path), 7777),
        "read(5000) from memory": b"".join(
            iter(functools.partial(stream(message).read, 5000), b"")
        ),
        "readinto from short reads": readinto_all(stream(ShortReads(message)), 2 * MiB),
        "readinto from a read()-only file": readinto_all(stream(ReadOnly(message)), 2 * MiB),
    }


@pytest.mark.parametrize("algorithm", [SIGNED, UNSIGNED], ids=["signed", "unsigned"])
@pytest.mark.parametrize(
    "length", [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB, 3 * MiB + 5, 2 * MiB + MiB // 2]
)
def test_one_mib_frames_round_trip_every_way(
    algorithm: sealbox.Algorithm, length: int, tmp_path: Path
) -> None:
    data = data_of(length)
    sealed = encryptions(data, tmp_path / "plain", algorithm=algorithm, frame_length=MiB)
    for how, message in sealed.items():
        for way, plaintext in decryptions(message, tmp_path / "sealed").items():
            assert plaintext == data, (how, way)


@pytest.mark.parametrize("frame_length", [1, 100, 4096])
def test_small_frames_round_trip_every_way(frame_length: int, tmp_path: Path) -> None:
    for length in (
        frame_length - 1,
        frame_length,
        3 * frame_length + 1,
        min(5000 * frame_length, 300_000) + 7,
    ):
        data = data_of(length, seed=length)
        options = {"algorithm": SIGNED, "frame_length": frame_length}
        for how, message in encryptions(data, tmp_path / "plain", **options).items():
            for way, plaintext in decryptions(message, tmp_path / "sealed").items():
                assert plaintext == data, (frame_length, length, how, way)


def test_many_large_frames_cross_the_reference_both_ways() -> None:
    """From PARALLEL_FROM an unsigned message is encrypted on two threads."""
    data = data_of(LARGE + 3 * MiB + 123)
    clients = clients_for(UNSIGNED)
    ours_message, _ = CLIENT.encrypt(
        source=data, keyring=KEYRING, algorithm=UNSIGNED, frame_length=MiB
    )
    decrypted, header = clients.reference.decrypt(
        source=ours_message, key_provider=reference_provider("aes")
    )
    assert decrypted == data and header.frame_length == MiB
    theirs, _ = clients.reference.encrypt(
        source=data,
        key_provider=reference_provider("aes"),
        algorithm=reference_algorithm(UNSIGNED),
        frame_length=MiB,
    )
    assert CLIENT.decrypt(source=theirs, keyring=KEYRING)[0] == data
    stream = CLIENT.stream(mode="d", source=theirs, keyring=KEYRING)
    assert readinto_all(stream, 4 * MiB) == data


def test_the_reference_reads_streamed_large_frames_signed(tmp_path: Path) -> None:
    data = data_of(2 * MiB + 77)
    clients = clients_for(SIGNED)
    for message in encryptions(
        data, tmp_path / "plain", algorithm=SIGNED, frame_length=MiB
    ).values():
        decrypted, _ = clients.reference.decrypt(
            source=message, key_provider=reference_provider("aes")
        )
        assert decrypted == data


def tampered(message: bytes, at: int) -> bytes:
    changed = bytearray(message)
    changed[at] ^= 1
    return bytes(changed)


def released_until_error(stream: Any, size: int) -> tuple[bytes, SealboxError, bytearray]:
    """What a stream hands out by readinto() before it fails, the error, and the buffer."""
    buffer = bytearray(size)
    parts = []
    with stream:
        try:
            while count := stream.readinto(buffer):
                parts.append(bytes(buffer[:count]))
        except SealboxError as error:
            return b"".join(parts), error, buffer
    raise AssertionError("the tampered message decrypted")


def with_a_tampered_frame(data: bytes, frame_index: int) -> bytes:
    """``data`` encrypted unsigned in 1 MiB frames, one bit of frame ``frame_index`` flipped."""
    message, _ = CLIENT.encrypt(source=data, keyring=KEYRING, algorithm=UNSIGNED, frame_length=MiB)
    frames = len(data) // MiB * (MiB + REGULAR_FRAME_OVERHEAD)
    header_length = len(message) - frames - (FINAL_FRAME_OVERHEAD + len(data) % MiB)
    frame_start = header_length + frame_index * (MiB + REGULAR_FRAME_OVERHEAD)
    return tampered(message, frame_start + 16 + 1000)  # inside the frame's ciphertext


@pytest.mark.parametrize("frame_index", [2, 15], ids=["first half", "second half"])
def test_a_tampered_frame_fails_and_only_verified_frames_are_released(
    frame_index: int, tmp_path: Path
) -> None:
    data = data_of(LARGE + MiB // 2)
    bad = with_a_tampered_frame(data, frame_index)
    with pytest.raises(SealboxError) as caught:
        CLIENT.decrypt(source=bad, keyring=KEYRING)
    assert caught.value.code is ErrorCode.FRAME_AUTH_FAILED
    path = tmp_path / "bad"
    path.write_bytes(bad)
    for size in (4 * MiB, 5000):
        released, error, buffer = released_until_error(
            CLIENT.stream(mode="d", source=path, keyring=KEYRING), size
        )
        assert error.code is ErrorCode.FRAME_AUTH_FAILED
        assert released == data[: frame_index * MiB]
        failed = data[frame_index * MiB : frame_index * MiB + 4096]
        assert failed not in buffer  # no plaintext of the failed frame was left behind


@pytest.mark.parametrize("frame_index", [2, 15], ids=["first half", "second half"])
def test_decrypting_on_two_threads_leaves_nothing_after_a_failed_frame(
    frame_index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large unsigned body is decrypted in two halves at once: a failed frame in either
    leaves in the output only the frames before it (the other half's are wiped too)."""
    data = data_of(LARGE + MiB // 2)
    bad = with_a_tampered_frame(data, frame_index)
    halves: list[int] = []

    def counted(*args: Any) -> int:
        halves.append(args[3])  # the frames it was given
        return real(*args)

    real = frame_runs.decrypt_in_two
    monkeypatch.setattr("sealbox.decryptor.decrypt_in_two", counted)  # the real one, counted
    decryptor = MessageDecryptor(
        materials_manager=DefaultCryptoMaterialsManager(keyring=KEYRING),
        commitment_policy=CLIENT.commitment_policy,
    )
    out = bytearray(decryptor.output_bound(len(bad)))
    _, produced = decryptor.step(memoryview(bad), memoryview(out), eof=True)
    with pytest.raises(SealboxError) as caught:
        decryptor.finish()
    assert caught.value.code is ErrorCode.FRAME_AUTH_FAILED
    assert produced == frame_index * MiB and out[:produced] == data[:produced]
    assert out.count(0, produced) == len(out) - produced  # nothing after it
    assert halves == ([len(data) // MiB] if PARALLEL_FROM else [])


def test_a_signed_message_holds_its_last_frame_until_the_signature_verifies(
    tmp_path: Path,
) -> None:
    data = data_of(2 * MiB + MiB // 2)
    message, _ = CLIENT.encrypt(source=data, keyring=KEYRING, algorithm=SIGNED, frame_length=MiB)
    bad = tampered(message, len(message) - 10)  # inside the signature
    path = tmp_path / "bad"
    path.write_bytes(bad)
    released, error, buffer = released_until_error(
        CLIENT.stream(mode="d", source=path, keyring=KEYRING), 4 * MiB
    )
    assert error.code is ErrorCode.SIGNATURE_INVALID
    assert released == data[: 2 * MiB]
    assert data[2 * MiB : 2 * MiB + 4096] not in buffer


def test_large_output_buffers_become_bytes() -> None:
    buffer = OutputBuffer(HUGE_FROM + 12345)
    buffer.view[-5:] = b"tail!"
    buffer.view[:4] = b"head"
    result = buffer.to_bytes(HUGE_FROM + 12345)
    assert isinstance(result, bytes) and result[:4] == b"head" and result[-5:] == b"tail!"
    kept = OutputBuffer(HUGE_FROM)
    piece = kept.view[10:20]  # a view still alive: the result is a copy, still right
    piece[:] = b"0123456789"
    assert kept.to_bytes(30)[10:20] == b"0123456789"


def test_pump_copies_a_stream_and_stops_on_either_side_failing() -> None:
    data = data_of(5 * MiB + 3)
    message, _ = CLIENT.encrypt(source=data, keyring=KEYRING, algorithm=SIGNED)
    sink = io.BytesIO()
    stream = CLIENT.stream(mode="d", source=message, keyring=KEYRING)
    assert pump(stream, sink.write, size=MiB) == len(data)
    assert sink.getvalue() == data
    threads = threading.active_count()

    def full_disk(_: memoryview) -> None:
        raise OSError(28, "No space left on device")

    with (
        pytest.raises(OSError, match="No space"),
        CLIENT.stream(mode="d", source=message, keyring=KEYRING) as stream,
    ):
        pump(stream, full_disk, size=MiB)
    written: list[int] = []
    write: Callable[[memoryview], object] = lambda chunk: written.append(len(chunk))  # noqa: E731
    with pytest.raises(SealboxError) as caught:
        pump(CLIENT.stream(mode="d", source=tampered(message, 3000), keyring=KEYRING), write)
    assert caught.value.code is ErrorCode.FRAME_AUTH_FAILED
    assert threading.active_count() == threads  # no writer thread left behind


@pytest.mark.parametrize("refuse_first_write", [False, True])
def test_cli_outputs_written_around_the_page_cache_are_whole(
    refuse_first_write: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole staging buffers go out with O_DIRECT, the tail through the cache; a file
    system that refuses direct writes midway gets ordinary ones, losing nothing."""
    from sealbox.cli import output

    data = data_of(2 * output._DirectWrites.STAGE + 12345)
    if refuse_first_write:
        real_write = os.write

        def refusing(fd: int, chunk: Any) -> int:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0):
                raise OSError(errno.EINVAL, "Invalid argument")
            return real_write(fd, chunk)

        monkeypatch.setattr(os, "write", refusing)
    target = tmp_path / "out"
    with output.atomic_output(str(target)) as sink:
        for start in range(0, len(data), 1_000_003):  # uneven pieces across the buffer
            sink.write(memoryview(data)[start : start + 1_000_003])
    assert target.read_bytes() == data
