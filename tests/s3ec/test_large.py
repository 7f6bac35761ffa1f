"""A 100 MiB object through upload_file (multipart), download_file and a streamed
get_object, in a child process whose peak memory is measured: the client holds a part
at a time, never the object."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.s3ec.conftest import BUCKET, World
from tests.server.harness import REGION

MiB = 1024 * 1024
SIZE = 100 * MiB + 5  # not a whole number of parts or blocks
#: Peak RSS growth allowed during each transfer. The upload holds a few 8 MiB parts at
#: once (the one going up, its ciphertext, the next one read ahead: ~40 MiB measured),
#: the downloads a chunk or the 8 MiB in-memory spool; an object held whole (100 MiB)
#: does not fit.
GROWTH_LIMIT = 64 * MiB

CHILD = r"""
import hashlib, json, os

import boto3

from sealbox.keyrings import AwsKmsKeyring
from sealbox.s3ec import S3EncryptionClient

env = os.environ
credentials = {
    "aws_access_key_id": env["KMS_ACCESS_KEY_ID"],
    "aws_secret_access_key": env["KMS_SECRET_ACCESS_KEY"],
}
kms = boto3.client("kms", endpoint_url=env["KMS_ENDPOINT"], region_name=env["REGION"], **credentials)
s3 = boto3.client(
    "s3",
    endpoint_url=env["S3_ENDPOINT"],
    region_name=env["REGION"],
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
client = S3EncryptionClient(
    s3_client=s3,
    keyring=AwsKmsKeyring(generator_key_id=env["KEY_ARN"], client_supplier=lambda region: kms),
)
bucket, key, source, target = env["BUCKET"], env["OBJECT_KEY"], env["SOURCE"], env["TARGET"]
context = {"test": "large"}


def status(field: str) -> int:
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB
    raise LookupError(field)


def growth(step) -> int:
    # How far RSS rose above where it was while step ran: VmHWM, reset first.
    # (ru_maxrss would not do: after exec it keeps the high-water mark of the process
    # that forked this one, pytest's.)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS
    before = status("VmRSS")
    step()
    return status("VmHWM") - before


def upload() -> None:
    client.upload_file(source, bucket, key, EncryptionContext=context)


def download() -> None:
    client.download_file(bucket, key, target, EncryptionContext=context)


def stream() -> None:
    answer = client.get_object(Bucket=bucket, Key=key, EncryptionContext=context)
    streamed, length = hashlib.sha256(), 0
    with answer["Body"] as body:
        while chunk := body.read(1024 * 1024):
            streamed.update(chunk)
            length += len(chunk)
    report["streamed_sha256"] = streamed.hexdigest()
    report["streamed_length"] = length
    report["content_length"] = answer["ContentLength"]


def hold() -> None:
    # The control: holding the object whole shows up in the measurement.
    with open(source, "rb") as handle:
        whole = handle.read()
    del whole


# Warm up every code path once on a small object, so what is loaded and allocated
# once (modules, connection pools) is in place before measuring.
client.put_object(Bucket=bucket, Key=key + ".warm", Body=os.urandom(4096), EncryptionContext=context)
client.download_file(bucket, key + ".warm", target + ".warm", EncryptionContext=context)
with client.get_object(Bucket=bucket, Key=key + ".warm", EncryptionContext=context)["Body"] as body:
    body.read()
os.remove(target + ".warm")

report = {}
report["upload_file"] = growth(upload)
report["download_file"] = growth(download)
report["get_object"] = growth(stream)
report["holding_the_object"] = growth(hold)
report["etag"] = s3.head_object(Bucket=bucket, Key=key)["ETag"]
print(json.dumps(report))
"""


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_100_mib_round_trip_in_bounded_memory(
    world: World, object_key: str, tmp_path: Path
) -> None:
    source, target = tmp_path / "plain", tmp_path / "back"
    written = hashlib.sha256()
    with open(source, "wb") as handle:
        for start in range(0, SIZE, MiB):
            chunk = os.urandom(min(MiB, SIZE - start))
            written.update(chunk)
            handle.write(chunk)
    spool = tmp_path / "spool"  # get_object's spool beyond 8 MiB goes to TMPDIR
    spool.mkdir()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    environment = {
        **os.environ,
        "S3_ENDPOINT": world.s3_endpoint,
        "KMS_ENDPOINT": world.kms.endpoint,
        "KMS_ACCESS_KEY_ID": world.alice.access_key_id,
        "KMS_SECRET_ACCESS_KEY": world.alice.secret_access_key,
        "REGION": REGION,
        "KEY_ARN": world.key_arn,
        "BUCKET": BUCKET,
        "OBJECT_KEY": object_key,
        "SOURCE": str(source),
        "TARGET": str(target),
        "TMPDIR": str(spool),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    child = subprocess.run(
        [sys.executable, str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-4000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])

    assert _sha256_of(target) == written.hexdigest()
    assert report["streamed_sha256"] == written.hexdigest()
    assert report["streamed_length"] == report["content_length"] == SIZE
    assert report["etag"].endswith('-13"')  # 8 MiB parts: 12 whole and the rest
    assert list(spool.iterdir()) == []  # nothing of get_object's spool is left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back", "child.py", "plain", "spool"]
    assert report["holding_the_object"] > 0.9 * SIZE  # the measurement sees a whole object
    growth = {step: report[step] for step in ("upload_file", "download_file", "get_object")}
    shown = {step: f"{value / MiB:.1f} MiB" for step, value in growth.items()}
    assert max(growth.values()) < GROWTH_LIMIT, shown
