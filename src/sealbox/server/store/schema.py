"""Tables. Every secret column holds a value wrapped under the root key."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account", String(12), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    # secret access key, wrapped with AAD = access key id, account and user
    Column("wrapped_secret", LargeBinary, nullable=False),
)

kms_keys = Table(
    "kms_keys",
    metadata,
    Column("key_id", String(36), primary_key=True),
    Column("account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("description", Text, nullable=False),
    Column("key_usage", String(32), nullable=False),
    Column("key_spec", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("key_state", String(32), nullable=False),
    Column("deletion_date", Float),
    Column("pending_window", Integer),
    Column("policy", Text, nullable=False),
    Column("current_material_id", String(64)),
    Index("kms_keys_by_owner", "account", "region", "key_id"),
)

key_materials = Table(
    "key_materials",
    metadata,
    Column(
        "key_id", String(36), ForeignKey("kms_keys.key_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("material_id", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
    # the key material, wrapped with AAD = key ARN and material id
    Column("wrapped", LargeBinary, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("account", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("alias_name", String(256), primary_key=True),
    Column(
        "target_key_id",
        String(36),
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("aliases_by_target", "target_key_id"),
)

tags = Table(
    "tags",
    metadata,
    Column(
        "key_id", String(36), ForeignKey("kms_keys.key_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)
