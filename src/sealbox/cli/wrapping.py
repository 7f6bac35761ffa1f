"""Turn ``-w/--wrapping-keys`` groups into keyrings.

Each ``-w`` group is a list of ``NAME=VALUE`` attributes, as in
``aws-encryption-cli``:

* ``provider=aws-kms`` (the default; ``aws-encryption-sdk-cli::aws-kms`` too):
  ``key=`` KMS keys (repeatable), ``region=``, ``profile=``; on decrypt
  ``discovery=true`` with optional ``discovery-account=`` (repeatable) and
  ``discovery-partition=``.
* ``provider=raw-aes key=FILE`` / ``provider=raw-rsa key=PEM [padding=…]``:
  key files made by ``sealbox keygen``; ``namespace=`` and ``name=`` override
  what the file says.

Without ``provider=``, a ``key=`` that names an existing file is a raw key
file (its contents say AES or RSA); anything else is a KMS key.

The first key of the first group generates the data key; every other key
wraps it too. On decrypt any of them may open the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sealbox.errors import ErrorCode, UsageError
from sealbox.keyrings.base import Keyring
from sealbox.keyrings.multi import MultiKeyring

Mode = Literal["encrypt", "decrypt"]

_KMS_PROVIDERS = ("aws-kms", "aws-encryption-sdk-cli::aws-kms")
_RAW_PROVIDERS = ("raw-aes", "raw-rsa")
_SINGLE = (
    "provider",
    "namespace",
    "name",
    "padding",
    "region",
    "profile",
    "discovery",
    "discovery-partition",
)
_KMS_ATTRIBUTES = {"key", "region", "profile", "discovery", "discovery-account"}
_KMS_ATTRIBUTES |= {"discovery-partition", "provider"}
_RAW_ATTRIBUTES = {"key", "namespace", "name", "padding", "provider"}
_KEY_ID = re.compile(
    r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_PADDINGS = ("oaep-sha1", "oaep-sha256", "oaep-sha384", "oaep-sha512", "pkcs1")
_KEY_ARN_FORMAT = "arn:aws:kms:REGION:ACCOUNT:key/ID"


@dataclass
class Group:
    """One ``-w`` group: attribute name → values in the order given."""

    values: dict[str, list[str]]

    def one(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found[0] if found else default

    def many(self, name: str) -> list[str]:
        return self.values.get(name, [])


def parse_group(words: list[str]) -> Group:
    """``["provider=raw-aes", "key=a", "key=b"]`` → ``{"provider": ["raw-aes"], "key": ["a", "b"]}``."""
    values: dict[str, list[str]] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name or not value:
            raise UsageError(
                f"wrapping key attribute {word!r} is not NAME=VALUE (e.g. key=arn:aws:kms:… or "
                "provider=raw-aes key=my.key)"
            )
        values.setdefault(name, []).append(value)
    for name in _SINGLE:
        if len(values.get(name, [])) > 1:
            raise UsageError(f"wrapping key attribute {name}= given twice in one -w group")
    return Group(values)


def looks_like_kms_key(value: str) -> bool:
    return value.startswith(("arn:", "alias/")) or bool(_KEY_ID.match(value))


def _provider_of(group: Group) -> str:
    provider = group.one("provider")
    if provider is not None:
        if provider not in (*_KMS_PROVIDERS, *_RAW_PROVIDERS):
            raise UsageError(
                f"unknown provider {provider!r}; use provider=aws-kms, provider=raw-aes or provider=raw-rsa"
            )
        return "aws-kms" if provider in _KMS_PROVIDERS else provider
    keys = group.many("key")
    files = [k for k in keys if not looks_like_kms_key(k) and Path(k).is_file()]
    if files and len(files) == len(keys):
        return "raw-file"
    if files:
        raise UsageError(
            f"one -w group mixes key files ({', '.join(files)}) and KMS keys; give each its own -w"
        )
    unknown = [k for k in keys if not looks_like_kms_key(k)]
    if unknown:
        raise UsageError(
            f"key={unknown[0]}: no such key file, and not a KMS key identifier (a key ARN, "
            "alias/NAME or key id); make a key file with: sealbox keygen -o FILE",
            code=ErrorCode.INVALID_KEY,
        )
    return "aws-kms"


def _check_attributes(group: Group, allowed: set[str], provider: str) -> None:
    unknown = sorted(set(group.values) - allowed)
    if unknown:
        raise UsageError(f"unknown wrapping key attributes for provider {provider}: {unknown}")


def _raw_keyrings(group: Group, provider: str, mode: Mode) -> list[Keyring]:
    from sealbox.cli.keyfiles import load_key_file

    _check_attributes(group, _RAW_ATTRIBUTES, provider)
    keys = group.many("key")
    if not keys:
        raise UsageError(f"a -w group with provider={provider} needs key=FILE")
    padding = group.one("padding", "oaep-sha256")
    assert padding is not None
    if padding not in _PADDINGS:
        raise UsageError(f"padding={padding} is not one of {list(_PADDINGS)}")
    kind = {"raw-aes": "aes", "raw-rsa": "rsa"}.get(provider)
    return [
        load_key_file(
            Path(k),
            kind=kind,
            namespace=group.one("namespace"),
            name=group.one("name"),
            padding=padding,
            decrypting=mode == "decrypt",
        )
        for k in keys
    ]


def _discovery(group: Group) -> bool:
    value = group.one("discovery", "false")
    assert value is not None
    if value.lower() not in ("true", "false"):
        raise UsageError(f"discovery={value} must be true or false")
    return value.lower() == "true"


def _kms_keyring(group: Group, mode: Mode) -> Keyring:
    from sealbox.keyrings.aws_kms import AwsKmsDiscoveryKeyring, AwsKmsKeyring, DiscoveryFilter
    from sealbox.keyrings.kms_clients import DefaultClientSupplier, parse_key_arn

    _check_attributes(group, _KMS_ATTRIBUTES, "aws-kms")
    keys = group.many("key")
    discovery = _discovery(group)
    accounts, partition = group.many("discovery-account"), group.one("discovery-partition")
    if (accounts or partition) and not discovery:
        raise UsageError("discovery-account= and discovery-partition= need discovery=true")
    if bool(accounts) != bool(partition):
        raise UsageError(
            "give discovery-account= and discovery-partition= together (e.g. "
            "discovery-account=111122223333 discovery-partition=aws), or neither"
        )
    clients = DefaultClientSupplier(profile=group.one("profile"), region=group.one("region"))
    if discovery:
        if mode == "encrypt":
            raise UsageError("discovery=true only decrypts; to encrypt, name a key with key=")
        if keys:
            raise UsageError("give key= or discovery=true in one -w group, not both")
        found = DiscoveryFilter(account_ids=accounts, partition=partition) if partition else None
        return AwsKmsDiscoveryKeyring(discovery_filter=found, client_supplier=clients)
    if not keys:
        raise UsageError(
            "a -w group needs key= (a KMS key, or a key file)"
            + ("" if mode == "encrypt" else ", or discovery=true")
        )
    if mode == "decrypt":
        for key in keys:
            if parse_key_arn(key) is None:
                raise UsageError(
                    f"key={key}: decrypt needs the key ARN ({_KEY_ARN_FORMAT}), because a "
                    "message records key ARNs, not aliases or key ids; or use discovery=true",
                    code=ErrorCode.INVALID_KEY,
                )
        return AwsKmsKeyring(key_ids=keys, client_supplier=clients)
    return AwsKmsKeyring(generator_key_id=keys[0], key_ids=keys[1:], client_supplier=clients)


def _keyrings_of(group: Group, mode: Mode) -> list[Keyring]:
    provider = _provider_of(group)
    if provider == "aws-kms":
        return [_kms_keyring(group, mode)]
    return _raw_keyrings(group, provider, mode)


def keyring_from_groups(groups: list[list[str]], mode: Mode) -> Keyring:
    if not groups:
        raise UsageError(
            "no wrapping key given; add one, e.g. -w key=my.key (make one with: sealbox keygen "
            "-o my.key) or -w key=arn:aws:kms:REGION:ACCOUNT:key/ID"
        )
    keyrings = [k for words in groups for k in _keyrings_of(parse_group(words), mode)]
    if len(keyrings) == 1:
        return keyrings[0]
    if mode == "decrypt":
        return MultiKeyring(children=keyrings)
    return MultiKeyring(generator=keyrings[0], children=keyrings[1:])
