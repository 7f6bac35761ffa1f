"""Database engines. SQLite runs in WAL mode with synchronous=FULL, checked at start;
PostgreSQL (psycopg 3) serializes writers on an advisory lock (see serialize_pg_writers)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from sealbox.server.rootkey.core import RootKeyError

SQLITE_FILE = "sealbox.db"
# Execution options of a connection that only reads: it begins a deferred transaction, so
# readers never queue behind writers (WAL gives them a consistent snapshot).
READ_ONLY = {"sealbox_read_only": True}


class StoreError(RootKeyError):
    """The store cannot be opened safely."""


def sqlite_engine(data_dir: Path) -> Engine:
    """An engine on ``data_dir/sealbox.db`` whose write transactions start with BEGIN IMMEDIATE
    (writers serialize up front instead of failing on lock upgrades)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private(data_dir / SQLITE_FILE)
    engine = create_engine(f"sqlite:///{data_dir / SQLITE_FILE}", future=True)

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("sealbox_read_only")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    check_sqlite_durability(engine)
    return engine


def private_umask() -> None:
    """Let this process create files for its owner only (0600, directories 0700), whatever
    umask it was started with: also those that libraries create (metrics files)."""
    os.umask(0o077)


def make_private(database: Path) -> None:
    """Create the database file 0600 (or take group and other rights off an existing one)
    before SQLite opens it. SQLite gives its -wal, -shm and -journal files the database
    file's mode whatever the umask, so they are private too. An existing file is never
    opened here: closing a descriptor would drop the POSIX locks this process's SQLite
    connections hold on it."""
    try:
        fd = os.open(database, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
        finally:
            os.close(fd)
    for path in (database, *(Path(f"{database}{s}") for s in ("-wal", "-shm", "-journal"))):
        # left by an older release, or created under another mode
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except FileNotFoundError:
            pass


def check_sqlite_durability(engine: Engine) -> None:
    """Refuse to run unless every commit is durable across power loss."""
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    if str(journal).lower() != "wal" or synchronous != 2:
        raise StoreError(
            f"SQLite must run with journal_mode=WAL and synchronous=FULL (got {journal}, {synchronous}); "
            "the file system may not support WAL"
        )


# Advisory lock keys (any 64-bit numbers, fixed for Sealbox).
PG_WRITER_LOCK = 0x5EA1B0C5_0001
PG_MIGRATION_LOCK = 0x5EA1B0C5_0002


def postgres_url(url: str) -> str:
    """``postgresql://…`` as users write it, with SQLAlchemy's psycopg 3 driver named."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise StoreError(f"--database must be a postgresql:// URL (got {url.split(':', 1)[0]}:…)")


def postgres_engine(url: str) -> Engine:
    try:
        return create_engine(postgres_url(url), future=True, pool_pre_ping=True)
    except ImportError:  # pragma: no cover - psycopg comes with the postgres extra
        raise StoreError("PostgreSQL needs psycopg: pip install 'sealbox[postgres]'") from None


# Read-only transactions on PostgreSQL see one snapshot, as SQLite's deferred BEGIN does.
PG_READ_ONLY = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}


def serialize_pg_writers(connection: Connection) -> None:
    """The first statement of every PostgreSQL write transaction: one cluster-wide advisory
    lock, so writers from every node serialize as SQLite's do. Under READ COMMITTED every
    later statement then sees what the previous writer committed."""
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_WRITER_LOCK})")
