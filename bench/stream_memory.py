"""Peak memory while streaming a large message through encryption and decryption.

    python -m bench.stream_memory --gib 1

Plaintext is generated on the fly (no file, no copy in memory), piped through an
encrypting stream straight into a decrypting stream, and checked against the
generator; prints the growth of the peak RSS over the process's baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time

import sealbox
from sealbox.keyrings import RawAESKeyring

MiB = 1 << 20


class Pattern:
    """A reader of ``size`` deterministic bytes that hashes what it hands out."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = hashlib.sha256(b"sealbox").digest() * (MiB // 32)
        self.digest = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        size = min(self.remaining if size < 0 else size, self.remaining, len(self.block))
        self.remaining -= size
        piece = self.block[:size]
        self.digest.update(piece)
        return piece


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run(size: int, frame_length: int) -> dict[str, float]:
    keyring = RawAESKeyring(key_namespace="memory", key_name="k", wrapping_key=bytes(32))
    client = sealbox.EncryptionClient()
    source = Pattern(size)
    baseline = peak_rss_mib()
    start = time.perf_counter()
    encrypting = client.stream(mode="e", source=source, keyring=keyring, frame_length=frame_length)
    decrypting = client.stream(mode="d", source=encrypting, keyring=keyring)
    out = hashlib.sha256()
    total = 0
    for chunk in decrypting:
        out.update(chunk)
        total += len(chunk)
    elapsed = time.perf_counter() - start
    if total != size or out.digest() != source.digest.digest():
        raise SystemExit("round trip mismatch")
    return {
        "bytes": size,
        "seconds": round(elapsed, 2),
        "baseline_peak_rss_mib": round(baseline, 1),
        "peak_rss_growth_mib": round(peak_rss_mib() - baseline, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--frame-length", type=int, default=4096)
    args = parser.parse_args()
    json.dump(run(int(args.gib * 1024 * MiB), args.frame_length), sys.stdout)
    print()


if __name__ == "__main__":
    main()
