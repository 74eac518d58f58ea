"""The transport of a partner, chosen by its config's ``transport.kind``."""

from __future__ import annotations

from partners.config import Partner
from partners.transport import Transport
from serialtrace.settings import Home


def transport_for(home: Home, partner: Partner) -> Transport:
    kind = partner.transport.kind
    if kind == "sftp":
        from partners.sftp import sftp_transport

        return sftp_transport(home, partner)
    if kind == "as2":
        from partners.as2 import as2_transport

        return as2_transport(home, partner)
    from partners.http import http_transport

    return http_transport(home, partner)
