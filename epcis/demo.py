"""The demo's shipping step: ship the batch's pallets to the demo customer, write the
shipping file in EPCIS 1.2 XML (DSCSA), 2.0 XML and 2.0 JSON-LD, each validated, and
rebuild the warehouse models downstream of the new lifecycle events and shipment (so the
units read `shipped` in serial_lifecycle and the shipments mart is filled)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from epcis.shipping import RenderedShipment, record_shipment, render_shipment
from epcis.writers import FORMATS
from serialtrace.config import DemoConfig
from serialtrace.settings import Home


def demo_shipping(
    home: Home, cfg: DemoConfig, work_order_id: str, say: Callable[[str], None]
) -> RenderedShipment:
    shipment = record_shipment(
        home,
        work_order_id,
        cfg.customer.gln,
        po_number=f"PO-{work_order_id}",
    )
    rendered = render_shipment(home, shipment.shipment_id, FORMATS)
    from orchestration.definitions import build_definitions
    from orchestration.run import materialize

    log = home.logs / f"materialize-{shipment.shipment_id}.log"
    with log.open("w") as handle, contextlib.redirect_stdout(handle):
        materialize(
            home,
            build_definitions(home),
            select="key:stg_lifecycle__events+ or key:stg_shipments__shipments+",
        )
    say(
        f"      shipment {shipment.shipment_id}: {len(shipment.containers)} container(s), "
        f"{shipment.units:,} units to {cfg.customer.gln}; EPCIS "
        + ", ".join(d.format for d in rendered.documents)
        + " (all valid)"
    )
    return rendered


__all__ = ["demo_shipping"]
