"""The sealbox command: keygen, encrypt, decrypt, inspect, exit codes and atomic output."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Run


def test_version_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from sealbox.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'cryptography', 'sealbox.server') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("sealbox ")
    assert result.stdout.strip().endswith("[]")


def test_round_trip_through_files_and_pipes(sealbox_cli: Run, tmp_path: Path) -> None:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    mode = stat.S_IMODE((tmp_path / "k.json").stat().st_mode)
    assert mode == 0o600
    plaintext = os.urandom(100_000)
    (tmp_path / "plain").write_bytes(plaintext)
    sealbox_cli(
        "encrypt", "-w", "key=k.json", "-c", "team=a", "-i", "plain", "-o", "sealed", check=True
    )
    out = sealbox_cli("decrypt", "-w", "key=k.json", "-c", "team=a", "-i", "sealed", check=True)
    assert out.stdout == plaintext
    piped = sealbox_cli("encrypt", "-w", "key=k.json", stdin=plaintext, check=True).stdout
    assert sealbox_cli("decrypt", "-w", "key=k.json", stdin=piped, check=True).stdout == plaintext


def test_rsa_keys_public_to_encrypt_private_to_decrypt(sealbox_cli: Run) -> None:
    sealbox_cli("keygen", "--type", "rsa-2048", "-o", "rsa.pem", check=True)
    sealed = sealbox_cli(
        "encrypt", "-w", "provider=raw-rsa", "key=rsa.pem.pub", stdin=b"rsa!", check=True
    ).stdout
    assert (
        sealbox_cli(
            "decrypt", "-w", "provider=raw-rsa", "key=rsa.pem", stdin=sealed, check=True
        ).stdout
        == b"rsa!"
    )


def test_decrypt_checks_required_context(sealbox_cli: Run) -> None:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    sealed = sealbox_cli(
        "encrypt", "-w", "key=k.json", "-c", "team=a", stdin=b"x", check=True
    ).stdout
    wrong = sealbox_cli("decrypt", "-w", "key=k.json", "-c", "team=b", stdin=sealed)
    assert wrong.returncode == 1 and b"encryption context mismatch" in wrong.stderr
    missing = sealbox_cli("decrypt", "-w", "key=k.json", "-c", "owner", stdin=sealed)
    assert missing.returncode == 1 and b"lacks required keys ['owner']" in missing.stderr


def test_failed_decrypt_leaves_no_output_file(sealbox_cli: Run, tmp_path: Path) -> None:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    sealed = bytearray(
        sealbox_cli("encrypt", "-w", "key=k.json", stdin=os.urandom(50_000), check=True).stdout
    )
    sealed[-200] ^= 1  # inside the last frames: earlier frames verify and were already streamed
    (tmp_path / "sealed").write_bytes(bytes(sealed))
    result = sealbox_cli("decrypt", "-w", "key=k.json", "-i", "sealed", "-o", "plain")
    assert result.returncode == 1
    assert b"did not verify" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json", "sealed"]


def test_usage_errors_exit_2(sealbox_cli: Run) -> None:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    abbreviated = sealbox_cli("encrypt", "--wrapping", "key=k.json", stdin=b"x")
    assert abbreviated.returncode == 2
    assert (
        b"unrecognized arguments: --wrapping key=k.json (did you mean --wrapping-keys?)"
        in abbreviated.stderr
    )
    no_key = sealbox_cli("encrypt", stdin=b"x")
    assert (
        no_key.returncode == 2
        and b"no wrapping key given; add one, e.g. -w key=my.key" in no_key.stderr
    )
    missing_key = sealbox_cli("encrypt", "-w", "provider=raw-aes", "key=nope.json", stdin=b"x")
    assert (
        missing_key.returncode == 2 and b"nope.json: cannot read the key file" in missing_key.stderr
    )
    neither = sealbox_cli("encrypt", "-w", "key=nope.json", stdin=b"x")
    assert neither.returncode == 2 and neither.stderr == (
        b"sealbox: error: key=nope.json: no such key file, and not a KMS key identifier "
        b"(a key ARN, alias/NAME or key id); make a key file with: sealbox keygen -o FILE\n"
    )
    bad_attribute = sealbox_cli("encrypt", "-w", "key=k.json", "colour=blue", stdin=b"x")
    assert (
        bad_attribute.returncode == 2 and b"unknown wrapping key attributes" in bad_attribute.stderr
    )
    again = sealbox_cli("keygen", "-o", "k.json")
    assert again.returncode == 2 and b"already exists" in again.stderr
    not_a_message = sealbox_cli("decrypt", "-w", "key=k.json", stdin=b"hello")
    assert not_a_message.returncode == 1 and not_a_message.stderr == (
        b"sealbox: error: the input is not an AWS Encryption SDK message (it starts with "
        b"0x68, 'h'; a message starts with 0x01 or 0x02); if it is Base64 text, add --decode\n"
    )


def test_inspect_prints_the_header_without_keys(sealbox_cli: Run, tmp_path: Path) -> None:
    sealbox_cli("keygen", "-o", "k.json", "--name", "main-key", check=True)
    sealbox_cli(
        "encrypt",
        "-w",
        "key=k.json",
        "-c",
        "team=a",
        "-o",
        "m.sbx",
        stdin=b"abc" * 3000,
        check=True,
    )
    report = json.loads(sealbox_cli("inspect", "m.sbx", check=True).stdout)
    assert report["authenticated"] is False
    assert report["algorithm"]["id"] == "0x0578"
    assert report["encryption_context"]["team"] == "a"
    assert report["encrypted_data_keys"][0]["raw_aes_key_name"] == "main-key"
    assert report["body"] == {"frames": 3, "plaintext_length": 9000, "signed": True}


def test_base64_output_and_input(sealbox_cli: Run) -> None:
    sealbox_cli("keygen", "-o", "k.json", check=True)
    plaintext = os.urandom(10_001)
    text = sealbox_cli(
        "encrypt", "-w", "key=k.json", "--encode", stdin=plaintext, check=True
    ).stdout
    assert text.startswith(b"Ag") and text.endswith(b"\n") and b"\x00" not in text
    wrapped = b"\n".join(
        text[i : i + 76] for i in range(0, len(text), 76)
    )  # as `base64` would wrap it
    for given in (text, wrapped):
        assert (
            sealbox_cli("decrypt", "-w", "key=k.json", "--decode", stdin=given, check=True).stdout
            == plaintext
        )
        # detected without --decode, since a message in Base64 starts with 'Ag'
        assert (
            sealbox_cli("decrypt", "-w", "key=k.json", stdin=given, check=True).stdout == plaintext
        )
    decoded_twice = sealbox_cli("decrypt", "-w", "key=k.json", "--decode", stdin=b"not base64!")
    assert decoded_twice.returncode == 1 and b"not valid Base64" in decoded_twice.stderr


def test_raw_key_commands_import_neither_boto3_nor_the_server(tmp_path: Path) -> None:
    key = tmp_path / "k.json"
    subprocess.run([sys.executable, "-m", "sealbox", "keygen", "-o", str(key)], check=True)
    for command in (["encrypt", "-w", f"key={key}"], ["keygen", "-o", str(tmp_path / "k2")]):
        code = (
            "import sys; from sealbox.cli import main\n"
            f"status = main({command!r})\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')"
            " or m.startswith('sealbox.server')]\n"
            "print(status, 'sealbox.cli.crypt' in sys.modules, heavy, file=sys.stderr)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], input=b"", capture_output=True, check=True
        )
        status, crypt_loaded, heavy = result.stderr.decode().splitlines()[-1].split(" ", 2)
        assert status == "0" and heavy == "[]"
        assert crypt_loaded == ("True" if command[0] == "encrypt" else "False")
