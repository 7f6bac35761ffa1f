"""The tamper-evident audit log: one CloudTrail-shaped record per request, chained with
an HMAC keyed from the root key, durable before the answer leaves the service.

* :mod:`records` shapes a record (and keeps secrets out of it);
* :mod:`chain` holds the audit key and the MAC construction;
* :mod:`checkpoint` keeps each chain's head in a file apart from the database;
* :mod:`log` writes records (group commit, or inside a state change's transaction);
* :mod:`verify` checks every chain against its checkpoint.
"""

from sealbox.server.audit.chain import ensure_audit_key
from sealbox.server.audit.checkpoint import CHECKPOINT_DIR
from sealbox.server.audit.log import REFUSED, AuditFailure, AuditLog
from sealbox.server.audit.verify import Finding, verify

__all__ = [
    "CHECKPOINT_DIR",
    "REFUSED",
    "AuditFailure",
    "AuditLog",
    "Finding",
    "ensure_audit_key",
    "verify",
]
