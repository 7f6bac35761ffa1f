"""Issue 13: every documented example runs unchanged apart from the import, against a
Sealbox KMS on 127.0.0.1, through the reference and through ``sealbox.aws_encryption_sdk``;
and what each writes opens with every module (reference <-> ours)."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from tests.aws_sdk import examples_files, examples_kms, examples_readme
from tests.aws_sdk.modules import present_modules, submodule
from tests.server.harness import DEV_ACCOUNT, OTHER_ACCOUNT

pytestmark = pytest.mark.usefixtures("kms_environment")

SECRET = b"Some data to encrypt: " + bytes(range(256)) * 8


def opens_with_every_module(message: bytes, plaintext: bytes, key_ids: list[str]) -> None:
    """``message`` decrypts to ``plaintext`` with a strict KMS provider of each module."""
    for module in present_modules():
        client = module.EncryptionSDKClient(
            commitment_policy=module.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        )
        provider = module.StrictAwsKmsMasterKeyProvider(key_ids=key_ids)
        opened, header = client.decrypt(source=message, key_provider=provider)
        assert opened == plaintext, module.__name__
        assert {edk.key_provider.provider_id for edk in header.encrypted_data_keys} >= {"aws-kms"}


def recording(cls: Any, made: list[Any]) -> None:
    """Have ``cls`` (an example's provider class) remember each instance it makes, so the
    test can rebuild the same keys in the other module."""
    original = cls.__init__

    def init(self: Any, **kwargs: Any) -> None:
        original(self, **kwargs)
        made.append(self)

    cls.__init__ = init


def same_keys_in(module: ModuleType, example: Any, made: Any) -> Any:
    """``module``'s copy of an example's provider, holding the keys ``made`` holds."""
    provider = example(module).StaticRandomMasterKeyProvider()
    provider._static_keys = dict(made._static_keys)
    for key_id in made._static_keys:
        provider.add_master_key(key_id)
    return provider


def test_readme_encrypt_decrypt_in_two_regions(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    keys = [key_arns["east"], key_arns["west"]]
    message = examples_readme.readme_encrypt_decrypt(sdk, keys)
    # FORBID_ENCRYPT_ALLOW_DECRYPT: the README writes a non-committing, signed message
    assert message[0] == 1
    for key in keys:
        opens_with_every_module(message, b"This is some super secret data!  Yup, sure is!", [key])


def test_readme_encryption_context(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    keys = [key_arns["east"], key_arns["west"]]
    message = examples_readme.readme_encryption_context(sdk, keys)
    opens_with_every_module(message, b"This is some super secret data!  Yup, sure is!", keys)
    for module in present_modules():
        allow = module.CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        header = module.EncryptionSDKClient(commitment_policy=allow).decrypt(
            source=message,
            key_provider=module.StrictAwsKmsMasterKeyProvider(key_ids=keys),
        )[1]
        assert header.encryption_context["not really"] == "a secret"


def test_readme_discovery_filter(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    message = examples_kms.cycle_string(sdk, key_arns["west"], SECRET)
    for module in present_modules():
        ours = examples_readme.readme_discovery_provider(module, [DEV_ACCOUNT, "333333333333"])
        assert module.EncryptionSDKClient().decrypt(source=message, key_provider=ours)[0] == SECRET
        # a filter that leaves the key's account out refuses the key (the reference says so
        # with MasterKeyProviderError, not DecryptKeyError)
        theirs = examples_readme.readme_discovery_provider(module, [OTHER_ACCOUNT])
        with pytest.raises(submodule(module, "exceptions").MasterKeyProviderError):
            module.EncryptionSDKClient().decrypt(source=message, key_provider=theirs)


def test_readme_streaming_a_file(
    sdk: ModuleType, key_arns: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the README's relative file names
    plaintext = os.urandom(150_000)  # several frames and several chunks of the iteration
    (tmp_path / "my-secret-data.dat").write_bytes(plaintext)
    keys = [key_arns["east"], key_arns["west"]]
    examples_readme.readme_streaming(sdk, keys)
    assert (tmp_path / "my-decrypted-data.dat").read_bytes() == plaintext
    opens_with_every_module((tmp_path / "my-encrypted-data.ct").read_bytes(), plaintext, keys)


def test_one_kms_cmk_with_a_botocore_session(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    message = examples_kms.one_kms_cmk(
        sdk, key_arns["east"], SECRET, botocore_session=botocore.session.Session()
    )
    assert message[0] == 2  # REQUIRE_ENCRYPT_REQUIRE_DECRYPT: a committing message
    opens_with_every_module(message, SECRET, [key_arns["east"]])


def test_discovery_kms_provider(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    message = examples_kms.discovery_kms_provider(sdk, key_arns["west"], SECRET)
    opens_with_every_module(message, SECRET, [key_arns["west"]])


def test_multiple_kms_cmk(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    keys = [key_arns["east"], key_arns["west"]]
    message = examples_kms.multiple_kms_cmk(sdk, keys, SECRET)
    for key in keys:
        opens_with_every_module(message, SECRET, [key])


def test_cycle_string(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    message = examples_kms.cycle_string(sdk, key_arns["east"], b"")  # the empty string too
    opens_with_every_module(message, b"", [key_arns["east"]])


def test_raw_aes_provider_streaming_a_file(sdk: ModuleType, tmp_path: Path) -> None:
    example = examples_files.raw_aes_file(sdk)
    made: list[Any] = []
    recording(example.StaticRandomMasterKeyProvider, made)
    source = tmp_path / "plain.dat"
    source.write_bytes(os.urandom(20_000))
    ciphertext_filename, _ = example.cycle_file(str(source))
    message = Path(ciphertext_filename).read_bytes()
    assert message[:3] == b"\x02\x04\x78"  # v2, AES_256_GCM_HKDF_SHA512_COMMIT_KEY
    for module in present_modules():
        provider = same_keys_in(module, examples_files.raw_aes_file, made[0])
        client = module.EncryptionSDKClient()
        assert client.decrypt(source=message, key_provider=provider)[0] == source.read_bytes()


def test_kms_and_raw_rsa_providers_streaming_a_file(
    sdk: ModuleType, key_arns: dict[str, str], tmp_path: Path
) -> None:
    example = examples_files.kms_and_raw_rsa_file(sdk)
    made: list[Any] = []
    recording(example.StaticRandomMasterKeyProvider, made)
    source = tmp_path / "plain.dat"
    source.write_bytes(os.urandom(20_000))
    ciphertext_filename, _, _ = example.cycle_file(key_arns["west"], str(source))
    message = Path(ciphertext_filename).read_bytes()
    plaintext = source.read_bytes()
    opens_with_every_module(message, plaintext, [key_arns["west"]])
    for module in present_modules():
        provider = same_keys_in(module, examples_files.kms_and_raw_rsa_file, made[0])
        opened, header = module.EncryptionSDKClient().decrypt(source=message, key_provider=provider)
        assert opened == plaintext
        assert sorted(edk.key_provider.provider_id for edk in header.encrypted_data_keys) == [
            "aws-kms",
            "static-random",
        ]


def test_data_key_caching(sdk: ModuleType, key_arns: dict[str, str]) -> None:
    message = examples_kms.encrypt_with_caching(sdk, key_arns["east"], 60.0, 10)
    opens_with_every_module(message, b"My plaintext data", [key_arns["east"]])
