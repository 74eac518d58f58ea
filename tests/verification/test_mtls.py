"""Mutual TLS: the responder serves HTTPS and refuses connections without a client
certificate from the configured CA (certificates made here with `cryptography`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.verification.conftest import EXP, GTIN, LOT, make_home
from tests.verification.test_service import dl
from verification.keys import key_store
from verification.service import MutualTls, ResponderThread


def _cert(
    name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool = False
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_mutual_tls(tmp_path: Path) -> None:
    ca_cert, ca_key = _cert("Test CA", None, ca=True)
    issuer = (ca_cert.subject, ca_key)
    server_crt, server_key = _write(tmp_path, "server", *_cert("responder", issuer))
    client_crt, client_key = _write(tmp_path, "client", *_cert("wholesaler", issuer))
    ca_path, _ = _write(tmp_path, "ca", ca_cert, ca_key)
    home = make_home(tmp_path / "h")
    api_key = key_store(home).add("TLS partner")
    with ResponderThread(home, tls=MutualTls(server_crt, server_key, ca_path)) as url:
        assert url.startswith("https://")
        request = urllib.request.Request(
            dl(url, GTIN, "ACTIVE1", LOT, EXP), headers={"Authorization": f"Bearer {api_key}"}
        )
        with_cert = ssl.create_default_context(cafile=str(ca_path))
        with_cert.load_cert_chain(client_crt, client_key)
        with urllib.request.urlopen(request, context=with_cert, timeout=10) as reply:
            assert json.loads(reply.read())["data"] == {"verified": True}
        without_cert = ssl.create_default_context(cafile=str(ca_path))
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            urllib.request.urlopen(request, context=without_cert, timeout=10).read()
