"""The S3 encryption client's cost, measured beside its peers in one run.

    python -m bench.s3ec                       # 3 rounds
    python -m bench.s3ec --rounds 5 --object-mib 128 --small 300
    python -m bench.s3ec --smoke               # seconds: checks it runs and reports

Three parts, each the best of its rounds (rounds alternate between the contenders so
machine noise hits them alike):

* content: AES-256-GCM over the object in 8 MiB chunks, in process — Sealbox's V3
  content cipher (HKDF, commitment, streaming GCM, decrypt holding back the tag) beside
  pyca's bare streaming AES-GCM on the same chunks;
* large: one object put and got back through moto's S3 server — plain boto3 (no
  encryption), Sealbox's S3EncryptionClient with a Sealbox KMS key, and AWS's Ruby
  S3 encryption client (Debian's ruby-aws-sdk-s3) when it is installed;
* small: many 1 KiB objects put and got: plain boto3 beside the S3EncryptionClient, whose
  every object costs a KMS GenerateDataKey and a Decrypt.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bench._serve import REGION, sealbox_server

MiB = 1 << 20
CHUNK = 8 * MiB
BUCKET = "bench-s3ec"


def _best(rounds: int, contenders: dict[str, Callable[[], None]]) -> dict[str, float]:
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def content_part(data: bytes, rounds: int) -> dict[str, float]:
    from sealbox.s3ec.content import ContentEncryptor, content_decryptor
    from sealbox.s3ec.envelope import Envelope, FormatVersion, Wrapping
    from sealbox.s3ec.suites import ContentCipher

    key, view = os.urandom(32), memoryview(data)
    chunks = [view[i : i + CHUNK] for i in range(0, len(view), CHUNK)]

    def sealbox_v3() -> None:
        encryptor = ContentEncryptor(ContentCipher.AES_GCM_COMMIT, key)
        sealed = [encryptor.update(c) for c in chunks] + [encryptor.finalize()]
        envelope = Envelope(
            version=FormatVersion.V3,
            cipher=ContentCipher.AES_GCM_COMMIT,
            wrapping=Wrapping.AES_GCM,
            encrypted_key=b"",
            message_id=encryptor.message_id,
            commitment=encryptor.commitment,
        )
        decryptor = content_decryptor(envelope, key)
        for piece in sealed:
            decryptor.update(piece)
        decryptor.finish()

    def pyca_gcm() -> None:
        iv = os.urandom(12)
        encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
        sealed = [encryptor.update(c) for c in chunks]
        encryptor.finalize()
        decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, encryptor.tag)).decryptor()
        for piece in sealed:
            decryptor.update(piece)
        decryptor.finalize()

    return _best(rounds, {"sealbox s3ec V3": sealbox_v3, "pyca AES-GCM": pyca_gcm})


def network_parts(
    data: bytes, small: int, rounds: int, scratch: Path
) -> tuple[dict[str, float], dict[str, float]]:
    import boto3

    # Run from the checkout (python -m bench.s3ec): the tests' moto and Ruby helpers.
    from tests.interop.ruby_s3ec import ruby_available, run_ruby_s3ec
    from tests.moto_s3 import moto_s3_server

    from sealbox.format.suites import CommitmentPolicy
    from sealbox.keyrings import AwsKmsKeyring
    from sealbox.s3ec import S3EncryptionClient

    with sealbox_server() as kms_server, moto_s3_server() as s3_endpoint:
        access, secret = kms_server.access_key("111122223333")
        credentials = {"aws_access_key_id": access, "aws_secret_access_key": secret}
        kms = boto3.client(
            "kms", endpoint_url=kms_server.endpoint, region_name=REGION, **credentials
        )
        key_arn = kms.create_key()["KeyMetadata"]["Arn"]
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **credentials)
        s3.create_bucket(Bucket=BUCKET)
        s3ec = S3EncryptionClient(
            s3_client=s3,
            keyring=AwsKmsKeyring(generator_key_id=key_arn, client_supplier=lambda _: kms),
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT,
        )
        context = {"bench": "s3ec"}
        (scratch / "object").write_bytes(data)

        def plain_large() -> None:
            s3.upload_file(str(scratch / "object"), BUCKET, "plain")
            s3.download_file(BUCKET, "plain", str(scratch / "plain.back"))

        def s3ec_large() -> None:
            s3ec.upload_file(scratch / "object", BUCKET, "sealed", EncryptionContext=context)
            s3ec.download_file(BUCKET, "sealed", scratch / "sealed.back", EncryptionContext=context)

        large = {"plain boto3": plain_large, "sealbox s3ec": s3ec_large}
        if ruby_available():
            request = {
                "s3_endpoint": s3_endpoint,
                "kms_endpoint": kms_server.endpoint,
                "region": REGION,
                "access_key_id": access,
                "secret_access_key": secret,
                "bucket": BUCKET,
                "key": "ruby",
                "client": "v2",
                "wrapping": {"kind": "kms", "key_id": key_arn},
                "encryption_context": context,
            }

            def ruby_large() -> None:
                run_ruby_s3ec({**request, "op": "put", "body_file": str(scratch / "object")})
                run_ruby_s3ec(
                    {**request, "op": "get", "security_profile": "v2",
                     "body_file": str(scratch / "ruby.back")}
                )  # fmt: skip

            large["ruby EncryptionV2"] = ruby_large
        large_times = _best(rounds, large)
        for name in ("plain.back", "sealed.back", "ruby.back"):
            back = scratch / name
            if back.exists():
                assert back.read_bytes() == data, f"{name} differs from what was put"

        payload = os.urandom(1024)

        def plain_small() -> None:
            for i in range(small):
                s3.put_object(Bucket=BUCKET, Key=f"p{i}", Body=payload)
                assert s3.get_object(Bucket=BUCKET, Key=f"p{i}")["Body"].read() == payload

        def s3ec_small() -> None:
            for i in range(small):
                s3ec.put_object(Bucket=BUCKET, Key=f"s{i}", Body=payload, EncryptionContext=context)
                got = s3ec.get_object(Bucket=BUCKET, Key=f"s{i}", EncryptionContext=context)
                assert got["Body"].read() == payload

        small_times = _best(rounds, {"plain boto3": plain_small, "sealbox s3ec": s3ec_small})
    return large_times, small_times


def _report(title: str, times: dict[str, float], unit: float, per: str, baseline: str) -> None:
    print(f"\n{title}")
    for name, seconds in times.items():
        rate = unit / seconds
        ratio = times[baseline] / seconds
        print(f"  {name:<20} {seconds * 1000:9.1f} ms  {rate:9.1f} {per}  {ratio:5.2f}x {baseline}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--object-mib", type=int, default=64)
    parser.add_argument("--small", type=int, default=200, help="how many 1 KiB objects")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.object_mib, args.small = 1, 1, 5
    data = os.urandom(args.object_mib * MiB)
    content = content_part(data, args.rounds)
    _report(
        f"content: AES-256-GCM encrypt + decrypt of {args.object_mib} MiB in 8 MiB chunks",
        content,
        args.object_mib,
        "MiB/s",
        "pyca AES-GCM",
    )
    with tempfile.TemporaryDirectory(prefix="bench-s3ec-") as scratch:
        large, small = network_parts(data, args.small, args.rounds, Path(scratch))
    _report(
        f"large: put + get of one {args.object_mib} MiB object via moto's S3 server",
        large,
        args.object_mib,
        "MiB/s",
        "plain boto3",
    )
    _report(
        f"small: put + get of {args.small} objects of 1 KiB",
        small,
        args.small,
        "objects/s",
        "plain boto3",
    )


if __name__ == "__main__":
    main()
