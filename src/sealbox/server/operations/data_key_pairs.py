"""GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a new key pair whose private
key (PKCS#8 DER, as AWS) is returned encrypted under a symmetric key, like a data key."""

from __future__ import annotations

from collections.abc import Callable

from sealbox.server import keypairs
from sealbox.server.ciphertext.envelope import seal
from sealbox.server.errors import UnsupportedOperationException
from sealbox.server.operations.crypto import encryption_key, refuse_recipient
from sealbox.server.operations.grants import check_grant_tokens
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KmsService
from sealbox.server.workpool import prepared

PAIR_SPECS = frozenset(
    (
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "ECC_NIST_EDWARDS25519",
    )
)
NOT_SERVED = {
    "SM2": "SM2 key pairs are available only in AWS's China Regions",
    **dict.fromkeys(
        ("ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"),
        "ML-KEM key pairs are not supported by this version of Sealbox",
    ),
}


def _pair_spec(params: Params) -> str:
    spec: str = params["KeyPairSpec"]
    if spec in NOT_SERVED:
        raise UnsupportedOperationException(f"KeyPairSpec {spec}: {NOT_SERVED[spec]}.")
    return spec


def _work(service: KmsService, caller: Caller, params: Params, action: str) -> Callable[[], Result]:
    """Every check of the request now; the key pair is made (RSA: up to seconds of CPU) and
    sealed by the work returned."""
    spec = _pair_spec(params)
    key_param = params["KeyId"]
    context = params.get("EncryptionContext", {})
    entry = service.resolve(caller, key_param)
    check_grant_tokens(params)
    material_id, material = encryption_key(
        service,
        caller,
        entry,
        key_param,
        action,
        context,
        {"kms:datakeypairspec": spec},
    )
    stop_if_dry_run(params)
    key_id, arn = entry.record.public_id, entry.record.arn

    def work() -> Result:
        private_der = keypairs.generate(spec)
        public_der = keypairs.public_der(keypairs.load_private(private_der))
        result: Result = {
            "PrivateKeyCiphertextBlob": seal(key_id, material_id, material, private_der, context),
            "PrivateKeyPlaintext": private_der,
            "PublicKey": public_der,
            "KeyId": arn,
            "KeyPairSpec": spec,
            "KeyMaterialId": material_id,
        }
        return result

    return work


def _register(action: str, *, plaintext: bool) -> None:
    def prepare(service: KmsService, caller: Caller, params: Params) -> Callable[[], Result] | None:
        if plaintext:
            refuse_recipient(params)
        if not _pair_spec(params).startswith("RSA_"):
            return None  # elliptic-curve pairs take microseconds: made in the handler
        return _work(service, caller, params, action)

    def handler(service: KmsService, caller: Caller, params: Params) -> Result:
        done = prepared()
        if isinstance(done, dict):
            result: Result = done
        else:
            if plaintext:
                refuse_recipient(params)
            result = _work(service, caller, params, action)()
        if not plaintext:
            result = {k: v for k, v in result.items() if k != "PrivateKeyPlaintext"}
        return result

    handler.__name__ = handler.__qualname__ = action
    operation(action, prepare=prepare)(handler)


_register("GenerateDataKeyPair", plaintext=True)
_register("GenerateDataKeyPairWithoutPlaintext", plaintext=False)
