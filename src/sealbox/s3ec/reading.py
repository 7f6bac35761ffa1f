"""Reading an object: where its envelope is, whether the client's policies allow it,
and which of the client's keys unwraps its data key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sealbox.errors import (
    ErrorCode,
    MalformedMessageError,
    NoDecryptableKeyError,
    PolicyError,
    SealboxError,
    UsageError,
)
from sealbox.format.suites import CommitmentPolicy
from sealbox.s3ec.envelope import (
    ENCRYPTED_DATA_KEY_V3,
    Envelope,
    FormatVersion,
    object_metadata,
    parse,
    parse_instruction_file,
    version_of,
)
from sealbox.s3ec.suites import ContentCipher, policy_allows_reading
from sealbox.s3ec.wrapping import KeyWrapper

#: An instruction file is a small JSON object; refuse to read more than this of one.
_INSTRUCTION_FILE_LIMIT = 1 << 20


def find_envelope(
    s3: Any,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
    suffix: str,
    selectors: Mapping[str, Any],
) -> Envelope:
    """The object's envelope, from its metadata or its instruction file (read with the
    caller's ``selectors``: SSE-C key, requester-pays, expected owner)."""
    found = object_metadata(metadata)
    version = version_of(found)
    if version is not None and not needs_instruction_file(found):
        return parse(found)
    import botocore.exceptions

    name = key + suffix
    try:
        answer = s3.get_object(Bucket=bucket, Key=name, **selectors)
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("NoSuchKey", "404", "AccessDenied", "403"):
            raise
        # Without s3:ListBucket S3 answers AccessDenied for a missing object too.
        why = "there is no" if code in ("NoSuchKey", "404") else "S3 denied access to its"
        raise MalformedMessageError(
            f"s3://{bucket}/{key} is not an object an S3 encryption client wrote: its "
            f"metadata holds no encryption envelope and {why} instruction file {name}",
            code=ErrorCode.OBJECT_METADATA_INVALID,
        ) from None
    with answer["Body"] as body:
        content = body.read(_INSTRUCTION_FILE_LIMIT + 1)
    if len(content) > _INSTRUCTION_FILE_LIMIT:
        raise MalformedMessageError(
            f"the instruction file {name} is larger than {_INSTRUCTION_FILE_LIMIT} bytes",
            code=ErrorCode.OBJECT_METADATA_INVALID,
        )
    return parse({**found, **parse_instruction_file(content, name)})


def needs_instruction_file(found: Mapping[str, str]) -> bool:
    """A V3 object whose key lives in its instruction file keeps only x-amz-c/d/i."""
    return version_of(found) is FormatVersion.V3 and ENCRYPTED_DATA_KEY_V3 not in found


def check_read_policy(
    envelope: Envelope, policy: CommitmentPolicy, *, legacy_content: bool
) -> None:
    """Refuse, before any key is used, what the client's settings do not read."""
    if envelope.cipher.is_legacy and not legacy_content:
        raise PolicyError(
            f"the object's content is encrypted with {envelope.cipher.value}, which is not "
            "authenticated; pass enable_legacy_unauthenticated_modes=True (--s3-legacy-unauthenticated "
            "on the command line) to read objects written by older S3 encryption clients",
            code=ErrorCode.LEGACY_FORMAT_FORBIDDEN,
        )
    if not policy_allows_reading(policy, envelope.cipher):
        raise PolicyError(
            f"the object was written without key commitment ({envelope.version.name} format, "
            f"{envelope.cipher.value}) and the commitment policy is "
            "REQUIRE_ENCRYPT_REQUIRE_DECRYPT; to read it, pass "
            "commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT "
            "(--commitment-policy require-encrypt-allow-decrypt)",
            code=ErrorCode.POLICY_FORBIDS_SUITE,
        )


def unwrap_data_key(
    wrappers: Sequence[KeyWrapper],
    envelope: Envelope,
    context: dict[str, str],
    *,
    allow_legacy: bool,
) -> bytes:
    """The data key, from the first of ``wrappers`` that unwraps it."""
    if len(wrappers) == 1:
        return wrappers[0].unwrap(envelope, context, allow_legacy=allow_legacy)
    causes: list[str | SealboxError] = []
    for wrapper in wrappers:
        try:
            return wrapper.unwrap(envelope, context, allow_legacy=allow_legacy)
        except (PolicyError, UsageError):
            raise
        except SealboxError as error:
            causes.append(f"{wrapper!r}: {error.message}")
    raise NoDecryptableKeyError(
        f"none of the client's {len(wrappers)} keys could unwrap the object's data key",
        causes=causes,
    )


def check_length(envelope: Envelope, length: int) -> None:
    """A CBC object's recorded length catches a body cut at a block boundary, which
    its padding cannot (GCM content is authenticated whole by its tag)."""
    expected = envelope.plaintext_length
    if expected is not None and expected != length and envelope.cipher is ContentCipher.AES_CBC:
        raise MalformedMessageError(
            f"the object decrypted to {length} bytes but its metadata says {expected}: "
            "the object was cut short or altered",
            code=ErrorCode.TRUNCATED,
        )
