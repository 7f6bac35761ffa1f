"""str/bytes normalisation, as the reference applies it to key ids and provider ids (UTF-8)."""

from __future__ import annotations


def to_str(data: str | bytes) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def to_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data
