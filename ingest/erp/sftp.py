"""Pull files from an SFTP folder into a connection's drop folder (paramiko).

Each regular file of the remote folder (hidden ones skipped) is downloaded to a
temporary name in the drop folder, renamed into place, and only then removed from the
server. A crash in between downloads it again next time; the loader recognises the
same bytes (same ``load_id``) and does not land them twice. The server's host key must
be known (``known_hosts``); an unknown or changed key is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import paramiko

from ingest.erp.config import Connection
from serialtrace.errors import ConfigurationError, SerialtraceError

TIMEOUT_S = 30


def pull(conn: Connection) -> list[Path]:
    source = conn.sftp
    if source is None:
        return []
    if not source.known_hosts.is_file():
        raise ConfigurationError(
            f"connection {conn.name}: known_hosts file {source.known_hosts} not found"
        )
    password = None
    if source.password_env:
        password = os.environ.get(source.password_env)
        if not password:
            raise ConfigurationError(
                f"connection {conn.name}: environment variable {source.password_env} is not set"
            )
    client = paramiko.SSHClient()
    client.load_host_keys(str(source.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            source.host,
            port=source.port,
            username=source.user,
            password=password,
            key_filename=str(source.key_file) if source.key_file else None,
            look_for_keys=False,
            allow_agent=False,
            timeout=TIMEOUT_S,
        )
    except (paramiko.SSHException, OSError) as exc:
        raise SerialtraceError(
            f"connection {conn.name}: SFTP {source.user}@{source.host}:{source.port}: {exc}"
        ) from exc
    pulled: list[Path] = []
    try:
        sftp = client.open_sftp()
        conn.drop.mkdir(parents=True, exist_ok=True)
        entries = sorted(
            sftp.listdir_attr(source.path), key=lambda e: (e.st_mtime or 0, e.filename)
        )
        for entry in entries:
            if entry.filename.startswith(".") or not stat.S_ISREG(entry.st_mode or 0):
                continue
            remote = f"{source.path.rstrip('/')}/{entry.filename}"
            tmp = conn.drop / f".{entry.filename}.part"
            sftp.get(remote, str(tmp))
            target = conn.drop / entry.filename
            n = 1
            while target.exists():  # never replace a file still waiting to be loaded
                target = conn.drop / f"{n}-{entry.filename}"
                n += 1
            tmp.replace(target)
            sftp.remove(remote)
            pulled.append(target)
    except (paramiko.SSHException, OSError) as exc:
        raise SerialtraceError(f"connection {conn.name}: SFTP transfer failed: {exc}") from exc
    finally:
        client.close()
    return pulled
