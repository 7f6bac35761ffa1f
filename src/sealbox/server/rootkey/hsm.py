"""A root key inside a PKCS#11 token (an HSM; SoftHSM2 in tests).

``--root-key 'pkcs11:token=sealbox;object=sealbox-root'`` names the token and
the AES-256 key (RFC 7512). The module path and the PIN come from the URI's
query (``?module-path=/usr/lib/…/libsofthsm2.so&pin-source=file:/etc/sealbox/hsm.pin``)
or the configuration file (``[pkcs11] module = …``, ``pin_file = …``) — never
from an environment variable.

The key is generated inside the token, sensitive and not extractable, when a
new store is initialized; every wrap and unwrap is an AES-GCM operation in the
token. Whatever goes wrong with the token (missing, wrong PIN, key absent,
module unloadable) is one generic error: the service stays sealed and the
message reveals nothing about the token. There is no fallback to a software key.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sealbox.server.rootkey.core import WRAP_VERSION, RootKeyError, UnwrapError

SCHEME = "pkcs11:"
_DOMAIN = b"sealbox/root-wrap/v1\x00"  # the same domain separation as the file root key
UNAVAILABLE = (
    "the PKCS#11 root key is unavailable (check the token label, the key label, the module "
    "path and the PIN)"
)


@dataclass(frozen=True)
class Pkcs11Uri:
    token: str
    object: str
    module_path: str | None = None
    pin_file: str | None = None


def parse_pkcs11_uri(uri: str) -> Pkcs11Uri:
    """``pkcs11:token=T;object=K[?module-path=M&pin-source=file:P]``."""
    if not uri.startswith(SCHEME):
        raise RootKeyError(f"not a PKCS#11 URI: {uri}")
    path, _, query = uri[len(SCHEME) :].partition("?")
    attributes = {}
    for part in filter(None, path.split(";")):
        name, sep, value = part.partition("=")
        if not sep:
            raise RootKeyError(f"PKCS#11 URI attribute {part!r} is not NAME=VALUE")
        attributes[name] = unquote(value)
    options = {}
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        options[name] = unquote(value)
    if "token" not in attributes or "object" not in attributes:
        raise RootKeyError(
            "a PKCS#11 root key URI names its token and key: pkcs11:token=LABEL;object=LABEL"
        )
    pin_source = options.get("pin-source")
    if pin_source is not None and not pin_source.startswith("file:"):
        raise RootKeyError("pin-source must be file:PATH (a PIN file, mode 0600)")
    return Pkcs11Uri(
        token=attributes["token"],
        object=attributes["object"],
        module_path=options.get("module-path"),
        pin_file=pin_source[len("file:") :] if pin_source else None,
    )


def _read_pin(path: str) -> str:
    try:
        pin = Path(path).read_text().strip()
    except OSError:
        raise RootKeyError(UNAVAILABLE) from None
    if not pin:
        raise RootKeyError(UNAVAILABLE)
    return pin


# A token allows one login per process: keys of one token (the old and the new root key
# during a rotation) share its session, which closes with the last of them.
_sessions: dict[tuple[str, str], list[Any]] = {}  # (module, token) → [session, users]
_sessions_lock = threading.Lock()


def _release(where: tuple[str, str]) -> None:
    with _sessions_lock:
        entry = _sessions.get(where)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del _sessions[where]
            with contextlib.suppress(Exception):
                entry[0].close()


class Pkcs11RootKey:
    """The RootKey interface over a key that never leaves the token."""

    def __init__(self, session: Any, key: Any, uri: Pkcs11Uri, where: tuple[str, str]) -> None:
        self._where = where
        self._session = session
        self._key = key
        self._lock = threading.Lock()  # one session: one operation at a time
        self._key_id = f"pkcs11:{uri.token}/{uri.object}"

    @property
    def key_id(self) -> str:
        return self._key_id

    def close(self) -> None:
        """End the session (and with the last session, the token login)."""
        with self._lock:
            if self._session is not None:
                self._session = None
                _release(self._where)

    def _params(self, nonce: bytes, aad: bytes) -> tuple[Any, Any]:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        return Mechanism.AES_GCM, GCMParams(nonce, _DOMAIN + aad, 128)

    def wrap(self, plaintext: bytes, *, aad: bytes) -> bytes:
        from pkcs11.exceptions import PKCS11Error

        nonce = os.urandom(12)
        mechanism, params = self._params(nonce, aad)
        try:
            with self._lock:
                sealed = self._key.encrypt(plaintext, mechanism=mechanism, mechanism_param=params)
        except PKCS11Error:
            raise RootKeyError(UNAVAILABLE) from None
        return WRAP_VERSION + nonce + bytes(sealed)

    def unwrap(self, wrapped: bytes, *, aad: bytes) -> bytes:
        from pkcs11.exceptions import PKCS11Error

        if len(wrapped) < 1 + 12 + 16 or wrapped[:1] != WRAP_VERSION:
            raise UnwrapError("a wrapped value did not unwrap")
        mechanism, params = self._params(wrapped[1:13], aad)
        try:
            with self._lock:
                opened = self._key.decrypt(
                    wrapped[13:], mechanism=mechanism, mechanism_param=params
                )
        except PKCS11Error:
            raise UnwrapError("a wrapped value did not unwrap") from None
        return bytes(opened)


def open_pkcs11_root_key(
    uri_text: str, *, module: str | None, pin_file: str | None, create: bool
) -> Pkcs11RootKey:
    """Open the token and find the key; with ``create`` (a new store only) generate it
    inside the token if it is absent."""
    uri = parse_pkcs11_uri(uri_text)
    module_path = uri.module_path or module
    pin_path = uri.pin_file or pin_file
    if not module_path or not pin_path:
        raise RootKeyError(
            "a PKCS#11 root key needs the module path and a PIN file: "
            "?module-path=…&pin-source=file:… in the URI, or [pkcs11] module and pin_file "
            "in the configuration file"
        )
    try:
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.exceptions import NoSuchKey, PKCS11Error
    except ImportError:
        raise RootKeyError(
            "PKCS#11 root keys need python-pkcs11: pip install 'sealbox[hsm]'"
        ) from None
    pin = _read_pin(pin_path)
    where = (module_path, uri.token)
    try:
        with _sessions_lock:
            entry = _sessions.get(where)
            if entry is None:
                token = pkcs11.lib(module_path).get_token(token_label=uri.token)
                entry = _sessions[where] = [token.open(user_pin=pin, rw=True), 0]
            entry[1] += 1
        session = entry[0]
        try:
            key = session.get_key(
                label=uri.object, key_type=KeyType.AES, object_class=ObjectClass.SECRET_KEY
            )
        except NoSuchKey:
            if not create:
                raise
            key = session.generate_key(
                KeyType.AES,
                256,
                label=uri.object,
                store=True,
                template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
            )
    except (PKCS11Error, RuntimeError, OSError):
        if where in _sessions:
            _release(where)
        raise RootKeyError(UNAVAILABLE) from None
    return Pkcs11RootKey(session, key, uri, where)
