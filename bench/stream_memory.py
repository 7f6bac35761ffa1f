"""Peak memory while streaming a large message, or a hostile one, through decryption.

    python -m bench.stream_memory --gib 1
    python -m bench.stream_memory --hostile all --fed-mib 512

Plaintext is generated on the fly (no file, no copy in memory), piped through an
encrypting stream straight into a decrypting stream, and checked against the
generator; prints the growth of the peak RSS over the process's baseline.

``--hostile`` feeds a decrypting stream a crafted message (see :data:`HOSTILE`)
of ``--fed-mib`` MiB at most, generated on the fly, and prints how many bytes the
stream pulled from its source, the peak RSS growth and the error it raised.
``all`` runs each case in a fresh process so that peaks do not mix.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import sealbox
from sealbox.cmm import DefaultCryptoMaterialsManager, EncryptionMaterialsRequest
from sealbox.crypto.aead import GCM
from sealbox.crypto.kdf import derive_message_keys
from sealbox.format.header import MessageHeader, serialize_header_auth, serialize_header_body
from sealbox.format.suites import IV_LENGTH
from sealbox.keyrings import RawAESKeyring

MiB = 1 << 20
SUITE = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY  # 0x0478: committing, unsigned
KEYRING = RawAESKeyring(key_namespace="hostile", key_name="k", wrapping_key=bytes(32))
MAX_FIELD = 0xFFFF


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


# -- hostile messages -------------------------------------------------------------------------


class Flood:
    """A reader of ``prefix`` then ``pattern`` repeated, ``fed`` bytes in all, generated
    on the fly; ``pulled`` counts what the consumer has read so far."""

    def __init__(self, prefix: bytes, pattern: bytes, fed: int) -> None:
        self.prefix = prefix
        self.block = pattern * max(1, MiB // len(pattern))
        self.period = len(pattern)
        self.fed = fed
        self.pulled = 0

    def read(self, size: int = -1, /) -> bytes:
        size = self.fed - self.pulled if size < 0 else min(size, self.fed - self.pulled)
        if self.pulled < len(self.prefix):
            piece = self.prefix[self.pulled : self.pulled + size]
        else:
            start = (self.pulled - len(self.prefix)) % self.period
            piece = self.block[start : start + min(size, len(self.block) - start)]
        self.pulled += len(piece)
        return piece


def forged_header_start(edk_count: int = MAX_FIELD, context_length: int = 0) -> bytes:
    """A v2 header up to its EDK list: no key is needed to write one."""
    return struct.pack(">BH", 2, SUITE.suite_id) + bytes(32) + struct.pack(">H", context_length)


def authenticated_header(
    *, frame_length: int, content_type: sealbox.ContentType, keyring: Any = KEYRING
) -> bytes:
    """A header whose tag verifies under ``keyring``: what anyone allowed to encrypt
    under that key can write, whatever frame length or content type it declares."""
    materials = DefaultCryptoMaterialsManager(keyring=keyring).get_encryption_materials(
        EncryptionMaterialsRequest(
            encryption_context={"purpose": "hostile"},
            commitment_policy=sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
            algorithm=SUITE,
        )
    )
    assert materials.plaintext_data_key is not None
    message_id = bytes(range(32))
    key, commitment = derive_message_keys(SUITE, materials.plaintext_data_key, message_id)
    header = MessageHeader(
        algorithm=SUITE,
        message_id=message_id,
        encryption_context=materials.encryption_context,
        encrypted_data_keys=materials.encrypted_data_keys,
        frame_length=frame_length,
        content_type=content_type,
        commitment=commitment,
    )
    body = serialize_header_body(header)
    tag = GCM(key).encrypt(bytes(IV_LENGTH), b"", body)
    return body + serialize_header_auth(2, bytes(IV_LENGTH), tag)


def _edk_flood(fed: int) -> Flood:
    # 65,535 EDKs whose three fields each declare 65,535 bytes of valid UTF-8: a
    # 12.9 GB header, and no key is needed to write it.
    field = b"\xff\xff" + b"A" * MAX_FIELD
    return Flood(forged_header_start() + struct.pack(">H", MAX_FIELD), field, fed)


def _small_edk_flood(fed: int) -> Flood:
    # 65,535 small junk EDKs (provider id, 16 bytes of info, 200 of ciphertext).
    edk = b"\x00\x03raw\x00\x10" + b"i" * 16 + b"\x00\xc8" + b"c" * 200
    return Flood(forged_header_start() + struct.pack(">H", MAX_FIELD), edk, fed)


def _huge_frame(fed: int) -> Flood:
    header = authenticated_header(frame_length=0xFFFFFFFF, content_type=sealbox.ContentType.FRAMED)
    return Flood(header + struct.pack(">I", 1) + bytes(IV_LENGTH), b"\x00" * 4096, fed)


def _huge_non_framed(fed: int) -> Flood:
    header = authenticated_header(frame_length=0, content_type=sealbox.ContentType.NON_FRAMED)
    body_start = bytes(IV_LENGTH) + struct.pack(">Q", 2**36 - 32)  # the format's maximum
    return Flood(header + body_start, b"\x00" * 4096, fed)


HOSTILE: dict[str, Callable[[int], Flood]] = {
    "edks": _edk_flood,
    "small-edks": _small_edk_flood,
    "frame": _huge_frame,
    "non-framed": _huge_non_framed,
}


def run_hostile(case: str, fed: int) -> dict[str, Any]:
    source = HOSTILE[case](fed)
    client = sealbox.EncryptionClient()
    baseline = peak_rss_mib()
    outcome = "no error"
    try:
        with client.stream(mode="d", source=source, keyring=KEYRING) as stream:
            for _ in stream:
                pass
    except sealbox.SealboxError as error:
        outcome = error.code.value
    return {
        "case": case,
        "fed_mib": round(fed / MiB, 1),
        "pulled_mib": round(source.pulled / MiB, 2),
        "peak_rss_growth_mib": round(peak_rss_mib() - baseline, 1),
        "error": outcome,
    }


def _hostile_main(case: str, fed_mib: float) -> None:
    if case != "all":
        json.dump(run_hostile(case, int(fed_mib * MiB)), sys.stdout)
        print()
        return
    for name in HOSTILE:  # a fresh process per case: ru_maxrss only ever grows
        command = [sys.executable, "-m", "bench.stream_memory", "--hostile", name]
        subprocess.run([*command, "--fed-mib", str(fed_mib)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--frame-length", type=int, default=4096)
    parser.add_argument("--hostile", choices=[*HOSTILE, "all"])
    parser.add_argument("--fed-mib", type=float, default=512.0)
    args = parser.parse_args()
    if args.hostile:
        _hostile_main(args.hostile, args.fed_mib)
        return
    json.dump(run(int(args.gib * 1024 * MiB), args.frame_length), sys.stdout)
    print()


if __name__ == "__main__":
    main()
