"""``sealbox serve``: run the KMS service (``--dev`` for a throwaway instance)."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEV_ACCOUNT = "111122223333"
DEV_REGION = "us-east-1"
DEV_ALIAS = "alias/sealbox-dev"
LIMIT_FLAGS = (
    "max_header_bytes",
    "header_timeout",
    "body_timeout",
    "keepalive_timeout",
    "max_connections",
    "work_threads",
    "work_per_account",
)


def config_flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "data_dir": getattr(args, "data_dir", None),
        "root_key": getattr(args, "root_key", None),
        "previous_root_key": getattr(args, "previous_root_key", None),
        "database": getattr(args, "database", None),
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "workers": getattr(args, "workers", None),
        "tls_cert": getattr(args, "tls_cert", None),
        "tls_key": getattr(args, "tls_key", None),
        "regions": getattr(args, "regions", None),
        "log_level": getattr(args, "log_level", None),
        "account_quota": getattr(args, "account_quota", None),
        **{name: getattr(args, name, None) for name in LIMIT_FLAGS},
    }


@contextlib.contextmanager
def _dev_paths(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """A throwaway data directory and root key, removed on exit unless given by the user."""
    if not args.dev:
        yield {}
        return
    scratch = Path(tempfile.mkdtemp(prefix="sealbox-dev-"))
    try:
        yield {
            "data_dir": args.data_dir or str(scratch / "data"),
            "root_key": args.root_key or str(scratch / "root.key"),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _seed_dev(config: Any) -> tuple[str, str, str]:
    """An admin access key for the development account and a key behind DEV_ALIAS."""
    from sealbox.server.bootstrap import open_service
    from sealbox.server.operations import load_all
    from sealbox.server.principals import create_access_key, unwrap_principal
    from sealbox.server.service import Caller

    service = open_service(config)
    try:
        root_key = service.require_unsealed()
        created = create_access_key(
            service.store,
            root_key,
            account=DEV_ACCOUNT,
            user_name="dev",
            admin=True,
            now=service.clock.now(),
        )
        record = service.store.get_access_key(created.access_key_id)
        assert record is not None
        caller = Caller(unwrap_principal(record, root_key), DEV_REGION, "dev-seed")
        operations = load_all()
        key = operations["CreateKey"](service, caller, {"Description": "Sealbox development key"})
        operations["CreateAlias"](
            service, caller, {"AliasName": DEV_ALIAS, "TargetKeyId": key["KeyMetadata"]["KeyId"]}
        )
        return created.access_key_id, created.secret_access_key, key["KeyMetadata"]["Arn"]
    finally:
        service.store.close()


def _run_uvicorn(config: Any, listener: socket.socket) -> None:
    """Serve on ``listener`` itself: handing uvicorn a file descriptor would make it rebuild
    the socket as AF_UNIX, and the event loop would then not set TCP_NODELAY (40 ms stalls)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    _raise_fd_limit(config.max_connections)
    settings = uvicorn.Config(
        "sealbox.server.asgi:create_app",
        factory=True,
        workers=config.workers,
        ssl_certfile=config.tls_cert,
        ssl_keyfile=config.tls_key,
        log_level="warning",
        access_log=False,
        # header size cap, header deadline and connection limit (sealbox.server.httplimits)
        http="sealbox.server.httplimits:LimitedHttpProtocol",
        loop="uvloop",
        lifespan="on",
        timeout_keep_alive=config.keepalive_timeout,
        timeout_graceful_shutdown=10,
        # the client address is the peer's: X-Forwarded-For would let any local client
        # choose its aws:SourceIp and its audited source address
        proxy_headers=False,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal against the
    # handler it found; with these no-op handlers in place, serve() finishes its own cleanup.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: None)
    if config.workers > 1:
        Multiprocess(settings, sockets=[listener]).run()
    else:
        settings.load_app()
        uvicorn.Server(settings).run(sockets=[listener])


def _raise_fd_limit(max_connections: int) -> None:
    """Let each worker hold ``max_connections`` sockets: the usual soft limit of 1,024
    descriptors is what a thousand idle connections used to exhaust (accept() then fails
    and nobody is served). Warn if the hard limit is lower than needed."""
    import resource

    from sealbox.server import logs
    from sealbox.server.httplimits import FD_MARGIN

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + FD_MARGIN
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
    if ceiling < wanted:
        logs.SERVICE.warning(
            "the open-file limit (%d) is below --max-connections %d + %d: each worker holds "
            "at most %d connections; raise the limit (ulimit -Hn) to allow more",
            hard,
            max_connections,
            FD_MARGIN,
            max(1, hard - FD_MARGIN),
        )


def run_serve(args: argparse.Namespace) -> int:
    from sealbox.server.store.engine import private_umask

    # every file the service and its workers create is private; first, as importing the
    # metrics module already creates its files
    private_umask()
    from sealbox.server import logs
    from sealbox.server.asgi import CONFIG_VARIABLE
    from sealbox.server.bootstrap import prepare
    from sealbox.server.config import load_config

    with _dev_paths(args) as dev:
        flags = {**config_flags(args), **dev}
        config = load_config(flags, file=Path(args.config) if args.config else None)
        logs.configure(config.log_level)
        prepare(config)
        listener = socket.create_server((config.host, config.port))
        port = listener.getsockname()[1]
        scheme = "https" if config.tls_cert else "http"
        url = f"{scheme}://{config.host}:{port}"
        if args.dev:
            access_key, secret, key_arn = _seed_dev(config)
            print(f"export AWS_ENDPOINT_URL_KMS={url}")
            print(f"export AWS_ACCESS_KEY_ID={access_key}")
            print(f"export AWS_SECRET_ACCESS_KEY={secret}")
            print(f"export AWS_DEFAULT_REGION={DEV_REGION}")
            print(
                f"# development key {key_arn} ({DEV_ALIAS}); data in {config.data_dir} (deleted on exit)"
            )
        print(f"sealbox: serving the KMS API on {url} with {config.workers} worker(s)", flush=True)
        os.environ[CONFIG_VARIABLE] = config.to_json()
        with contextlib.ExitStack() as stack:
            if config.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
                metrics_dir = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="sealbox-metrics-")
                )
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            _run_uvicorn(config, listener)
        listener.close()
    print("sealbox: stopped", file=sys.stderr)
    return 0
