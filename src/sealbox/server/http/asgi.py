"""The worker entry point: ``create_app()`` builds the ASGI app from the configuration
the ``sealbox serve`` parent passes in ``SEALBOX_SERVE_CONFIG``."""

from __future__ import annotations

import os

from sealbox.server import logs
from sealbox.server.bootstrap import open_service
from sealbox.server.config import ServerConfig
from sealbox.server.http import limits
from sealbox.server.http.app import KmsApp
from sealbox.server.workpool import WorkPool

CONFIG_VARIABLE = "SEALBOX_SERVE_CONFIG"


def create_app() -> KmsApp:
    config = ServerConfig.from_json(os.environ[CONFIG_VARIABLE])
    logs.configure(config.log_level, config.log_format)
    limits.configure(
        limits.Limits(
            max_header_bytes=config.max_header_bytes,
            header_timeout=config.header_timeout,
            max_connections=limits.usable_connections(config.max_connections),
        )
    )
    return KmsApp(
        open_service(config),
        sweep_seconds=config.sweep_seconds,
        account_quota=config.account_quota / config.workers,
        body_timeout=config.body_timeout,
        pool=WorkPool(config.work_threads, config.work_per_account),
        console=config.console,
    )
