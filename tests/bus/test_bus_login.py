"""Logging in to the bus as a deployment does: TLS with the server's CA, an nkey, and the clear refusals when the
CA or the key is wrong. The real nats-server; certificates and keys are made for each test."""

from __future__ import annotations

import os
from pathlib import Path

import nkeys
import pytest

from edgeops.bus.connection import ENV_CA, ENV_NKEY_SEED, BusSettings, BusUnreachable, connect_bus
from edgeops.lab.servers.certs import LabCertificateAuthority

from .conftest import NatsServer


def make_ca_and_server_cert(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """(ca.pem, server chain, server key): the lab's certificate authority (the one its gNMI servers use), made in
    `folder`, and a certificate for `host` signed by it."""
    authority = LabCertificateAuthority(folder)
    server = authority.server_certificate("nats", host)
    return authority.cert_file, server.cert_file, server.key_file


def make_user_nkey(folder: Path, name: str) -> tuple[Path, str]:
    """(seed file, public key) of a new user nkey."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = folder / f"{name}.nk"
    seed_file.write_bytes(seed)
    seed_file.chmod(0o600)
    return seed_file, public


@pytest.fixture
def tls_server(tmp_path: Path):
    server = NatsServer(tmp_path / "server")
    server.root.mkdir(parents=True)
    ca, cert, key = make_ca_and_server_cert(server.root, server.host)
    server.config = f'tls {{ cert_file: "{cert}", key_file: "{key}" }}\n'
    server.start()
    yield server, ca
    server.stop()


async def test_tls_with_the_servers_ca_connects(tls_server) -> None:
    server, ca = tls_server
    settings = BusSettings.from_url(f"tls://{server.host}:{server.port}", {ENV_CA: str(ca)})
    client = await connect_bus(settings, name="edgeops test")
    try:
        assert client.is_connected
        await client.publish("edgeops.test", b"over TLS")
        await client.flush()
    finally:
        await client.close()


async def test_tls_with_another_ca_is_refused_with_the_cause(tls_server, tmp_path: Path) -> None:
    server, _ = tls_server
    other = tmp_path / "other"
    other.mkdir()
    wrong_ca, _, _ = make_ca_and_server_cert(other, server.host)
    settings = BusSettings.from_url(f"tls://{server.host}:{server.port}", {ENV_CA: str(wrong_ca)})
    with pytest.raises(BusUnreachable) as refused:
        await connect_bus(settings, name="edgeops test")
    assert refused.value.url == f"tls://{server.host}:{server.port}"
    assert refused.value.cause.startswith("TLS: the server's certificate was not accepted"), refused.value.cause


async def test_a_missing_ca_file_is_named(tls_server, tmp_path: Path) -> None:
    server, _ = tls_server
    settings = BusSettings.from_url(f"tls://{server.host}:{server.port}", {ENV_CA: str(tmp_path / "nowhere.pem")})
    with pytest.raises(BusUnreachable) as refused:
        await connect_bus(settings, name="edgeops test")
    assert "TLS files" in refused.value.cause


async def test_an_nkey_logs_in_and_an_unknown_nkey_is_refused(tmp_path: Path) -> None:
    seed_file, public = make_user_nkey(tmp_path, "operator")
    stranger_seed, _ = make_user_nkey(tmp_path, "stranger")
    server = NatsServer(tmp_path / "server", f'authorization {{ users = [ {{ nkey: "{public}" }} ] }}\n')
    server.start()
    try:
        client = await connect_bus(
            BusSettings.from_url(server.url, {ENV_NKEY_SEED: str(seed_file)}), name="edgeops test"
        )
        assert client.is_connected
        await client.close()
        with pytest.raises(BusUnreachable) as refused:
            await connect_bus(BusSettings.from_url(server.url, {ENV_NKEY_SEED: str(stranger_seed)}), name="x")
        assert "authorization" in refused.value.cause.lower(), refused.value.cause
    finally:
        server.stop()
