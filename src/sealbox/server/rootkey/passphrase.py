"""A root key derived from a passphrase with scrypt.

``--root-key passphrase:`` asks on the terminal; ``--root-key passphrase:fd=N``
reads one line from file descriptor N (a pipe from a secrets manager, say).
The passphrase never comes from an environment variable or a flag's value.
The scrypt salt is random per store and kept in it; the derived key is bound
to the store by the usual id and check value, so a wrong passphrase leaves the
service sealed.

A process reads the passphrase once (a pipe can be read only once, and a prompt
should not repeat), so ``sealbox serve`` with a passphrase runs one worker.
"""

from __future__ import annotations

import base64
import getpass
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sealbox.server.rootkey.core import AesRootKey, RootKeyError
from sealbox.server.store.repository import Store

SCHEME = "passphrase:"
SALT_META = "root_key_salt"
# scrypt cost: 128 MiB and about half a second here, once per start
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1

_read: dict[str, bytes] = {}  # spec → passphrase, for this process's later opens


def is_passphrase(spec: str) -> bool:
    return spec.startswith(SCHEME)


def _read_passphrase(spec: str) -> bytes:
    source = spec[len(SCHEME) :]
    if source == "":
        try:
            with open("/dev/tty", "rb"):
                pass
        except OSError:
            raise RootKeyError(
                "--root-key passphrase: asks on a terminal and there is none; "
                "use passphrase:fd=N to read it from a file descriptor"
            ) from None
        text = getpass.getpass("Sealbox root key passphrase: ")
        value = text.encode()
    elif source.startswith("fd="):
        try:
            with os.fdopen(int(source[3:]), "rb") as handle:
                value = handle.readline().rstrip(b"\r\n")
        except (ValueError, OSError):
            raise RootKeyError(f"cannot read the passphrase from {spec}") from None
    else:
        raise RootKeyError(f"{spec}: use passphrase: (a terminal prompt) or passphrase:fd=N")
    if len(value) < 12:
        raise RootKeyError("the root key passphrase must have at least 12 characters")
    return value


def passphrase_root_key(spec: str, store: Store, *, create: bool) -> AesRootKey:
    """The key for ``spec`` and this store; ``create`` (a new store only) makes its salt."""
    encoded = store.get_meta(SALT_META)
    if encoded is None:
        if not create:
            raise RootKeyError("this store was not sealed with a passphrase (it has no salt)")
        salt = os.urandom(16)
        with store.write() as connection:
            store.put_meta({SALT_META: base64.b64encode(salt).decode()}, connection)
    else:
        salt = base64.b64decode(encoded)
    if spec not in _read:
        _read[spec] = _read_passphrase(spec)
    kdf = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return AesRootKey(kdf.derive(_read[spec]), kind="passphrase")
