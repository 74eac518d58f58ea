"""A real SFTP server on 127.0.0.1 (paramiko), serving one local folder, for the tests:
it stands in for an ERP's SFTP outbox."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.sftp import SFTP_OK

USER, PASSWORD = "erp", "sftp-test-password"


class _Handle(SFTPHandle):
    def __init__(self, path: Path, flags: int) -> None:
        super().__init__(flags)
        self.path = path
        mode = "rb" if not flags & (os.O_WRONLY | os.O_RDWR) else "r+b"
        self.readfile = self.writefile = path.open(mode)

    def stat(self) -> SFTPAttributes:
        return SFTPAttributes.from_stat(self.path.stat())


class _Folder(SFTPServerInterface):
    root: Path

    def _local(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def list_folder(self, path: str) -> Any:
        out = []
        for child in sorted(self._local(path).iterdir()):
            attr = SFTPAttributes.from_stat(child.stat())
            attr.filename = child.name
            out.append(attr)
        return out

    def stat(self, path: str) -> Any:
        return SFTPAttributes.from_stat(self._local(path).stat())

    lstat = stat

    def open(self, path: str, flags: int, attr: SFTPAttributes) -> Any:
        return _Handle(self._local(path), flags)

    def remove(self, path: str) -> int:
        self._local(path).unlink()
        return SFTP_OK


class _Auth(paramiko.ServerInterface):
    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (USER, PASSWORD)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        ok = kind == "session"
        return OPEN_SUCCEEDED if ok else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class SftpStandIn:
    """Start with :meth:`start`, stop with :meth:`stop`; ``port`` is picked by the OS."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host_key = paramiko.RSAKey.generate(2048)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}\n"

    def start(self) -> None:
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        folder = type("Folder", (_Folder,), {"root": self.root})
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(client)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", SFTPServer, folder)
            transport.start_server(server=_Auth())
            self._threads.append(transport)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if isinstance(thread, paramiko.Transport):
                thread.close()
            thread.join(timeout=5)
        self.sock.close()
