"""What the ``sealbox`` command says when something is wrong (issue 11): each message's
exact text, its exit status, and no traceback unless --debug."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run


@pytest.fixture
def key(sealbox_cli: Run) -> str:
    sealbox_cli("keygen", "--name", "alice", "-o", "alice.json", check=True)
    return "key=alice.json"


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_wrong_key_names_the_message_key_as_text(sealbox_cli: Run, key: str) -> None:
    sealbox_cli("keygen", "--name", "bob", "-o", "bob.json", check=True)
    sealbox_cli("encrypt", "-w", key, "-o", "sealed", stdin=b"x", check=True)
    wrong = sealbox_cli("decrypt", "-w", "key=bob.json", "-i", "sealed")
    assert wrong.returncode == 1
    assert wrong.stderr == (
        b"sealbox: error: RawAESKeyring(key_namespace='sealbox', key_name='bob'): none of the "
        b"message's encrypted data keys is for this key (the message has keys for: "
        b"'sealbox' / 'alice')\n"
    )


def test_several_wrong_keys_are_still_one_line(sealbox_cli: Run, key: str) -> None:
    sealbox_cli("keygen", "--name", "bob", "-o", "bob.json", check=True)
    sealbox_cli("keygen", "--name", "carol", "-o", "carol.json", check=True)
    sealbox_cli("encrypt", "-w", key, "-o", "sealed", stdin=b"x", check=True)
    wrong = sealbox_cli("decrypt", "-w", "key=bob.json", "-w", "key=carol.json", "-i", "sealed")
    assert wrong.returncode == 1
    assert wrong.stderr.count(b"\n") == 1
    assert wrong.stderr.startswith(
        b"sealbox: error: no keyring could decrypt a data key: RawAESKeyring(key_namespace="
        b"'sealbox', key_name='bob'): none of"
    )
    assert b"'sealbox' / 'alice'); RawAESKeyring(key_namespace='sealbox', key_name='carol')" in (
        wrong.stderr
    )


def test_decrypting_with_a_public_rsa_key_names_the_private_key_file(sealbox_cli: Run) -> None:
    sealbox_cli("keygen", "--type", "rsa-2048", "-o", "rsa.pem", check=True)
    sealbox_cli("encrypt", "-w", "key=rsa.pem.pub", "-o", "sealed", stdin=b"x", check=True)
    public = sealbox_cli("decrypt", "-w", "key=rsa.pem.pub", "-i", "sealed")
    assert public.returncode == 2
    assert public.stderr == (
        b"sealbox: error: rsa.pem.pub: the wrapping key is an RSA public key, which cannot "
        b"decrypt; decrypting needs the private key: give its file with -w key=rsa.pem\n"
    )
    private = sealbox_cli("decrypt", "-w", "key=rsa.pem", "-i", "sealed")
    assert private.returncode == 0 and private.stdout == b"x"


def test_a_non_message_says_so_and_suggests_decode_only_for_base64_text(
    sealbox_cli: Run, key: str
) -> None:
    json_input = sealbox_cli("decrypt", "-w", key, stdin=b'{"not": "a message"}\n')
    assert json_input.returncode == 1
    assert json_input.stderr == (
        b"sealbox: error: the input is not an AWS Encryption SDK message (it starts with "
        b"0x7B, '{'; a message starts with 0x01 or 0x02)\n"
    )
    text = sealbox_cli("decrypt", "-w", key, stdin=b"  QUJDREVGRw==\n")
    assert text.returncode == 1
    assert text.stderr == (
        b"sealbox: error: the input is not an AWS Encryption SDK message (it starts with "
        b"0x20, ' '; a message starts with 0x01 or 0x02); if it is Base64 text, add --decode\n"
    )
    decoded = sealbox_cli("decrypt", "-w", key, "--decode", stdin=b"QUJDREVGRw==\n")
    assert decoded.returncode == 1
    assert decoded.stderr == (
        b"sealbox: error: the input is not an AWS Encryption SDK message (it starts with "
        b"0x41, 'A'; a message starts with 0x01 or 0x02)\n"
    )


def test_base64_that_does_not_decode_says_whether_decode_was_asked(
    sealbox_cli: Run, key: str
) -> None:
    looks = sealbox_cli("decrypt", "-w", key, stdin=b"AYAA*not*base64\n")
    assert looks.returncode == 1
    assert looks.stderr == (
        b"sealbox: error: the input is not valid Base64 (it starts like a Base64 message "
        b"('AY' or 'Ag') but does not decode)\n"
    )
    asked = sealbox_cli("decrypt", "-w", key, "--decode", stdin=b"QUJD*not*base64\n")
    assert asked.returncode == 1
    assert asked.stderr == (
        b"sealbox: error: the input is not valid Base64 (drop --decode if it is a binary message)\n"
    )


def test_a_subcommand_usage_error_shows_that_subcommands_usage(sealbox_cli: Run) -> None:
    decrypt = sealbox_cli("decrypt", "--bogus")
    assert decrypt.returncode == 2
    assert decrypt.stderr.startswith(b"usage: sealbox decrypt [-h] [-i INPUT]")
    assert decrypt.stderr.endswith(
        b"\nsealbox decrypt: error: unrecognized arguments: --bogus (did you mean --verbose?)\n"
    )
    nested = sealbox_cli("admin", "list-access-keys", "--acount", "1")
    assert nested.returncode == 2
    assert nested.stderr.startswith(b"usage: sealbox admin list-access-keys [-h]")
    assert nested.stderr.endswith(
        b"\nsealbox admin list-access-keys: error: unrecognized arguments: --acount 1 "
        b"(did you mean --account?)\n"
    )


def test_recursive_decrypt_strips_the_suffix_encrypt_added(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    (tmp_path / "plain" / "sub").mkdir(parents=True)
    (tmp_path / "plain" / "a.txt").write_bytes(b"a")
    (tmp_path / "plain" / "sub" / "b.txt").write_bytes(b"b")
    sealbox_cli("encrypt", "-w", key, "-r", "-i", "plain", "-o", "sealed", check=True)
    (tmp_path / "sealed" / "renamed").write_bytes(
        (tmp_path / "sealed" / "a.txt.encrypted").read_bytes()
    )
    sealbox_cli("decrypt", "-w", key, "-r", "-i", "sealed", "-o", "back", check=True)
    assert tree(tmp_path / "back") == {"a.txt": b"a", "renamed.decrypted": b"a", "sub/b.txt": b"b"}
    # --suffix keeps aws-encryption-cli's naming: appended, nothing stripped
    sealbox_cli(
        "decrypt",
        "-w",
        key,
        "-r",
        "-i",
        "sealed",
        "-o",
        "cli",
        "--suffix",
        ".decrypted",
        check=True,
    )
    assert sorted(tree(tmp_path / "cli")) == [
        "a.txt.encrypted.decrypted", "renamed.decrypted", "sub/b.txt.encrypted.decrypted",
    ]  # fmt: skip


def test_a_stripped_name_never_replaces_an_existing_file(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_bytes(b"edited since")
    sealbox_cli("encrypt", "-w", key, "-o", "a.txt.encrypted", stdin=b"old", check=True)
    refused = sealbox_cli("decrypt", "-w", key, "-i", "a.txt.encrypted", "-o", ".")
    assert refused.returncode == 1
    assert refused.stderr == (
        b"sealbox: error: a.txt exists, and decrypting a.txt.encrypted would replace it; move "
        b"it away, add --interactive to be asked, or --suffix .decrypted to write "
        b"a.txt.encrypted.decrypted\n"
    )
    assert (tmp_path / "a.txt").read_bytes() == b"edited since"
    skipped = sealbox_cli(
        "decrypt", "-w", key, "-i", "a.txt.encrypted", "-o", ".", "--no-overwrite"
    )
    assert skipped.returncode == 0 and (tmp_path / "a.txt").read_bytes() == b"edited since"


def test_a_trailing_slash_makes_the_output_a_directory(
    sealbox_cli: Run, key: str, tmp_path: Path
) -> None:
    (tmp_path / "one.log").write_bytes(b"1")
    made = sealbox_cli("encrypt", "-w", key, "-i", "*.log", "-o", "globbed/")
    assert made.returncode == 0, made.stderr
    assert sorted(tree(tmp_path / "globbed")) == ["one.log.encrypted"]
    (tmp_path / "taken").write_bytes(b"a file")
    clash = sealbox_cli("encrypt", "-w", key, "-i", "one.log", "-o", "taken/")
    assert clash.returncode == 2
    assert clash.stderr == (
        b"sealbox: error: output taken is a file, but taken/ ends with /; give a directory as -o\n"
    )
    stdin = sealbox_cli("encrypt", "-w", key, "-o", "fresh/", stdin=b"x")
    assert stdin.returncode == 2
    assert stdin.stderr == (
        b"sealbox: error: output fresh/ is a directory; stdin needs an output file name or -\n"
    )
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize(
    ("command", "what", "status"), [("encrypt", b"plaintext", 0), ("decrypt", b"message", 1)]
)
def test_reading_from_a_terminal_gives_a_hint(
    key: str, tmp_path: Path, command: str, what: bytes, status: int
) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "sealbox", command, "-w", key, "-o", "out"],
        cwd=tmp_path,
        stdin=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    os.write(controller, b"\x04")  # Ctrl-D: end of input
    _, stderr = process.communicate(timeout=60)
    os.close(controller)
    assert process.returncode == status
    assert stderr.splitlines()[0] == (
        b"sealbox: reading the "
        + what
        + b" from the terminal; end with Ctrl-D, or give a file with -i"
    )
    quiet = subprocess.run(
        [sys.executable, "-m", "sealbox", command, "-q", "-w", key, "-o", "out"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
    )  # fmt: skip
    assert b"reading the" not in quiet.stderr


def _crashing_keygen(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``sealbox keygen`` with a bug planted in its handler."""
    code = (
        "import sys, sealbox.cli.keygen as k\n"
        "def boom(args): raise RuntimeError('boom\\non two lines')\n"
        "k.run_keygen = boom\n"
        "from sealbox.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, timeout=60, check=False
    )


def test_an_unexpected_error_is_one_line_unless_debug() -> None:
    plain = _crashing_keygen("keygen", "-o", "k.json")
    assert plain.returncode == 1
    assert plain.stderr == (
        b"sealbox: error: RuntimeError: boom on two lines (run with --debug for details)\n"
    )
    for debug in (["--debug", "keygen", "-o", "k.json"], ["keygen", "-o", "k.json", "--debug"]):
        shown = _crashing_keygen(*debug)
        assert shown.returncode == 1
        assert shown.stderr.startswith(b"Traceback (most recent call last):\n")
        assert shown.stderr.endswith(b"RuntimeError: boom\non two lines\n")


def test_keygen_into_a_missing_directory_is_a_usage_error(sealbox_cli: Run) -> None:
    missing = sealbox_cli("keygen", "-o", "missing/k.json")
    assert missing.returncode == 2
    assert missing.stderr == (
        b"sealbox: error: cannot create missing/k.json: No such file or directory; "
        b"choose a writable place for the key\n"
    )
