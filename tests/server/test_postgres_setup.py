"""Setting up the PostgreSQL store: nodes starting together on an empty database, and TLS
to the database verified against its CA."""

from __future__ import annotations

import datetime
import ipaddress
import threading
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sealbox.server.rootkey.core import create_root_key_file
from sealbox.server.store.engine import StoreError
from sealbox.server.store.migrations import SCHEMA_VERSION
from sealbox.server.store.repository import Store
from tests.postgres import PostgresCluster
from tests.server.harness import SubprocessServer


def test_nodes_starting_together_on_an_empty_database(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    database = postgres.new_database()
    root_key = tmp_path / "root.key"
    create_root_key_file(root_key)  # made once and given to every node
    nodes: list[SubprocessServer] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def start(name: str) -> None:
        try:
            node = SubprocessServer(tmp_path / name, root_key, extra=("--database", database))
            with lock:
                nodes.append(node)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=start, args=(f"n{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == [] and len(nodes) == 3
        with psycopg.connect(database) as connection:
            meta: dict[str, str] = dict(
                connection.execute("SELECT name, value FROM meta").fetchall()
            )
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert meta["root_key_id"].startswith("file:")
    finally:
        for node in nodes:
            node.stop()


def _certificate(subject: str, issuer_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey,
                 issuer: x509.Name | None = None, *, ca: bool) -> x509.Certificate:  # fmt: skip
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(value: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(value, x509.Certificate):
        return value.public_bytes(serialization.Encoding.PEM)
    return value.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def tls_postgres(tmp_path_factory: pytest.TempPathFactory) -> tuple[PostgresCluster, Path, Path]:
    directory = tmp_path_factory.mktemp("pg-tls")
    ca_key, server_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("sealbox test CA", ca_key, ca_key, ca=True)
    server = _certificate("127.0.0.1", ca_key, server_key, ca.subject, ca=False)
    other_ca = _certificate("someone else's CA", other_key, other_key, ca=True)
    (directory / "ca.pem").write_bytes(_pem(ca))
    (directory / "other-ca.pem").write_bytes(_pem(other_ca))
    cluster = PostgresCluster(tls=(_pem(server), _pem(server_key)))
    return cluster, directory / "ca.pem", directory / "other-ca.pem"


def test_tls_to_postgresql_is_verified_against_the_given_ca(
    tls_postgres: tuple[PostgresCluster, Path, Path],
) -> None:
    cluster, ca, other_ca = tls_postgres
    try:
        url = cluster.new_database()
        verified = f"{url}?sslmode=verify-full&sslrootcert={ca}"
        store = Store.open_postgres(verified)
        try:
            with store.read() as connection:
                assert connection.exec_driver_sql("SHOW ssl").scalar() == "on"
                in_use = connection.exec_driver_sql(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                ).scalar()
            assert in_use is True
        finally:
            store.close()
        with pytest.raises(
            StoreError, match=r"cannot open the PostgreSQL store: .*certificate verify failed"
        ):
            Store.open_postgres(f"{url}?sslmode=verify-full&sslrootcert={other_ca}")
    finally:
        cluster.stop()
