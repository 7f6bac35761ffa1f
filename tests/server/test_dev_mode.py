"""``sealbox serve --dev``: throwaway alone, persistent with --data-dir, and reachable by
``sealbox admin`` through the prefix it prints. Real subprocesses, real boto3."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.server.harness import wait_ready

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


@dataclass
class DevRun:
    """One ``sealbox serve --dev`` process and what it printed on stdout."""

    process: subprocess.Popen[str]
    lines: list[str]
    log: Path
    exports: dict[str, str] = field(default_factory=dict)

    def comment(self, prefix: str) -> str:
        return next(line for line in self.lines if line.startswith(prefix))

    def client(self, access_key_id: str | None = None, secret: str | None = None) -> Any:
        return boto3.client(
            "kms",
            endpoint_url=self.exports["AWS_ENDPOINT_URL_KMS"],
            region_name=self.exports["AWS_DEFAULT_REGION"],
            aws_access_key_id=access_key_id or self.exports["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret or self.exports["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"total_max_attempts": 1}),
        )

    def stop(self) -> int:
        """SIGTERM, as a user's Ctrl-C or service manager would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            assert self.process.stdout is not None
            self.process.stdout.close()


def start_dev(tmp_path: Path, *extra: str) -> DevRun:
    log = tmp_path / f"dev-{len(list(tmp_path.glob('dev-*.log')))}.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "sealbox", "serve", "--dev", "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=ENV,
        )
    assert process.stdout is not None
    run = DevRun(process, [], log)
    for line in process.stdout:
        run.lines.append(line.rstrip("\n"))
        if line.startswith("# admin: "):
            break
    else:
        run.stop()
        raise AssertionError(f"no dev instance: {run.lines}; {log.read_text()[-2000:]}")
    for line in run.lines:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            run.exports[name] = value
    wait_ready(run.exports["AWS_ENDPOINT_URL_KMS"])
    return run


@pytest.fixture
def runs() -> Iterator[list[DevRun]]:
    """Every run a test starts is stopped, even when the test fails."""
    started: list[DevRun] = []
    yield started
    for run in started:
        run.stop()


