"""Local stand-in peers on loopback: a real OpenSSH ``sshd`` (for the demo and the tests).

:func:`start_sshd` runs Debian's ``/usr/sbin/sshd`` as the current user on a free
127.0.0.1 port, in the foreground (``-D -e``), with its own host key, config, pid file and
``authorized_keys`` in a folder of its own. Keys are generated with ``cryptography`` in
OpenSSH format.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from serialtrace.errors import ConfigurationError

SSHD = Path("/usr/sbin/sshd")


def sshd_available() -> str | None:
    """None if a local sshd can be started here, else the reason why not."""
    if not SSHD.is_file():
        return f"{SSHD} is not installed (Debian package openssh-server)"
    return None


def write_ed25519_key(path: Path, comment: str = "serialtrace") -> str:
    """Write a new private key (OpenSSH format, mode 600); returns its public key line."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    line = f"{public.decode()} {comment}"
    path.with_name(path.name + ".pub").write_text(line + "\n")
    return line


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (Linux),
    so a killed test run or demo never leaves an sshd behind."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() still ends it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalSshd:
    folder: Path
    port: int
    host_key: str  # "ssh-ed25519 AAAA..." to pin
    username: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> LocalSshd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sshd(folder: Path, authorized_keys: list[str], timeout: float = 10.0) -> LocalSshd:
    """Start sshd on 127.0.0.1 accepting the given public keys for the current user."""
    reason = sshd_available()
    if reason:
        raise ConfigurationError(f"cannot start a local SFTP server: {reason}")
    folder.mkdir(parents=True, exist_ok=True)
    host_key_file = folder / "ssh_host_ed25519_key"
    host_key = write_ed25519_key(host_key_file, "host")
    (folder / "authorized_keys").write_text("".join(k + "\n" for k in authorized_keys))
    (folder / "authorized_keys").chmod(0o600)
    username = getpass.getuser()
    if os.geteuid() == 0:  # sshd started by root insists on its privilege separation dir
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    sftp_server = "internal-sftp"
    last_error = ""
    for _ in range(5):  # a free port can be taken between the probe and sshd's bind
        port = free_port()
        config = folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key_file}",
                    f"PidFile {folder / 'sshd.pid'}",
                    f"AuthorizedKeysFile {folder / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {username}",
                    f"Subsystem sftp {sftp_server}",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # started from the main thread (PDEATHSIG follows the forking thread)
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_error = (process.stderr.read() if process.stderr else b"").decode().strip()
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return LocalSshd(
                            folder, port, host_key.rsplit(" ", 1)[0], username, process
                        )
            except OSError:
                time.sleep(0.02)
        else:
            process.kill()
            process.wait()
            last_error = f"no SSH banner within {timeout} s"
    raise ConfigurationError(f"local sshd did not start: {last_error}")


def write_self_signed(key_file: Path, cert_file: Path, common_name: str, days: int = 365) -> None:
    """A new RSA key and self-signed certificate (PEM). ``key_file`` holds the key followed
    by the certificate (what an AS2 station signs and decrypts with), mode 600."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem + cert_pem)
    cert_file.write_bytes(cert_pem)
