"""AWS Signature Version 4 verification (AWS4-HMAC-SHA256, header form). Pure: no I/O.

Checks run in AWS's order, each failing with AWS's error type:
missing Authorization → MissingAuthenticationToken; malformed → IncompleteSignature;
unknown or inactive key, or a session token → UnrecognizedClient; timestamp more
than five minutes off, scope date or service or region wrong, required header
unsigned, unsigned or mismatched payload hash, wrong signature → InvalidSignature.
Signatures are compared with ``hmac.compare_digest``; signing keys are cached
per (access key, secret, date, region) in a bounded LRU: the date and region are the
client's choice, so only well-formed ones are cached.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from sealbox.server.errors import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from sealbox.server.lru import LruCache

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
MAX_SKEW_SECONDS = 300
_SPACES = re.compile(r"\s+")
_DATE = re.compile(r"^\d{8}T\d{6}Z$")
SIGNING_KEY_CACHE = 4096  # entries: (access key, date, region) triples in use at once
_CACHEABLE_REGION = re.compile(r"[a-z0-9-]{1,32}")  # AWS region names; others are not cached
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True, slots=True)
class Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return _scope(self.date, self.region, self.service)


def _scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/{TERMINATOR}"


class Request:
    """The parts of an HTTP request that SigV4 covers. ``headers`` are (name, value)
    pairs as received (names in any case, duplicates allowed)."""

    __slots__ = ("_single", "_values", "body", "headers", "method", "raw_path", "raw_query")

    def __init__(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        self.method = method
        self.raw_path = raw_path
        self.raw_query = raw_query
        self.headers = headers
        self.body = body
        # one value per name, as requests mostly have: no list per header
        single = {name.lower(): value for name, value in headers}
        values: dict[str, list[str]] | None = None
        if len(single) != len(headers):  # a name repeats: all its values, in order
            values = {}
            for name, value in headers:
                values.setdefault(name.lower(), []).append(value)
        self._single = single
        self._values = values

    def _all(self, name: str) -> list[str] | tuple[str, ...]:
        if self._values is not None:
            return self._values.get(name, ())
        value = self._single.get(name)
        return () if value is None else (value,)

    def header(self, name: str) -> str | None:
        """All values of header ``name`` (lower case), comma-joined, or None."""
        if self._values is None:
            return self._single.get(name)
        values = self._values.get(name)
        return None if values is None else ",".join(values)

    def canonical_value(self, name: str) -> str:
        """Trimmed values with inner runs of whitespace collapsed, comma-joined."""
        values = self._all(name)
        if len(values) == 1:
            value = values[0].strip()
            return (
                _SPACES.sub(" ", value)
                if ("  " in value or "\t" in value or "\n" in value)
                else value
            )
        return ",".join(_SPACES.sub(" ", v.strip()) for v in values)


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature checked out."""

    access_key_id: str
    region: str


# The shape every SDK sends, parsed in one step; anything else takes the general path.
_COMMON = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})"
)


