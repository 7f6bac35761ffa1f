"""The cryptographic metadata stored with an encrypted object, read and written.

spec: s3-encryption/data-format/content-metadata.md and metadata-strategy.md.
Three formats, told apart by their map keys (the ``x-amz-meta-`` prefix is S3's and
never appears here; boto3 strips it):

* V1 (``x-amz-key``): the oldest clients; CBC content, the key wrapped by AES-ECB
  or RSA PKCS#1 v1.5. Legacy: read only when opted in.
* V2 (``x-amz-key-v2``): ``x-amz-cek-alg``, ``x-amz-wrap-alg``, ``x-amz-iv``,
  ``x-amz-matdesc`` (JSON), ``x-amz-tag-len``.
* V3 (``x-amz-c``/``x-amz-3``): the key-committing format with one- and two-letter
  keys; ``x-amz-d`` (commitment) and ``x-amz-i`` (message id) replace the IV,
  ``x-amz-t`` holds a KMS encryption context and ``x-amz-m`` a raw key's
  material description.

The envelope lives in the object's metadata or, on request, in an instruction file
(``KEY.instruction``: the same map as one JSON object). In the V3 format the
content's part (``x-amz-c``, ``x-amz-d``, ``x-amz-i``) stays in the object's
metadata even then, so a re-wrapped key in the instruction file cannot change it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from sealbox.errors import ErrorCode, MalformedMessageError
from sealbox.s3ec.suites import (
    COMMITMENT_LENGTH,
    MESSAGE_ID_LENGTH,
    TAG_LENGTH,
    ContentCipher,
)

INSTRUCTION_SUFFIX = ".instruction"

# V1 and V2 map keys
KEY_V1 = "x-amz-key"
KEY_V2 = "x-amz-key-v2"
IV = "x-amz-iv"
MATDESC = "x-amz-matdesc"
CEK_ALG = "x-amz-cek-alg"
WRAP_ALG = "x-amz-wrap-alg"
TAG_LEN = "x-amz-tag-len"
PLAINTEXT_LENGTH = "x-amz-unencrypted-content-length"
# V3 map keys
CONTENT_CIPHER_V3 = "x-amz-c"
ENCRYPTED_DATA_KEY_V3 = "x-amz-3"
MAT_DESC_V3 = "x-amz-m"
ENCRYPTION_CONTEXT_V3 = "x-amz-t"
WRAP_ALG_V3 = "x-amz-w"
KEY_COMMITMENT_V3 = "x-amz-d"
MESSAGE_ID_V3 = "x-amz-i"
#: What a V3 instruction file may not hold: the object's own metadata keeps these.
V3_OBJECT_ONLY = (CONTENT_CIPHER_V3, KEY_COMMITMENT_V3, MESSAGE_ID_V3)

#: The key every client adds to a ``kms+context`` encryption context.
CEK_ALG_CONTEXT_KEY = "aws:x-amz-cek-alg"


class Wrapping(Enum):
    """How the data key is wrapped: the V2 names (V3 writes the two-digit codes)."""

    KMS_CONTEXT = "kms+context"
    AES_GCM = "AES/GCM"
    RSA_OAEP_SHA1 = "RSA-OAEP-SHA1"
    # legacy: read only with enable_legacy_wrapping_algorithms
    KMS = "kms"
    AES_WRAP = "AESWrap"
    RSA_OAEP_SHA256 = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding"
    #: V1 objects name no wrapping: AES-ECB for a symmetric key, RSA PKCS#1 v1.5 for a key pair
    V1_IMPLIED = "(implied by the V1 format)"

    @property
    def is_legacy(self) -> bool:
        return self not in (Wrapping.KMS_CONTEXT, Wrapping.AES_GCM, Wrapping.RSA_OAEP_SHA1)

    @property
    def uses_kms(self) -> bool:
        return self in (Wrapping.KMS_CONTEXT, Wrapping.KMS)


_V3_WRAP_CODES = {"02": Wrapping.AES_GCM, "12": Wrapping.KMS_CONTEXT, "22": Wrapping.RSA_OAEP_SHA1}
_V3_CODE_OF = {wrapping: code for code, wrapping in _V3_WRAP_CODES.items()}
_V2_WRAPPINGS = {w.value: w for w in Wrapping if w is not Wrapping.V1_IMPLIED}


class FormatVersion(Enum):
    V1 = 1
    V2 = 2
    V3 = 3


@dataclass(frozen=True)
class Envelope:
    """Everything needed to decrypt one object, as its metadata says it."""

    version: FormatVersion
    cipher: ContentCipher
    wrapping: Wrapping
    encrypted_key: bytes
    #: The content IV (V1/V2); empty in V3, whose IV is fixed and key unique per object.
    iv: bytes = b""
    #: A raw key's material description (x-amz-matdesc / x-amz-m).
    material_description: Mapping[str, str] = field(default_factory=dict)
    #: The KMS encryption context the data key is bound to (x-amz-matdesc for kms
    #: wrapping, x-amz-t in V3), the ``aws:x-amz-cek-alg`` entry included.
    kms_context: Mapping[str, str] = field(default_factory=dict)
    plaintext_length: int | None = None
    message_id: bytes = b""
    commitment: bytes = b""

    def metadata(self) -> dict[str, str]:
        """The envelope as the map the other clients write (object metadata or instruction file)."""
        if self.version is FormatVersion.V3:
            return self._v3_metadata()
        if self.version is not FormatVersion.V2:
            raise ValueError("Sealbox writes the V2 and V3 formats only")
        described = self.kms_context if self.wrapping.uses_kms else self.material_description
        found = {
            KEY_V2: _b64(self.encrypted_key),
            IV: _b64(self.iv),
            MATDESC: dump_json_map(described),
            CEK_ALG: self.cipher.value,
            WRAP_ALG: self.wrapping.value,
        }
        if self.cipher is ContentCipher.AES_GCM:
            found[TAG_LEN] = str(TAG_LENGTH * 8)
        if self.plaintext_length is not None:
            found[PLAINTEXT_LENGTH] = str(self.plaintext_length)
        return found

    def _v3_metadata(self) -> dict[str, str]:
        found = {
            CONTENT_CIPHER_V3: self.cipher.value,
            ENCRYPTED_DATA_KEY_V3: _b64(self.encrypted_key),
            WRAP_ALG_V3: _V3_CODE_OF[self.wrapping],
            KEY_COMMITMENT_V3: _b64(self.commitment),
            MESSAGE_ID_V3: _b64(self.message_id),
        }
        if self.wrapping.uses_kms:
            found[ENCRYPTION_CONTEXT_V3] = dump_json_map(self.kms_context)
        elif self.material_description:  # as Java writes it: absent when empty
            found[MAT_DESC_V3] = dump_json_map(self.material_description)
        return found

    def split(self) -> tuple[dict[str, str], dict[str, str]]:
        """(object metadata, instruction file) when the envelope goes to an instruction file."""
        everything = self.metadata()
        kept = V3_OBJECT_ONLY if self.version is FormatVersion.V3 else (PLAINTEXT_LENGTH,)
        stays = {k: everything.pop(k) for k in kept if k in everything}
        return stays, everything


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dump_json_map(values: Mapping[str, str]) -> str:
    """A JSON object every client parses back to the same map; ASCII only (\\u escapes),
    so S3 stores the header as given rather than re-encoding it."""
    return json.dumps(dict(values), separators=(",", ":"), ensure_ascii=True)


def _bad(message: str) -> MalformedMessageError:
    return MalformedMessageError(message, code=ErrorCode.OBJECT_METADATA_INVALID)


def _required(found: Mapping[str, str], name: str) -> str:
    value = found.get(name)
    if value is None:
        raise _bad(f"the object's encryption metadata lacks {name}")
    return value


def _bytes(found: Mapping[str, str], name: str) -> bytes:
    try:
        return base64.b64decode(_required(found, name), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{name} in the object's encryption metadata is not Base64") from None


def _json_map(found: Mapping[str, str], name: str, *, required: bool = True) -> dict[str, str]:
    text = found.get(name)
    if text is None:
        if required:
            raise _bad(f"the object's encryption metadata lacks {name}")
        return {}
    try:
        loaded = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(f"{name} in the object's encryption metadata is not JSON") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise _bad(f"{name} in the object's encryption metadata is not a map of strings")
    return loaded


#: S3 keeps at most 2 KB of user metadata; a longer value did not come from S3's headers.
_HEADER_VALUE_LIMIT = 2048
#: The JSON entries a client may write with non-ASCII text in them.
JSON_ENTRIES = (MATDESC, MAT_DESC_V3, ENCRYPTION_CONTEXT_V3)


def decode_s3_header(value: str) -> str:
    """Undo S3's "double encoding" of a non-ASCII metadata value: S3 reads the UTF-8
    bytes as Latin-1 characters, encodes those as UTF-8 again and answers RFC 2047
    encoded words (``=?UTF-8?B?…?=``). Anything else is returned untouched. Only object
    metadata is so encoded, never an instruction file's content."""
    if not value.startswith("=?") or len(value) > _HEADER_VALUE_LIMIT:
        return value
    from email.errors import HeaderParseError
    from email.header import decode_header

    try:
        decoded = "".join(
            part.decode(charset or "ascii") if isinstance(part, bytes) else part
            for part, charset in decode_header(value)
        )
    except (LookupError, UnicodeDecodeError, ValueError, HeaderParseError):
        return value
    try:
        return decoded.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return decoded


