"""``sealbox keygen``: make raw wrapping keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sealbox.cli.keyfiles import new_aes_key_file, new_rsa_key_files


def run_keygen(args: argparse.Namespace) -> int:
    kind, bits = args.type.split("-")
    path = Path(args.output)
    if kind == "aes":
        name = new_aes_key_file(path, bits=int(bits), name=args.name, namespace=args.namespace)
        print(f"wrote {path} (AES-{bits}, key name {name!r}); keep it secret", file=sys.stderr)
    else:
        public = new_rsa_key_files(path, bits=int(bits))
        print(
            f"wrote {path} (RSA-{bits} private key; keep it secret) and {public} (public key)",
            file=sys.stderr,
        )
    return 0