def test_persistent_dev_instance_keeps_credentials_keys_and_aliases(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    data_dir = tmp_path / "dev"
    first = start_dev(tmp_path, "--data-dir", str(data_dir))
    runs.append(first)
    # stdout begins with the exports, so that eval "$(…)" and copy-paste both work
    assert [line.split("=")[0] for line in first.lines[:4]] == [
        "export AWS_ENDPOINT_URL_KMS",
        "export AWS_ACCESS_KEY_ID",
        "export AWS_SECRET_ACCESS_KEY",
        "export AWS_DEFAULT_REGION",
    ]
    assert all(line.startswith("#") for line in first.lines[4:])
    root_key = data_dir / "dev-only-root.key"
    assert first.comment("# persistent") == (
        f"# persistent development instance: data in {data_dir}, root key {root_key} "
        "(development only: kept beside the data it protects); the same credentials, keys "
        "and aliases on every start"
    )
    client = first.client()
    try:
        key_arn = client.describe_key(KeyId="alias/sealbox-dev")["KeyMetadata"]["Arn"]
        blob = client.encrypt(KeyId="alias/sealbox-dev", Plaintext=b"kept across restarts")[
            "CiphertextBlob"
        ]
    finally:
        client.close()
    assert first.comment("# development key ") == (
        f"# development key {key_arn} (alias/sealbox-dev)"
    )
    assert first.stop() == 0
    assert root_key.is_file()
    assert "serving the KMS API" not in "".join(first.lines)  # on stderr, not in the exports

    second = start_dev(tmp_path, "--data-dir", str(data_dir))
    runs.append(second)
    assert second.exports["AWS_ACCESS_KEY_ID"] == first.exports["AWS_ACCESS_KEY_ID"]
    assert second.exports["AWS_SECRET_ACCESS_KEY"] == first.exports["AWS_SECRET_ACCESS_KEY"]
    client = second.client()
    try:
        described = client.describe_key(KeyId="alias/sealbox-dev")["KeyMetadata"]
        decrypted = client.decrypt(CiphertextBlob=blob)
        aliases = client.list_aliases()["Aliases"]
    finally:
        client.close()
    assert described["Arn"] == key_arn
    assert decrypted["Plaintext"] == b"kept across restarts"
    assert decrypted["KeyId"] == key_arn
    made = [a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")]
    assert made == ["alias/sealbox-dev"]  # created once (the rest: AWS's predefined aliases)
    assert second.stop() == 0


def test_persistent_dev_instance_with_its_own_root_key_restarts(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    flags = ("--data-dir", str(tmp_path / "dev"), "--root-key", str(tmp_path / "dev.key"))
    first = start_dev(tmp_path, *flags)
    runs.append(first)
    assert first.stop() == 0
    second = start_dev(tmp_path, *flags)
    runs.append(second)
    assert second.exports["AWS_ACCESS_KEY_ID"] == first.exports["AWS_ACCESS_KEY_ID"]
    assert second.comment("# admin: ") == (
        f"# admin: sealbox admin --data-dir {tmp_path / 'dev'} --root-key {tmp_path / 'dev.key'}"
    )
    assert second.stop() == 0
    assert not (tmp_path / "dev" / "dev-only-root.key").exists()


def test_plain_dev_is_throwaway_and_removes_its_directory(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    run = start_dev(tmp_path)
    runs.append(run)
    message = run.comment("# throwaway")
    match = re.fullmatch(
        r"# throwaway development instance: data in (\S+)/data, deleted on exit; "
        r"for one that persists: --dev --data-dir DIR",
        message,
    )
    assert match, message
    scratch = Path(match[1])
    assert (scratch / "data").is_dir() and (scratch / "root.key").is_file()
    assert run.comment("# admin: ") == (
        f"# admin: sealbox admin --data-dir {scratch / 'data'} --root-key {scratch / 'root.key'}"
    )
    assert run.stop() == 0
    assert not scratch.exists()
    assert run.log.read_text().splitlines()[-1] == "sealbox: stopped"


def test_printed_admin_prefix_creates_a_key_the_dev_server_accepts(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    run = start_dev(tmp_path)
    runs.append(run)
    words = shlex.split(run.comment("# admin: ").removeprefix("# admin: "))
    assert words[:2] == ["sealbox", "admin"]
    create = ["create-access-key", "--account", "111122223333", "--user", "alice", "--admin"]
    created = subprocess.run(
        [sys.executable, "-m", "sealbox", *words[1:], *create],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        check=True,
        cwd=tmp_path,  # the prefix's paths are absolute: it works from any directory
    )
    secret = json.loads(created.stdout)
    client = run.client(secret["AccessKeyId"], secret["SecretAccessKey"])
    try:
        described = client.describe_key(KeyId="alias/sealbox-dev")["KeyMetadata"]
        blob = client.encrypt(KeyId="alias/sealbox-dev", Plaintext=b"alice")["CiphertextBlob"]
    finally:
        client.close()
    assert described["Arn"] in run.comment("# development key ")
    dev = run.client()
    try:
        assert dev.decrypt(CiphertextBlob=blob)["Plaintext"] == b"alice"
    finally:
        dev.close()
    # The seed went through the request path: the dev user's CreateKey and CreateAlias
    # are in the audit trail like anyone's requests.
    queried = subprocess.run(
        [sys.executable, "-m", "sealbox", "audit", "query", *words[2:], "--since", "2000-01-01"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        check=True,
    )
    seeded = [
        (record["eventName"], record["userIdentity"]["arn"])
        for record in map(json.loads, queried.stdout.splitlines())
        if record["eventName"] in ("CreateKey", "CreateAlias")
    ]
    assert seeded == [
        ("CreateKey", "arn:aws:iam::111122223333:user/dev"),
        ("CreateAlias", "arn:aws:iam::111122223333:user/dev"),
    ]
    assert run.stop() == 0


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie no one reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_eval_of_the_backgrounded_dev_server_sets_the_variables(tmp_path: Path) -> None:
    """``eval "$(sealbox serve --dev &)"``: the command substitution ends (stdout is closed
    after the exports) while the server keeps running, and the variables work."""
    data_dir, log = tmp_path / "dev", tmp_path / "eval.log"
    script = (
        f'eval "$({shlex.quote(sys.executable)} -m sealbox serve --dev --port 0 '
        f"--data-dir {shlex.quote(str(data_dir))} 2>{shlex.quote(str(log))} & "
        'echo "export SERVER_PID=$!")"\n'
        'echo "$SERVER_PID $AWS_ENDPOINT_URL_KMS $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY '
        '$AWS_DEFAULT_REGION"'
    )
    shell = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=ENV, timeout=120, check=True
    )
    pid, endpoint, key_id, secret, region = shell.stdout.split()
    try:
        wait_ready(endpoint)
        client = boto3.client(
            "kms",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1}),
        )
        try:
            state = client.describe_key(KeyId="alias/sealbox-dev")["KeyMetadata"]["KeyState"]
        finally:
            client.close()
        assert state == "Enabled"
    finally:
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while not _gone(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _gone(int(pid))
    assert log.read_text().splitlines()[-1] == "sealbox: stopped"
