"""SFTP transport (paramiko): pinned host key, key authentication, atomic upload, pickup.

- The server's host key must equal the ``host_key`` pinned in the partner's config
  (``"<type> <base64>"``, as in ``known_hosts``/``ssh-keyscan``). The key exchange is
  restricted to the pinned key's type; an unknown (nothing pinned) or different key
  ends the connection before authentication. Nothing is ever auto-accepted or saved.
- Upload: ``<inbox>/.<name>.part`` then ``posix-rename`` to ``<inbox>/<name>``, where
  ``<name>`` is ``<message key>__<file name>``: a resend (same message ID) lands on the
  same name, the partner never sees a half-written file. The remote copy is then read
  back and its SHA-256 compared: a match is recorded as the acknowledgement
  (``sftp-verified``).
- Pickup: each file of the partner's outbox folder is downloaded to a temporary file,
  fsync'ed, checked against the remote size, renamed under
  ``<home>/epcis/inbox/<partner>/`` and recorded in the ledger; only then is the remote
  file removed (or moved to ``remote_archive``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import posixpath
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko

from partners.config import Partner, SftpSettings, key_path, read_secret_env
from partners.ledger import Delivery, DeliveryLedger
from partners.transport import PermanentTransportError, SendOutcome, TransportError
from serialtrace.settings import Home

CONNECT_TIMEOUT = 10.0
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


class HostKeyRefusedError(PermanentTransportError):
    """The server's host key is not the pinned one (or nothing is pinned)."""


def parse_pinned_key(line: str) -> tuple[str, bytes]:
    """``(key type, key blob)`` of a ``"<type> <base64> [comment]"`` line."""
    parts = line.split()
    if len(parts) < 2:
        raise HostKeyRefusedError("host key: nothing pinned in the partner config (host_key)")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError as exc:
        raise HostKeyRefusedError(f"host key: pinned key is not valid base64: {exc}") from exc
    return parts[0], blob


def load_private_key(path: Path, passphrase: str | None) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path, password=passphrase)
    except (paramiko.SSHException, OSError, ValueError) as exc:
        raise PermanentTransportError(f"key_file {path}: cannot load the key: {exc}") from exc


