"""Turn ``-w/--wrapping-keys`` groups into keyrings."""

from __future__ import annotations

from pathlib import Path

from sealbox.cli.keyfiles import load_aes_keyring, load_rsa_keyring
from sealbox.errors import UsageError
from sealbox.keyrings import MultiKeyring, PaddingScheme
from sealbox.keyrings.base import Keyring

_PADDINGS = {
    "oaep-sha1": PaddingScheme.OAEP_SHA1_MGF1,
    "oaep-sha256": PaddingScheme.OAEP_SHA256_MGF1,
    "oaep-sha384": PaddingScheme.OAEP_SHA384_MGF1,
    "oaep-sha512": PaddingScheme.OAEP_SHA512_MGF1,
    "pkcs1": PaddingScheme.PKCS1,
}
_SINGLE = ("provider", "namespace", "name", "padding")


def parse_group(words: list[str]) -> dict[str, list[str]]:
    """``["provider=raw-aes", "key=a", "key=b"]`` → ``{"provider": ["raw-aes"], "key": ["a", "b"]}``."""
    group: dict[str, list[str]] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name or not value:
            raise UsageError(f"wrapping key attribute {word!r} is not NAME=VALUE (e.g. key=my.key)")
        group.setdefault(name, []).append(value)
    for name in _SINGLE:
        if len(group.get(name, [])) > 1:
            raise UsageError(f"wrapping key attribute {name}= given twice in one -w group")
    return group


def _keyrings_of(group: dict[str, list[str]]) -> list[Keyring]:
    provider = group.pop("provider", ["raw-aes"])[0]
    keys = group.pop("key", [])
    if not keys:
        raise UsageError("each -w group needs key=FILE")
    namespace = group.pop("namespace", [None])[0]
    name = group.pop("name", [None])[0]
    padding_name = group.pop("padding", ["oaep-sha256"])[0]
    if group:
        raise UsageError(
            f"unknown wrapping key attributes for provider {provider}: {sorted(group)}"
        )
    if provider == "raw-aes":
        return [load_aes_keyring(Path(k), namespace=namespace, name=name) for k in keys]
    if provider == "raw-rsa":
        if padding_name not in _PADDINGS:
            raise UsageError(f"padding={padding_name} is not one of {sorted(_PADDINGS)}")
        return [
            load_rsa_keyring(
                Path(k), namespace=namespace, name=name, padding=_PADDINGS[padding_name]
            )
            for k in keys
        ]
    raise UsageError(f"unknown provider {provider!r}; use provider=raw-aes or provider=raw-rsa")


def keyring_from_groups(groups: list[list[str]]) -> Keyring:
    if not groups:
        raise UsageError(
            "no wrapping key given; add one, e.g. -w key=my.key (make one with: sealbox keygen -o my.key)"
        )
    keyrings = [k for words in groups for k in _keyrings_of(parse_group(words))]
    if len(keyrings) == 1:
        return keyrings[0]
    return MultiKeyring(generator=keyrings[0], children=keyrings[1:])
