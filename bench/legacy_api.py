"""One program written against the AWS Encryption SDK's legacy API, timed with the
reference ``aws_encryption_sdk`` and with ``sealbox.aws_encryption_sdk`` in the same run:
issue 13's speed-up on unchanged code (goal: 4x or more).

    python -m bench.legacy_api                  # 3 rounds, 64 MiB streamed
    python -m bench.legacy_api --rounds 5 --stream-mib 16

The program is what a user of the legacy API writes: a ``RawMasterKeyProvider`` subclass
holding one AES-256 key (as the SDK's examples write one), an ``EncryptionSDKClient`` with
its defaults (suite 0x0578, 4 KiB frames), ``client.encrypt``/``client.decrypt`` of many
messages of a few sizes, then a buffer streamed through ``client.stream`` (encrypt, then
decrypt, iterating the chunks into a sink). Only the module it is handed differs. Rounds
alternate between the two modules so that machine noise hits both alike; each part keeps
its best round. Results are checked after the clock stops.
"""

from __future__ import annotations

import argparse
import importlib
import io
import sys
import time
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

KiB = 1 << 10
MiB = 1 << 20
KEY = bytes(range(32))
# (message size, how many) for the one-shot part
MESSAGES = ((1 * KiB, 200), (64 * KiB, 40), (1 * MiB, 8))
MODULES = ("aws_encryption_sdk", "sealbox.aws_encryption_sdk")


def key_provider(aws_encryption_sdk: ModuleType) -> Any:
    """The provider, written as the SDK's examples write one; only the module varies."""
    identifiers = importlib.import_module(f"{aws_encryption_sdk.__name__}.identifiers")
    wrapping_keys = importlib.import_module(
        f"{aws_encryption_sdk.__name__}.internal.crypto.wrapping_keys"
    )
    raw = importlib.import_module(f"{aws_encryption_sdk.__name__}.key_providers.raw")

    class StaticMasterKeyProvider(raw.RawMasterKeyProvider):  # type: ignore[misc,name-defined]
        provider_id = "bench"

        def __init__(self, **kwargs: Any) -> None:
            pass

        def _get_raw_key(self, key_id: bytes) -> Any:
            return wrapping_keys.WrappingKey(
                wrapping_algorithm=identifiers.WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
                wrapping_key=KEY,
                wrapping_key_type=identifiers.EncryptionKeyType.SYMMETRIC,
            )

    provider = StaticMasterKeyProvider()
    provider.add_master_key(b"aes-256")
    return provider


def one_shot(aws_encryption_sdk: ModuleType, inputs: list[bytes]) -> list[bytes]:
    client = aws_encryption_sdk.EncryptionSDKClient()
    provider = key_provider(aws_encryption_sdk)
    context = {"purpose": "bench", "tenant": "42"}
    opened = []
    for plaintext in inputs:
        ciphertext, _ = client.encrypt(
            source=plaintext, key_provider=provider, encryption_context=context
        )
        decrypted, header = client.decrypt(source=ciphertext, key_provider=provider)
        assert header.encryption_context["tenant"] == "42"
        opened.append(decrypted)
    return opened


def streamed(aws_encryption_sdk: ModuleType, data: bytes) -> bytes:
    client = aws_encryption_sdk.EncryptionSDKClient()
    provider = key_provider(aws_encryption_sdk)
    sealed, opened = io.BytesIO(), io.BytesIO()
    with client.stream(mode="e", source=io.BytesIO(data), key_provider=provider) as encryptor:
        for chunk in encryptor:
            sealed.write(chunk)
    sealed.seek(0)
    with client.stream(mode="d", source=sealed, key_provider=provider) as decryptor:
        for chunk in decryptor:
            opened.write(chunk)
    return opened.getvalue()


@dataclass
class Timing:
    module: ModuleType
    best: dict[str, float] = field(default_factory=dict)

    def keep(self, part: str, seconds: float) -> None:
        self.best[part] = min(seconds, self.best.get(part, float("inf")))

    @property
    def total(self) -> float:
        return sum(self.best.values())


def load(name: str) -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's dependencies warn on import
        return importlib.import_module(name)


def run(rounds: int, stream_size: int) -> list[Timing]:
    timings = [Timing(load(name)) for name in MODULES]
    inputs = [bytes([n % 251]) * size for size, count in MESSAGES for n in range(count)]
    data = bytes(range(256)) * (stream_size // 256)
    for _ in range(rounds):
        for timing in timings:
            start = time.perf_counter()
            opened = one_shot(timing.module, inputs)
            timing.keep("one-shot", time.perf_counter() - start)
            assert opened == inputs
            start = time.perf_counter()
            result = streamed(timing.module, data)
            timing.keep("stream", time.perf_counter() - start)
            assert result == data
    return timings


def report(timings: list[Timing], rounds: int, stream_size: int) -> None:
    shape = ", ".join(
        f"{count} x {size // MiB} MiB" if size >= MiB else f"{count} x {size // KiB} KiB"
        for size, count in MESSAGES
    )
    print(
        f"legacy-API program: encrypt+decrypt {shape}; stream {stream_size // MiB} MiB "
        f"(best of {rounds})"
    )
    reference, ours = timings
    for part in ("one-shot", "stream"):
        print(f"  {part}:")
        for timing in timings:
            print(f"    {timing.module.__name__:30s} {timing.best[part]:8.2f} s")
        print(f"    {'speed-up':30s} {reference.best[part] / ours.best[part]:8.2f}x")
    print("  whole program:")
    for timing in timings:
        print(f"    {timing.module.__name__:30s} {timing.total:8.2f} s")
    print(f"    {'speed-up':30s} {reference.total / ours.total:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stream-mib", type=int, default=64, help="streamed size (default 64)")
    args = parser.parse_args()
    try:
        timings = run(args.rounds, args.stream_mib * MiB)
    except ModuleNotFoundError as error:
        sys.exit(f"bench.legacy_api: {error}")
    report(timings, args.rounds, args.stream_mib * MiB)


if __name__ == "__main__":
    main()
