"""Logging in to the bus as a deployment does: TLS with the server's CA, an nkey, and the clear refusals when the
CA or the key is wrong. The real nats-server; certificates and keys are made for each test."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import nkeys
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edgeops.bus.connection import ENV_CA, ENV_NKEY_SEED, BusSettings, BusUnreachable, connect_bus

from .conftest import NatsServer


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca_and_server_cert(folder: Path, host: str) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server-key.pem): a CA and a certificate for `host` signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("edgeops test CA"))
        .issuer_name(_name("edgeops test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): a leaf needs the key identifiers a real CA writes.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


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
