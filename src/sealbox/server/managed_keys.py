"""AWS managed keys: the keys behind the predefined ``alias/aws/<service>`` aliases.

As in AWS, every account-region has the predefined aliases (ListAliases shows them with no
target), and the first request that names one creates the account's key for it: KeyManager
AWS, rotated every year, under AWS's managed-key policy. That policy lets principals use the
key only through the AWS service (``kms:ViaService``, which no request to Sealbox carries) and
lets the account read it (Describe*, Get*, List*, RevokeGrant); so, as in AWS, nobody can
change, disable, delete or directly use it.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from sealbox.server.arn import account_root_arn, key_arn
from sealbox.server.key_specs import ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT
from sealbox.server.rootkey.core import RootKey
from sealbox.server.store.records import AliasRecord, KeyRecord, MaterialRecord, material_aad
from sealbox.server.store.repository import Store

PREFIX = "alias/aws/"
ROTATION_DAYS = 365
DAY = 86400.0


@dataclass(frozen=True)
class ManagedService:
    via: str  # the service's endpoint name in kms:ViaService
    protects: str  # what the key's description says it protects


SERVICES: dict[str, ManagedService] = {
    "acm": ManagedService("acm", "ACM private keys"),
    "dynamodb": ManagedService("dynamodb", "DynamoDB data"),
    "ebs": ManagedService("ec2", "EBS volumes"),
    "elasticfilesystem": ManagedService("elasticfilesystem", "EFS file systems"),
    "es": ManagedService("es", "Elasticsearch domains"),
    "glue": ManagedService("glue", "Glue data"),
    "kinesisvideo": ManagedService("kinesisvideo", "Kinesis Video Streams data"),
    "lambda": ManagedService("lambda", "Lambda functions"),
    "rds": ManagedService("rds", "RDS databases"),
    "redshift": ManagedService("redshift", "Redshift clusters"),
    "s3": ManagedService("s3", "S3 objects"),
    "secretsmanager": ManagedService("secretsmanager", "Secrets Manager secrets"),
    "ssm": ManagedService("ssm", "SSM parameters"),
    "xray": ManagedService("xray", "X-Ray traces"),
}
ALIASES = tuple(sorted(PREFIX + name for name in SERVICES))


def is_managed_alias(name: str) -> bool:
    return name.startswith(PREFIX) and name[len(PREFIX) :] in SERVICES


def managed_policy(account: str, region: str, service_name: str) -> str:
    """AWS's key policy for an AWS managed key (its statements and conditions)."""
    via = f"{SERVICES[service_name].via}.{region}.amazonaws.com"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service_name}-1",
            "Statement": [
                {
                    "Sid": f"Allow access through {service_name} for all principals in the "
                    f"account that are authorized to use {service_name}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": via, "kms:CallerAccount": account}
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": account_root_arn(account)},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        },
        indent=2,
    )


def create_managed_key(
    store: Store, root: RootKey, account: str, region: str, alias_name: str, now: float
) -> str:
    """The key id behind ``alias_name`` (one of :data:`ALIASES`), made now if the account has
    none yet; a concurrent request that made it first wins, and its key is returned."""
    service_name = alias_name[len(PREFIX) :]
    key_id = str(uuid.uuid4())
    material_id = os.urandom(32).hex()
    material = MaterialRecord(
        key_id,
        material_id,
        now,
        root.wrap(os.urandom(32), aad=material_aad(key_arn(region, account, key_id), material_id)),
    )
    record = KeyRecord(
        key_id=key_id,
        account=account,
        region=region,
        created_at=now,
        description=f"Default key that protects my {SERVICES[service_name].protects} "
        "when no other key is defined",
        key_usage=ENCRYPT_DECRYPT,
        key_spec=SYMMETRIC_DEFAULT,
        origin="AWS_KMS",
        key_state="Enabled",
        deletion_date=None,
        pending_window=None,
        policy=managed_policy(account, region, service_name),
        current_material_id=material_id,
        rotation_enabled=True,
        rotation_period=ROTATION_DAYS,
        next_rotation=now + ROTATION_DAYS * DAY,
        key_manager="AWS",
    )
    try:
        with store.write() as connection:
            if existing := store.keys.get_alias(account, region, alias_name, connection):
                return existing.target_key_id
            store.keys.insert_key(record, material, {}, connection)
            store.keys.insert_alias(
                AliasRecord(account, region, alias_name, key_id, now, now), connection
            )
    except IntegrityError:  # another node made it between our read and our write
        existing = store.keys.get_alias(account, region, alias_name)
        assert existing is not None
        return existing.target_key_id
    return key_id
