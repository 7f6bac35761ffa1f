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
    false,
)

metadata = MetaData()
# a key's row id: its UUID, or for each copy of a multi-Region key "mrk-<32 hex>@<region>"
KEY_ID_LENGTH = 64

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
    Column("key_id", String(KEY_ID_LENGTH), primary_key=True),
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
    # schema version 2: rotation
    Column("rotation_enabled", Boolean, nullable=False, server_default=false()),
    Column("rotation_period", Integer),
    Column("next_rotation", Float),
    Column("on_demand_rotations", Integer, nullable=False, server_default="0"),
    # schema version 3: AWS managed keys (alias/aws/...) and multi-Region keys
    Column("key_manager", String(16), nullable=False, server_default="CUSTOMER"),
    Column("primary_region", String(32)),  # a multi-Region key's primary; NULL otherwise
    Index("kms_keys_by_owner", "account", "region", "key_id"),
    Index("kms_keys_by_next_rotation", "next_rotation"),
)

key_materials = Table(
    "key_materials",
    metadata,
    Column(
        "key_id",
        String(KEY_ID_LENGTH),
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("material_id", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
    # the key material, wrapped with AAD = key ARN and material id; empty once imported
    # material is deleted or expires (the row stays, so the same material can come back)
    Column("wrapped", LargeBinary, nullable=False),
    # schema version 2: rotation and imported material
    Column("origin", String(16), nullable=False, server_default="AWS_KMS"),
    Column("rotation_type", String(16)),  # AUTOMATIC | ON_DEMAND; NULL for a key's first material
    Column("pending_rotation", Boolean, nullable=False, server_default=false()),
    Column("expiration_model", String(32)),
    Column("valid_to", Float),
    Column("description", Text),
    # the order in which the key took on its materials (rotations can share a timestamp)
    Column("position", Integer, nullable=False, server_default="0"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("account", String(12), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("alias_name", String(256), primary_key=True),
    Column(
        "target_key_id",
        String(KEY_ID_LENGTH),
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
        "key_id",
        String(KEY_ID_LENGTH),
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_key", String(128), primary_key=True),
    Column("tag_value", String(256), nullable=False),
)


# -- schema version 2 ---------------------------------------------------------------------

grants = Table(
    "grants",
    metadata,
    Column("grant_id", String(64), primary_key=True),
    Column(
        "key_id",
        String(KEY_ID_LENGTH),
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(256), nullable=False),
    Column("grantee", String(512), nullable=False),
    Column("retiring", String(512)),
    Column("operations", Text, nullable=False),  # JSON list
    Column("context_subset", Text),  # JSON object
    Column("context_equals", Text),  # JSON object
    Column("issuing_account", String(12), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("token", String(256), nullable=False),
    Index("grants_by_key", "key_id"),
    Index("grants_by_retiring", "retiring"),
)

user_policies = Table(
    "user_policies",
    metadata,
    Column("account", String(12), primary_key=True),
    Column("user_name", String(64), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

import_tokens = Table(
    "import_tokens",
    metadata,
    Column("token", String(64), primary_key=True),
    Column(
        "key_id",
        String(KEY_ID_LENGTH),
        ForeignKey("kms_keys.key_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("algorithm", String(32), nullable=False),
    # the wrapping key pair's private key (DER), wrapped under the root key
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("valid_to", Float, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("chain", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event_time", Float, nullable=False),
    Column("event_name", String(64), nullable=False),
    Column("principal", String(512), nullable=False),
    Column("key_arn", String(256), nullable=False),
    Column("error_code", String(64), nullable=False),
    Column("record", Text, nullable=False),  # the CloudTrail-shaped JSON record
    Column("mac", LargeBinary, nullable=False),  # HMAC over the previous MAC and this record
    Index("audit_by_time", "event_time"),
)
