"""``sealbox encrypt`` and ``sealbox decrypt``: stream a message between files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from typing import BinaryIO

import sealbox
from sealbox._source import Reader
from sealbox.cli.codec import Base64DecodingReader, Base64Encoder, looks_base64
from sealbox.cli.output import atomic_output
from sealbox.cli.wrapping import keyring_from_groups
from sealbox.errors import ErrorCode, SealboxError, UsageError
from sealbox.format.suites import Algorithm, CommitmentPolicy


def _client(args: argparse.Namespace) -> sealbox.EncryptionClient:
    return sealbox.EncryptionClient(
        commitment_policy=CommitmentPolicy(args.commitment_policy),
        max_encrypted_data_keys=args.max_encrypted_data_keys,
    )


def _pairs(groups: Iterable[list[str]], *, bare_keys: bool) -> tuple[dict[str, str], list[str]]:
    context: dict[str, str] = {}
    required: list[str] = []
    for word in (w for group in groups for w in group):
        key, sep, value = word.partition("=")
        if not key:
            raise UsageError(f"encryption context entry {word!r} has no key")
        if not sep:
            if not bare_keys:
                raise UsageError(f"encryption context entry {word!r} is not KEY=VALUE")
            required.append(key)
            continue
        if key in context and context[key] != value:
            raise UsageError(f"encryption context key {key!r} given twice with different values")
        context[key] = value
    return context, required


def _open_input(stack: ExitStack, path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return stack.enter_context(open(path, "rb"))
    except OSError as error:
        raise UsageError(
            f"cannot read input {path}: {error.strerror}", code=ErrorCode.INVALID_SOURCE
        ) from None


def _refuse_terminal(path: str) -> None:
    if path == "-" and sys.stdout.isatty():
        raise UsageError(
            "refusing to write binary data to a terminal; redirect it (> FILE) or use -o FILE"
        )


def _copy(stream: Iterable[bytes], output: str, *, encode: bool = False) -> None:
    if not encode:
        _refuse_terminal(output)
    with atomic_output(output) as sink:
        encoder = Base64Encoder() if encode else None
        for chunk in stream:
            sink.write(encoder.feed(chunk) if encoder else chunk)
        if encoder:
            sink.write(encoder.finish())


def _decoded(source: BinaryIO, *, force: bool) -> Reader | BinaryIO:
    """The message bytes of ``source``: Base64 text is decoded when asked (--decode)
    or when it is unmistakable (a message in Base64 starts with 'AY' or 'Ag')."""
    prefix = source.read(2)
    if force or looks_base64(prefix):
        return Base64DecodingReader(source, prefix)
    return _Prefixed(prefix, source)


class _Prefixed:
    """``source`` with bytes already read put back in front."""

    def __init__(self, prefix: bytes, source: BinaryIO) -> None:
        self._prefix = prefix
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        if not self._prefix:
            return self._source.read(size)
        head, self._prefix = self._prefix, b""
        if size < 0:
            return head + self._source.read()
        return head + self._source.read(max(0, size - len(head)))


def run_encrypt(args: argparse.Namespace) -> int:
    context, _ = _pairs(args.encryption_context, bare_keys=False)
    algorithm = Algorithm.from_name(args.algorithm) if args.algorithm else None
    keyring = keyring_from_groups(args.wrapping_keys)
    with ExitStack() as stack:
        source = _open_input(stack, args.input)
        stream = _client(args).stream(
            mode="encrypt",
            source=source,
            keyring=keyring,
            encryption_context=context,
            algorithm=algorithm,
            frame_length=args.frame_length,
        )
        _copy(stack.enter_context(stream), args.output, encode=args.encode)
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    expected, required_keys = _pairs(args.encryption_context, bare_keys=True)
    keyring = keyring_from_groups(args.wrapping_keys)
    with ExitStack() as stack:
        source = _decoded(_open_input(stack, args.input), force=args.decode)
        stream = _client(args).stream(
            mode="decrypt-unsigned" if args.decrypt_unsigned else "decrypt",
            source=source,
            keyring=keyring,
            encryption_context=expected,
            max_body_length=args.max_length,
        )
        stack.enter_context(stream)
        missing = [k for k in required_keys if k not in stream.header.encryption_context]
        if missing:
            raise SealboxError(
                f"the message's encryption context lacks required keys {missing}",
                code=ErrorCode.ENCRYPTION_CONTEXT_MISMATCH,
            )
        _copy(stream, args.output, encode=args.encode)
    return 0
