"""DeriveSharedSecret: ECDH between a KEY_AGREEMENT key (ECC_NIST_P256/P384/P521) and a
public key the caller sends. As AWS, the answer is the raw shared secret (the x coordinate,
no KDF applied): the caller derives its keys from it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from sealbox.server import keypairs
from sealbox.server.errors import ValidationException
from sealbox.server.key_specs import KEY_AGREEMENT
from sealbox.server.operations.crypto import refuse_recipient
from sealbox.server.operations.pairs import check_algorithm, private_key, usable_key
from sealbox.server.operations.table import Params, Result, operation, stop_if_dry_run
from sealbox.server.service import Caller, KmsService


def _peer(
    der: bytes, private: ec.EllipticCurvePrivateKey, key_spec: str
) -> ec.EllipticCurvePublicKey:
    """The caller's public key: a DER SubjectPublicKeyInfo on the KMS key's curve."""
    peer = keypairs.load_peer_public(der)
    if peer is None:
        raise ValidationException(
            "PublicKey is not a valid DER-encoded X.509 SubjectPublicKeyInfo public key."
        )
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != private.curve.name:
        raise ValidationException(
            f"PublicKey is not on the curve of the KMS key (key spec {key_spec}): ECDH needs a "
            "public key on the same curve."
        )
    return peer


@operation("DeriveSharedSecret")
def derive_shared_secret(service: KmsService, caller: Caller, params: Params) -> Result:
    refuse_recipient(params)
    algorithm = params["KeyAgreementAlgorithm"]
    entry = usable_key(
        service,
        caller,
        params,
        "DeriveSharedSecret",
        KEY_AGREEMENT,
        {"kms:keyagreementalgorithm": algorithm},
    )
    check_algorithm(entry, algorithm)
    private = private_key(service, entry)
    peer = _peer(params["PublicKey"], private, entry.record.key_spec)
    stop_if_dry_run(params)
    return {
        "KeyId": entry.record.arn,
        "SharedSecret": keypairs.ecdh(private, peer),
        "KeyAgreementAlgorithm": algorithm,
        "KeyOrigin": entry.record.origin,
    }
