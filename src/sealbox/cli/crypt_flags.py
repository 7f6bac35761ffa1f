"""The ``encrypt`` and ``decrypt`` commands: aws-encryption-cli's flag set, with
stdin/stdout defaults, metadata off by default, and the library's limits for
untrusted messages."""

from __future__ import annotations

import argparse

from sealbox.cli.parsing import Once, Parser, lazy


def add_crypt_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    encrypt = commands.add_parser(
        "encrypt", help="encrypt files, stdin or S3 objects into messages (also: sealbox -e)"
    )
    _crypt_options(encrypt, "encrypt")
    encrypt.add_argument(
        "--algorithm",
        action=Once,
        help="suite name or id, e.g. AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 or 0x0578",
    )
    encrypt.add_argument("--frame-length", type=int, default=4096, metavar="BYTES", action=Once)
    encrypt.add_argument(
        "--s3-format",
        choices=["esdk", "s3ec"],
        default="esdk",
        action=Once,
        help="for -o s3://…: esdk (the default) stores an Encryption SDK message; s3ec "
        "stores the object as AWS's S3 encryption clients (Java, Go, .NET, Ruby, …) do "
        "(key-committing V3 format; the V2 format with --commitment-policy "
        "forbid-encrypt-allow-decrypt). See docs/s3.md",
    )
    encrypt.add_argument(
        "--s3-instruction-file",
        action="store_true",
        help="with --s3-format s3ec: keep the key envelope in KEY.instruction, not in the object's metadata",
    )
    encrypt.set_defaults(handler=lazy("sealbox.cli.crypt", "run_encrypt"))

    decrypt = commands.add_parser(
        "decrypt", help="decrypt messages from files, stdin or S3 objects (also: sealbox -d)"
    )
    _crypt_options(decrypt, "decrypt")
    decrypt.add_argument(
        "--decrypt-unsigned",
        action="store_true",
        help="refuse signed messages (fails right after the header)",
    )
    _decrypt_limits(decrypt)
    decrypt.add_argument(
        "--s3-legacy-unauthenticated",
        action="store_true",
        help="also read S3 encryption client objects in the legacy formats (unauthenticated "
        "AES-CBC content, old key wrappings) that the oldest clients wrote; refused by default",
    )
    decrypt.set_defaults(handler=lazy("sealbox.cli.crypt", "run_decrypt"))


def _byte_limit(text: str) -> int | None:
    """A size limit in bytes, or ``none`` for no limit (messages you trust only)."""
    if text.lower() == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes or 'none'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of bytes")
    return value


def _decrypt_limits(parser: argparse.ArgumentParser) -> None:
    """The library's limits for untrusted messages, with the same defaults."""
    from sealbox.format.body import DEFAULT_MAX_BODY_LENGTH
    from sealbox.format.header import DEFAULT_MAX_HEADER_SIZE

    parser.add_argument(
        "--max-length",
        type=_byte_limit,
        default=DEFAULT_MAX_BODY_LENGTH,
        metavar="BYTES",
        action=Once,
        help="refuse, before reading them, frames (or non-framed bodies) longer than BYTES "
        f"(default {DEFAULT_MAX_BODY_LENGTH} = 64 MiB; 'none': no limit)",
    )
    parser.add_argument(
        "--max-header-size",
        type=_byte_limit,
        default=DEFAULT_MAX_HEADER_SIZE,
        metavar="BYTES",
        action=Once,
        help="refuse, before reading it, a message header longer than BYTES "
        f"(default {DEFAULT_MAX_HEADER_SIZE} = 4 MiB; 'none': no limit)",
    )


def _crypt_options(parser: argparse.ArgumentParser, mode: str) -> None:
    """The aws-encryption-cli flag set, with stdin/stdout defaults and metadata off by default."""
    parser.add_argument(
        "-i",
        "--input",
        default="-",
        action=Once,
        help="a file, a directory (with -r), a glob pattern, s3://BUCKET/KEY, or - for stdin (default)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        action=Once,
        help="a file, a directory, s3://BUCKET/KEY, or - for stdout (default)",
    )
    parser.add_argument(
        "-w",
        "--wrapping-keys",
        nargs="+",
        action="append",
        metavar="ATTR=VALUE",
        default=[],
        help="a group of wrapping keys: key=KMS_KEY [key=…] [region=R] [profile=P]"
        + (
            " | discovery=true [discovery-account=ID … discovery-partition=aws]"
            if mode == "decrypt"
            else ""
        )
        + " (provider=aws-kms, the default), or provider=raw-aes key=FILE, or provider=raw-rsa "
        "key=PEM [padding=oaep-sha256|oaep-sha1|oaep-sha384|oaep-sha512|pkcs1] [namespace=] [name=]. "
        "Without provider=, a key= naming an existing file is a key file. Repeat -w for more "
        "groups; the first key generates the data key.",
    )
    parser.add_argument(
        "-c",
        "--encryption-context",
        nargs="+",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="the encryption context"
        if mode == "encrypt"
        else "pairs that the message's encryption context must have, or bare keys it must contain",
    )
    parser.add_argument(
        "--commitment-policy",
        default="require-encrypt-require-decrypt",
        action=Once,
        choices=[
            "forbid-encrypt-allow-decrypt",
            "require-encrypt-allow-decrypt",
            "require-encrypt-require-decrypt",
        ],
    )
    metadata = parser.add_mutually_exclusive_group()
    metadata.add_argument(
        "-S", "--suppress-metadata", action="store_true", help="write no metadata (the default)"
    )
    metadata.add_argument(
        "--metadata-output",
        metavar="FILE",
        action=Once,
        help="append one JSON line per file processed (mode, input, output, header); - for stdout",
    )
    parser.add_argument(
        "--overwrite-metadata", action="store_true", help="truncate the metadata file first"
    )
    parser.add_argument(
        "-r",
        "-R",
        "--recursive",
        action="store_true",
        help="process the files under a directory input",
    )
    parser.add_argument(
        "--suffix",
        nargs="?",
        const="",
        action=Once,
        help=f"appended to names written into a directory output (default .{mode}ed; bare --suffix: none)",
    )
    parser.add_argument(
        "--encode", action="store_true", help="write the output as Base64 text (safe in shells)"
    )
    parser.add_argument(
        "--decode",
        action="store_true",
        help="read the input as Base64 text"
        + (
            " (detected without this flag when it starts like a message)"
            if mode == "decrypt"
            else ""
        ),
    )
    parser.add_argument(
        "--max-encrypted-data-keys",
        type=int,
        metavar="N",
        action=Once,
        help="refuse messages with more encrypted data keys than N (default: no limit)",
    )
    parser.add_argument(
        "-b",
        "--buffer",
        action="store_true",
        help="hold all output until the whole message has verified (files are always written whole)",
    )
    parser.add_argument(
        "--caching",
        nargs="+",
        metavar="NAME=VALUE",
        help="cache data keys: capacity=N max_age=SECONDS [max_messages_encrypted=N] "
        "[max_bytes_encrypted=N]",
    )
    overwrite = parser.add_mutually_exclusive_group()
    overwrite.add_argument(
        "--interactive", action="store_true", help="ask before overwriting an existing file"
    )
    overwrite.add_argument(
        "--no-overwrite", action="store_true", help="skip inputs whose output file exists"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail on stderr (-v … -vvvv)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no warnings or progress")
