"""A test certificate authority: root -> intermediate -> leaf, as a public CA issues them.

Made with `cryptography` for the tests only (never installed in a trust store): the root goes
to `hotgigs verify --ca-file`, the leaf and the intermediate (the chain nginx serves) to
`ssl_certificate`.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Chain:
    """Files of one issued certificate: the root to trust, the chain to serve, its key."""

    root: Path
    chain: Path  # leaf then intermediate
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HotGigs test CA"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Key, issuer: x509.Certificate | None, issuer_key: Key, *,
                 ca: bool, names: list[x509.GeneralName], not_after: datetime.datetime,
                 not_before: datetime.datetime) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject))
               .issuer_name(issuer.subject if issuer else _name(subject))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder
                   .add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, key_cert_sign=False, crl_sign=False,
                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                       key_agreement=False, encipher_only=False, decipher_only=False),
                       critical=True))
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def issue(folder: Path, *, dns_names: tuple[str, ...] = (), ip_addresses: tuple[str, ...] = (),
          expired: bool = False) -> Chain:
    """A fresh root and intermediate, and a leaf for these names (expired an hour ago when
    `expired`), written under `folder` (root.pem, chain.pem, key.pem)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    long_ago, later = now - datetime.timedelta(days=30), now + datetime.timedelta(days=30)
    root_key, intermediate_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate("HotGigs Test Root", root_key, None, root_key, ca=True, names=[],
                        not_before=long_ago, not_after=later)
    intermediate = _certificate("HotGigs Test Intermediate", intermediate_key, root, root_key,
                                ca=True, names=[], not_before=long_ago, not_after=later)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ip_addresses]
    leaf_end = now - datetime.timedelta(hours=1) if expired else later
    leaf = _certificate((dns_names or ip_addresses)[0], leaf_key, intermediate, intermediate_key,
                        ca=False, names=names, not_before=long_ago, not_after=leaf_end)
    chain = Chain(root=folder / "root.pem", chain=folder / "chain.pem", key=folder / "key.pem")
    chain.root.write_bytes(_pem(root))
    chain.chain.write_bytes(_pem(leaf, intermediate))
    chain.key.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    chain.key.chmod(0o600)
    return chain
