"""Where ``-i`` and ``-o`` point, and the list of (input, output) pairs a command works through.

Inputs: ``-`` (stdin), a file, a directory (with ``-r``), a glob pattern, or
``s3://bucket/key``. Outputs: ``-`` (stdout), a file, a directory, or
``s3://bucket/key``. A directory output receives each input under its own
name plus a suffix (``.encrypted`` / ``.decrypted`` unless ``--suffix`` says
otherwise), keeping the input tree's layout when recursing. Decrypt without
``--suffix`` instead strips the ``.encrypted`` that encrypt added, when the
name has it (``a.txt.encrypted`` → ``a.txt``). An ``-o`` ending in ``/`` is
always a directory, created if missing, even for a single input.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from sealbox.errors import ErrorCode, UsageError

STDIO = "-"
S3_SCHEME = "s3://"


@dataclass(frozen=True)
class Transfer:
    source: str  # "-", a file path or an s3:// URL
    target: str  # "-", a file path or an s3:// URL
    into_directory: bool = False  # the target's parent directories may be created
    stripped: bool = False  # the target's name is the input's minus the suffix encrypt added


@dataclass(frozen=True)
class Naming:
    """How inputs are named in a directory output: ``strip`` removed if the name ends
    with it (decrypt undoing encrypt's default suffix), else ``suffix`` appended."""

    suffix: str
    strip: str | None = None


def is_s3(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def _name_of(source: str) -> str:
    if is_s3(source):
        return source.rstrip("/").rsplit("/", 1)[-1]
    return Path(source).name


def _into_directory(source: str, directory: Path, relative: Path, naming: Naming) -> Transfer:
    name, strip = relative.name, naming.strip
    if strip and name.endswith(strip) and len(name) > len(strip):
        target = directory / relative.parent / name[: -len(strip)]
        return Transfer(source, str(target), into_directory=True, stripped=True)
    return Transfer(source, str(directory / relative.parent / (name + naming.suffix)), True)


def _names_directory(target: str) -> bool:
    """A trailing slash means a directory, whether or not it exists yet."""
    return target.endswith(("/", os.sep)) or Path(target).is_dir()


def _expand_inputs(pattern: str, recursive: bool) -> list[tuple[str, Path]]:
    """(file, path relative to the directory output) for each input file."""
    path = Path(pattern)
    if path.is_dir():
        if not recursive:
            raise UsageError(f"input {pattern} is a directory; add -r to process the files in it")
        found = sorted(p for p in path.rglob("*") if p.is_file())
        return [(str(p), p.relative_to(path)) for p in found]
    if path.exists():
        return [(pattern, Path(path.name))]
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(os.path.expanduser(pattern)))
        files: list[tuple[str, Path]] = []
        for match in matches:
            if Path(match).is_dir():
                if recursive:
                    files.extend(_expand_inputs(match, recursive))
                continue
            files.append((match, Path(Path(match).name)))
        if files:
            return files
        raise UsageError(f"no file matches {pattern}", code=ErrorCode.INVALID_SOURCE)
    raise UsageError(
        f"cannot read input {pattern}: No such file or directory", code=ErrorCode.INVALID_SOURCE
    )


def plan(source: str, target: str, *, recursive: bool, naming: Naming) -> list[Transfer]:
    """The transfers ``-i source -o target`` asks for, checked before any work starts."""
    if source == STDIO or is_s3(source):
        if target != STDIO and not is_s3(target) and _names_directory(target):
            if source == STDIO:
                raise UsageError(
                    f"output {target} is a directory; stdin needs an output file name or -"
                )
            return [_into_directory(source, Path(target), Path(_name_of(source)), naming)]
        return [Transfer(source, target)]
    inputs = _expand_inputs(source, recursive)
    several = len(inputs) > 1 or Path(source).is_dir()
    if target == STDIO or is_s3(target):
        if several:
            where = "stdout" if target == STDIO else "one S3 object"
            raise UsageError(
                f"input {source} names several files; they cannot all go to {where} "
                "(give a directory as -o)"
            )
        return [Transfer(inputs[0][0], target)]
    out = Path(target)
    if several or _names_directory(target):
        if out.exists() and not out.is_dir():
            why = f"input {source} names several files" if several else f"{target} ends with /"
            raise UsageError(f"output {out} is a file, but {why}; give a directory as -o")
        transfers = [_into_directory(f, out, rel, naming) for f, rel in inputs]
    else:
        transfers = [Transfer(inputs[0][0], target)]
    for transfer in transfers:
        _refuse_same_file(transfer)
    return transfers


def _refuse_same_file(transfer: Transfer) -> None:
    source, target = Path(transfer.source), Path(transfer.target)
    if target.exists() and os.path.samefile(source, target):
        raise UsageError(
            f"input and output are the same file ({transfer.source}); write to another file"
        )
