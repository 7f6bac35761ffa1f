"""Shell completion generated from the parser: bash loads it and completes real words;
zsh and fish scripts are produced (and syntax-checked where those shells exist)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def _script(sealbox_cli: Run, tmp_path: Path, shell: str) -> Path:
    made = sealbox_cli("completion", shell, check=True)
    path = tmp_path / f"sealbox.{shell}"
    path.write_bytes(made.stdout)
    return path


def _bash(script: Path, code: str) -> str:
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"source {script}\n{code}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip


def _complete(script: Path, *words: str) -> list[str]:
    """What bash offers for the last of ``words`` after ``sealbox``."""
    listed = " ".join(f"'{w}'" for w in ("sealbox", *words))
    code = (
        f'COMP_WORDS=({listed}); COMP_CWORD={len(words)}; COMP_LINE="${{COMP_WORDS[*]}}"; '
        'COMP_POINT=${#COMP_LINE}; _shtab_sealbox; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    return sorted(line.strip() for line in _bash(script, code).splitlines() if line.strip())


def test_bash_loads_the_script_and_completes_commands_and_flags(
    sealbox_cli: Run, tmp_path: Path
) -> None:
    script = _script(sealbox_cli, tmp_path, "bash")
    assert (
        _bash(script, "complete -p sealbox")
        == "complete -o bashdefault -F _shtab_sealbox sealbox\n"
    )
    assert _complete(script, "dec") == ["decrypt"]
    assert _complete(script, "decrypt", "--max-h") == ["--max-header-size"]
    assert _complete(script, "admin", "create-") == ["create-access-key"]
    assert _complete(script, "keygen", "--type", "rsa-3") == ["rsa-3072"]


@pytest.mark.parametrize(
    ("shell", "marker"), [("zsh", "#compdef sealbox"), ("fish", "complete -c sealbox")]
)
def test_zsh_and_fish_scripts_are_produced(
    sealbox_cli: Run, tmp_path: Path, shell: str, marker: str
) -> None:
    script = _script(sealbox_cli, tmp_path, shell)
    text = script.read_text()
    assert marker in text and "--wrapping-keys" in text and "create-access-key" in text
    if shutil.which(shell):
        subprocess.run([shell, "-n", str(script)], check=True, timeout=60)


def test_an_unknown_shell_is_a_usage_error(sealbox_cli: Run) -> None:
    result = sealbox_cli("completion", "tcsh")
    assert result.returncode == 2
    assert result.stderr.endswith(
        b"sealbox completion: error: argument shell: invalid choice: 'tcsh' "
        b"(choose from 'bash', 'zsh', 'fish')\n"
    )


def test_only_the_completion_command_imports_shtab(tmp_path: Path) -> None:
    code = (
        "import sys; from sealbox.cli import main\n"
        "main(['--version']); main(['keygen', '-o', 'k.json'])\n"
        "print('shtab' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "False"
