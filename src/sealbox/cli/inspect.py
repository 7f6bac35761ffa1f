"""``sealbox inspect``: print a message's header as JSON without decrypting anything."""

from __future__ import annotations

import argparse
import base64
import json
import struct
import sys
from pathlib import Path
from typing import Any

from sealbox.errors import ErrorCode, MessageError, UsageError
from sealbox.format.header import EncryptedDataKey, parse_header
from sealbox.format.layout import message_layout

_RAW_AES_TAIL = struct.pack(">II", 128, 12)  # tag bits and IV length after a raw-AES key name


def _printable(raw: bytes) -> str | None:
    return raw.decode() if raw.isascii() and raw.decode().isprintable() else None


def _info(edk: EncryptedDataKey) -> dict[str, Any]:
    info = edk.provider_info
    shown: dict[str, Any] = {"provider_id": edk.provider_id}
    name_end = len(info) - len(_RAW_AES_TAIL) - 12
    if (text := _printable(info)) is not None:
        shown["provider_info"] = text
    elif (
        name_end > 0
        and info[name_end : name_end + 8] == _RAW_AES_TAIL
        and _printable(info[:name_end])
    ):
        shown["raw_aes_key_name"] = info[:name_end].decode()
    else:
        shown["provider_info_base64"] = base64.b64encode(info).decode()
    shown["ciphertext_length"] = len(edk.ciphertext)
    return shown


def describe(data: bytes) -> dict[str, Any]:
    parsed = parse_header(data)
    header = parsed.header
    report: dict[str, Any] = {
        "authenticated": False,
        "warning": "nothing here is verified: inspect reads the header without any key",
        "version": header.version,
        "algorithm": {"id": f"0x{header.algorithm.suite_id:04X}", "name": header.algorithm.name},
        "message_id": header.message_id.hex(),
        "encryption_context": dict(header.encryption_context),
        "encrypted_data_keys": [_info(edk) for edk in header.encrypted_data_keys],
        "content_type": header.content_type.name.lower().replace("_", "-"),
        "frame_length": header.frame_length,
        "header_length": parsed.length,
    }
    try:
        layout = message_layout(data, parsed)
    except MessageError as error:
        report["body"] = {"error": error.code.value, "message": error.message}
    else:
        report["body"] = {
            "frames": layout.frame_count,
            "plaintext_length": layout.content_length,
            "signed": bool(layout.signature),
        }
    return report


def run_inspect(args: argparse.Namespace) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        raise UsageError(
            f"cannot read {args.file}: {error.strerror}", code=ErrorCode.INVALID_SOURCE
        ) from None
    json.dump(describe(data), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
