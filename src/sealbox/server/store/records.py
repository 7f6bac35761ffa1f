"""Rows of the store as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from sealbox.server.arn import alias_arn, key_arn, user_arn


@dataclass(frozen=True, slots=True)
class AccessKeyRecord:
    access_key_id: str
    account: str
    user_name: str
    status: str  # Active | Inactive
    admin: bool
    created_at: float
    wrapped_secret: bytes

    @property
    def user_arn(self) -> str:
        return user_arn(self.account, self.user_name)


def key_row_id(key_id: str, region: str) -> str:
    """The row of the key a client names ``key_id`` in ``region``: the id itself, or the
    region's copy of a multi-Region key (a row id, e.g. an alias's target, is kept)."""
    if key_id.startswith("mrk-") and "@" not in key_id:
        return f"{key_id}@{region}"
    return key_id


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    account: str
    region: str
    created_at: float
    description: str
    key_usage: str
    key_spec: str
    origin: str
    key_state: str
    deletion_date: float | None
    pending_window: int | None
    policy: str
    current_material_id: str | None
    rotation_enabled: bool = False
    rotation_period: int | None = None
    next_rotation: float | None = None
    on_demand_rotations: int = 0
    key_manager: str = "CUSTOMER"  # or AWS: the key behind an alias/aws/ alias
    primary_region: str | None = None  # a multi-Region key's primary region

    @property
    def public_id(self) -> str:
        """The KeyId clients see: ``key_id`` is the row's id, which for each copy of a
        multi-Region key is ``mrk-…@region`` (one id, a copy per region)."""
        return self.key_id.partition("@")[0]

    @property
    def multi_region(self) -> bool:
        return self.key_id.startswith("mrk-")

    @property
    def arn(self) -> str:
        return key_arn(self.region, self.account, self.public_id)


@dataclass(frozen=True, slots=True)
class MaterialRecord:
    key_id: str
    material_id: str
    created_at: float
    wrapped: bytes  # empty while imported material is deleted or expired
    origin: str = "AWS_KMS"
    rotation_type: str | None = None
    pending_rotation: bool = False
    expiration_model: str | None = None
    valid_to: float | None = None
    description: str | None = None
    position: int = 0  # the order in which the key took on its materials

    @property
    def present(self) -> bool:
        return bool(self.wrapped)


@dataclass(frozen=True, slots=True)
class AliasRecord:
    account: str
    region: str
    alias_name: str
    target_key_id: str
    created_at: float
    updated_at: float

    @property
    def arn(self) -> str:
        return alias_arn(self.region, self.account, self.alias_name)


def material_aad(arn: str, material_id: str) -> bytes:
    return f"key-material\x00{arn}\x00{material_id}".encode()


def import_token_aad(arn: str, token: str) -> bytes:
    return f"import-token\x00{arn}\x00{token}".encode()


def secret_aad(access_key_id: str, account: str, user_name: str) -> bytes:
    return f"access-key\x00{access_key_id}\x00{account}\x00{user_name}".encode()
