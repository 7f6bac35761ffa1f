"""``--metadata-output``: one JSON line per file a command processed.

The fields are those ``aws-encryption-cli`` writes (``mode``, ``input``,
``output``, ``header``), so scripts reading its metadata read ours.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any, TextIO

from sealbox.errors import UsageError
from sealbox.format.header import MessageHeader
from sealbox.format.suites import IV_LENGTH


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def header_record(header: MessageHeader) -> dict[str, Any]:
    record: dict[str, Any] = {
        "version": f"{header.version}.0",
        "algorithm": header.algorithm.name,
        "message_id": _b64(header.message_id),
        "encryption_context": dict(header.encryption_context),
        "encrypted_data_keys": [
            {
                "key_provider": {
                    "provider_id": edk.provider_id,
                    "key_info": _b64(edk.provider_info),
                },
                "encrypted_data_key": _b64(edk.ciphertext),
            }
            for edk in header.encrypted_data_keys
        ],
        "content_type": int(header.content_type),
        "frame_length": header.frame_length,
    }
    if header.version == 1:
        record["type"] = 128
        record["header_iv_length"] = IV_LENGTH
    else:
        record["commitment_key"] = _b64(header.commitment)
    return record


def location_name(location: str, stdio: str) -> str:
    if location == "-":
        return stdio
    return location if location.startswith("s3://") else os.path.abspath(location)


class MetadataWriter:
    """Appends (or, with ``--overwrite-metadata``, first truncates) JSON lines to a file or stdout."""

    def __init__(self, target: str | None, *, overwrite: bool) -> None:
        self._target = target
        self._overwrite = overwrite
        self._stream: TextIO | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self._target is None:
            return
        if self._stream is None:
            if self._target == "-":
                self._stream = sys.stdout
            else:
                try:
                    self._stream = open(
                        self._target, "w" if self._overwrite else "a", encoding="utf-8"
                    )
                except OSError as error:
                    raise UsageError(
                        f"cannot write metadata to {self._target}: {error.strerror}"
                    ) from None
        self._stream.write(json.dumps(record, sort_keys=True) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
