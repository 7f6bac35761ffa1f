"""``sealbox serve``: run the KMS service (``--dev``: a development instance, throwaway or
persistent)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealbox.errors import UsageError

DEV_ACCOUNT = "111122223333"
DEV_REGION = "us-east-1"
DEV_ALIAS = "alias/sealbox-dev"
DEV_USER = "dev"
#: a persistent dev instance's root key, in its data directory: fine for development only,
#: as whoever copies the directory has the keys too
DEV_ROOT_KEY_FILE = "dev-only-root.key"
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
        "log_format": getattr(args, "log_format", None),
        "account_quota": getattr(args, "account_quota", None),
        "console": getattr(args, "console", None),  # --no-console: False; unset: None
        **{name: getattr(args, name, None) for name in LIMIT_FLAGS},
    }


@dataclass(frozen=True)
class DevPlace:
    """Where a ``--dev`` instance keeps its store and root key, and whether they outlive it."""

    data_dir: str
    root_key: str
    persistent: bool
    #: a root key the user named (kept when the rest is deleted)
    own_root_key: bool


@contextlib.contextmanager
def _dev_place(args: argparse.Namespace) -> Iterator[DevPlace | None]:
    """``--dev --data-dir D``: a persistent instance in D, its root key beside the data
    (unless --root-key says otherwise). Plain ``--dev``: a temporary directory, removed on exit."""
    if not args.dev:
        yield None
        return
    if args.data_dir:
        data_dir = Path(args.data_dir).expanduser().absolute()
        root_key = args.root_key or str(data_dir / DEV_ROOT_KEY_FILE)
        yield DevPlace(str(data_dir), root_key, persistent=True, own_root_key=bool(args.root_key))
        return
    if args.database:
        raise UsageError(
            "--dev --database keeps its data in the database: give --data-dir too, for the "
            "development root key and audit checkpoints"
        )
    scratch = Path(tempfile.mkdtemp(prefix="sealbox-dev-"))
    try:
        yield DevPlace(
            str(scratch / "data"),
            args.root_key or str(scratch / "root.key"),
            persistent=False,
            own_root_key=bool(args.root_key),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class DevSeed:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    key_arn: str
    key_state: str


def _seed_dev(config: Any) -> DevSeed:
    """The development account's admin access key and the key behind DEV_ALIAS: created on
    the first start, found again on the next ones (a persistent instance keeps them)."""
    from sealbox.server.bootstrap import open_service

    service = open_service(config)
    try:
        principal = _dev_principal(service)
        metadata = _dev_key(service, principal)
        return DevSeed(
            principal.access_key_id, principal.secret, metadata["Arn"], metadata["KeyState"]
        )
    finally:
        service.close()


def _dev_principal(service: Any) -> Any:
    """The dev user's active admin access key. Its secret is read back from the store
    (wrapped under the root key, which a dev instance has anyway) rather than kept in a
    second file: one copy of the secret, and a key deleted or deactivated with
    ``sealbox admin`` is replaced instead of printed while the server refuses it."""
    from sealbox.server.access.principals import create_access_key, unwrap_principal

    root_key = service.require_unsealed()
    for record in service.store.identities.access_keys(DEV_ACCOUNT):
        if record.user_name == DEV_USER and record.status == "Active" and record.admin:
            return unwrap_principal(record, root_key)
    created = create_access_key(
        service.store,
        root_key,
        account=DEV_ACCOUNT,
        user_name=DEV_USER,
        admin=True,
        now=service.clock.now(),
    )
    record = service.store.identities.get_access_key(created.access_key_id)
    assert record is not None
    return unwrap_principal(record, root_key)


def _dev_key(service: Any, principal: Any) -> dict[str, Any]:
    """The key behind DEV_ALIAS, created (with the alias) if the alias does not exist.
    Through the dispatcher, as the dev user's requests: authorized and audited like any."""
    import asyncio
    import json

    from sealbox.server.bootstrap import StartupError
    from sealbox.server.dispatch import Dispatcher

    dispatcher = Dispatcher(service)

    def call(operation: str, params: dict[str, Any], *, missing: bool = False) -> Any:
        response = asyncio.run(dispatcher.handle_as(principal, DEV_REGION, operation, params))
        answer = json.loads(response.body)
        if response.status == 200:
            return answer
        if missing and answer["__type"] == "NotFoundException":
            return None
        raise StartupError(
            f"cannot seed the development key: {operation} failed with "
            f"{answer['__type']}: {answer['message']}"
        )

    described = call("DescribeKey", {"KeyId": DEV_ALIAS}, missing=True)
    if described is not None:
        return dict(described["KeyMetadata"])
    metadata = dict(call("CreateKey", {"Description": "Sealbox development key"})["KeyMetadata"])
    call("CreateAlias", {"AliasName": DEV_ALIAS, "TargetKeyId": metadata["KeyId"]})
    return metadata


