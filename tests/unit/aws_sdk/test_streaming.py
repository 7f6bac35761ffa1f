"""The streaming classes behave as the reference's file-like objects do."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.aws_sdk.helpers import REFERENCE, SDKS, SEALBOX, header_summary, raw_provider

KEYS = {b"stream-key": ("aes", os.urandom(32))}
DATA = os.urandom(3 * 8192 + 1000)


def provider(sdk: ModuleType) -> Any:
    return raw_provider(sdk, KEYS)


def client(sdk: ModuleType) -> Any:
    return sdk.EncryptionSDKClient()


@pytest.fixture(params=list(SDKS))
def sdk(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = SDKS[request.param]
    return module


def encrypted(frame_length: int = 4096) -> bytes:
    ciphertext, _ = client(SEALBOX).encrypt(
        source=DATA, key_provider=provider(SEALBOX), frame_length=frame_length
    )
    assert isinstance(ciphertext, bytes)
    return ciphertext


@pytest.mark.parametrize("mode", ["d", "decrypt", "D", "decrypt-unsigned"])
def test_iteration_yields_line_length_chunks_like_the_reference(sdk: ModuleType, mode: str) -> None:
    ciphertext, _ = client(SEALBOX).encrypt(
        source=DATA,
        key_provider=provider(SEALBOX),
        algorithm=SEALBOX.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
    )
    with client(sdk).stream(
        mode=mode, source=io.BytesIO(ciphertext), key_provider=provider(sdk)
    ) as stream:
        chunks = list(stream)
        assert stream.tell() == len(DATA)
    assert [len(chunk) for chunk in chunks] == [8192, 8192, 8192, 1000]
    assert b"".join(chunks) == DATA


@pytest.mark.parametrize("size", [1, 7, 100, 4096, 5000, 8192, 1 << 20])
def test_reads_of_any_size_return_exactly_that_much(sdk: ModuleType, size: int) -> None:
    stream = client(sdk).stream(
        mode="d", source=io.BytesIO(encrypted()), key_provider=provider(sdk)
    )
    pieces: list[bytes] = []
    with stream:
        while piece := stream.read(size):
            assert len(piece) == size or len(piece) == len(DATA) - len(b"".join(pieces))
            pieces.append(piece)
    assert b"".join(pieces) == DATA
    assert stream.closed


def test_an_encrypting_stream_yields_a_message_both_read(sdk: ModuleType) -> None:
    with client(SEALBOX).stream(
        mode="e", source=io.BytesIO(DATA), key_provider=provider(SEALBOX), frame_length=1024
    ) as encryptor:
        header = encryptor.header  # available before any read
        lines = encryptor.readlines()
        assert encryptor.tell() == sum(map(len, lines))
    assert all(len(line) == 8192 for line in lines[:-1])
    ciphertext = b"".join(lines)
    plaintext, read_header = client(sdk).decrypt(source=ciphertext, key_provider=provider(sdk))
    assert plaintext == DATA
    assert header_summary(read_header) == header_summary(header)
    assert header.frame_length == 1024


def test_readline_and_read_mix(sdk: ModuleType) -> None:
    with client(sdk).stream(
        mode="d", source=io.BytesIO(encrypted()), key_provider=provider(sdk)
    ) as stream:
        first = stream.readline()
        second = stream.read(10)
        rest = stream.read()
    assert (len(first), len(second)) == (8192, 10)
    assert first + second + rest == DATA


def test_the_header_is_the_references_shape(sdk: ModuleType) -> None:
    stream = client(sdk).stream(
        mode="d", source=io.BytesIO(encrypted()), key_provider=provider(sdk)
    )
    with stream:
        header = stream.header
        assert header.algorithm is sdk.Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
        assert header.version is sdk.identifiers.SerializationVersion.V2
        assert header.content_type is sdk.identifiers.ContentType.FRAMED_DATA
        assert isinstance(header.encrypted_data_keys, set)
        assert stream.read() == DATA


def test_closing_a_decryptor_before_the_end_raises_and_exit_logs(
    sdk: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    stream = client(sdk).stream(
        mode="d", source=io.BytesIO(encrypted()), key_provider=provider(sdk)
    )
    stream.read(10)
    with pytest.raises(sdk.exceptions.SerializationError, match="Footer not read"):
        stream.close()
    with (
        caplog.at_level(logging.ERROR),
        client(sdk).stream(
            mode="d", source=io.BytesIO(encrypted()), key_provider=provider(sdk)
        ) as early,
    ):
        early.read(10)
    assert "Error on closing" in caplog.text


def test_a_closed_stream_reads_nothing_more(sdk: ModuleType) -> None:
    stream = client(sdk).stream(mode="e", source=io.BytesIO(DATA), key_provider=provider(sdk))
    stream.close()
    with pytest.raises(ValueError, match="closed file"):
        stream.read()
    assert list(stream) == []
    assert not stream.readable()


def test_file_sources_and_targets(tmp_path: Path) -> None:
    plain, sealed = tmp_path / "plain", tmp_path / "sealed"
    plain.write_bytes(DATA)
    sdk_client, key_provider = client(SEALBOX), provider(SEALBOX)
    with plain.open("rb") as source, sealed.open("wb") as target:
        with sdk_client.stream(mode="e", source=source, key_provider=key_provider) as encryptor:
            for chunk in encryptor:
                target.write(chunk)
    with sealed.open("rb") as source:
        assert client(REFERENCE).decrypt(source=source, key_provider=provider(REFERENCE))[0] == DATA


def test_a_source_length_given_with_a_manager_is_enforced(sdk: ModuleType) -> None:
    """The reference refuses more plaintext than a manager was promised (not so for providers)."""
    manager = sdk.DefaultCryptoMaterialsManager(provider(sdk))
    with pytest.raises(sdk.exceptions.CustomMaximumValueExceeded):
        with client(sdk).stream(
            mode="e", source=io.BytesIO(DATA), materials_manager=manager, source_length=100
        ) as stream:
            stream.read()
    with pytest.raises(sdk.exceptions.CustomMaximumValueExceeded):
        client(sdk).encrypt(source=DATA, materials_manager=manager, source_length=100)
    ciphertext, _ = client(sdk).encrypt(source=DATA, key_provider=provider(sdk), source_length=100)
    assert client(SEALBOX).decrypt(source=ciphertext, key_provider=provider(SEALBOX))[0] == DATA


def test_stream_length(sdk: ModuleType) -> None:
    with client(sdk).stream(
        mode="e", source=io.BytesIO(DATA), key_provider=provider(sdk)
    ) as stream:
        assert stream.stream_length == len(DATA)
        stream.read()


def test_configs_and_direct_construction() -> None:
    config = SEALBOX.EncryptorConfig(
        source=DATA,
        commitment_policy=SEALBOX.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        key_provider=provider(SEALBOX),
        frame_length=256,
    )
    assert isinstance(config.materials_manager, SEALBOX.DefaultCryptoMaterialsManager)
    with SEALBOX.StreamEncryptor(config=config) as encryptor:
        ciphertext = encryptor.read()
    with SEALBOX.StreamDecryptor(
        source=ciphertext,
        commitment_policy=SEALBOX.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
        key_provider=provider(SEALBOX),
        max_body_length=256,
    ) as decryptor:
        assert decryptor.read() == DATA
        assert decryptor.header.frame_length == 256


def test_unseekable_streams_are_not_supported_for_writes(sdk: ModuleType) -> None:
    with client(sdk).stream(mode="e", source=DATA, key_provider=provider(sdk)) as stream:
        assert not stream.writable()
        with pytest.raises(NotImplementedError):
            stream.write(b"x")
        with pytest.raises(NotImplementedError):
            stream.seek(0)
        stream.read()
