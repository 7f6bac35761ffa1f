"""Sealbox: envelope encryption you can run yourself.

The library reads and writes AWS Encryption SDK messages (both format
versions, all 11 algorithm suites)::

    import sealbox
    from sealbox.keyrings import RawAESKeyring

    keyring = RawAESKeyring(key_namespace="my-app", key_name="key-1", wrapping_key=key32)
    client = sealbox.EncryptionClient()
    ciphertext, header = client.encrypt(source=b"secret", keyring=keyring,
                                        encryption_context={"purpose": "demo"})
    plaintext, header = client.decrypt(source=ciphertext, keyring=keyring)

Names are imported on first use, so ``import sealbox`` (and ``sealbox --version``)
stays cheap.
"""

from __future__ import annotations

from sealbox._version import __version__ as __version__

# The public names are listed once, in the block below: type checkers read it
# as explicit re-exports. At run time it is skipped, since running it would
# import every module (and the cryptography package) at ``import sealbox``;
# ``_homes`` reads the same lines from this file instead, and each name is
# imported from its home module on first use.
TYPE_CHECKING = False  # (importing typing would cost start-up time)
if TYPE_CHECKING:  # one line per name, as _homes reads them
    from sealbox.api import EncryptionClient as EncryptionClient
    from sealbox.caching import CachingCryptoMaterialsManager as CachingCryptoMaterialsManager
    from sealbox.caching import LocalCryptoMaterialsCache as LocalCryptoMaterialsCache
    from sealbox.cmm import CryptoMaterialsManager as CryptoMaterialsManager
    from sealbox.cmm import DecryptionMaterialsRequest as DecryptionMaterialsRequest
    from sealbox.cmm import DefaultCryptoMaterialsManager as DefaultCryptoMaterialsManager
    from sealbox.cmm import EncryptionMaterialsRequest as EncryptionMaterialsRequest
    from sealbox.cmm import RequiredEncryptionContextCMM as RequiredEncryptionContextCMM
    from sealbox.errors import ErrorCode as ErrorCode
    from sealbox.errors import SealboxError as SealboxError
    from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH as DEFAULT_MAX_BODY_LENGTH
    from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE as DEFAULT_MAX_HEADER_SIZE
    from sealbox.format.header import EncryptedDataKey as EncryptedDataKey
    from sealbox.format.header import MessageHeader as MessageHeader
    from sealbox.format.suites import Algorithm as Algorithm
    from sealbox.format.suites import CommitmentPolicy as CommitmentPolicy
    from sealbox.format.suites import ContentType as ContentType
    from sealbox.materials import DecryptionMaterials as DecryptionMaterials
    from sealbox.materials import EncryptionMaterials as EncryptionMaterials
    from sealbox.streaming import StreamDecryptor as StreamDecryptor
    from sealbox.streaming import StreamEncryptor as StreamEncryptor
del TYPE_CHECKING

_SUBMODULES = ("caching", "keyrings", "errors", "testing")
_HOMES: dict[str, str] | None = None


def _homes() -> dict[str, str]:
    """Each public name's home module, read once from the block above (with str methods
    only: this file is the package's own source, present wherever it is installed)."""
    global _HOMES
    if _HOMES is None:
        homes = {}
        with open(__file__, encoding="utf-8") as source:
            for line in source:
                words = line.split()  # from HOME import NAME as NAME
                if line.startswith("    from sealbox.") and words[2::2] == ["import", "as"]:
                    homes[words[5]] = words[1]
        _HOMES = homes  # whole, so that another thread never sees half of it
    return _HOMES


def __getattr__(name: str) -> object:
    """A public name (imported from its home on first use), ``__all__``, or a submodule."""
    from importlib import import_module

    homes = _homes()
    if name in homes:
        value: object = getattr(import_module(homes[name]), name)
    elif name == "__all__":
        value = [*homes, "__version__"]
    elif name in _SUBMODULES:
        return import_module(f"sealbox.{name}")
    else:
        raise AttributeError(f"module 'sealbox' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_homes(), "__all__"})
