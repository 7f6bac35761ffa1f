"""Library throughput: Sealbox vs the reference aws-encryption-sdk vs the raw primitives.

Runs every case on the same input in one process, interleaved round by round so
that machine noise hits all of them alike, keeps each case's best round, and
prints MB/s with the ratios the targets are stated in:

    python -m bench.library                # 64 and 256 MiB, 3 rounds
    python -m bench.library --sizes 64 --rounds 5
    python -m bench.library --smoke        # 4 MiB, one round: runs and reports (CI)

Streaming runs from and to files (iterating over chunks, and with ``readinto``
into one reused buffer: the zero-copy path the CLI takes), and from bytes in
memory with each chunk dropped (the pipeline's rate without I/O or a
whole-message result). ``--cases`` keeps only the cases whose names contain one
of its words (the baselines always run).

Baselines: SHA-384 over the message on one core (signed suites must hash every
byte), AES-GCM at the frame size with its output discarded (the primitive's
rate), and AES-GCM at the frame size writing into a fresh buffer as large as
the message (what any one-shot API that returns the whole message must do).
"""

from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import sealbox
from sealbox.api import StreamMode
from sealbox.keyrings import RawAESKeyring

MiB = 1 << 20
SIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
KEY = bytes(range(32))
KEYRING = RawAESKeyring(key_namespace="bench", key_name="aes", wrapping_key=KEY)
CLIENT = sealbox.EncryptionClient()


