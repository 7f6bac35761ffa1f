"""Each region is its own service, as in AWS: a request reaches only keys of its region.

The region is the one the request's SigV4 scope names. A key or alias ARN of another
region in any member that names a key is refused before the handler runs; keys a
request reaches indirectly (a ciphertext blob, a grant, an alias) are confined by
:meth:`KmsService.reach`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from sealbox.server.arn import arn_region
from sealbox.server.errors import NotFoundException

# Shapes of the request members that name a key or an alias, in the KMS service model.
KEY_NAME_SHAPES = frozenset({"KeyIdType", "AliasNameType"})


def confine_arn(region: str, value: str) -> None:
    """Refuse a KMS ARN of another region than the request's as AWS does:
    NotFoundException "Invalid arn REGION"."""
    named = arn_region(value)
    if named and named != region:
        raise NotFoundException(f"Invalid arn {named}")


@functools.cache
def key_name_members() -> dict[str, tuple[str, ...]]:
    """Per operation, the top-level request members that name a key or an alias, read from
    the model botocore ships, so an operation added later is covered without a code change."""
    import botocore.loaders  # lazily, as model.py does: loading the model takes a while

    model = botocore.loaders.Loader().load_service_model("kms", "service-2")
    found: dict[str, tuple[str, ...]] = {}
    for name, spec in model["operations"].items():
        if "input" in spec:
            members = model["shapes"][spec["input"]["shape"]]["members"]
            found[name] = tuple(m for m, s in members.items() if s["shape"] in KEY_NAME_SHAPES)
    return found


def confine_request(region: str, operation: str, params: Mapping[str, Any]) -> None:
    """Before any handler runs: no key or alias ARN of another region in the request."""
    for member in key_name_members().get(operation, ()):
        value = params.get(member)
        if isinstance(value, str):
            confine_arn(region, value)