def admin_prefix(config: Any, config_file: str | None) -> str:
    """The ``sealbox admin …`` words that reach the store ``config`` describes, absolute
    paths so that they work from any directory. A database password is left out."""
    from sealbox.server.config import redact_url

    words = ["sealbox", "admin"]
    if config_file:
        words += ["--config", str(Path(config_file).expanduser().absolute())]
    if config.database:
        words += ["--database", redact_url(config.database)]
    words += ["--data-dir", str(Path(config.data_dir).expanduser().absolute())]
    words += ["--root-key", _spec(config.root_key)]
    if config.previous_root_key:
        words += ["--previous-root-key", _spec(config.previous_root_key)]
    return shlex.join(words)


def _spec(root_key: str) -> str:
    if root_key.startswith(("pkcs11:", "passphrase:")):
        return root_key
    return str(Path(root_key).expanduser().absolute())


def _print_dev(url: str, seed: DevSeed, place: DevPlace, prefix: str) -> None:
    """The export lines first (stdout holds nothing else but comments, so that both
    ``eval "$(…)"`` and copy-paste work), flushed before serving starts."""
    state = "" if seed.key_state == "Enabled" else f", {seed.key_state}"
    if place.persistent:
        kind = (
            f"# persistent development instance: data in {place.data_dir}, root key "
            f"{place.root_key} (development only: kept beside the data it protects); "
            "the same credentials, keys and aliases on every start"
        )
    else:
        kept = f" (root key {place.root_key} kept)" if place.own_root_key else ""
        kind = (
            f"# throwaway development instance: data in {place.data_dir}, deleted on exit{kept}; "
            "for one that persists: --dev --data-dir DIR"
        )
    lines = [
        f"export AWS_ENDPOINT_URL_KMS={url}",
        f"export AWS_ACCESS_KEY_ID={seed.access_key_id}",
        f"export AWS_SECRET_ACCESS_KEY={seed.secret_access_key}",
        f"export AWS_DEFAULT_REGION={DEV_REGION}",
        f"# development key {seed.key_arn} ({DEV_ALIAS}{state})",
        kind,
        f"# admin: {prefix}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    # nothing more goes to stdout: close it (for this process and the workers to come),
    # so that `eval "$(sealbox serve --dev &)"` reads to its end while the server runs on
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _first_key_hint(prefix: str) -> str:
    return (
        "sealbox: the store has no access keys yet, so no one can call it; create the first "
        f"with: {prefix} create-access-key --account 123456789012 --user admin --admin "
        "(any 12-digit account and user name)"
    )


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, or a StartupError that says what to change."""
    from sealbox.server.bootstrap import StartupError

    try:
        return socket.create_server((host, port))
    except OSError as error:
        # create_server re-raises a failed name lookup as OSError with the (negative) EAI code
        if isinstance(error, socket.gaierror) or (error.errno or 0) < 0:
            message = f"cannot listen on {host}: no such address; use --host with an address of this machine"
        elif error.errno == errno.EADDRINUSE:
            message = (
                f"port {port} is in use — is another sealbox serve running? "
                "use --port (0 picks a free port)"
            )
        elif error.errno == errno.EACCES:
            message = (
                f"cannot listen on port {port}: permission denied (ports below 1024 need "
                "privileges); use --port"
            )
        elif error.errno == errno.EADDRNOTAVAIL:
            message = f"cannot listen on {host}: not an address of this machine; use --host"
        else:
            message = f"cannot listen on {host}:{port}: {error.strerror or error}"
        raise StartupError(message) from None


def check_tls(config: Any) -> None:
    """Load the certificate and key once here: in uvicorn, a missing or mismatched file
    would fail later, with a traceback."""
    import ssl

    from sealbox.server.bootstrap import StartupError

    if not config.tls_cert:
        return
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for flag, path in (("--tls-cert", config.tls_cert), ("--tls-key", config.tls_key)):
        try:
            Path(path).read_bytes()
        except OSError as error:
            raise StartupError(
                f"cannot read {flag} {path}: {error.strerror or error}; give a readable PEM file"
            ) from None
    try:
        context.load_cert_chain(config.tls_cert, config.tls_key)
    except (ssl.SSLError, OSError):
        raise StartupError(
            f"--tls-cert {config.tls_cert} and --tls-key {config.tls_key} are not a PEM "
            "certificate and its matching private key"
        ) from None


def _run_uvicorn(config: Any, listener: socket.socket) -> None:
    """Serve on ``listener`` itself: handing uvicorn a file descriptor would make it rebuild
    the socket as AF_UNIX, and the event loop would then not set TCP_NODELAY (40 ms stalls)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    _raise_fd_limit(config.max_connections)
    settings = uvicorn.Config(
        "sealbox.server.http.asgi:create_app",
        factory=True,
        workers=config.workers,
        ssl_certfile=config.tls_cert,
        ssl_keyfile=config.tls_key,
        log_level="warning",
        access_log=False,
        # header size cap, header deadline and connection limit (sealbox.server.http.limits)
        http="sealbox.server.http.limits:LimitedHttpProtocol",
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
    from sealbox.server.http.limits import FD_MARGIN

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
    from sealbox.server.bootstrap import has_access_keys, prepare
    from sealbox.server.config import load_config
    from sealbox.server.http.asgi import CONFIG_VARIABLE

    with _dev_place(args) as place:
        flags = config_flags(args)
        if place is not None:
            flags.update(data_dir=place.data_dir, root_key=place.root_key)
        config = load_config(flags, file=Path(args.config) if args.config else None)
        # decided once, here: the workers' stderr may not be this terminal
        config = dataclasses.replace(config, log_format=logs.resolve_format(config.log_format))
        logs.configure(config.log_level, config.log_format)
        check_tls(config)
        # the port first: a busy one must not leave a store initialized behind it
        listener = listen(config.host, config.port)
        try:
            prepare(config)
            port = listener.getsockname()[1]
            scheme = "https" if config.tls_cert else "http"
            url = f"{scheme}://{config.host}:{port}"
            prefix = admin_prefix(config, args.config)
            serving = f"sealbox: serving the KMS API on {url} with {config.workers} worker(s)"
            if place is not None:
                _print_dev(url, _seed_dev(config), place, prefix)
                print(serving, file=sys.stderr, flush=True)
            else:
                if not has_access_keys(config):
                    print(_first_key_hint(prefix), file=sys.stderr, flush=True)
                print(serving, flush=True)
            if config.console:
                print(f"sealbox: the web console is at {url}/console/", file=sys.stderr, flush=True)
            os.environ[CONFIG_VARIABLE] = config.to_json()
            with contextlib.ExitStack() as stack:
                if config.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
                    metrics_dir = stack.enter_context(
                        tempfile.TemporaryDirectory(prefix="sealbox-metrics-")
                    )
                    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
                _run_uvicorn(config, listener)
        finally:
            listener.close()
    print("sealbox: stopped", file=sys.stderr)
    return 0