@functools.cache
def reference() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import aws_encryption_sdk as ref
        from aws_encryption_sdk.identifiers import Algorithm, EncryptionKeyType, WrappingAlgorithm
        from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
        from aws_encryption_sdk.key_providers.raw import RawMasterKey
    key = RawMasterKey(
        provider_id="bench",
        key_id=b"aes",
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=KEY,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )
    client = ref.EncryptionSDKClient(
        commitment_policy=ref.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    return client, key, Algorithm


#: every case of a suite and frame length, after its label ("0x0478/1MiB ")
SUFFIXES = (
    "raw AES-GCM, output discarded",
    "raw AES-GCM into a fresh buffer",
    "sealbox encrypt",
    "sealbox decrypt",
    "sealbox stream encrypt (memory)",
    "sealbox stream decrypt (memory)",
    "sealbox stream encrypt (file)",
    "sealbox stream decrypt (file)",
    "sealbox readinto encrypt (file)",
    "sealbox readinto decrypt (file)",
    "reference encrypt",
    "reference decrypt",
    "reference stream encrypt (file)",
    "reference stream decrypt (file)",
)


@dataclass
class Case:
    name: str
    run: Callable[[], object]
    best: float = 0.0  # MB/s

    def measure(self, size: int) -> None:
        start = time.perf_counter()
        self.run()
        self.best = max(self.best, size / (time.perf_counter() - start) / 1e6)


def raw_aes(data: memoryview, chunk: int, *, fresh_output: bool) -> Callable[[], object]:
    aead = AESGCM(KEY)
    nonce, aad = bytes(12), bytes(60)

    def run() -> object:
        if fresh_output:
            out = memoryview(bytearray(len(data) + (len(data) // chunk + 1) * 32))
            position = 0
            for start in range(0, len(data), chunk):
                piece = data[start : start + chunk]
                aead.encrypt_into(nonce, piece, aad, out[position : position + len(piece) + 16])
                position += len(piece) + 32
            return out
        for start in range(0, len(data), chunk):
            aead.encrypt(nonce, data[start : start + chunk], aad)
        return None

    return run


def ours_encrypt(data: bytes, algorithm: sealbox.Algorithm, frame: int) -> Callable[[], object]:
    return lambda: CLIENT.encrypt(
        source=data, keyring=KEYRING, algorithm=algorithm, frame_length=frame
    )


def ours_decrypt(message: bytes) -> Callable[[], object]:
    return lambda: CLIENT.decrypt(source=message, keyring=KEYRING)


def ref_encrypt(data: bytes, algorithm: sealbox.Algorithm, frame: int) -> Callable[[], object]:
    client, key, names = reference()
    return lambda: client.encrypt(
        source=data, key_provider=key, algorithm=names[algorithm.name], frame_length=frame
    )


def ref_decrypt(message: bytes) -> Callable[[], object]:
    client, key, _ = reference()
    return lambda: client.decrypt(source=message, key_provider=key)


def stream_memory(make: Callable[[Any], Any], source: bytes) -> Callable[[], object]:
    """Stream from bytes in memory, dropping each chunk: the pipeline rate without I/O or a
    whole-message result buffer."""

    def run() -> object:
        for _ in make(source):
            pass
        return None

    return run


def stream_file(make: Callable[[Any], Any], source: Path, target: Path) -> Callable[[], object]:
    def run() -> object:
        with source.open("rb") as handle, target.open("wb") as sink:
            for chunk in make(handle):
                sink.write(chunk)
        return None

    return run


def stream_readinto(make: Callable[[Any], Any], source: Path, target: Path) -> Callable[[], object]:
    """File to file through one reused buffer, the stream writing into it in place."""
    buffer = memoryview(bytearray(4 * MiB))

    def run() -> object:
        with source.open("rb") as handle, target.open("wb") as sink:
            stream = make(handle)
            while count := stream.readinto(buffer):
                sink.write(buffer[:count])
        return None

    return run


def cases_for(
    size: int, workdir: Path, keep: Callable[[str], bool]
) -> tuple[list[Case], dict[str, str]]:
    data = os.urandom(size)
    view = memoryview(data)
    ref_client, ref_key, ref_algorithm = reference()
    plain = workdir / "plain"
    plain.write_bytes(data)
    cases: list[Case] = [Case("sha384 (1 core)", lambda: hashlib.sha384(data).digest())]
    ratios: dict[str, str] = {}
    for algorithm, frame in ((SIGNED, 4096), (UNSIGNED, MiB), (UNSIGNED, 4096), (SIGNED, MiB)):
        label = f"0x{algorithm.suite_id:04X}/{'4KiB' if frame == 4096 else '1MiB'}"
        if not any(keep(f"{label} {suffix}") for suffix in SUFFIXES):
            continue  # nothing of this suite and frame length is asked for
        ours_message, _ = CLIENT.encrypt(
            source=data, keyring=KEYRING, algorithm=algorithm, frame_length=frame
        )
        ref_message, _ = ref_client.encrypt(
            source=data,
            key_provider=ref_key,
            algorithm=ref_algorithm[algorithm.name],
            frame_length=frame,
        )
        sealed = workdir / f"sealed-{algorithm.suite_id:x}-{frame}"
        sealed.write_bytes(ours_message)

        def ours_stream(
            mode: StreamMode, algorithm: sealbox.Algorithm = algorithm, frame: int = frame
        ) -> Any:
            if mode == "d":
                return lambda handle: CLIENT.stream(mode=mode, source=handle, keyring=KEYRING)
            return lambda handle: CLIENT.stream(
                mode=mode, source=handle, keyring=KEYRING, algorithm=algorithm, frame_length=frame
            )

        def ref_stream(
            mode: str, algorithm: sealbox.Algorithm = algorithm, frame: int = frame
        ) -> Any:
            if mode == "d":
                return lambda handle: ref_client.stream(
                    mode=mode, source=handle, key_provider=ref_key
                )
            return lambda handle: ref_client.stream(
                mode=mode,
                source=handle,
                key_provider=ref_key,
                algorithm=ref_algorithm[algorithm.name],
                frame_length=frame,
            )

        out = workdir / "out"
        cases += [
            case
            for case in [
                Case(
                    f"{label} raw AES-GCM, output discarded",
                    raw_aes(view, frame, fresh_output=False),
                ),
                Case(
                    f"{label} raw AES-GCM into a fresh buffer",
                    raw_aes(view, frame, fresh_output=True),
                ),
                Case(f"{label} sealbox encrypt", ours_encrypt(data, algorithm, frame)),
                Case(
                    f"{label} sealbox stream encrypt (memory)",
                    stream_memory(ours_stream("e"), data),
                ),
                Case(
                    f"{label} sealbox stream decrypt (memory)",
                    stream_memory(ours_stream("d"), ours_message),
                ),
                Case(f"{label} sealbox decrypt", ours_decrypt(ours_message)),
                Case(f"{label} reference encrypt", ref_encrypt(data, algorithm, frame)),
                Case(f"{label} reference decrypt", ref_decrypt(ref_message)),
                Case(
                    f"{label} sealbox stream encrypt (file)",
                    stream_file(ours_stream("e"), plain, out),
                ),
                Case(
                    f"{label} sealbox stream decrypt (file)",
                    stream_file(ours_stream("d"), sealed, out),
                ),
                Case(
                    f"{label} sealbox readinto encrypt (file)",
                    stream_readinto(ours_stream("e"), plain, out),
                ),
                Case(
                    f"{label} sealbox readinto decrypt (file)",
                    stream_readinto(ours_stream("d"), sealed, out),
                ),
                Case(
                    f"{label} reference stream encrypt (file)",
                    stream_file(ref_stream("e"), plain, out),
                ),
                Case(
                    f"{label} reference stream decrypt (file)",
                    stream_file(ref_stream("d"), sealed, out),
                ),
            ]
            if "raw AES-GCM" in case.name or keep(case.name)
        ]
    assert all(case.name.partition("/")[2][5:] in SUFFIXES for case in cases[1:]), "SUFFIXES"
    return cases, ratios


def report(size: int, cases: list[Case]) -> None:
    rate: dict[str, float] = collections.defaultdict(lambda: math.nan)
    rate.update((case.name, case.best) for case in cases)
    sha = rate["sha384 (1 core)"]
    print(f"\n== {size // MiB} MiB ==")
    for case in cases:
        print(f"  {case.name:48s} {case.best:8.0f} MB/s")
    print("  ratios:")
    for label in ("0x0578/4KiB", "0x0478/1MiB", "0x0478/4KiB", "0x0578/1MiB"):
        if not any(case.name.startswith(f"{label} sealbox") for case in cases):
            continue
        aes = rate[f"{label} raw AES-GCM, output discarded"]
        aes_fresh = rate[f"{label} raw AES-GCM into a fresh buffer"]
        for op in ("encrypt", "decrypt"):
            ours = rate[f"{label} sealbox {op}"]
            streamed = rate[f"{label} sealbox stream {op} (file)"]
            filled = rate[f"{label} sealbox readinto {op} (file)"]
            in_memory = rate[f"{label} sealbox stream {op} (memory)"]
            print(
                f"    {label} {op:7s}: {ours / rate[f'{label} reference {op}']:5.2f}x reference, "
                f"{ours / sha:5.2f}x SHA-384, {ours / aes:5.2f}x AES-GCM, "
                f"{ours / aes_fresh:5.2f}x AES-GCM+fresh buffer; stream "
                f"{streamed / rate[f'{label} reference stream {op} (file)']:5.2f}x reference stream, "
                f"{streamed / aes:5.2f}x AES-GCM, readinto {filled / aes:5.2f}x AES-GCM "
                f"{filled / sha:5.2f}x SHA-384; stream in memory {in_memory / aes:5.2f}x AES-GCM, "
                f"{in_memory / sha:5.2f}x SHA-384"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="64,256", help="plaintext sizes in MiB (default 64,256)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="WORD",
        help='only cases whose names contain one of these (e.g. "0x0478/1MiB" "sealbox decrypt")',
    )
    parser.add_argument("--smoke", action="store_true", help="4 MiB, one round")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.rounds = "4", 1

    def keep(name: str) -> bool:
        return args.cases is None or any(word in name for word in args.cases)

    for size in (int(s) * MiB for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as directory:
            cases, _ = cases_for(size, Path(directory), keep)
            for _ in range(args.rounds):
                for case in cases:
                    case.measure(size)
            report(size, cases)


if __name__ == "__main__":
    main()
