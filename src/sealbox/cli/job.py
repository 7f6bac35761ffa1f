"""What every file of one ``sealbox encrypt`` or ``decrypt`` command shares, built from its flags."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sealbox.api import EncryptionClient
from sealbox.caching import (
    MAX_BYTES_ENCRYPTED,
    MAX_MESSAGES_ENCRYPTED,
    CachingCryptoMaterialsManager,
    LocalCryptoMaterialsCache,
)
from sealbox.cli.locations import STDIO
from sealbox.cli.metadata import MetadataWriter
from sealbox.cli.wrapping import keyring_from_groups
from sealbox.cmm import CryptoMaterialsManager, DefaultCryptoMaterialsManager
from sealbox.errors import UsageError
from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH
from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE
from sealbox.format.suites import Algorithm, CommitmentPolicy
from sealbox.keyrings.base import Keyring

Mode = Literal["encrypt", "decrypt", "decrypt-unsigned"]
Overwrite = Literal["always", "never", "ask"]


@dataclass
class Job:
    """What every file of one command shares."""

    mode: Mode
    client: EncryptionClient
    #: the keyring's default CMM, or a caching CMM in front of it with --caching
    materials_manager: CryptoMaterialsManager
    context: dict[str, str]
    required_keys: list[str]
    metadata: MetadataWriter
    overwrite: Overwrite
    encode: bool
    decode: bool
    buffer: bool
    progress: bool
    algorithm: Algorithm | None = None
    frame_length: int = 4096
    max_length: int | None = DEFAULT_MAX_BODY_LENGTH
    max_header_size: int | None = DEFAULT_MAX_HEADER_SIZE
    #: the -w keys, for S3 encryption client objects (which wrap without a CMM)
    keyring: Keyring | None = None
    commitment_policy: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    caching: bool = False
    #: "esdk" (messages, the default) or "s3ec" (the S3 encryption client format)
    s3_format: str = "esdk"
    s3_instruction_file: bool = False
    s3_legacy: bool = False


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


_CACHING_LIMITS: dict[str, type[int] | type[float]] = {
    "capacity": int,
    "max_age": float,
    "max_messages_encrypted": int,
    "max_bytes_encrypted": int,
}


def _materials_manager(words: list[str] | None, keyring: Keyring) -> CryptoMaterialsManager:
    """The keyring's default CMM, or with ``--caching`` words a caching CMM in front of it."""
    if words is None:
        return DefaultCryptoMaterialsManager(keyring=keyring)
    settings: dict[str, int | float] = {}
    for word in words:
        name, _, value = word.partition("=")
        kind = _CACHING_LIMITS.get(name)
        if kind is None:
            raise UsageError(f"--caching {word}: use {'=N '.join(_CACHING_LIMITS)}=N")
        try:
            settings[name] = kind(value)
        except ValueError:
            raise UsageError(f"--caching {word}: {value!r} is not a number") from None
    missing = [n for n in ("capacity", "max_age") if n not in settings]
    if missing:
        raise UsageError(
            f"--caching needs {' and '.join(f'{n}=' for n in missing)} (e.g. capacity=10 max_age=60)"
        )
    return CachingCryptoMaterialsManager(
        cache=LocalCryptoMaterialsCache(int(settings["capacity"])),
        keyring=keyring,
        max_age=settings["max_age"],
        max_messages_encrypted=int(settings.get("max_messages_encrypted", MAX_MESSAGES_ENCRYPTED)),
        max_bytes_encrypted=int(settings.get("max_bytes_encrypted", MAX_BYTES_ENCRYPTED)),
    )


def build_job(args: argparse.Namespace, mode: Mode) -> Job:
    context, required = _pairs(args.encryption_context, bare_keys=mode != "encrypt")
    keyring = keyring_from_groups(args.wrapping_keys, "encrypt" if mode == "encrypt" else "decrypt")
    if args.metadata_output is not None and args.metadata_output == args.output == STDIO:
        raise UsageError("--metadata-output - and output to stdout would mix; send one to a file")
    overwrite: Overwrite = "never" if args.no_overwrite else "ask" if args.interactive else "always"
    policy = CommitmentPolicy(args.commitment_policy)
    return Job(
        mode=mode,
        client=EncryptionClient(
            commitment_policy=policy,
            max_encrypted_data_keys=args.max_encrypted_data_keys,
        ),
        materials_manager=_materials_manager(args.caching, keyring),
        context=context,
        required_keys=required,
        metadata=MetadataWriter(args.metadata_output, overwrite=args.overwrite_metadata),
        overwrite=overwrite,
        encode=args.encode,
        decode=args.decode,
        buffer=args.buffer,
        progress=not args.quiet,
        algorithm=Algorithm.from_name(args.algorithm) if getattr(args, "algorithm", None) else None,
        frame_length=getattr(args, "frame_length", 4096),
        max_length=getattr(args, "max_length", DEFAULT_MAX_BODY_LENGTH),
        max_header_size=getattr(args, "max_header_size", DEFAULT_MAX_HEADER_SIZE),
        keyring=keyring,
        commitment_policy=policy,
        caching=args.caching is not None,
        s3_format=getattr(args, "s3_format", "esdk"),
        s3_instruction_file=getattr(args, "s3_instruction_file", False),
        s3_legacy=getattr(args, "s3_legacy_unauthenticated", False),
    )
