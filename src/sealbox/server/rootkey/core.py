"""The root of trust: every key's material and every secret is stored wrapped under it.

A root key wraps with AES-256-GCM, binding each wrapped value to its identity
(key ARN and material id, or access key id, account and user) as associated
data, so a value copied to another row of the store does not unwrap. The store
records the root key's id and a check value; a missing or different root key
leaves the service sealed, and a new one is never created for a store that
already holds keys.

This module holds the file-backed root key (a 0600 file, kept outside the data
directory by default so that a copy of the data alone unwraps nothing).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import stat
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealbox.errors import ErrorCode, SealboxError

FILE_HEADER = "sealbox-root-key-v1"
WRAP_VERSION = b"\x01"
_DOMAIN = b"sealbox/root-wrap/v1\x00"
CHECK_PLAINTEXT = b"sealbox root key check v1"
CHECK_AAD = b"sealbox/root-key-check"


class RootKeyError(SealboxError):
    """The root key is missing, unusable, or does not match the store."""

    default_code = ErrorCode.KMS_ERROR


class UnwrapError(SealboxError):
    """A wrapped value did not unwrap. Deliberately says nothing more."""

    default_code = ErrorCode.KMS_ERROR


class RootKey(Protocol):
    @property
    def key_id(self) -> str: ...

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, aad: bytes) -> bytes: ...


def close_root_key(root_key: object) -> None:
    """Release what a root key holds (a token session); a key in memory holds nothing."""
    close = getattr(root_key, "close", None)
    if close is not None:
        close()


class AesRootKey:
    """A root key held in process memory (from a file or a passphrase)."""

    def __init__(self, key: bytes, *, kind: str) -> None:
        if len(key) != 32:
            raise RootKeyError("a root key is 32 bytes")
        self._aead = AESGCM(key)
        self._key_id = f"{kind}:" + hmac.digest(key, b"sealbox root key id", "sha256")[:8].hex()

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return WRAP_VERSION + nonce + self._aead.encrypt(nonce, plaintext, _DOMAIN + aad)

    def unwrap(self, wrapped: bytes, *, aad: bytes) -> bytes:
        if len(wrapped) < 1 + 12 + 16 or wrapped[:1] != WRAP_VERSION:
            raise UnwrapError("a wrapped value did not unwrap")
        try:
            return self._aead.decrypt(wrapped[1:13], wrapped[13:], _DOMAIN + aad)
        except InvalidTag:
            raise UnwrapError("a wrapped value did not unwrap") from None


def default_root_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sealbox" / "root.key"


def create_root_key_file(path: Path) -> AesRootKey:
    """Write a new random root key to ``path`` (mode 0600; never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RootKeyError(f"{path} already exists; refusing to overwrite a root key") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{FILE_HEADER}\n{base64.b64encode(key).decode()}\n")
        handle.flush()
        os.fsync(handle.fileno())
    return AesRootKey(key, kind="file")


def load_root_key_file(path: Path) -> AesRootKey:
    try:
        mode = path.stat().st_mode
        lines = path.read_text().split()
    except FileNotFoundError:
        raise RootKeyError(f"root key file {path} does not exist") from None
    except OSError as error:
        raise RootKeyError(f"cannot read root key file {path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RootKeyError(
            f"root key file {path} is open to group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        if len(lines) != 2 or lines[0] != FILE_HEADER:
            raise ValueError
        key = base64.b64decode(lines[1], validate=True)
    except (ValueError, binascii.Error):
        raise RootKeyError(f"{path} is not a Sealbox root key file") from None
    return AesRootKey(key, kind="file")
