"""The endpoint's TLS certificate: self-signed, made on first start and kept in memtui's data
folder (an ESX host also answers with a self-signed certificate until one replaces it)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from memtui import paths

CERT_NAME = "vsphere-cert.pem"
KEY_NAME = "vsphere-key.pem"
VALID_DAYS = 3650


def default_paths() -> tuple[Path, Path]:
    folder = paths.user_data_dir()
    return folder / CERT_NAME, folder / KEY_NAME


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_self_signed(cert_path: Path, key_path: Path, host: str) -> None:
    """A new EC P-256 key and a certificate for `host`, localhost and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, socket.gethostname() or "memtui"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "memtui simulated ESX host")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        if host and host != "localhost":
            alt.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(alt))), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(key_path, key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()), 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_certificate(host: str) -> tuple[Path, Path, bool]:
    """(certificate, key, made now): the kept pair, made first if there is none."""
    cert_path, key_path = default_paths()
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path, False
    make_self_signed(cert_path, key_path, host)
    return cert_path, key_path, True