def parse_authorization(value: str) -> Authorization:
    common = _COMMON.fullmatch(value)
    if common is not None:
        key, date, region, service, signed, signature = common.groups()
        return Authorization(key, date, region, service, tuple(signed.split(";")), signature)
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(
            f"Unsupported AWS 'algorithm': '{algorithm}' (use {ALGORITHM})"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise IncompleteSignatureException(
            "Authorization header requires "
            + ", ".join(f"'{m}'" for m in missing)
            + f" parameter(s). Authorization={value.strip()[:200]}"
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not all(scope) or scope[4] != TERMINATOR:
        raise IncompleteSignatureException(
            f"Credential should be of the form ACCESS_KEY/YYYYMMDD/REGION/SERVICE/{TERMINATOR}, "
            f"got '{fields['Credential'][:200]}'"
        )
    return Authorization(
        access_key_id=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
    )


def _encode(text: str, *, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


def canonical_uri(raw_path: str, *, normalize: bool = True) -> str:
    """Each path segment URI-encoded (again: non-S3 services double-encode)."""
    path = raw_path or "/"
    if path == "/":  # every KMS request
        return path
    if normalize:
        segments: list[str] = []
        for segment in path.split("/"):
            if segment in ("", "."):
                continue
            if segment == "..":
                if segments:
                    segments.pop()
                continue
            segments.append(segment)
        trailing = "/" if path.endswith("/") and segments else ""
        path = "/" + "/".join(segments) + trailing
    return "/".join(_encode(segment) for segment in path.split("/"))


def canonical_query(raw_query: str) -> str:
    if not raw_query:  # every KMS request
        return ""
    pairs = []
    for item in raw_query.split("&") if raw_query else ():
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_headers(request: Request, signed: Sequence[str]) -> str:
    return "".join([f"{name}:{request.canonical_value(name)}\n" for name in signed])


def canonical_request(
    request: Request, signed_headers: Sequence[str], payload_hash: str, *, normalize: bool = True
) -> str:
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.raw_path, normalize=normalize),
            canonical_query(request.raw_query),
            canonical_headers(request, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _signature(key: bytes, amz_date: str, scope: str, canonical: str) -> str:
    """The hex signature of a canonical request: what the client sends and the verifier expects."""
    return hmac.digest(key, string_to_sign(amz_date, scope, canonical).encode(), "sha256").hex()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


def authorization_value(
    request: Request,
    signed_headers: Sequence[str],
    *,
    access_key_id: str,
    key: bytes,
    amz_date: str,
    region: str,
    service: str = "kms",
) -> str:
    """The ``Authorization`` value that signs ``request`` with ``key`` (see
    :func:`signing_key`): the client's side of what :class:`Verifier` checks, for tests,
    benchmarks and tools that send raw requests."""
    canonical = canonical_request(request, signed_headers, hashlib.sha256(request.body).hexdigest())
    scope = _scope(amz_date[:8], region, service)
    signature = _signature(key, amz_date, scope, canonical)
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )


def _format(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y%m%dT%H%M%SZ")


def _parse_amz_date(value: str) -> float:
    if not _DATE.match(value):
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{value[:40]}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )
    try:
        moment = datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise IncompleteSignatureException(f"Date '{value[:40]}' is not a valid date.") from None
    return moment.timestamp()


class Verifier:
    """Verifies requests for one service against secrets from ``secret_for``."""

    def __init__(
        self,
        *,
        secret_for: Callable[[str], str | None],
        now: Callable[[], float],
        service: str = "kms",
        regions: frozenset[str] | None = None,
        required_headers: tuple[str, ...] = ("host", "x-amz-date", "x-amz-target"),
        max_skew: int = MAX_SKEW_SECONDS,
    ) -> None:
        self._secret_for = secret_for
        self._now = now
        self._service = service
        self._regions = regions
        self._required = required_headers
        self._max_skew = max_skew
        self._keys: LruCache[tuple[str, str, str, str], bytes] = LruCache(SIGNING_KEY_CACHE)
        self._last_date = (
            "",
            0.0,
        )  # the most recent X-Amz-Date and its time: most requests share one

    def clear_cache(self) -> None:
        self._keys.clear()

    def cache_size(self) -> int:
        return len(self._keys)

    def verify(self, request: Request) -> Verified:
        header = request.header("authorization")
        if header is None:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        auth = parse_authorization(header)
        secret = self._secret_for(auth.access_key_id)
        if secret is None or request.header("x-amz-security-token") is not None:
            raise UnrecognizedClientException(
                "The security token included in the request is invalid."
            )
        amz_date = request.header("x-amz-date")
        if amz_date is None:
            raise IncompleteSignatureException(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        self._check_time(amz_date)
        self._check_scope(auth, amz_date)
        self._check_signed_headers(auth)
        payload_hash = self._payload_hash(request)
        canonical = canonical_request(request, auth.signed_headers, payload_hash)
        key = self._signing_key(auth, secret)
        expected = _signature(key, amz_date, auth.scope, canonical)
        if not hmac.compare_digest(expected, auth.signature):
            raise InvalidSignatureException(_SIGNATURE_MISMATCH)
        return Verified(auth.access_key_id, auth.region)

    def _signing_key(self, auth: Authorization, secret: str) -> bytes:
        cache_key = (auth.access_key_id, secret, auth.date, auth.region)
        key = self._keys.get(cache_key)
        if key is None:
            key = signing_key(secret, auth.date, auth.region, auth.service)
            if _CACHEABLE_REGION.fullmatch(auth.region):
                self._keys.put(cache_key, key)
        return key

    def _check_time(self, amz_date: str) -> None:
        if self._last_date[0] == amz_date:
            when = self._last_date[1]
        else:
            when = _parse_amz_date(amz_date)
            self._last_date = (amz_date, when)
        now = self._now()
        if when < now - self._max_skew:
            raise InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than {_format(now - self._max_skew)} "
                f"({_format(now)} - {self._max_skew // 60} min.)"
            )
        if when > now + self._max_skew:
            raise InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than {_format(now + self._max_skew)} "
                f"({_format(now)} + {self._max_skew // 60} min.)"
            )

    def _check_scope(self, auth: Authorization, amz_date: str) -> None:
        if auth.date != amz_date[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        if auth.service != self._service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{self._service}'. "
            )
        if self._regions is not None and auth.region not in self._regions:
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region; served: {sorted(self._regions)}. "
            )

    def _check_signed_headers(self, auth: Authorization) -> None:
        missing = [h for h in self._required if h not in auth.signed_headers]
        if missing:
            raise InvalidSignatureException(
                f"The headers {missing} must be signed (SignedHeaders={';'.join(auth.signed_headers)})."
            )

    @staticmethod
    def _payload_hash(request: Request) -> str:
        actual = hashlib.sha256(request.body).hexdigest()
        declared = request.header("x-amz-content-sha256")
        if declared is None:
            return actual
        if declared == "UNSIGNED-PAYLOAD":
            raise InvalidSignatureException(
                "This service requires a signed payload; UNSIGNED-PAYLOAD is refused."
            )
        if not hmac.compare_digest(declared, actual):
            raise InvalidSignatureException(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        return declared
