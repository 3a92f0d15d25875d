"""A throwaway certificate authority for tests (the cryptography package): member, client and
deliberately broken certificates, as PEM text."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USAGES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}


def _name(cn: str, org: str | None, unit: str | None = None) -> x509.Name:
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def key_pem(key, password: str | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


class TestPKI:
    """One CA; issue() returns (certificate PEM, private key PEM) signed by it."""

    __test__ = False  # not a pytest class

    def __init__(self, name: str = "quorum test CA"):
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (x509.CertificateBuilder().subject_name(_name(name, "quorum tests"))
                     .issuer_name(_name(name, "quorum tests")).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(self.now - datetime.timedelta(hours=1))
                     .not_valid_after(self.now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def ca_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, cn: str, hosts=(), usages=("server", "client"), org: str | None = "quorum members",
              unit: str | None = "rs", password: str | None = None, valid_days: float = 1,
              starts_in_days: float = -0.05) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        start = self.now + datetime.timedelta(days=starts_in_days)
        builder = (x509.CertificateBuilder().subject_name(_name(cn, org, unit)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=valid_days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage([USAGES[u] for u in usages]), critical=False)
        if hosts:
            names = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key, password)

    def pem(self, cn: str, **kwargs) -> str:
        """Certificate and key in one PEM text, as mongod's certificateKeyFile holds them."""
        cert, key = self.issue(cn, **kwargs)
        return cert + key

    def subject(self, pem: str) -> str:
        """The certificate's subject as mongod names a $external user (RFC 4514)."""
        return x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()

    def write(self, directory: Path, name: str, text: str) -> Path:
        path = Path(directory) / name
        path.write_text(text)
        path.chmod(0o600)
        return path
