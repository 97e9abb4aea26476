"""A throwaway certificate authority for local mutual TLS (`hotgigs dev-certs`, and the tests).

NOT for production: the CA's key lies beside its certificate in a folder on disk, certificates
live 30 days, and nothing revokes them. Production certificates come from the project CA (the
Ansible `pki` role). Keys are ECDSA P-256 (quick to make; gRPC and Envoy accept them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DAYS = 30
# The names every development server certificate carries (the workers' and Envoy's): what a
# client on this machine connects to, and the workers' shared name (HOTGIGS_ENVOY_UPSTREAM_SANS).
DEFAULT_SANS = ("localhost", "127.0.0.1", "::1", "hotgigs-api")
NOT_FOR_PRODUCTION = "HotGigs development (not for production)"


@dataclasses.dataclass(frozen=True)
class Issued:
    """A certificate and its key, PEM."""

    cert_pem: bytes
    key_pem: bytes
    serial: int

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write both files (the key readable by its owner only), each replaced at once (a
        reader never sees half a file)."""
        for path, data, mode in ((key_path, self.key_pem, 0o600), (cert_path, self.cert_pem, 0o644)):
            partial = path.with_name(path.name + ".new")
            partial.write_bytes(data)
            partial.chmod(mode)
            partial.replace(path)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, NOT_FOR_PRODUCTION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


@dataclasses.dataclass(frozen=True)
class Authority:
    """A CA: its certificate and key; `issue` signs leaf certificates."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, common_name: str = "HotGigs development CA", days: int = DEFAULT_DAYS) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(common_name))
                .issuer_name(_name(common_name)).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> Authority:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: not an EC key made by `hotgigs dev-certs`")
        return cls(x509.load_pem_x509_certificate(cert_path.read_bytes()), key)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.key)

    def issue(self, common_name: str, sans: Sequence[str] = (), *, server: bool = True,
              client: bool = True, days: int = DEFAULT_DAYS,
              not_after: dt.datetime | None = None) -> Issued:
        """A leaf certificate for `sans` (DNS names or IP addresses), for TLS servers and/or
        clients (extended key usage)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usages = [*([ExtendedKeyUsageOID.SERVER_AUTH] if server else []),
                  *([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])]
        serial = x509.random_serial_number()
        builder = (x509.CertificateBuilder().subject_name(_name(common_name))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(serial)
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(not_after or now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(name) for name in sans]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), serial)


def write_set(folder: Path, sans: Sequence[str] = DEFAULT_SANS, days: int = DEFAULT_DAYS) -> dict[str, Path]:
    """A new CA and the certificates of a local mTLS setup in `folder`: ca.crt (and ca.key),
    worker.crt/key (the workers' server certificate), envoy.crt/key (Envoy: client towards the
    workers, server of the internal listener) and client.crt/key (an internal caller)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    authority = Authority.create(days=days)
    Issued(authority.cert_pem, authority.key_pem, authority.cert.serial_number).write(
        folder / "ca.crt", folder / "ca.key")
    paths = {"ca": folder / "ca.crt"}
    for name, server, client in (("worker", True, True), ("envoy", True, True),
                                 ("client", False, True)):
        issued = authority.issue(f"hotgigs-{name}", sans if server else (), server=server,
                                 client=client, days=days)
        issued.write(folder / f"{name}.crt", folder / f"{name}.key")
        paths[name] = folder / f"{name}.crt"
    return paths


def environment(folder: Path) -> str:
    """The settings that use a `write_set` folder (for .env or a shell)."""
    folder = folder.resolve()
    return "\n".join([
        f"HOTGIGS_GRPC_TLS_CERT_FILE={folder / 'worker.crt'}",
        f"HOTGIGS_GRPC_TLS_KEY_FILE={folder / 'worker.key'}",
        f"HOTGIGS_GRPC_TLS_CLIENT_CA_FILE={folder / 'ca.crt'}",
        f"HOTGIGS_ENVOY_TLS_CERT_FILE={folder / 'envoy.crt'}",
        f"HOTGIGS_ENVOY_TLS_KEY_FILE={folder / 'envoy.key'}",
        f"HOTGIGS_ENVOY_TLS_CA_FILE={folder / 'ca.crt'}",
        "HOTGIGS_ENVOY_UPSTREAM_TLS=on",
        "HOTGIGS_INTERNAL_GRPC_ADDRESS=127.0.0.1:50443",
    ])
