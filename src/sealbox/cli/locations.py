"""Where ``-i`` and ``-o`` point, and the list of (input, output) pairs a command works through.

Inputs: ``-`` (stdin), a file, a directory (with ``-r``), a glob pattern, or
``s3://bucket/key``. Outputs: ``-`` (stdout), a file, a directory, or
``s3://bucket/key``. A directory output receives each input under its own
name plus a suffix (``.encrypted`` / ``.decrypted`` unless ``--suffix`` says
otherwise), keeping the input tree's layout when recursing.
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


def is_s3(location: str) -> bool:
    return location.startswith(S3_SCHEME)


def _name_of(source: str) -> str:
    if is_s3(source):
        return source.rstrip("/").rsplit("/", 1)[-1]
    return Path(source).name


def _into_directory(directory: Path, relative: Path, suffix: str) -> str:
    return str(directory / relative.parent / (relative.name + suffix))


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


def plan(source: str, target: str, *, recursive: bool, suffix: str) -> list[Transfer]:
    """The transfers ``-i source -o target`` asks for, checked before any work starts."""
    if source == STDIO or is_s3(source):
        if target != STDIO and not is_s3(target) and Path(target).is_dir():
            if source == STDIO:
                raise UsageError(
                    f"output {target} is a directory; stdin needs an output file name or -"
                )
            return [
                Transfer(
                    source, _into_directory(Path(target), Path(_name_of(source)), suffix), True
                )
            ]
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
    if several or out.is_dir():
        if out.exists() and not out.is_dir():
            raise UsageError(
                f"output {target} is a file, but input {source} names several files; "
                "give a directory as -o"
            )
        transfers = [Transfer(f, _into_directory(out, rel, suffix), True) for f, rel in inputs]
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
