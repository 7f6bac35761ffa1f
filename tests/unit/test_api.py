"""The client API: arguments, sources, defaults, policies and streams."""

from __future__ import annotations

import ast
import importlib
import io
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sealbox
from sealbox.crypto import aead
from sealbox.errors import ErrorCode, SealboxError, UsageError
from sealbox.format.context import PUBLIC_KEY_FIELD
from sealbox.keyrings import MultiKeyring, PaddingScheme, RawAESKeyring, RawRSAKeyring
from tests.interop.reference import rsa_private_pem, rsa_public_pem

KEYRING = RawAESKeyring(key_namespace="api", key_name="k", wrapping_key=bytes(32))
CLIENT = sealbox.EncryptionClient()


def code_of(call: object) -> ErrorCode:
    assert callable(call)
    with pytest.raises(SealboxError) as caught:
        call()
    return caught.value.code


def test_defaults_match_the_reference() -> None:
    _, header = CLIENT.encrypt(source=b"x", keyring=KEYRING)
    assert header.algorithm is sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    assert header.frame_length == 4096
    assert CLIENT.commitment_policy is sealbox.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    assert CLIENT.max_encrypted_data_keys is None
    forbid = sealbox.EncryptionClient(
        commitment_policy=sealbox.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    assert forbid.encrypt(source=b"x", keyring=KEYRING)[1].algorithm.suite_id == 0x0378


def test_str_source_is_refused_with_the_fix() -> None:
    text: Any = "secret.txt"  # deliberately the wrong type
    with pytest.raises(UsageError) as caught:
        CLIENT.encrypt(source=text, keyring=KEYRING)
    assert caught.value.code is ErrorCode.INVALID_SOURCE
    assert "Path" in str(caught.value) and "encode" in str(caught.value)
    assert (
        code_of(lambda: CLIENT.stream(mode="e", source=text, keyring=KEYRING))
        is ErrorCode.INVALID_SOURCE
    )
    text_file: Any = io.StringIO("x")
    with pytest.raises(UsageError) as caught:
        CLIENT.decrypt(source=text_file, keyring=KEYRING)
    assert caught.value.code is ErrorCode.INVALID_SOURCE and "'rb'" in str(caught.value)
    number: Any = 42
    assert (
        code_of(lambda: CLIENT.encrypt(source=number, keyring=KEYRING)) is ErrorCode.INVALID_SOURCE
    )


def test_sources_bytes_like_file_and_path(tmp_path: Path) -> None:
    plaintext = os.urandom(10_000)
    path = tmp_path / "plain"
    path.write_bytes(plaintext)
    results = [
        CLIENT.encrypt(source=source, keyring=KEYRING)[0]
        for source in (
            plaintext,
            bytearray(plaintext),
            memoryview(plaintext),
            io.BytesIO(plaintext),
            path,
        )
    ]
    for message in results:
        assert CLIENT.decrypt(source=message, keyring=KEYRING)[0] == plaintext
    with path.open("rb") as handle:
        assert b"".join(CLIENT.stream(mode="e", source=handle, keyring=KEYRING))[:1] == b"\x02"


@pytest.mark.parametrize("reserved", [PUBLIC_KEY_FIELD, "aws-crypto-anything"])
def test_reserved_context_keys_are_refused(reserved: str) -> None:
    with pytest.raises(UsageError) as caught:
        CLIENT.encrypt(source=b"x", keyring=KEYRING, encryption_context={reserved: "v"})
    assert caught.value.code is ErrorCode.RESERVED_ENCRYPTION_CONTEXT_KEY


def test_context_must_be_text() -> None:
    not_text: Any = {"k": b"v"}
    assert (
        code_of(lambda: CLIENT.encrypt(source=b"x", keyring=KEYRING, encryption_context=not_text))
        is ErrorCode.INVALID_ARGUMENT
    )
    assert (
        code_of(
            lambda: CLIENT.encrypt(source=b"x", keyring=KEYRING, encryption_context={"k": "\ud800"})
        )
        is ErrorCode.INVALID_ARGUMENT
    )
    huge = {"k": "v" * 70_000}
    assert (
        code_of(lambda: CLIENT.encrypt(source=b"x", keyring=KEYRING, encryption_context=huge))
        is ErrorCode.ENCRYPTION_CONTEXT_TOO_LARGE
    )


@pytest.mark.parametrize("frame_length", [0, -1, 2**31, True, 4096.0])
def test_bad_frame_lengths(frame_length: object) -> None:
    with pytest.raises(UsageError) as caught:
        CLIENT.encrypt(source=b"x", keyring=KEYRING, frame_length=frame_length)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.INVALID_FRAME_LENGTH
    if frame_length == 0:
        assert "non-framed" in str(caught.value)


def test_odd_frame_lengths_round_trip() -> None:
    for frame in (1, 16, 100, 4000):
        message, _ = CLIENT.encrypt(source=b"abc" * 50, keyring=KEYRING, frame_length=frame)
        assert CLIENT.decrypt(source=message, keyring=KEYRING)[0] == b"abc" * 50


def test_commitment_policy_on_encrypt() -> None:
    legacy = sealbox.Algorithm.AES_256_GCM_IV12_TAG16_HKDF_SHA256
    with pytest.raises(UsageError) as caught:
        CLIENT.encrypt(source=b"x", keyring=KEYRING, algorithm=legacy)
    assert caught.value.code is ErrorCode.POLICY_FORBIDS_SUITE and "committing suite" in str(
        caught.value
    )
    forbid = sealbox.EncryptionClient(
        commitment_policy=sealbox.CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
    )
    assert (
        code_of(
            lambda: forbid.encrypt(
                source=b"x",
                keyring=KEYRING,
                algorithm=sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
            )
        )
        is ErrorCode.POLICY_FORBIDS_SUITE
    )


def test_decrypt_context_must_be_contained() -> None:
    message, _ = CLIENT.encrypt(
        source=b"data", keyring=KEYRING, encryption_context={"a": "1", "b": "2"}
    )
    assert (
        CLIENT.decrypt(source=message, keyring=KEYRING, encryption_context={"a": "1"})[0] == b"data"
    )
    assert (
        code_of(
            lambda: CLIENT.decrypt(source=message, keyring=KEYRING, encryption_context={"a": "2"})
        )
        is ErrorCode.ENCRYPTION_CONTEXT_MISMATCH
    )
    # A key the message does not store is treated as an authenticate-only pair, so it fails:
    # in the raw-AES keyring's AAD first, or in the header tag for keyrings that do not bind the context.
    with pytest.raises(SealboxError) as caught:
        CLIENT.decrypt(source=message, keyring=KEYRING, encryption_context={"c": "3"})
    assert caught.value.code is ErrorCode.NO_DECRYPTABLE_KEY
    assert "keys the message does not store: ['c']" in str(caught.value)
    rsa = RawRSAKeyring(
        key_namespace="n",
        key_name="r",
        padding_scheme=PaddingScheme.OAEP_SHA256_MGF1,
        public_key=rsa_public_pem(),
        private_key=rsa_private_pem(),
    )
    message, _ = CLIENT.encrypt(source=b"data", keyring=rsa, encryption_context={"a": "1"})
    with pytest.raises(SealboxError) as caught:
        CLIENT.decrypt(source=message, keyring=rsa, encryption_context={"c": "3"})
    assert caught.value.code is ErrorCode.HEADER_AUTH_FAILED
    assert "keys the message does not store: ['c']" in str(caught.value)


def test_required_encryption_context_cmm() -> None:
    cmm = sealbox.RequiredEncryptionContextCMM(
        required_encryption_context_keys=["tenant"], keyring=KEYRING
    )
    context = {"tenant": "acme", "purpose": "test"}
    message, header = CLIENT.encrypt(
        source=b"data", materials_manager=cmm, encryption_context=context
    )
    assert (
        "tenant" not in header.encryption_context and header.encryption_context["purpose"] == "test"
    )
    assert b"acme" not in message
    assert (
        code_of(lambda: CLIENT.encrypt(source=b"x", materials_manager=cmm, encryption_context={}))
        is ErrorCode.ENCRYPTION_CONTEXT_MISMATCH
    )
    assert (
        code_of(lambda: CLIENT.decrypt(source=message, materials_manager=cmm))
        is ErrorCode.ENCRYPTION_CONTEXT_MISMATCH
    )
    # the raw-AES keyring bound the full context, so a wrong value fails the unwrap
    assert (
        code_of(
            lambda: CLIENT.decrypt(
                source=message, materials_manager=cmm, encryption_context={"tenant": "evil"}
            )
        )
        is ErrorCode.NO_DECRYPTABLE_KEY
    )
    plaintext, _ = CLIENT.decrypt(
        source=message, materials_manager=cmm, encryption_context={"tenant": "acme"}
    )
    assert plaintext == b"data"
    # a plain keyring can open it too when the caller supplies the pair
    assert (
        CLIENT.decrypt(source=message, keyring=KEYRING, encryption_context={"tenant": "acme"})[0]
        == b"data"
    )
    streamed = CLIENT.stream(
        mode="d", source=message, keyring=KEYRING, encryption_context={"tenant": "acme"}
    )
    assert streamed.read() == b"data"


def test_keyring_construction_errors() -> None:
    with pytest.raises(UsageError) as caught:
        RawAESKeyring(key_namespace="n", key_name="k", wrapping_key=bytes(20))
    assert caught.value.code is ErrorCode.INVALID_KEY
    with pytest.raises(UsageError, match="reserved"):
        RawAESKeyring(key_namespace="aws-kms", key_name="k", wrapping_key=bytes(32))
    with pytest.raises(UsageError):
        RawRSAKeyring(key_namespace="n", key_name="k", padding_scheme=PaddingScheme.PKCS1)
    with pytest.raises(UsageError) as caught:
        RawRSAKeyring(
            key_namespace="n", key_name="k", padding_scheme=PaddingScheme.PKCS1, public_key=b"junk"
        )
    assert caught.value.code is ErrorCode.INVALID_KEY
    with pytest.raises(UsageError):
        MultiKeyring()
    with pytest.raises(UsageError):
        sealbox.EncryptionClient(max_encrypted_data_keys=0)
    assert code_of(lambda: CLIENT.encrypt(source=b"x")) is ErrorCode.INVALID_ARGUMENT
    mode: Any = "x"
    assert (
        code_of(lambda: CLIENT.stream(mode=mode, source=b"", keyring=KEYRING))
        is ErrorCode.INVALID_ARGUMENT
    )


def test_rsa_keyring_needs_the_right_half() -> None:
    public_only = RawRSAKeyring(
        key_namespace="n",
        key_name="r",
        padding_scheme=PaddingScheme.OAEP_SHA512_MGF1,
        public_key=rsa_public_pem(),
    )
    private_only = RawRSAKeyring(
        key_namespace="n",
        key_name="r",
        padding_scheme=PaddingScheme.OAEP_SHA512_MGF1,
        private_key=rsa_private_pem(),
    )
    message, _ = CLIENT.encrypt(source=b"rsa", keyring=public_only)
    assert CLIENT.decrypt(source=message, keyring=private_only)[0] == b"rsa"
    assert (
        code_of(lambda: CLIENT.encrypt(source=b"x", keyring=private_only))
        is ErrorCode.NO_ENCRYPTION_KEY
    )
    assert (
        code_of(lambda: CLIENT.decrypt(source=message, keyring=public_only))
        is ErrorCode.NO_DECRYPTABLE_KEY
    )


def test_header_has_reference_compatible_names() -> None:
    multi = MultiKeyring(generator=KEYRING, children=[KEYRING])
    _, header = CLIENT.encrypt(source=b"x", keyring=multi, encryption_context={"k": "v"})
    assert isinstance(header.encrypted_data_keys, tuple) and len(header.encrypted_data_keys) == 2
    edk = header.encrypted_data_keys[0]
    assert edk.key_provider.provider_id == "api" and edk.key_provider.key_info.startswith(b"k")
    assert edk.encrypted_data_key == edk.ciphertext
    assert header.encryption_context["k"] == "v"
    with pytest.raises(TypeError):
        header.encryption_context["k"] = "w"  # type: ignore[index]


def test_streams_are_file_like(tmp_path: Path) -> None:
    plaintext = os.urandom(3 * 4096 + 5)
    with CLIENT.stream(mode="encrypt", source=plaintext, keyring=KEYRING) as encrypting:
        header = encrypting.header  # known before any read
        message = encrypting.read()
    assert encrypting.closed
    assert header.frame_length == 4096
    with CLIENT.stream(mode="decrypt", source=io.BytesIO(message), keyring=KEYRING) as decrypting:
        assert decrypting.header.message_id == header.message_id
        chunks = list(decrypting)
    assert b"".join(chunks) == plaintext
    with pytest.raises(SealboxError) as caught:
        decrypting.read()
    assert caught.value.code is ErrorCode.STREAM_STATE


def test_stream_reads_exact_sizes() -> None:
    message, _ = CLIENT.encrypt(source=bytes(10_000), keyring=KEYRING)
    stream = CLIENT.stream(mode="d", source=message, keyring=KEYRING)
    sizes = []
    while chunk := stream.read(3000):
        sizes.append(len(chunk))
    assert sizes == [3000, 3000, 3000, 1000]


def test_non_framed_messages_decrypt_streaming_and_one_shot() -> None:
    from tests.interop.reference import clients_for, ours, reference_algorithm, reference_provider

    algorithm = sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    clients = clients_for(algorithm)
    plaintext = os.urandom(200_000)
    message, _ = clients.reference.encrypt(
        source=plaintext,
        key_provider=reference_provider("aes"),
        algorithm=reference_algorithm(algorithm),
        frame_length=0,
    )
    assert clients.ours.decrypt(source=message, keyring=ours("aes"))[0] == plaintext
    stream = clients.ours.stream(mode="d", source=message, keyring=ours("aes"))
    assert stream.header.content_type is sealbox.ContentType.NON_FRAMED
    assert b"".join(stream) == plaintext


def test_inputs_above_the_one_shot_aead_limit_use_the_incremental_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frames above pyca's 2 GiB one-shot limit take another code path; shrink the limit to test it."""
    monkeypatch.setattr(aead, "ONE_SHOT_LIMIT", 100)
    monkeypatch.setattr(aead, "_STREAM_STEP", 64)
    plaintext = os.urandom(1000)
    message, _ = CLIENT.encrypt(source=plaintext, keyring=KEYRING, frame_length=300)
    assert CLIENT.decrypt(source=message, keyring=KEYRING)[0] == plaintext
    tampered = bytearray(message)
    tampered[-120] ^= 1
    assert code_of(lambda: CLIENT.decrypt(source=bytes(tampered), keyring=KEYRING)) in (
        ErrorCode.FRAME_AUTH_FAILED,
        ErrorCode.SIGNATURE_INVALID,
    )
    monkeypatch.undo()
    assert CLIENT.decrypt(source=message, keyring=KEYRING)[0] == plaintext


def test_exported_names() -> None:
    package: ModuleType = sealbox  # __all__ is built at run time: type checkers do not see it
    public = sorted(name for name in dir(sealbox) if not name.startswith("_") and name[0].isupper())
    assert sorted(n for n in package.__all__ if n[0].isupper()) == public
    # The names type checkers see (the TYPE_CHECKING block) are those served at run time,
    # each the object of the same home module.
    tree = ast.parse(Path(sealbox.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If))
    homes = {
        str(alias.asname): str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert sorted(package.__all__) == sorted([*homes, "__version__"])
    for name, home in homes.items():
        assert getattr(sealbox, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError):
        _ = sealbox.NoSuchThing


def test_stream_refuses_options_of_the_other_mode() -> None:
    with pytest.raises(UsageError, match="algorithm"):
        CLIENT.stream(
            mode="d",
            source=b"",
            keyring=KEYRING,
            algorithm=sealbox.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
        )
    with pytest.raises(UsageError, match="frame_length"):
        CLIENT.stream(mode="decrypt", source=b"", keyring=KEYRING, frame_length=128)
    with pytest.raises(UsageError, match="max_body_length"):
        CLIENT.stream(mode="e", source=b"", keyring=KEYRING, max_body_length=10)