def _plaintext_length(found: Mapping[str, str]) -> int | None:
    text = found.get(PLAINTEXT_LENGTH)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise _bad(f"{PLAINTEXT_LENGTH} is not a byte count: {text[:40]!r}")
    return int(text)


def version_of(found: Mapping[str, str]) -> FormatVersion | None:
    """Which format ``found`` (a metadata map) is in; None if it holds no envelope."""
    present = [
        name for name in (KEY_V1, KEY_V2, ENCRYPTED_DATA_KEY_V3, CONTENT_CIPHER_V3) if name in found
    ]
    if len([k for k in (KEY_V1, KEY_V2, ENCRYPTED_DATA_KEY_V3) if k in present]) > 1:
        raise _bad(
            f"the object's encryption metadata holds several data key entries ({', '.join(present)})"
        )
    if CONTENT_CIPHER_V3 in found or ENCRYPTED_DATA_KEY_V3 in found:
        return FormatVersion.V3
    if KEY_V2 in found:
        return FormatVersion.V2
    if KEY_V1 in found:
        return FormatVersion.V1
    return None


def parse(found: Mapping[str, str]) -> Envelope:
    """The envelope in ``found``: a complete map (object metadata, with the instruction
    file's entries merged in when there is one)."""
    version = version_of(found)
    if version is None:
        raise _bad("the object carries no S3 encryption client metadata")
    if version is FormatVersion.V3:
        return _parse_v3(found)
    if version is FormatVersion.V1:
        return Envelope(
            version=version,
            cipher=ContentCipher.AES_CBC,
            wrapping=Wrapping.V1_IMPLIED,
            encrypted_key=_bytes(found, KEY_V1),
            iv=_bytes(found, IV),
            material_description=_json_map(found, MATDESC, required=False),
            plaintext_length=_plaintext_length(found),
        )
    return _parse_v2(found)


