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

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sealbox.server import lifecycle
from sealbox.server.access.authorization import action_keys, condition_keys, decide, key_keys
from sealbox.server.access.conditions import ContextValue, case_insensitive_keys
from sealbox.server.access.grant_rules import Grant
from sealbox.server.access.policy_language import Policy
from sealbox.server.access.principals import ACCESS_KEY_ID, Principal, unwrap_principal
from sealbox.server.access.sigv4 import Verifier
from sealbox.server.arn import PARTITION, alias_arn, key_arn, parse_kms_arn
from sealbox.server.audit import AuditLog
from sealbox.server.changes import Changes
from sealbox.server.clock import Clock, SystemClock
from sealbox.server.errors import (
    DisabledException,
    InvalidArnException,
    KMSInternalException,
    KMSInvalidStateException,
    NotFoundException,
)
from sealbox.server.lru import LruCache
from sealbox.server.managed_keys import create_managed_key, is_managed_alias
from sealbox.server.regions import confine_arn
from sealbox.server.rootkey.core import RootKey, UnwrapError, close_root_key
from sealbox.server.store.records import KeyRecord, MaterialRecord, key_row_id, material_aad
from sealbox.server.store.repository import Store

# a key id: a UUID, or a multi-Region key's mrk- and 32 hex digits
KEY_ID = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
NEVER = float("inf")
PRINCIPAL_CACHE = 10_000  # entries (access keys in use in one worker)
UNKNOWN_ID_CACHE = 1_024  # entries (ids recently found not to exist)
ALIAS_CACHE = 10_000  # entries (alias names looked up, found or not)


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
    private_keys: dict[str, Any] = field(default_factory=dict)  # key pairs, parsed once
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
        audit: AuditLog | None = None,
    ) -> None:
        """``clock`` drives key lifecycles (deletion windows, rotation); ``auth_clock``
        (the system clock unless given) checks SigV4 timestamps; ``audit`` is None only
        while sealed (no root key, so no audit key) or in tests of the bare service."""
        self.store = store
        self.root_key = root_key
        self.clock = clock
        self.settings = settings
        self.sealed_reason = sealed_reason or (None if root_key is not None else "no root key")
        # Fed by client-supplied access key ids: bounded, and misses kept apart.
        self._principals: LruCache[str, Principal] = LruCache(PRINCIPAL_CACHE)
        self._unknown_ids: LruCache[str, bool] = LruCache(UNKNOWN_ID_CACHE)
        self._identity: dict[tuple[str, str], list[Policy]] = {}
        self._keys: dict[str, KeyEntry] = {}
        # Alias lookups, misses included ("" for an alias that does not exist): the names,
        # and the account of an alias ARN, are the caller's choice, so the cache is bounded.
        self._aliases: LruCache[tuple[str, str, str], str] = LruCache(ALIAS_CACHE)
        self.verifier = Verifier(
            secret_for=self._secret_for,
            now=(auth_clock or SystemClock()).now,
            regions=settings.regions,
            max_skew=settings.max_skew_seconds,
        )
        self.after_change: list[Callable[[], None]] = []
        self.audit = audit
        self.changes = Changes(store, audit, clock)

    def close(self) -> None:
        """Close the audit chain (marking it closed), the store and the root key, in that
        order: the chain's last records need the store."""
        if self.audit is not None:
            self.audit.close()
        self.store.close()
        close_root_key(self.root_key)

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
        self._unknown_ids.clear()
        self._identity.clear()
        self._keys.clear()
        self._aliases.clear()
        self.verifier.clear_cache()
        for hook in self.after_change:
            hook()

    def principal(self, access_key_id: str) -> Principal | None:
        """The active principal of ``access_key_id``, or None. An id outside AWS's format is
        refused before any lookup; ids that are not found are remembered in a small LRU of
        their own, so a flood of unknown ids can neither grow memory nor evict known ones."""
        if not ACCESS_KEY_ID.fullmatch(access_key_id):
            return None
        principal = self._principals.get(access_key_id)
        if principal is not None or access_key_id in self._unknown_ids:
            return principal
        record = self.store.identities.get_access_key(access_key_id)
        if record is None or record.status != "Active":
            self._unknown_ids.put(access_key_id, True)
            return None
        principal = unwrap_principal(record, self.require_unsealed())
        self._principals.put(access_key_id, principal)
        return principal

    def cache_sizes(self) -> dict[str, int]:
        """Entries in the caches that client-supplied values feed (each bounded)."""
        return {
            "principals": len(self._principals),
            "unknown_access_key_ids": len(self._unknown_ids),
            "signing_keys": self.verifier.cache_size(),
            "aliases": len(self._aliases),
        }

    def _secret_for(self, access_key_id: str) -> str | None:
        principal = self.principal(access_key_id)
        return None if principal is None else principal.secret

    def identity_policies(self, principal: Principal) -> list[Policy]:
        owner = (principal.account, principal.user_name)
        if owner not in self._identity:
            documents = self.store.identities.user_policies(*owner)
            self._identity[owner] = [Policy.parse(text, key_policy=False) for _, text in documents]
        return self._identity[owner]

    def key(self, key_id: str) -> KeyEntry | None:
        """The key as of now: time-driven changes that are due are made first."""
        entry = self._keys.get(key_id) or self._load(key_id)
        if entry is not None and entry.next_change <= self.clock.now():
            lifecycle.apply_due(self.changes, self.require_unsealed(), key_id)
            entry = self._load(key_id)  # once: nothing is due after apply_due
        return entry

    def _load(self, key_id: str) -> KeyEntry | None:
        self._keys.pop(key_id, None)
        record = self.store.keys.get_key(key_id)
        if record is None:
            return None
        wrapped = {m.material_id: m for m in self.store.keys.materials(key_id)}
        entry = KeyEntry(record, wrapped, self.store.grants.of_key(key_id))
        self._keys[key_id] = entry
        return entry

    def sweep(self) -> int:
        """Make every due deletion, rotation and expiry in the store (the periodic task,
        which runs also while no request comes); returns how many keys changed."""
        changed = lifecycle.sweep(self.changes, self.require_unsealed())
        for key_id in changed:
            self._keys.pop(key_id, None)
        return len(changed)

    def change_key(self, key_id: str, **values: Any) -> None:
        """Store ``values`` on the key and drop every cache, so the change is in force at once."""
        with self.store.write() as connection:
            self.store.keys.update_key(key_id, connection, **values)
        self.forget()

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
    # Every key a request reaches goes through ``resolve`` (a KeyId-like parameter) or
    # ``reach`` (a key id found in a ciphertext blob, a grant or an alias); both confine it
    # to the request's region, so a Deny on aws:RequestedRegion and ``--regions`` (checked
    # on the SigV4 scope) hold for every key, whatever ARN a request names.

    def resolve(self, caller: Caller, key_param: str, *, aliases: bool = True) -> KeyEntry:
        """A key named by key id, key ARN, or (if ``aliases``) alias name or alias ARN, in the
        request's region; a key ARN may name another account (its policy decides)."""
        account, region, key_id = caller.account, caller.region, None
        if KEY_ID.match(key_param):
            key_id = key_param
        elif key_param.startswith("arn:"):
            confine_arn(caller.region, key_param)
            arn = parse_kms_arn(key_param)
            if arn is not None and not arn.is_alias and KEY_ID.match(arn.key_id):
                account, key_id = arn.account, arn.key_id
            elif arn is not None and arn.is_alias and aliases:
                account = arn.account
                key_id = self._alias_target(
                    account, region, arn.resource, key_param, own=account == caller.account
                )
            else:
                raise InvalidArnException(f"{key_param} is not a valid ARN for this parameter.")
            if arn.partition != PARTITION:
                raise InvalidArnException(f"{key_param} is not an ARN in partition '{PARTITION}'.")
        elif key_param.startswith("alias/") and aliases:
            key_id = self._alias_target(account, region, key_param, key_param, own=True)
        else:
            raise NotFoundException(f"Invalid keyId '{key_param}'")
        entry = self.reach(caller, key_id)
        if entry is None or entry.record.account != account:
            shown = key_id.partition("@")[0]
            raise NotFoundException(f"Key '{key_arn(region, account, shown)}' does not exist")
        caller.keys.append(entry.record.arn)  # for the audit record, allowed or not
        return entry

    def reach(self, caller: Caller, key_id: str) -> KeyEntry | None:
        """The key ``key_id`` if it lives in the request's region (any account), else None:
        for ids a request carries indirectly (ciphertext blob, grant token, alias target)."""
        entry = self.key(key_row_id(key_id, caller.region))
        if entry is None or entry.record.region != caller.region:
            return None
        return entry

    def _alias_target(self, account: str, region: str, name: str, shown: str, *, own: bool) -> str:
        """The key id an alias names. A predefined alias/aws/ alias of the caller's own
        account names its AWS managed key, made on first use as AWS does."""
        cache_key = (account, region, name)
        target = self._aliases.get(cache_key)
        if target is None:
            alias = self.store.keys.get_alias(account, region, name)
            target = "" if alias is None else alias.target_key_id
            if not target and own and is_managed_alias(name):
                root = self.require_unsealed()
                now = self.clock.now()
                target = create_managed_key(self.store, root, account, region, name, now)
            self._aliases.put(cache_key, target)
        if not target:
            arn = shown if shown.startswith("arn:") else alias_arn(region, account, name)
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
        identity = self.identity_policies(caller.principal)
        policies = [*identity, entry.policy] if entry is not None else identity
        keys = self.condition_keys(
            caller, encryption_context, context, action=action, entry=entry, policies=policies
        )
        decide(
            principal=caller.principal,
            action=action,
            resource=resource or (entry.record.arn if entry is not None else "*"),
            resource_account=entry.record.account if entry is not None else None,
            context=keys,
            identity_policies=identity,
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
        *,
        action: str | None = None,
        entry: KeyEntry | None = None,
        policies: Sequence[Policy] = (),
    ) -> dict[str, ContextValue]:
        """Every condition key of the request: global ones, the operation's, the key's (for an
        operation on a key), and the operation's parameters (``extra``). Keys that cost a
        store read (kms:ResourceAliases, aws:ResourceTag/*) only if ``policies`` name them."""
        keys = condition_keys(
            caller.principal,
            region=caller.region,
            source_ip=caller.source_ip,
            secure_transport=caller.secure_transport,
            now=self.clock.now(),
            encryption_context=encryption_context,
            user_agent=caller.user_agent,
        )
        if action is not None:
            keys.update(action_keys(action))
        if entry is not None:
            keys.update(key_keys(entry.record))
            wanted = frozenset().union(*(p.condition_keys for p in policies))
            if "kms:resourcealiases" in wanted:
                names = tuple(a.alias_name for a in self.store.keys.aliases_of(entry.record.key_id))
                if names:  # a multivalued key with no value is absent
                    keys["kms:resourcealiases"] = names
            if any(k.startswith("aws:resourcetag/") for k in wanted):
                tags = self.store.keys.tags(entry.record.key_id)
                keys.update(case_insensitive_keys(tags, "aws:resourcetag/"))
        if extra:
            keys.update(extra)
        return keys


def require_usable(entry: KeyEntry) -> KeyRecord:
    """The key state check every cryptographic operation makes."""
    record = entry.record
    state = record.key_state
    if state == "Enabled":
        return record
    if state == "Disabled":
        raise DisabledException(f"{record.arn} is disabled.")
    what = {
        "PendingDeletion": "pending deletion",
        "PendingReplicaDeletion": "pending replica deletion",
        "PendingImport": "pending import",
    }.get(state, state)
    raise KMSInvalidStateException(f"{record.arn} is {what}.")


def new_key_id() -> str:
    return str(uuid.uuid4())
