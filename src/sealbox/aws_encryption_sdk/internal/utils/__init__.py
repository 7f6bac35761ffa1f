"""Helpers of the legacy API that its users and master keys call."""

from __future__ import annotations

from typing import Protocol

from sealbox.aws_encryption_sdk.exceptions import InvalidDataKeyError
from sealbox.aws_encryption_sdk.identifiers import AlgorithmSuite


class _HasDataKey(Protocol):
    @property
    def data_key(self) -> bytes: ...


def source_data_key_length_check(source_data_key: _HasDataKey, algorithm: AlgorithmSuite) -> None:
    """Raise InvalidDataKeyError unless the data key fits ``algorithm``, as the reference does."""
    if len(source_data_key.data_key) != algorithm.kdf_input_len:
        raise InvalidDataKeyError(
            f"Invalid Source Data Key length {len(source_data_key.data_key)} for algorithm "
            f"required: {algorithm.kdf_input_len}"
        )
