"""The lab certificate authority: server certificates and issued TLS secrets."""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class CA:
    """A self-signed CA kept as two PEM files in the state directory."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert = cert
        self.key = key

    @property
    def cert_pem(self) -> bytes:
        return _pem_cert(self.cert)

    @classmethod
    def load_or_create(cls, state_dir: Path) -> "CA":
        """The lab's one CA: services that start at once (PostgreSQL, Redis, the API server)
        take it under a lock, so the first makes it and the others load that one."""
        state_dir.mkdir(parents=True, exist_ok=True)
        with open(state_dir / "ca.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return cls._load_or_create(state_dir)

    @classmethod
    def _load_or_create(cls, state_dir: Path) -> "CA":
        cert_path, key_path = state_dir / "ca.crt", state_dir / "ca.key"
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            return cls(cert, key)  # type: ignore[arg-type]
        key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "golive lab CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        state_dir.mkdir(parents=True, exist_ok=True)
        _write(key_path, _pem_key(key), 0o600)
        _write(cert_path, _pem_cert(cert), 0o644)
        return cls(cert, key)

    def issue(self, common_name: str, dns_names: list[str] = (), ip_addresses: list[str] = (),
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
              server: bool = True) -> tuple[bytes, bytes]:
        """Sign a new leaf certificate; returns (cert PEM, key PEM)."""
        key = _key()
        now = _now()
        not_before = not_before or now - dt.timedelta(minutes=5)
        not_after = not_after or now + dt.timedelta(days=90)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "lab")]))
            .issuer_name(self.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()),
                           critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if server:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return _pem_cert(cert), _pem_key(key)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write_server_files(state_dir: Path, ca: CA) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 and localhost (re-issued on each start)."""
    cert, key = ca.issue("golive-lab-apiserver", ["localhost", "kubernetes", "kubernetes.default",
                                                   "kubernetes.default.svc"], ["127.0.0.1", "::1"])
    cert_path, key_path = state_dir / "server.crt", state_dir / "server.key"
    _write(key_path, key, 0o600)
    _write(cert_path, cert, 0o644)
    return cert_path, key_path


def write_file(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    _write(path, data.encode() if isinstance(data, str) else data, mode)
