"""Raw wrapping-key files for the command line.

* AES: a JSON file (mode 0600) holding the key namespace, the key name and the
  key itself, so the name written into messages never depends on a file name.
* RSA: PEM files; the private key (0600) opens what the public key sealed.
  The key name defaults to a fingerprint of the public key, which both halves
  can compute, so encrypting with ``alice.pub.pem`` and decrypting with
  ``alice.pem`` agree without configuration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sealbox.errors import ErrorCode, UsageError
from sealbox.keyrings import PaddingScheme, RawAESKeyring, RawRSAKeyring

DEFAULT_NAMESPACE = "sealbox"
AES_FORMAT = "sealbox-raw-aes-key"


def _fail(path: Path, why: str) -> UsageError:
    return UsageError(f"{path}: {why}", code=ErrorCode.INVALID_KEY)


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600; never overwrite an existing key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(
            f"{path} already exists; choose another file (keys are never overwritten)"
        ) from None
    except OSError as error:
        raise UsageError(
            f"cannot create {path}: {error.strerror}; choose a writable place for the key"
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def new_aes_key_file(path: Path, *, bits: int, name: str | None, namespace: str) -> str:
    name = name or f"aes-{bits}-{secrets.token_hex(6)}"
    document = {
        "format": AES_FORMAT,
        "key_namespace": namespace,
        "key_name": name,
        "key": base64.b64encode(secrets.token_bytes(bits // 8)).decode(),
    }
    write_private(path, (json.dumps(document, indent=2) + "\n").encode())
    return name


def new_rsa_key_files(path: Path, *, bits: int) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_path = path.with_name(path.name + ".pub")
    write_private(path, private)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path.write_bytes(public)
    return public_path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _fail(path, f"cannot read the key file ({error.strerror})") from None


def load_aes_keyring(path: Path, *, namespace: str | None, name: str | None) -> RawAESKeyring:
    raw = _read(path)
    try:
        document = json.loads(raw)
        if document.get("format") != AES_FORMAT:
            raise ValueError
        key = base64.b64decode(document["key"], validate=True)
        file_namespace, file_name = str(document["key_namespace"]), str(document["key_name"])
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise _fail(
            path, "not a Sealbox AES key file (make one with: sealbox keygen -o FILE)"
        ) from None
    return RawAESKeyring(
        key_namespace=namespace or file_namespace, key_name=name or file_name, wrapping_key=key
    )


def rsa_fingerprint_name(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "rsa-" + hashlib.sha256(der).hexdigest()[:16]


def _public_cannot_decrypt(path: Path) -> UsageError:
    private = path.with_suffix("") if path.suffix == ".pub" else Path("PRIVATE_KEY.pem")
    return _fail(
        path,
        "the wrapping key is an RSA public key, which cannot decrypt; decrypting needs the "
        f"private key: give its file with -w key={private}",
    )


def load_rsa_keyring(
    path: Path,
    *,
    namespace: str | None,
    name: str | None,
    padding: PaddingScheme,
    decrypting: bool = False,
) -> RawRSAKeyring:
    pem = _read(path)
    try:
        if b"PRIVATE KEY" in pem:
            private = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError
            # The name only: encryption still uses an explicit public key, never a derived one.
            default_name = rsa_fingerprint_name(private.public_key())
            return RawRSAKeyring(
                key_namespace=namespace or DEFAULT_NAMESPACE,
                key_name=name or default_name,
                padding_scheme=padding,
                private_key=private,
            )
        public = serialization.load_pem_public_key(pem)
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError
    except (ValueError, TypeError):
        raise _fail(path, "not an unencrypted PEM RSA key") from None
    if decrypting:
        raise _public_cannot_decrypt(path)
    return RawRSAKeyring(
        key_namespace=namespace or DEFAULT_NAMESPACE,
        key_name=name or rsa_fingerprint_name(public),
        padding_scheme=padding,
        public_key=public,
    )


_PADDINGS = {
    "oaep-sha1": PaddingScheme.OAEP_SHA1_MGF1,
    "oaep-sha256": PaddingScheme.OAEP_SHA256_MGF1,
    "oaep-sha384": PaddingScheme.OAEP_SHA384_MGF1,
    "oaep-sha512": PaddingScheme.OAEP_SHA512_MGF1,
    "pkcs1": PaddingScheme.PKCS1,
}


def load_key_file(
    path: Path,
    *,
    kind: str | None,
    namespace: str | None,
    name: str | None,
    padding: str,
    decrypting: bool = False,
) -> RawAESKeyring | RawRSAKeyring:
    """A raw keyring from a key file; ``kind`` None: AES or RSA as the file's contents say.
    ``decrypting`` refuses an RSA public key, which could never open a message."""
    if kind is None:
        kind = "rsa" if b"-----BEGIN" in _read(path)[:4096] else "aes"
    if kind == "aes":
        return load_aes_keyring(path, namespace=namespace, name=name)
    return load_rsa_keyring(
        path, namespace=namespace, name=name, padding=_PADDINGS[padding], decrypting=decrypting
    )
