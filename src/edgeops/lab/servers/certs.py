"""TLS material for the lab's gNMI servers: one CA per lab directory and a certificate per device, made once, reused."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edgeops.files import write_private

CA_CERT_FILE = "gnmi-ca.pem"
CA_KEY_FILE = "gnmi-ca.key"
VALIDITY = dt.timedelta(days=3650)
# Backdated so a clock that is slightly behind does not reject a freshly made certificate.
BACKDATE = dt.timedelta(days=1)


@dataclass(frozen=True)
class ServerCertificate:
    """A device's certificate chain (leaf then CA) and private key, PEM-encoded, as gRPC wants them."""

    chain_pem: bytes
    key_pem: bytes
    cert_file: Path
    key_file: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edgeops lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class LabCertificateAuthority:
    """The lab's CA: created in `directory` on first use, loaded from there afterwards.

    Reusing it across restarts means a client that trusts the CA file (or pinned a certificate)
    keeps working after the lab restarts, like a real fleet whose certificates do not change.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        if cert_path.exists() and key_path.exists():
            self.cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC private key")
            self.key = loaded
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            now = dt.datetime.now(dt.UTC)
            self.cert = (
                x509.CertificateBuilder()
                .subject_name(_name("edgeops lab CA"))
                .issuer_name(_name("edgeops lab CA"))
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE)
                .not_valid_after(now + VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256())
            )
            write_private(key_path, _key_pem(self.key))
            cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @property
    def cert_file(self) -> Path:
        """The file a client passes as its CA (the inventory's `gnmi_ca_file`)."""
        return self.directory / CA_CERT_FILE

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def server_certificate(self, name: str, address: str) -> ServerCertificate:
        """The certificate of device `name` listening on `address`, made on first use and reused after.

        The SANs carry the device's address (IP) and its name (DNS): a client may verify either, and
        pygnmi's skip-verify reads them back to set its server-name override. A stored certificate whose
        SANs no longer match (the device moved) or whose CA changed is made again.
        """
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key"
        wanted_ip = ipaddress.ip_address(address)
        if cert_path.exists() and key_path.exists():
            stored = x509.load_pem_x509_certificates(cert_path.read_bytes())
            leaf = stored[0]
            try:
                sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                ips = sans.get_values_for_type(x509.IPAddress)
                names = sans.get_values_for_type(x509.DNSName)
            except x509.ExtensionNotFound:
                ips, names = [], []
            if wanted_ip in ips and name in names and leaf.issuer == self.cert.subject and len(stored) == 2:
                return ServerCertificate(cert_path.read_bytes(), key_path.read_bytes(), cert_path, key_path)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(wanted_ip), x509.DNSName(name)]),
                critical=False,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        # The chain includes the CA so a client that fetched it can see who issued the leaf.
        chain = leaf.public_bytes(serialization.Encoding.PEM) + self.cert_pem
        key_pem = _key_pem(key)
        write_private(key_path, key_pem)
        cert_path.write_bytes(chain)
        return ServerCertificate(chain, key_pem, cert_path, key_path)