def _cipher(name: str, value: str, allowed: tuple[ContentCipher, ...]) -> ContentCipher:
    for cipher in allowed:
        if cipher.value == value:
            return cipher
    raise _bad(f"unsupported content cipher {name}={value[:60]!r}")


def _parse_v2(found: Mapping[str, str]) -> Envelope:
    cipher = _cipher(
        CEK_ALG,
        found.get(CEK_ALG, ContentCipher.AES_CBC.value),
        (ContentCipher.AES_CBC, ContentCipher.AES_GCM),
    )
    wrap_name = _required(found, WRAP_ALG)
    wrapping = _V2_WRAPPINGS.get(wrap_name)
    if wrapping is None:
        raise _bad(f"unsupported key wrapping {WRAP_ALG}={wrap_name[:60]!r}")
    if cipher is ContentCipher.AES_GCM and found.get(TAG_LEN, "128") != "128":
        raise _bad(f"{TAG_LEN}={found[TAG_LEN][:20]!r}; AES-GCM objects have 128-bit tags")
    described = _json_map(found, MATDESC, required=False)
    return Envelope(
        version=FormatVersion.V2,
        cipher=cipher,
        wrapping=wrapping,
        encrypted_key=_bytes(found, KEY_V2),
        iv=_bytes(found, IV),
        material_description={} if wrapping.uses_kms else described,
        kms_context=described if wrapping.uses_kms else {},
        plaintext_length=_plaintext_length(found),
    )


def _parse_v3(found: Mapping[str, str]) -> Envelope:
    cipher = _cipher(
        CONTENT_CIPHER_V3, _required(found, CONTENT_CIPHER_V3), (ContentCipher.AES_GCM_COMMIT,)
    )
    code = _required(found, WRAP_ALG_V3)
    wrapping = _V3_WRAP_CODES.get(code)
    if wrapping is None:
        raise _bad(f"unsupported key wrapping {WRAP_ALG_V3}={code[:20]!r}")
    message_id = _bytes(found, MESSAGE_ID_V3)
    commitment = _bytes(found, KEY_COMMITMENT_V3)
    lengths = (len(message_id), len(commitment))
    if lengths != (MESSAGE_ID_LENGTH, COMMITMENT_LENGTH):
        raise _bad(
            f"{MESSAGE_ID_V3} and {KEY_COMMITMENT_V3} must each be {MESSAGE_ID_LENGTH} bytes"
        )
    return Envelope(
        version=FormatVersion.V3,
        cipher=cipher,
        wrapping=wrapping,
        encrypted_key=_bytes(found, ENCRYPTED_DATA_KEY_V3),
        material_description=_json_map(found, MAT_DESC_V3, required=False),
        kms_context=_json_map(found, ENCRYPTION_CONTEXT_V3, required=False),
        plaintext_length=_plaintext_length(found),
        message_id=message_id,
        commitment=commitment,
    )


def object_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """An object's metadata as boto3 returns it, keys lowercased and S3's encoding of
    non-ASCII JSON entries undone."""
    found = {k.lower(): v for k, v in metadata.items()}
    for name in JSON_ENTRIES:
        if name in found:
            found[name] = decode_s3_header(found[name])
    return found


def parse_instruction_file(data: bytes, name: str) -> dict[str, str]:
    """An instruction file's map (its whole content is one JSON object of strings)."""
    try:
        loaded = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _bad(f"the instruction file {name} is not a JSON object") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise _bad(f"the instruction file {name} is not a JSON object of strings")
    if any(k in loaded for k in V3_OBJECT_ONLY):
        raise _bad(
            f"the instruction file {name} holds {', '.join(k for k in V3_OBJECT_ONLY if k in loaded)}, "
            "which only the object's own metadata may hold"
        )
    return loaded
