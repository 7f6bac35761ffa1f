"""Operations of the KMS API that Sealbox does not implement, with the reason."""

from __future__ import annotations

from sealbox.server.errors import UnsupportedOperationException
from sealbox.server.operations.table import Params, Result, operation
from sealbox.server.service import Caller, KmsService

NOT_IMPLEMENTED: dict[str, str] = {
    **dict.fromkeys(
        ("Encapsulate", "Decapsulate"),
        "ML-KEM keys are not supported",
    ),
    **dict.fromkeys(
        (
            "CreateCustomKeyStore",
            "ConnectCustomKeyStore",
            "DisconnectCustomKeyStore",
            "DeleteCustomKeyStore",
            "DescribeCustomKeyStores",
            "UpdateCustomKeyStore",
        ),
        "custom key stores are not supported",
    ),
    "GetKeyLastUsage": "key usage tracking is not supported yet",
}


def _refuse(name: str, reason: str) -> None:
    def handler(service: KmsService, caller: Caller, params: Params) -> Result:
        raise UnsupportedOperationException(
            f"{name}: {reason} in this version of Sealbox (see the README)."
        )

    operation(name, supported=False)(handler)


for _name, _reason in NOT_IMPLEMENTED.items():
    _refuse(_name, _reason)