@dataclass
class SftpTransport:
    """One partner's SFTP endpoint. Each call opens (and closes) its own connection."""

    settings: SftpSettings
    home: Home
    partner_id: str
    kind: str = "sftp"

    @contextmanager
    def session(self) -> Iterator[paramiko.SFTPClient]:
        s = self.settings
        key_type, pinned_blob = parse_pinned_key(s.host_key)
        passphrase = read_secret_env(s.key_passphrase_env, "transport.key_passphrase_env")
        pkey = load_private_key(key_path(self.home, s.key_file, "transport.key_file"), passphrase)
        try:
            sock = socket.create_connection((s.host, s.port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise TransportError(f"sftp {s.host}:{s.port}: cannot connect: {exc}") from exc
        transport = paramiko.Transport(sock)
        try:
            options = transport.get_security_options()
            options.key_types = _RSA_ALGORITHMS if key_type == "ssh-rsa" else (key_type,)
            try:
                transport.start_client(timeout=CONNECT_TIMEOUT)
            except paramiko.SSHException as exc:
                raise HostKeyRefusedError(
                    f"sftp {s.host}:{s.port}: host key refused: the server offers no "
                    f"{key_type} host key (pinned) ({exc})"
                ) from exc
            offered = transport.get_remote_server_key()
            if offered.asbytes() != pinned_blob:
                raise HostKeyRefusedError(
                    f"sftp {s.host}:{s.port}: host key refused: the server's "
                    f"{offered.get_name()} key SHA256:{_fingerprint(offered.asbytes())} is "
                    f"not the pinned one SHA256:{_fingerprint(pinned_blob)}"
                )
            try:
                transport.auth_publickey(s.username, pkey)
            except paramiko.SSHException as exc:
                raise PermanentTransportError(
                    f"sftp {s.host}:{s.port}: key authentication of {s.username} failed: {exc}"
                ) from exc
            client = paramiko.SFTPClient.from_transport(transport)
            if client is None:
                raise TransportError(f"sftp {s.host}:{s.port}: no SFTP subsystem")
            try:
                yield client
            finally:
                client.close()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"sftp {s.host}:{s.port}: {type(exc).__name__}: {exc}") from exc
        finally:
            transport.close()

    def remote_name(self, delivery: Delivery) -> str:
        return f"{delivery.message_key}__{delivery.file_name}"

    def send(self, delivery: Delivery, content: bytes) -> SendOutcome:
        s = self.settings
        final = posixpath.join(s.remote_inbox, self.remote_name(delivery))
        temporary = posixpath.join(s.remote_inbox, f".{self.remote_name(delivery)}.part")
        with self.session() as sftp:
            with sftp.open(temporary, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(content)
            sftp.posix_rename(temporary, final)
            with sftp.open(final, "rb") as handle:
                handle.prefetch()
                remote = handle.read()
        digest = hashlib.sha256(remote).hexdigest()
        if digest != delivery.content_sha256:
            raise TransportError(
                f"sftp {final}: the remote copy's SHA-256 {digest} differs from the file's"
            )
        return SendOutcome(
            status="acknowledged",
            ack_kind="sftp-verified",
            detail=f"stored as {final} ({len(remote)} bytes, SHA-256 verified by read-back)",
        )

    def pickup(self, ledger: DeliveryLedger) -> list[Delivery]:
        """Fetch every file the partner left in its outbox folder (see module doc)."""
        s = self.settings
        inbox = self.home.epcis_inbox / self.partner_id
        inbox.mkdir(parents=True, exist_ok=True)
        received: list[Delivery] = []
        with self.session() as sftp:
            for entry in sorted(sftp.listdir_attr(s.remote_outbox), key=lambda e: e.filename):
                name = entry.filename
                if name.startswith(".") or not stat.S_ISREG(entry.st_mode or 0):
                    continue  # hidden = still being written by the partner
                remote = posixpath.join(s.remote_outbox, name)
                temporary = inbox / f".{name}.part"
                digest = hashlib.sha256()
                with sftp.open(remote, "rb") as src, temporary.open("wb") as dst:
                    src.prefetch()
                    for block in iter(lambda: src.read(1 << 16), b""):
                        digest.update(block)
                        dst.write(block)
                    dst.flush()
                    os.fsync(dst.fileno())
                size = temporary.stat().st_size
                if entry.st_size is not None and size != entry.st_size:
                    temporary.unlink()
                    raise TransportError(
                        f"sftp {remote}: downloaded {size} bytes of {entry.st_size}; left there"
                    )
                sha = digest.hexdigest()
                existing = ledger.find("inbound", self.partner_id, sha)
                if existing is None:
                    target = _free_name(inbox / name)
                    temporary.replace(target)
                    _fsync_dir(inbox)
                    delivery, _ = ledger.record_inbound(
                        self.partner_id,
                        self.kind,
                        str(target.relative_to(self.home.root)),
                        target.name,
                        sha,
                        size,
                    )
                else:  # stored by an earlier pickup that stopped before the remote removal
                    temporary.unlink()
                    delivery = existing
                if s.remote_archive:
                    sftp.posix_rename(remote, posixpath.join(s.remote_archive, name))
                else:
                    sftp.remove(remote)
                if existing is None:
                    received.append(delivery)
        return received


def _fingerprint(blob: bytes) -> str:
    return base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return candidate


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sftp_transport(home: Home, partner: Partner) -> SftpTransport:
    if not isinstance(partner.transport, SftpSettings):
        raise PermanentTransportError(f"partner {partner.id}: transport is not sftp")
    return SftpTransport(partner.transport, home, partner.id)
