"""The real ``sealbox`` command with the aws-encryption-cli flag set, on raw key files:
directories, globs, metadata, overwriting, argument files, terminals, signals and bad flags."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Run


@pytest.fixture
def key(sealbox_cli: Run) -> str:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    return "key=k.json"


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_aws_encryption_cli_spelling(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"as aws-encryption-cli users type it")
    sealbox_cli(
        "--encrypt",
        "--input", "plain",
        "--output", "sealed",
        "--wrapping-keys", key,
        "--encryption-context", "app=demo",
        "--commitment-policy", "require-encrypt-require-decrypt",
        "--suppress-metadata",
        check=True,
    )  # fmt: skip
    opened = sealbox_cli("-d", "-i", "sealed", "-o", "-", "-w", key, "-S", check=True)
    assert opened.stdout == b"as aws-encryption-cli users type it"
    unsigned = sealbox_cli("--decrypt-unsigned", "-i", "sealed", "-w", key)
    assert unsigned.returncode == 1 and b"signed" in unsigned.stderr
    both = sealbox_cli("-e", "-d", "-i", "plain", "-w", key)
    assert both.returncode == 2
    assert (
        b"choose one of -e/--encrypt, -d/--decrypt and --decrypt-unsigned (got -e -d)"
        in both.stderr
    )


def test_recursive_directories_keep_their_layout(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    (source / "a" / "b").mkdir(parents=True)
    (source / "top.txt").write_bytes(b"top")
    (source / "a" / "b" / "deep.bin").write_bytes(os.urandom(20_000))
    (source / "a" / "empty").write_bytes(b"")
    sealbox_cli("encrypt", "-r", "-i", "in", "-o", "out", "-w", key, check=True)
    assert sorted(tree(tmp_path / "out")) == [
        "a/b/deep.bin.encrypted",
        "a/empty.encrypted",
        "top.txt.encrypted",
    ]
    sealbox_cli(
        "decrypt", "-r", "-i", "out", "-o", "back", "--suffix", ".txt", "-w", key, check=True
    )
    assert tree(tmp_path / "back") == {f"{k}.encrypted.txt": v for k, v in tree(source).items()}
    refused = sealbox_cli("encrypt", "-i", "in", "-o", "out2", "-w", key)
    assert refused.returncode == 2
    assert b"input in is a directory; add -r to process the files in it" in refused.stderr
    to_stdout = sealbox_cli("encrypt", "-r", "-i", "in", "-w", key)
    assert to_stdout.returncode == 2 and b"cannot all go to stdout" in to_stdout.stderr


def test_globs_and_a_directory_output(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    for name in ("a.log", "b.log", "c.txt"):
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "sealed").mkdir()
    sealbox_cli("encrypt", "-i", "*.log", "-o", "sealed", "--suffix", ".sbx", "-w", key, check=True)
    assert sorted(tree(tmp_path / "sealed")) == ["a.log.sbx", "b.log.sbx"]
    nothing = sealbox_cli("encrypt", "-i", "*.csv", "-o", "sealed", "-w", key)
    assert nothing.returncode == 2 and b"no file matches *.csv" in nothing.stderr
    same = sealbox_cli("encrypt", "-i", "c.txt", "-o", "c.txt", "-w", key)
    assert same.returncode == 2 and b"input and output are the same file (c.txt)" in same.stderr


def test_metadata_lines_append_and_overwrite(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"metadata")
    flags = ["-w", key, "--metadata-output", "meta.jsonl"]
    sealbox_cli("encrypt", "-i", "plain", "-o", "m1", "-c", "team=a", *flags, check=True)
    sealbox_cli("decrypt", "-i", "m1", "-o", "p1", *flags, check=True)
    first, second = [
        json.loads(line) for line in (tmp_path / "meta.jsonl").read_text().splitlines()
    ]
    assert first["mode"] == "encrypt" and second["mode"] == "decrypt"
    assert first["input"] == str(tmp_path / "plain") and first["output"] == str(tmp_path / "m1")
    assert first["header"]["encryption_context"]["team"] == "a"
    assert first["header"]["algorithm"] == "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
    assert first["header"]["frame_length"] == 4096
    assert first["header"]["encrypted_data_keys"][0]["key_provider"]["provider_id"] == "sealbox"
    assert second["header"]["message_id"] == first["header"]["message_id"]
    sealbox_cli(
        "encrypt", "-i", "-", "-o", "m2", *flags, "--overwrite-metadata", stdin=b"x", check=True
    )
    (only,) = [json.loads(line) for line in (tmp_path / "meta.jsonl").read_text().splitlines()]
    assert only["input"] == "<stdin>"
    to_stdout = sealbox_cli("encrypt", "-w", key, "--metadata-output", "-", "-o", "m3", stdin=b"x")
    assert json.loads(to_stdout.stdout)["output"] == str(tmp_path / "m3")
    clash = sealbox_cli("encrypt", "-w", key, "--metadata-output", "-", stdin=b"x")
    assert clash.returncode == 2 and b"would mix" in clash.stderr
    both = sealbox_cli("encrypt", "-w", key, "-S", "--metadata-output", "m", stdin=b"x")
    assert both.returncode == 2
    assert (
        b"argument --metadata-output: not allowed with argument -S/--suppress-metadata"
        in both.stderr
    )


def test_a_missing_required_context_key_is_recorded_as_skipped(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    sealbox_cli("encrypt", "-w", key, "-c", "team=a", "-o", "m", stdin=b"ctx", check=True)
    result = sealbox_cli(
        "decrypt", "-w", key, "-i", "m", "-o", "p", "-c", "owner", "--metadata-output", "meta"
    )
    assert result.returncode == 1
    assert b"the message's encryption context lacks required keys ['owner']" in result.stderr
    assert not (tmp_path / "p").exists()
    record = json.loads((tmp_path / "meta").read_text())
    assert record["skipped"] is True and record["missing_encryption_context_keys"] == ["owner"]


def test_overwriting_warns_and_no_overwrite_skips(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    (tmp_path / "out").write_bytes(b"precious")
    kept = sealbox_cli("encrypt", "-w", key, "-o", "out", "--no-overwrite", stdin=b"new")
    assert kept.returncode == 0 and (tmp_path / "out").read_bytes() == b"precious"
    assert b"skipping out: the output out exists (--no-overwrite)" in kept.stderr
    replaced = sealbox_cli("encrypt", "-w", key, "-o", "out", stdin=b"new")
    assert replaced.returncode == 0 and b"sealbox: WARNING: overwriting out" in replaced.stderr
    assert sealbox_cli("decrypt", "-w", key, "-i", "out", check=True).stdout == b"new"
    quiet = sealbox_cli("encrypt", "-w", key, "-o", "out", "-q", stdin=b"newer")
    assert quiet.returncode == 0 and quiet.stderr == b""
    chatty = sealbox_cli("encrypt", "-w", key, "-o", "out2", "-v", stdin=b"v")
    assert b"sealbox: INFO: encrypt - -> out2" in chatty.stderr


def test_argument_files(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    (tmp_path / "keys.args").write_text(f"# the team key\n-w {key}  # raw AES\n")
    (tmp_path / "encrypt.args").write_text(
        "--encrypt\n-c 'team=payments ops' owner=$SEALBOX_TEST_OWNER\n@keys.args\n"
    )
    os.environ["SEALBOX_TEST_OWNER"] = "alice"
    try:
        sealed = sealbox_cli("@encrypt.args", "-o", "m", stdin=b"args", check=True)
    finally:
        del os.environ["SEALBOX_TEST_OWNER"]
    assert sealed.returncode == 0
    report = json.loads(sealbox_cli("inspect", "m", check=True).stdout)
    assert report["encryption_context"] == {
        "team": "payments ops",
        "owner": "alice",
        **{k: v for k, v in report["encryption_context"].items() if k.startswith("aws-crypto")},
    }
    missing = sealbox_cli("@nope.args")
    assert missing.returncode == 2
    assert b"cannot read argument file nope.args: No such file or directory" in missing.stderr
    (tmp_path / "loop.args").write_text("@loop.args\n")
    assert b"nest deeper than 10" in sealbox_cli("@loop.args").stderr


def test_single_valued_flags_refuse_repeats_and_flags_are_never_abbreviated(
    sealbox_cli: Run, key: str
) -> None:
    twice = sealbox_cli("encrypt", "-w", key, "-i", "a", "-i", "b")
    assert twice.returncode == 2 and b"argument -i/--input: given twice" in twice.stderr
    short = sealbox_cli("encrypt", "-w", key, "--frame", "1024", stdin=b"x")
    assert short.returncode == 2
    assert b"unrecognized arguments: --frame 1024 (did you mean --frame-length?)" in short.stderr
    caching = sealbox_cli("encrypt", "-w", key, "--caching", "capacity=3", stdin=b"x")
    assert (
        caching.returncode == 2 and b"--caching needs max_age= (e.g. capacity=10" in caching.stderr
    )
    bad_padding = sealbox_cli("encrypt", "-w", "provider=raw-rsa", "key=k.json", "padding=x")
    assert bad_padding.returncode == 2 and b"padding=x is not one of" in bad_padding.stderr
    discovery = sealbox_cli("encrypt", "-w", "discovery=true", stdin=b"x")
    assert discovery.returncode == 2
    assert b"discovery=true only decrypts; to encrypt, name a key with key=" in discovery.stderr
    alias = sealbox_cli("decrypt", "-w", "key=alias/orders", stdin=b"x")
    assert alias.returncode == 2
    assert (
        b"key=alias/orders: decrypt needs the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), because "
        b"a message records key ARNs, not aliases or key ids; or use discovery=true"
    ) in alias.stderr
    half_filter = sealbox_cli(
        "decrypt", "-w", "discovery=true", "discovery-account=111122223333", stdin=b"x"
    )
    assert half_filter.returncode == 2
    assert b"give discovery-account= and discovery-partition= together" in half_filter.stderr


def test_suite_frame_length_base64_and_max_length(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    plaintext = os.urandom(3000)
    sealbox_cli(
        "encrypt", "-w", key, "-o", "m", "--frame-length", "1024",
        "--algorithm", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", stdin=plaintext, check=True,
    )  # fmt: skip
    report = json.loads(sealbox_cli("inspect", "m", check=True).stdout)
    assert report["frame_length"] == 1024 and report["algorithm"]["id"] == "0x0478"
    assert report["body"]["frames"] == 3
    too_long = sealbox_cli("decrypt", "-w", key, "-i", "m", "--max-length", "512")
    assert too_long.returncode == 1 and b"512" in too_long.stderr
    text = sealbox_cli("decrypt", "-w", key, "-i", "m", "--encode", check=True).stdout
    sealed_text = sealbox_cli("encrypt", "-w", key, "--decode", "--encode", stdin=text, check=True)
    again = sealbox_cli("decrypt", "-w", key, stdin=sealed_text.stdout, check=True).stdout
    assert again == plaintext


def test_binary_output_to_a_terminal_is_refused(key: str, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "sealbox", "encrypt", "-w", key],
            cwd=tmp_path,
            input=b"secret",
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 2
    assert result.stderr == (
        b"sealbox: error: refusing to write binary data to a terminal; redirect it (> FILE), "
        b"use -o FILE, or add --encode for Base64 text\n"
    )


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_write_leaves_no_output(
    key: str, tmp_path: Path, signum: int, status: int
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sealbox", "encrypt", "-w", key, "-o", "out"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell runs background jobs with SIGINT ignored, and Python then keeps it
        # ignored: give the command Ctrl-C as a terminal user's process has it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdin is not None
    process.stdin.write(os.urandom(1 << 20))
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".out.") for p in tmp_path.iterdir()):  # writing has begun
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    assert b"no output was written" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]


def test_buffer_holds_output_until_the_signature_verifies(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    sealed = bytearray(
        sealbox_cli(
            "encrypt", "-w", key, "--frame-length", "1024", stdin=bytes(50_000), check=True
        ).stdout
    )
    sealed[-10] ^= 1  # inside the signature: every frame verifies, the message does not
    streamed = sealbox_cli("decrypt", "-w", key, stdin=bytes(sealed))
    assert streamed.returncode == 1 and b"signature" in streamed.stderr
    assert streamed.stdout  # frames are released as they verify, as the reference CLI does
    buffered = sealbox_cli("decrypt", "-w", key, "-b", stdin=bytes(sealed))
    assert buffered.returncode == 1 and buffered.stdout == b""


def test_several_files_continue_past_a_failure(sealbox_cli: Run, key: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        sealbox_cli("encrypt", "-w", key, "-o", f"in/{name}", stdin=name.encode(), check=True)
    (tmp_path / "in" / "b").write_bytes(b"not a message")
    result = sealbox_cli("decrypt", "-w", key, "-r", "-i", "in", "-o", "out")
    assert result.returncode == 1
    assert b"sealbox: error: in/b: " in result.stderr and b"1 of 3 files failed" in result.stderr
    assert tree(tmp_path / "out") == {"a.decrypted": b"a", "c.decrypted": b"c"}


def read_terminal(controller: int, until: bytes = b"", timeout: float = 60) -> bytes:
    """What a program wrote to its terminal: up to ``until`` or until it closed."""
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (until and until in seen):
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_interactive_asks_on_the_terminal(key: str, tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"new")
    command = [sys.executable, "-m", "sealbox", "encrypt", "-w", key, "-i", "plain", "-o", "out"]
    command.append("--interactive")
    for answer, expected in ((b"n\n", b"old"), (b"y\n", None)):
        (tmp_path / "out").write_bytes(b"old")
        pid, controller = pty.fork()
        if pid == 0:  # the child: its controlling terminal is the pty
            os.chdir(tmp_path)
            os.execv(sys.executable, command)
        assert b"overwrite out? [y/N]" in read_terminal(controller, until=b"[y/N]")
        os.write(controller, answer)
        read_terminal(controller)
        _, status = os.waitpid(pid, 0)
        os.close(controller)
        assert os.waitstatus_to_exitcode(status) == 0
        if expected is None:
            assert (tmp_path / "out").read_bytes()[:1] == b"\x02"  # replaced by a message
        else:
            assert (tmp_path / "out").read_bytes() == expected
    no_terminal = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        start_new_session=True,  # no controlling terminal
        timeout=60,
    )
    assert no_terminal.returncode == 2
    assert no_terminal.stderr == b"sealbox: error: --interactive needs a terminal to ask on\n"


def test_a_progress_line_for_large_inputs_on_a_terminal(key: str, tmp_path: Path) -> None:
    with (tmp_path / "large").open("wb") as handle:
        handle.truncate(80 * 1024 * 1024)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sealbox", "encrypt", "-w", key, "-i", "large", "-o", "out"],
        cwd=tmp_path,
        stderr=terminal,
    )
    os.close(terminal)
    shown = read_terminal(controller)
    assert process.wait(timeout=120) == 0
    os.close(controller)
    assert b"large: 100% 80.0 MiB of 80.0 MiB" in shown
    assert shown.endswith(b"\r\n")  # the line is finished, not left for the prompt to overwrite
