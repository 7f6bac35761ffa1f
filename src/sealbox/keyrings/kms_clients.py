"""KMS key identifiers and the boto3 clients that reach them.

spec: framework/aws-kms/aws-kms-key-arn.md. A key is named by a key ARN
(``arn:aws:kms:REGION:ACCOUNT:key/ID``), an alias ARN, an alias name
(``alias/NAME``) or a bare key id. Only a key ARN says which region — and so
which client — to use; the others go to the default region of the session.

boto3 is imported only when a client is first needed, so keyrings can be
built (and raw-key programs run) without it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealbox.errors import ErrorCode, KeyringError, UsageError

#: region (None: the session's default) → a boto3 KMS client
ClientSupplier = Callable[[str | None], Any]


@dataclass(frozen=True)
class KmsArn:
    partition: str
    region: str
    account: str
    resource_type: str  # "key" or "alias"
    resource_id: str

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:kms:{self.region}:{self.account}:"
            f"{self.resource_type}/{self.resource_id}"
        )


def parse_arn(identifier: str) -> KmsArn | None:
    """The parts of a KMS key or alias ARN, or None if ``identifier`` is not one."""
    parts = identifier.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
        return None
    _, partition, _, region, account, resource = parts
    resource_type, slash, resource_id = resource.partition("/")
    if not (partition and region and account and slash and resource_id):
        return None
    if resource_type not in ("key", "alias"):
        return None
    return KmsArn(partition, region, account, resource_type, resource_id)


def parse_key_arn(identifier: str) -> KmsArn | None:
    """The parts of a KMS *key* ARN (not an alias ARN), or None."""
    arn = parse_arn(identifier)
    return arn if arn is not None and arn.resource_type == "key" else None


def region_of(identifier: str) -> str | None:
    arn = parse_arn(identifier)
    return arn.region if arn else None


def check_key_identifier(identifier: object, what: str) -> str:
    if not isinstance(identifier, str) or not identifier:
        raise UsageError(f"{what} must be a non-empty str (a key ARN, alias or key id)")
    if identifier.startswith("arn:") and parse_arn(identifier) is None:
        raise UsageError(
            f"{what} {identifier!r} is not a KMS ARN "
            "(arn:PARTITION:kms:REGION:ACCOUNT:key/ID or …:alias/NAME)",
            code=ErrorCode.INVALID_KEY,
        )
    return identifier


class DefaultClientSupplier:
    """One boto3 KMS client per region, made on first use and shared by threads.

    Clients follow the usual boto3 configuration: credentials from the
    environment or profile, the endpoint from ``AWS_ENDPOINT_URL_KMS``.
    ``region`` is for keys named without an ARN (default: the session's).
    """

    def __init__(
        self, *, profile: str | None = None, region: str | None = None, session: Any = None
    ) -> None:
        self._profile = profile
        self._default_region = region
        self._session = session
        self._clients: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str | None) -> Any:
        region = region or self._default_region
        client = self._clients.get(region)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._make(region)
                self._clients[region] = client
        return client

    def _make(self, region: str | None) -> Any:
        try:
            import boto3
            import botocore.config
            import botocore.exceptions
        except ImportError:  # pragma: no cover - boto3 is an optional dependency
            raise UsageError(
                "KMS keyrings need boto3: pip install 'sealbox[kms]'",
                code=ErrorCode.INVALID_ARGUMENT,
            ) from None
        if self._session is None:
            try:
                self._session = boto3.session.Session(profile_name=self._profile)
            except botocore.exceptions.ProfileNotFound:
                raise UsageError(
                    f"AWS profile {self._profile!r} is not in ~/.aws/config or ~/.aws/credentials"
                ) from None
        config = botocore.config.Config(user_agent_extra="sealbox")
        try:
            return self._session.client("kms", region_name=region, config=config)
        except botocore.exceptions.NoRegionError:
            raise KeyringError(
                "no AWS region for a KMS key given by alias or key id; use its key ARN, "
                "or set AWS_REGION (or AWS_DEFAULT_REGION)",
                code=ErrorCode.KEYRING_FAILURE,
            ) from None


def kms_call(client: Any, operation: str, key_id: str | None, **params: Any) -> dict[str, Any]:
    """Call ``operation`` and turn every botocore failure into a KeyringError
    whose message says what went wrong and how to fix it. ``key_id=None`` sends no
    KeyId (a Decrypt that lets KMS find the key from the ciphertext)."""
    import botocore.exceptions

    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "?")
    if key_id is not None:
        params["KeyId"] = key_id
    try:
        response: dict[str, Any] = getattr(client, operation)(**params)
        return response
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        raise KeyringError(
            f"KMS {details.get('Code', 'error')} from {endpoint} for key "
            f"{key_id or 'the one the ciphertext names'}: "
            f"{details.get('Message', '')}".rstrip(": "),
            code=ErrorCode.KMS_ERROR,
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise KeyringError(
            f"no AWS credentials to call KMS at {endpoint}; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
            code=ErrorCode.KMS_ERROR,
        ) from None
    except botocore.exceptions.EndpointConnectionError:
        raise KeyringError(
            f"cannot reach KMS at {endpoint}; check AWS_ENDPOINT_URL_KMS and that the service runs",
            code=ErrorCode.KMS_ERROR,
        ) from None
    except botocore.exceptions.BotoCoreError as error:
        raise KeyringError(
            f"KMS call to {endpoint} failed: {error}", code=ErrorCode.KMS_ERROR
        ) from None
