"""Server configuration: flags > environment (SEALBOX_*) > TOML file > defaults.

Loaded once into a frozen dataclass. The TOML file uses the same names as the
flags (``data_dir``, ``root_key``, ``host``, ``port``, ``workers``, ``regions``,
``log_level``, ``log_format``, ``account_quota``, ``tls_cert``, ``tls_key``, and the HTTP and work
limits ``max_header_bytes``, ``header_timeout``, ``body_timeout``, ``keepalive_timeout``,
``max_connections``, ``work_threads``, ``work_per_account``), and ``console`` (true or
false: serve the web console at /console; ``--no-console``, ``SEALBOX_CONSOLE=false``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sealbox.errors import UsageError
from sealbox.server.rootkey.core import default_root_key_path

DEFAULT_PORT = 8400
DEFAULT_ACCOUNT_QUOTA = 10000.0  # AWS's default for cryptographic operations in large regions
ENV_PREFIX = "SEALBOX_"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sealbox"


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path = dataclasses.field(default_factory=default_data_dir)
    root_key: str = dataclasses.field(default_factory=lambda: str(default_root_key_path()))
    #: during a root-key rotation: the key being replaced (values under it still unwrap)
    previous_root_key: str | None = None
    #: a postgresql:// URL; None: the SQLite store in data_dir
    database: str | None = None
    #: for a pkcs11: root key, when its URI does not say (configuration file only)
    pkcs11_module: str | None = None
    pkcs11_pin_file: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    tls_cert: str | None = None
    tls_key: str | None = None
    regions: tuple[str, ...] | None = None
    log_level: str = "info"
    #: "text" or "json"; None: text when stderr is a terminal, JSON otherwise
    log_format: str | None = None
    sweep_seconds: float = 60.0
    account_quota: float = DEFAULT_ACCOUNT_QUOTA  # requests per second per account; 0: none
    # HTTP limits, per worker process (see docs/kms.md, "Running it")
    max_header_bytes: int = 16 * 1024  # request line and headers; beyond: 431
    header_timeout: float = 10.0  # seconds from connection (or previous answer) to full headers
    body_timeout: float = 10.0  # seconds from full headers to full body; beyond: 408
    keepalive_timeout: float = 5.0  # seconds an idle keep-alive connection stays open
    max_connections: int = 4096  # open connections; beyond: 503 and close
    # Blocking or CPU-heavy work (RSA key generation), per worker process
    work_threads: int = 2
    work_per_account: int = 1  # of work_threads one account may occupy at once
    console: bool = True  # serve the web console's static files at /console

    def to_json(self) -> str:
        return json.dumps(
            {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}
        )

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        values = json.loads(text)
        values["data_dir"] = Path(values["data_dir"])
        if values.get("regions") is not None:
            values["regions"] = tuple(values["regions"])
        return cls(**values)


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


_FIELDS = {f.name: f for f in dataclasses.fields(ServerConfig)}
_INTEGERS = frozenset(
    {"port", "workers", "max_header_bytes", "max_connections", "work_threads", "work_per_account"}
)
_FLOATS = frozenset(
    {"sweep_seconds", "account_quota", "header_timeout", "body_timeout", "keepalive_timeout"}
)
_BOOLEANS = frozenset({"console"})
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def _boolean(value: Any) -> bool:
    """A TOML boolean, or an environment variable's text (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(value)


def _coerce(name: str, value: Any) -> Any:
    try:
        if name == "data_dir":
            return Path(str(value)).expanduser()
        if name in _INTEGERS:
            return int(value)
        if name in _FLOATS:
            return float(value)
        if name in _BOOLEANS:
            return _boolean(value)
        if name == "regions":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(sorted({str(r).strip() for r in items if str(r).strip()})) or None
        return None if value is None else str(value)
    except (TypeError, ValueError):
        raise UsageError(f"configuration value {name}={value!r} is not valid") from None


def load_config(
    flags: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, file: Path | None = None
) -> ServerConfig:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = file or (
        Path(environ[ENV_PREFIX + "CONFIG"]) if ENV_PREFIX + "CONFIG" in environ else None
    )
    if path is not None:
        try:
            document = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise UsageError(f"cannot read configuration file {path}: {error}") from None
        for section in ("tls", "pkcs11"):
            values_of = document.pop(section, {})
            document.update({f"{section}_{k}": v for k, v in values_of.items()})
        unknown = sorted(set(document) - set(_FIELDS))
        if unknown:
            raise UsageError(f"unknown settings in {path}: {unknown}; known: {sorted(_FIELDS)}")
        values.update(document)
    for name in _FIELDS:
        if name.startswith("pkcs11_"):
            continue  # the PIN's whereabouts come from the file, never the environment
        if ENV_PREFIX + name.upper() in environ:
            values[name] = environ[ENV_PREFIX + name.upper()]
    values.update({k: v for k, v in flags.items() if v is not None and k in _FIELDS})
    config = ServerConfig(**{k: _coerce(k, v) for k, v in values.items()})
    if (config.tls_cert is None) != (config.tls_key is None):
        raise UsageError("give both --tls-cert and --tls-key, or neither")
    if config.workers < 1:
        raise UsageError("--workers must be at least 1")
    if config.root_key.startswith("passphrase:") and config.workers > 1:
        raise UsageError(
            "a passphrase root key is read once, by one process: use --workers 1, or a key file "
            "or a PKCS#11 token for several workers"
        )
    if config.log_format is not None and config.log_format not in ("text", "json"):
        raise UsageError(f"--log-format must be text or json, got {config.log_format!r}")
    if config.account_quota < 0:
        raise UsageError("--account-quota must be 0 (no quota) or a positive rate per second")
    if not 0 <= config.port <= 65535:
        raise UsageError("--port must be 0..65535 (0 picks a free port)")
    _check_limits(config)
    return config


def _check_limits(config: ServerConfig) -> None:
    """Every HTTP and work limit is finite and positive: none can be switched off."""
    if config.max_header_bytes < 1024:
        raise UsageError("--max-header-bytes must be at least 1024")
    for name in ("header_timeout", "body_timeout", "keepalive_timeout"):
        if not 0 < getattr(config, name) <= 3600:
            raise UsageError(f"--{name.replace('_', '-')} must be more than 0 and at most 3600")
    if config.max_connections < 1:
        raise UsageError("--max-connections must be at least 1")
    if config.work_threads < 1 or not 1 <= config.work_per_account <= config.work_threads:
        raise UsageError("--work-threads must be at least 1, --work-per-account 1..work-threads")
