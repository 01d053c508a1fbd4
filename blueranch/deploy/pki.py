"""A local certificate authority for the broker's TLS listener (the ``cryptography`` package).

The CA signs the broker's server certificate (its host names and addresses as subject alternative names)
and one client certificate per device and for the operator (common name: the broker user name). Keys are
ECDSA P-256, PEM, unencrypted, mode 0600. For a public host name, a reverse proxy or a certificate from a
public CA can replace the server certificate (docs/security.md); devices then trust that CA instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from blueranch.deploy.files import write_once

CA_DAYS = 3650
#: the longest validity clients commonly accept for a server certificate (CA/Browser Forum, 2018 to 2020)
LEAF_DAYS = 825


@dataclass(frozen=True)
class CA:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BlueRanch"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a little slack for clocks behind


def ensure_ca(cert_path: Path, key_path: Path, name: str) -> tuple[CA, bool]:
    """Load the CA from its files, or create both if neither exists; (CA, created)."""
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: not an EC private key")
        return CA(cert, key), False
    if cert_path.exists() or key_path.exists():
        raise FileExistsError(
            f"only one of {cert_path} and {key_path} exists: restore the other, or remove both to create a new CA "
            f"(every certificate it signed must then be issued again)"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(f"BlueRanch local CA ({name})")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_once(key_path, _key_pem(key))
    write_once(cert_path, _cert_pem(cert), 0o644)
    return CA(cert, key), True


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for n in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            entries.append(x509.DNSName(n))
    return x509.SubjectAlternativeName(entries)


def issue(ca: CA, cert_path: Path, key_path: Path, common_name: str, hosts: list[str] | None = None) -> bool:
    """A server certificate (``hosts`` given: its SANs) or a client certificate (``hosts`` None), unless
    ``cert_path`` exists already. Returns whether it was created."""
    if cert_path.exists():
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if hosts is not None else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now())
        .not_valid_after(_now() + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if hosts is not None:
        builder = builder.add_extension(_san(hosts), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    key_path.unlink(missing_ok=True)  # a key without its certificate is useless: issue both anew
    write_once(key_path, _key_pem(key))
    write_once(cert_path, _cert_pem(cert), 0o644)
    return True


def replace_client_cert(ca: CA, cert_path: Path, key_path: Path, common_name: str) -> None:
    """Rotation: a new key and certificate over the old ones."""
    cert_path.unlink(missing_ok=True)
    key_path.unlink(missing_ok=True)
    issue(ca, cert_path, key_path, common_name)
