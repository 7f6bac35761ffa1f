"""The service's state: the store, the root key, and per-worker caches.

Caches (principals and their identity policies, keys with their policies, grants
and unwrapped material, aliases) live in the worker process and are dropped
whenever the store's generation moves, which :meth:`KmsService.refresh` checks
before every request. Writes made by this worker bump the generation too, so its
own next request reloads as well. Time-driven changes to a key (deletion,
automatic rotation, material expiry) happen when a request finds them due, and
in a periodic sweep while the service is idle.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from sealbox.server.audit import AuditLog
from sealbox.server.audit import records as audit_records
from sealbox.server.authorization import condition_keys, decide
from sealbox.server.clock import Clock, SystemClock
from sealbox.server.errors import (
    DisabledException,
    InvalidArnException,
    KMSInternalException,
    KMSInvalidStateException,
    NotFoundException,
)
from sealbox.server.grants import Grant
from sealbox.server.policy import ContextValue, Policy
from sealbox.server.principals import Principal, unwrap_principal
from sealbox.server.rootkey import RootKey, UnwrapError
from sealbox.server.sigv4 import Verifier
from sealbox.server.store.records import PARTITION, KeyRecord, MaterialRecord, material_aad
from sealbox.server.store.repository import Store

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN = re.compile(r"^arn:([^:]+):kms:([^:]+):(\d{12}):key/(.+)$")
ALIAS_ARN = re.compile(r"^arn:([^:]+):kms:([^:]+):(\d{12}):(alias/.+)$")
NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, from where, in which region; and which keys the request touched."""

    principal: Principal
    region: str
    request_id: str
    source_ip: str = ""
    user_agent: str = ""
    secure_transport: bool = False
    keys: list[str] = field(default_factory=list)  # ARNs, for the audit record

    @property
    def account(self) -> str:
        return self.principal.account


@dataclass(slots=True)
class KeyEntry:
    """A key as one worker knows it: record, materials, policy, grants."""

    record: KeyRecord
    wrapped: dict[str, MaterialRecord]
    grants: list[Grant]
    materials: dict[str, bytes] = field(default_factory=dict)
    _policy: Policy | None = None

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = Policy.parse(self.record.policy, key_policy=True)
        return self._policy

    @property
    def next_change(self) -> float:
        """When time alone next changes this key (deletion, rotation, material expiry)."""
        record = self.record
        moments = [NEVER]
        if record.key_state == "PendingDeletion" and record.deletion_date is not None:
            moments.append(record.deletion_date)
        if (
            record.rotation_enabled
            and record.key_state == "Enabled"
            and record.next_rotation is not None
        ):
            moments.append(record.next_rotation)
        moments += [
            m.valid_to for m in self.wrapped.values() if m.valid_to is not None and m.present
        ]
        return min(moments)


@dataclass(frozen=True)
class Settings:
    regions: frozenset[str] | None = None  # None: serve every region
    max_skew_seconds: int = 300


