"""The service's state: the store, the root key, and per-worker caches.

Caches (principals, keys with their unwrapped material, aliases) live in the
worker process and are dropped whenever the store's generation moves, which
:meth:`KmsService.refresh` checks before every request. Writes made by this
worker bump the generation too, so its own next request reloads as well.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sealbox.server.clock import Clock, SystemClock
from sealbox.server.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidArnException,
    KMSInternalException,
    KMSInvalidStateException,
    NotFoundException,
)
from sealbox.server.principals import Principal, unwrap_principal
from sealbox.server.rootkey import RootKey, UnwrapError
from sealbox.server.sigv4 import Verifier
from sealbox.server.store.records import PARTITION, KeyRecord, MaterialRecord, material_aad
from sealbox.server.store.repository import Store

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN = re.compile(r"^arn:([^:]+):kms:([^:]+):(\d{12}):key/(.+)$")
ALIAS_ARN = re.compile(r"^arn:([^:]+):kms:([^:]+):(\d{12}):(alias/.+)$")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, from where, in which region."""

    principal: Principal
    region: str
    request_id: str
    source_ip: str = ""
    user_agent: str = ""

    @property
    def account(self) -> str:
        return self.principal.account


@dataclass(slots=True)
class KeyEntry:
    """A key, its wrapped materials, and the materials unwrapped so far."""

    record: KeyRecord
    wrapped: dict[str, MaterialRecord]
    materials: dict[str, bytes] = field(default_factory=dict)


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
        self._keys: dict[str, KeyEntry] = {}
        self._aliases: dict[tuple[str, str, str], str | None] = {}
        self.verifier = Verifier(
            secret_for=self._secret_for,
            now=(auth_clock or SystemClock()).now,
            regions=settings.regions,
            max_skew=settings.max_skew_seconds,
        )
        self.after_change: list[Callable[[], None]] = []

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

    def key(self, key_id: str) -> KeyEntry | None:
        """The key if it exists; a key whose deletion date has passed no longer does."""
        entry = self._keys.get(key_id)
        if entry is None:
            record = self.store.get_key(key_id)
            if record is None:
                return None
            wrapped = {m.material_id: m for m in self.store.materials(key_id)}
            entry = self._keys[key_id] = KeyEntry(record, wrapped)
        record = entry.record
        if record.key_state == "PendingDeletion" and record.deletion_date is not None:
            if record.deletion_date <= self.clock.now():
                self.delete_due_key(key_id)
                return None
        return entry

    def delete_due_key(self, key_id: str) -> None:
        with self.store.write() as connection:
            record = self.store.get_key(key_id, connection)
            now = self.clock.now()
            if (
                record is not None
                and record.key_state == "PendingDeletion"
                and record.deletion_date is not None
                and record.deletion_date <= now
            ):
                self.store.delete_key(key_id, connection)
        self._keys.pop(key_id, None)

    def delete_due_keys(self) -> int:
        """Delete every key whose waiting period has passed (run periodically)."""
        due = self.store.keys_due_for_deletion(self.clock.now())
        for key_id in due:
            self.delete_due_key(key_id)
        return len(due)

    def material(self, entry: KeyEntry, material_id: str) -> bytes | None:
        """The key's material ``material_id`` (None if the key has no such material)."""
        material = entry.materials.get(material_id)
        if material is None:
            row = entry.wrapped.get(material_id)
            if row is None:
                return None
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
        record = entry.record if entry is not None else None
        if record is None or record.account != account or record.region != region:
            raise NotFoundException(
                f"Key 'arn:{PARTITION}:kms:{region}:{account}:key/{key_id}' does not exist"
            )
        assert entry is not None
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

    # -- authorization (account boundary; key policies and grants come later) ----------

    def authorize(self, caller: Caller, action: str, entry: KeyEntry | None) -> None:
        if entry is not None and entry.record.account != caller.account:
            raise AccessDeniedException(
                f"User: {caller.principal.arn} is not authorized to perform: kms:{action} on resource: "
                f"{entry.record.arn} because no resource-based policy allows the kms:{action} action"
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
