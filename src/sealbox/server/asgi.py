"""The worker entry point: ``create_app()`` builds the ASGI app from the configuration
the ``sealbox serve`` parent passes in ``SEALBOX_SERVE_CONFIG``."""

from __future__ import annotations

import os

from sealbox.server import logs
from sealbox.server.app import KmsApp
from sealbox.server.bootstrap import open_service
from sealbox.server.config import ServerConfig

CONFIG_VARIABLE = "SEALBOX_SERVE_CONFIG"


def create_app() -> KmsApp:
    config = ServerConfig.from_json(os.environ[CONFIG_VARIABLE])
    logs.configure(config.log_level)
    return KmsApp(
        open_service(config),
        sweep_seconds=config.sweep_seconds,
        account_quota=config.account_quota / config.workers,
    )