class KmsService:
    def __init__(
        self,
        *,
        store: Store,
        root_key: RootKey | None,
        clock: Clock,
        settings: Settings = Settings(),
        sealed_reason: str | None = None,
        auth_clock: Clock | None = None,
    ) -> None:
        """``clock`` drives key lifecycles (deletion windows, rotation); ``auth_clock``
        (the system clock unless given) checks SigV4 timestamps."""
        self.store = store
        self.root_key = root_key
        self.clock = clock
        self.settings = settings
        self.sealed_reason = sealed_reason or (None if root_key is not None else "no root key")
        self._principals: dict[str, Principal | None] = {}
        self._identity: dict[tuple[str, str], list[Policy]] = {}
        self._keys: dict[str, KeyEntry] = {}
        self._aliases: dict[tuple[str, str, str], str | None] = {}
        self.verifier = Verifier(
            secret_for=self._secret_for,
            now=(auth_clock or SystemClock()).now,
            regions=settings.regions,
            max_skew=settings.max_skew_seconds,
        )
        self.after_change: list[Callable[[], None]] = []
        self.audit: AuditLog | None = None  # set once the root key opened the audit key

    @contextlib.contextmanager
    def change(self) -> Iterator[Connection]:
        """A write transaction in which :meth:`record_event` records commit with the change."""
        if self.audit is None:
            with self.store.write() as connection:
                yield connection
        else:
            with self.audit.transaction() as connection:
                yield connection

    def record_event(
        self,
        connection: Connection,
        event_name: str,
        arn: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit a change the service makes on its own, inside :meth:`change`."""
        if self.audit is not None:
            event = audit_records.service_event(
                moment=self.clock.now(), event_name=event_name, key_arn=arn, details=details
            )
            self.audit.record(connection, event)

    @property
    def sealed(self) -> bool:
        return self.sealed_reason is not None

    def require_unsealed(self) -> RootKey:
        if self.root_key is None or self.sealed_reason is not None:
            raise KMSInternalException(
                "The service is sealed and cannot perform cryptographic operations; its operator must "
                "provide the store's root key (see the service log)."
            )
        return self.root_key

    # -- caches -----------------------------------------------------------------

    def refresh(self) -> None:
        """Drop every cache if the store changed since the last request."""
        if self.store.watch.changed():
            self.forget()

    def forget(self) -> None:
        self._principals.clear()
        self._identity.clear()
        self._keys.clear()
        self._aliases.clear()
        self.verifier.clear_cache()
        for hook in self.after_change:
            hook()

    def principal(self, access_key_id: str) -> Principal | None:
        if access_key_id not in self._principals:
            record = self.store.get_access_key(access_key_id)
            principal = None
            if record is not None and record.status == "Active":
                principal = unwrap_principal(record, self.require_unsealed())
            self._principals[access_key_id] = principal
        return self._principals[access_key_id]

    def _secret_for(self, access_key_id: str) -> str | None:
        principal = self.principal(access_key_id)
        return None if principal is None else principal.secret

    def identity_policies(self, principal: Principal) -> list[Policy]:
        owner = (principal.account, principal.user_name)
        if owner not in self._identity:
            documents = self.store.user_policies(*owner)
            self._identity[owner] = [Policy.parse(text, key_policy=False) for _, text in documents]
        return self._identity[owner]

    def key(self, key_id: str) -> KeyEntry | None:
        """The key as of now: time-driven changes that are due are made first."""
        entry = self._keys.get(key_id)
        if entry is None:
            record = self.store.get_key(key_id)
            if record is None:
                return None
            wrapped = {m.material_id: m for m in self.store.materials(key_id)}
            entry = self._keys[key_id] = KeyEntry(record, wrapped, self.store.grants_of(key_id))
        if entry.next_change <= self.clock.now():
            from sealbox.server import lifecycle

            lifecycle.apply_due(self, key_id)
            self._keys.pop(key_id, None)
            return self.key(key_id) if self.store.get_key(key_id) is not None else None
        return entry

    def change_key(self, key_id: str, **values: Any) -> None:
        """Store ``values`` on the key and drop every cache, so the change is in force at once."""
        with self.store.write() as connection:
            self.store.update_key(key_id, connection, **values)
        self.forget()

    def drop_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)

    def material(self, entry: KeyEntry, material_id: str) -> bytes | None:
        """The key's material ``material_id``; None if the key never had it; raises
        KMSInvalidStateException while imported material is deleted or expired."""
        material = entry.materials.get(material_id)
        if material is None:
            row = entry.wrapped.get(material_id)
            if row is None:
                return None
            if not row.present:
                raise KMSInvalidStateException(
                    f"The key material {material_id} of {entry.record.arn} is not available (it was deleted "
                    "or expired); reimport it to use it again."
                )
            try:
                material = self.require_unsealed().unwrap(
                    row.wrapped, aad=material_aad(entry.record.arn, material_id)
                )
            except UnwrapError:
                raise KMSInternalException(
                    "stored key material did not unwrap under the root key (the store was altered)"
                ) from None
            entry.materials[material_id] = material
        return material

    # -- resolving KeyId parameters -------------------------------------------------

    def resolve(self, caller: Caller, key_param: str, *, aliases: bool = True) -> KeyEntry:
        """A key named by key id, key ARN, or (if ``aliases``) alias name or alias ARN."""
        account, region, key_id = caller.account, caller.region, None
        if UUID.match(key_param):
            key_id = key_param
        elif key_param.startswith("arn:"):
            match = KEY_ARN.match(key_param)
            alias_match = ALIAS_ARN.match(key_param) if aliases else None
            if match is not None and UUID.match(match.group(4)):
                partition, region, account, key_id = match.groups()
            elif alias_match is not None:
                partition, region, account, name = alias_match.groups()
                key_id = self._alias_target(account, region, name, key_param)
            else:
                raise InvalidArnException(f"{key_param} is not a valid ARN for this parameter.")
            if partition != PARTITION:
                raise InvalidArnException(f"{key_param} is not an ARN in partition '{PARTITION}'.")
        elif key_param.startswith("alias/") and aliases:
            key_id = self._alias_target(account, region, key_param, key_param)
        else:
            raise NotFoundException(f"Invalid keyId '{key_param}'")
        entry = self.key(key_id)
        if entry is None or entry.record.account != account or entry.record.region != region:
            raise NotFoundException(
                f"Key 'arn:{PARTITION}:kms:{region}:{account}:key/{key_id}' does not exist"
            )
        caller.keys.append(entry.record.arn)  # for the audit record, allowed or not
        return entry

    def _alias_target(self, account: str, region: str, name: str, shown: str) -> str:
        cache_key = (account, region, name)
        if cache_key not in self._aliases:
            alias = self.store.get_alias(account, region, name)
            self._aliases[cache_key] = None if alias is None else alias.target_key_id
        target = self._aliases[cache_key]
        if target is None:
            arn = (
                shown
                if shown.startswith("arn:")
                else f"arn:{PARTITION}:kms:{region}:{account}:{name}"
            )
            raise NotFoundException(f"Alias {arn} is not found.")
        return target

    # -- authorization ------------------------------------------------------------------

    def authorize(
        self,
        caller: Caller,
        action: str,
        entry: KeyEntry | None,
        *,
        encryption_context: Mapping[str, str] | None = None,
        context: Mapping[str, ContextValue] | None = None,
        resource: str | None = None,
        grant_filter: Callable[[Grant], bool] | None = None,
    ) -> None:
        """Raise AccessDeniedException unless policies or grants allow ``action``."""
        keys = self.condition_keys(caller, encryption_context, context)
        decide(
            principal=caller.principal,
            action=action,
            resource=resource or (entry.record.arn if entry is not None else "*"),
            resource_account=entry.record.account if entry is not None else None,
            context=keys,
            identity_policies=self.identity_policies(caller.principal),
            key_policy=entry.policy if entry is not None else None,
            grants=entry.grants if entry is not None else (),
            encryption_context=encryption_context,
            grant_filter=grant_filter,
        )

    def condition_keys(
        self,
        caller: Caller,
        encryption_context: Mapping[str, str] | None,
        extra: Mapping[str, ContextValue] | None,
    ) -> dict[str, ContextValue]:
        return condition_keys(
            caller.principal,
            region=caller.region,
            source_ip=caller.source_ip,
            secure_transport=caller.secure_transport,
            now=self.clock.now(),
            encryption_context=encryption_context,
            extra=extra,
        )


def require_usable(entry: KeyEntry) -> KeyRecord:
    """The key state check every cryptographic operation makes."""
    record = entry.record
    state = record.key_state
    if state == "Enabled":
        return record
    if state == "Disabled":
        raise DisabledException(f"{record.arn} is disabled.")
    what = {"PendingDeletion": "pending deletion", "PendingImport": "pending import"}.get(
        state, state
    )
    raise KMSInvalidStateException(f"{record.arn} is {what}.")


def new_key_id() -> str:
    return str(uuid.uuid4())
