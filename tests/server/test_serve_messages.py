"""What ``sealbox serve`` says: one line per start-up failure (no traceback), the first-key
hint on an empty store, and its log lines as text or JSON with ISO-8601 UTC timestamps."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.harness import admin, wait_ready

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
ENV.pop("SEALBOX_LOG_FORMAT", None)
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A ``sealbox serve`` expected to fail at start (on a free port unless ``args`` say)."""
    port = () if "--port" in args else ("--port", "0")
    return subprocess.run(
        [sys.executable, "-m", "sealbox", "serve", *port, *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        timeout=60,
    )


def serve_and_stop(*args: str, env: dict[str, str] | None = None, stderr_tty: bool = False) -> str:
    """Start ``sealbox serve``, wait until it answers, SIGTERM it; return its stderr."""
    master = slave = -1
    if stderr_tty:
        master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "sealbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=slave if stderr_tty else subprocess.PIPE,
        text=True,
        env=env or ENV,
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline()
            assert line.startswith("sealbox: serving the KMS API on "), line
            wait_ready(line.split(" on ")[1].split(" with ")[0])
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        if not stderr_tty:
            assert process.stderr is not None
            return process.stderr.read()
    os.close(slave)
    return _read_pty(master).replace("\r\n", "\n")


def _read_pty(master: int) -> str:
    chunks = []
    try:
        while chunk := os.read(master, 65536):
            chunks.append(chunk)
    except OSError:  # EIO: the writer is gone
        pass
    finally:
        os.close(master)
    return b"".join(chunks).decode()


def store_flags(tmp_path: Path) -> tuple[str, ...]:
    return ("--data-dir", str(tmp_path / "data"), "--root-key", str(tmp_path / "root.key"))


# -- one line per start-up failure ---------------------------------------------------


def test_busy_port_is_one_line_and_initializes_nothing(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = serve(*store_flags(tmp_path), "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (
        f"sealbox: error: port {port} is in use — is another sealbox serve running? "
        "use --port (0 picks a free port)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "data").exists()  # the port is checked before the store


def test_missing_tls_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "cert.pem"
    result = serve(*store_flags(tmp_path), "--tls-cert", str(missing), "--tls-key", str(missing))
    assert result.returncode == 1
    assert result.stderr == (
        f"sealbox: error: cannot read --tls-cert {missing}: No such file or directory; "
        "give a readable PEM file\n"
    )


def test_tls_files_that_are_not_pem_are_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    result = serve(*store_flags(tmp_path), "--tls-cert", str(junk), "--tls-key", str(junk))
    assert result.returncode == 1
    assert result.stderr == (
        f"sealbox: error: --tls-cert {junk} and --tls-key {junk} are not a PEM certificate "
        "and its matching private key\n"
    )


def test_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    data_dir = tmp_path / "file" / "data"
    result = serve("--data-dir", str(data_dir), "--root-key", str(tmp_path / "root.key"))
    assert result.returncode == 1
    assert result.stderr == (
        f"sealbox: error: cannot open the store in {data_dir}: Not a directory; "
        "choose a writable directory with --data-dir\n"
    )


def test_unreadable_root_key_is_one_line(tmp_path: Path) -> None:
    root_key = tmp_path / "root.key"
    root_key.write_text("not a key\n")
    root_key.chmod(0o600)
    result = serve("--data-dir", str(tmp_path / "data"), "--root-key", str(root_key))
    assert result.returncode == 1
    assert result.stderr == f"sealbox: error: {root_key} is not a Sealbox root key file\n"


def test_missing_root_key_of_an_existing_store_is_one_line(tmp_path: Path) -> None:
    serve_and_stop(*store_flags(tmp_path))
    (tmp_path / "root.key").unlink()
    result = serve(*store_flags(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (
        f"sealbox: error: root key file {tmp_path / 'root.key'} does not exist\n"
    )


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = serve("--database", "mysql://db/sealbox", *store_flags(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (
        "sealbox: error: --database must be a postgresql:// URL (got mysql:…)\n"
    )


def test_address_not_on_this_machine_is_one_line(tmp_path: Path) -> None:
    result = serve(*store_flags(tmp_path), "--host", "192.0.2.1")  # TEST-NET-1
    assert result.returncode == 1
    assert result.stderr == (
        "sealbox: error: cannot listen on 192.0.2.1: not an address of this machine; use --host\n"
    )


def test_dev_with_database_but_no_data_dir_is_refused() -> None:
    result = serve("--dev", "--database", "postgresql://u@127.0.0.1/db")
    assert result.returncode == 2
    assert result.stderr == (
        "sealbox: error: --dev --database keeps its data in the database: give --data-dir too, "
        "for the development root key and audit checkpoints\n"
    )


# -- the first start ------------------------------------------------------------------


def test_first_start_on_an_empty_store_says_how_to_create_an_access_key(tmp_path: Path) -> None:
    stderr = serve_and_stop(*store_flags(tmp_path))
    hint = (
        "sealbox: the store has no access keys yet, so no one can call it; create the first "
        f"with: sealbox admin --data-dir {tmp_path / 'data'} --root-key {tmp_path / 'root.key'} "
        "create-access-key --account 123456789012 --user admin --admin "
        "(any 12-digit account and user name)"
    )
    assert hint in stderr.splitlines()
    admin(
        "create-access-key",
        "--account",
        "123456789012",
        "--user",
        "admin",
        data_dir=tmp_path / "data",
        root_key=tmp_path / "root.key",
    )
    assert "no access keys" not in serve_and_stop(*store_flags(tmp_path))


# -- log formats ----------------------------------------------------------------------


def _initialized(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "initialized the store" in line)


def _text_line(tmp_path: Path) -> str:
    return (
        rf"{ISO} info    service  initialized the store root_key_id=file:[0-9a-f]{{16}} "
        rf"root_key={re.escape(str(tmp_path / 'root.key'))}"
    )


def _assert_json(line: str, tmp_path: Path) -> None:
    record = json.loads(line)
    assert re.fullmatch(ISO, record.pop("ts"))
    assert record.pop("root_key_id").startswith("file:")
    assert record == {
        "level": "info",
        "logger": "sealbox.service",
        "message": "initialized the store",
        "root_key": str(tmp_path / "root.key"),
    }


def test_logs_are_json_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    _assert_json(_initialized(serve_and_stop(*store_flags(tmp_path))), tmp_path)


def test_logs_are_text_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    line = _initialized(serve_and_stop(*store_flags(tmp_path), stderr_tty=True))
    assert re.fullmatch(_text_line(tmp_path), line), line


@pytest.mark.parametrize("how", ["flag", "environment", "toml"])
def test_log_format_text_chosen_explicitly(tmp_path: Path, how: str) -> None:
    args, env = list(store_flags(tmp_path)), dict(ENV)
    if how == "flag":
        args += ["--log-format", "text"]
    elif how == "environment":
        env["SEALBOX_LOG_FORMAT"] = "text"
    else:
        (tmp_path / "sealbox.toml").write_text('log_format = "text"\n')
        args += ["--config", str(tmp_path / "sealbox.toml")]
    line = _initialized(serve_and_stop(*args, env=env))
    assert re.fullmatch(_text_line(tmp_path), line), line


def test_log_format_json_on_a_terminal(tmp_path: Path) -> None:
    stderr = serve_and_stop(*store_flags(tmp_path), "--log-format", "json", stderr_tty=True)
    _assert_json(_initialized(stderr), tmp_path)


def test_unknown_log_format_in_the_environment_is_one_usage_line(tmp_path: Path) -> None:
    result = serve(*store_flags(tmp_path), env={**ENV, "SEALBOX_LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr == "sealbox: error: --log-format must be text or json, got 'xml'\n"
